"""
The shared answer to "is this Flink job running, done, failed, or still starting".

Every judge (the custom resource one in :mod:`.custom_resource`, the Flink REST one to come)
returns a :class:`JobVerdict`, so operators, sensors and triggers act on one vocabulary whatever
the source. Pure data and parsing: no I/O, stdlib only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class JobPhase(StrEnum):
    """What a waiting task should make of a Flink job."""

    #: Not decided yet: not deployed, status stale, starting, restarting, being upgraded.
    PENDING = "PENDING"
    #: The job runs the requested spec (and its JobManager is up).
    RUNNING = "RUNNING"
    #: The job of the requested spec finished on its own: success for a bounded job.
    FINISHED = "FINISHED"
    #: The job, its JobManager, or the requested spec failed.
    FAILED = "FAILED"
    #: The job was cancelled, or its resource deleted, by someone other than the waiting task.
    CANCELED = "CANCELED"
    #: The resource is suspended on purpose (``job.state: suspended``): nothing will run.
    SUSPENDED = "SUSPENDED"


_TERMINAL_PHASES = frozenset({JobPhase.FINISHED, JobPhase.FAILED, JobPhase.CANCELED, JobPhase.SUSPENDED})

# Java's Throwable.toString(): "fully.qualified.Type: message" (or the bare type without a message).
_JAVA_THROWABLE = re.compile(r"^(?P<type>[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+)(?::\s?(?P<message>.*))?$")
_CAUSED_BY = "Caused by: "
# Flink ships job failures to clients wrapped in this class, which keeps the original message but
# reports its own name as the type: the name says nothing, so it is dropped.
_WRAPPER_TYPES = frozenset({"org.apache.flink.util.SerializedThrowable"})


@dataclass(frozen=True)
class FlinkError:
    """
    An error reported by Flink or the Flink Kubernetes Operator, reduced to what a person acts on.

    :param type: Java exception class, e.g. ``org.apache.flink.runtime.JobException``; ``None`` when
        the source gave plain text only.
    :param message: The exception message (may be empty when the exception had none).
    :param root_cause: The deepest cause as ``"type: message"``, ``None`` when there is no cause chain.
    :param reason: A short machine reason when the operator gives one (``additionalMetadata.reason``,
        e.g. ``ImagePullBackOff`` for a failed JobManager deployment).
    """

    type: str | None
    message: str
    root_cause: str | None = None
    reason: str | None = None

    def summary(self) -> str:
        """Return one line: the error, its reason and its root cause when that adds anything."""
        head = ": ".join(part for part in (self.type, self.message) if part) or "unknown error"
        if self.reason:
            head = f"{head} [{self.reason}]"
        if self.root_cause and self.root_cause != head:
            head = f"{head} (root cause: {self.root_cause})"
        return head


@dataclass(frozen=True)
class JobVerdict:
    """
    One judgement of a Flink job's state, with the facts it rests on.

    :param phase: What the waiting task should make of it.
    :param message: For people: names the resource (kind namespace/name) or job, the states seen,
        the Flink error if any, and what happens next.
    :param job_id: Flink job id as last reported, if any.
    :param job_state: Flink job state as last reported (``RUNNING``, ``FINISHED``...), if any.
    :param lifecycle_state: Flink Kubernetes Operator lifecycle state, if the source has one.
    :param jm_status: ``jobManagerDeploymentStatus`` of a FlinkDeployment, if the source has one.
    :param error: The reported error, parsed, if any.
    :param savepoint_path: Latest known savepoint (or retained state) location, if any.
    """

    phase: JobPhase
    message: str
    job_id: str | None = None
    job_state: str | None = None
    lifecycle_state: str | None = None
    jm_status: str | None = None
    error: FlinkError | None = None
    savepoint_path: str | None = None

    @property
    def is_terminal(self) -> bool:
        """Whether waiting longer cannot change the outcome without a new spec or a new run."""
        return self.phase in _TERMINAL_PHASES


def parse_flink_error(raw: str | Mapping[str, Any] | None) -> FlinkError | None:
    """
    Parse an error as the Flink Kubernetes Operator or Flink reports it; never raises.

    Understands the operator's JSON (``{"type", "message", "stackTrace", "additionalMetadata",
    "throwableList": [{"type", "message"}, ...]}``, the list running from the direct cause to the
    deepest one), the same document already decoded, the operator's plain-text fallback
    (``"java.lang.Type: message"``, or a bare sentence such as ``"Job Not Found"``) and a Java stack
    trace (its last ``Caused by:`` line is the root cause).

    :param raw: The error as found, e.g. ``status.error`` of a FlinkDeployment.
    :return: The parsed error, or ``None`` when there is no error (``None``, empty or blank).
    """
    if raw is None:
        return None
    if isinstance(raw, Mapping):
        return _from_document(raw, fallback_text=json.dumps(raw, default=str))
    if not isinstance(raw, str):
        raw = str(raw)
    text = raw.strip()
    if not text:
        return None
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except ValueError:
            document = None
        if isinstance(document, Mapping):
            return _from_document(document, fallback_text=text)
    return _from_text(text)


def _from_document(document: Mapping[str, Any], *, fallback_text: str) -> FlinkError:
    error_type = _exception_type(document.get("type"))
    message = _text_or_none(document.get("message"))
    metadata = document.get("additionalMetadata")
    reason = _text_or_none(metadata.get("reason")) if isinstance(metadata, Mapping) else None
    causes = [cause for cause in document.get("throwableList") or [] if isinstance(cause, Mapping)]
    root_cause = None
    if causes:
        deepest = causes[-1]
        parts = (_exception_type(deepest.get("type")), _text_or_none(deepest.get("message")))
        root_cause = ": ".join(part for part in parts if part) or None
    if error_type is None and message is None and root_cause is None:
        # Valid JSON but not the operator's shape: the text itself is all there is to show.
        return FlinkError(type=None, message=fallback_text)
    return FlinkError(type=error_type, message=message or "", root_cause=root_cause, reason=reason)


def _from_text(text: str) -> FlinkError:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    first = _JAVA_THROWABLE.match(lines[0])
    causes = [line[len(_CAUSED_BY) :] for line in lines if line.startswith(_CAUSED_BY)]
    root_cause = causes[-1] if causes else None
    if first is None:
        return FlinkError(type=None, message=text if root_cause is None else lines[0], root_cause=root_cause)
    message = first.group("message") or ""
    if root_cause is None and len(lines) > 1 and not lines[1].startswith("at "):
        # A multi-line message rather than a stack trace: keep all of it.
        message = "\n".join([message, *lines[1:]]).strip()
    return FlinkError(type=first.group("type"), message=message, root_cause=root_cause)


def _exception_type(value: Any) -> str | None:
    text = _text_or_none(value)
    return None if text in _WRAPPER_TYPES else text


def _text_or_none(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
