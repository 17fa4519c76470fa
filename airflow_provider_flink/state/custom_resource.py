"""
Judge a Flink job from its FlinkDeployment or FlinkSessionJob object: the only place that reads their status.

The Flink Kubernetes Operator (1.15 semantics, older operators tolerated) writes several fields
that each tell part of the story, and no single one can be trusted alone:

* ``status.observedGeneration`` says which spec the rest of the status describes. Until it equals
  ``metadata.generation`` everything else is about an older spec.
* ``status.reconciliationStatus.lastReconciledSpec`` (a JSON string ``{"spec": ..., "resource_metadata":
  ...}``) is the spec the operator acted on, and its ``job.state`` is what the operator means to do:
  it writes ``suspended`` there while it deploys (state ``UPGRADING``), when the user suspends,
  and on its own when a job is cancelled behind its back.
* ``status.jobStatus.state`` is Flink's job state, polled once a minute; the operator writes
  ``FINISHED`` there for a suspend or an upgrade as well as for a job that really finished.
* ``status.jobManagerDeploymentStatus`` (FlinkDeployment only) starts as ``MISSING``, turns
  ``MISSING`` again after a suspend, an upgrade or the JobManager TTL, and ``ERROR`` when its pods
  cannot start.
* ``status.lifecycleState`` is the operator's own summary of the above.

:func:`judge_custom_resource` combines them in a fixed order; each step is documented where it
is taken. Pure function over plain data: no I/O, stdlib only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_flink.state.verdict import FlinkError, JobPhase, JobVerdict, parse_flink_error

FLINK_DEPLOYMENT = "FlinkDeployment"
FLINK_SESSION_JOB = "FlinkSessionJob"

# org.apache.flink.api.common.JobStatus#isGloballyTerminalState.
_GLOBALLY_TERMINAL = frozenset({"FINISHED", "FAILED", "CANCELED"})
# The operator records this as the upgrade "savepoint" of a last-state deployment: not a location.
_LAST_STATE_DUMMY_PATH = "KUBERNETES_OPERATOR_LAST_STATE"
_VALIDATION_EXCEPTION = "ValidationException"

# Spec fields the operator rewrites in lastReconciledSpec (job.state, job.upgradeMode) or never
# records there (fields marked @SpecDiff(IGNORE) in the 1.15 API: a change to them advances
# observedGeneration but leaves lastReconciledSpec as it was). Comparing them would wait forever.
_UNRECORDED_SPEC_PATHS = frozenset(
    {
        ("job", "state"),
        ("job", "upgradeMode"),
        ("job", "savepointTriggerNonce"),
        ("job", "checkpointTriggerNonce"),
        ("job", "initialSavepointPath"),
        ("job", "allowNonRestoredState"),
        ("job", "autoscalerResetNonce"),
    }
)
# flinkConfiguration keys the operator ignores the same way (AbstractFlinkSpec's @SpecDiff.Config).
_UNRECORDED_CONFIG_PREFIXES = ("job.autoscaler", "parallelism.default", "kubernetes.operator")

# Why a non-terminal job state is not RUNNING yet.
_NOT_YET_RUNNING = {
    None: "no job state reported yet",
    "RECONCILING": "the job is being submitted, or its state is being re-read (RECONCILING)",
    "INITIALIZING": "the job is starting (INITIALIZING)",
    "CREATED": "the job is starting (CREATED)",
    # Transient: Flink restarts the job under its restart strategy; FAILED follows if it gives up.
    "RESTARTING": "the job is RESTARTING after a failure; Flink retries it under its restart strategy",
    # Not yet FAILED: Flink goes on to RESTARTING or FAILED.
    "FAILING": "the job is FAILING; Flink will restart it or fail it",
    "CANCELLING": "the job is being cancelled (CANCELLING)",
    # Flink's SUSPENDED: the JobManager lost leadership; the job resumes on the next leader.
    "SUSPENDED": "the job is SUSPENDED by Flink (JobManager leadership lost); it resumes on the next leader",
}


@dataclass(frozen=True)
class _Seen:
    """Everything read from the object, normalised, before any judgement."""

    kind: str
    ref: str
    generation: int | None
    deleting: bool
    has_status: bool
    is_job: bool
    spec_job_state: str
    job_id: str | None
    job_state: str | None
    lifecycle: str | None
    jm_status: str | None
    reconciliation_state: str | None
    reconciled_spec: Mapping[str, Any] | None
    reconciled_job_state: str | None
    observed_generation: int | None
    error: FlinkError | None
    savepoint_path: str | None


def judge_custom_resource(
    obj: Mapping[str, Any],
    *,
    expected_spec: Mapping[str, Any] | None = None,
    previous_job_id: str | None = None,
) -> JobVerdict:
    """
    Judge the job of a FlinkDeployment or FlinkSessionJob from the object as read from Kubernetes.

    Phases: ``PENDING`` (not deployed yet, status stale, starting, restarting, being upgraded or
    recovered), ``RUNNING`` (job RUNNING with lifecycle STABLE or DEPLOYED and, for a
    FlinkDeployment, a READY JobManager; a session cluster without a job is RUNNING once its
    JobManager is READY), ``FINISHED`` (the requested job finished on its own), ``FAILED`` (job
    failed, JobManager deployment failed, spec rejected or rolled back), ``CANCELED`` (job cancelled
    or resource deleted outside the waiting task), ``SUSPENDED`` (suspended on purpose).

    :param obj: The whole object (``metadata``, ``spec``, ``status``) as a dict.
    :param expected_spec: The spec the caller applied. When given, the status is only trusted once
        the operator's ``lastReconciledSpec`` contains it: fields present here are compared,
        recursively, fields the operator adds are ignored, lists are compared element by element
        (same length), ``None`` means "not asked", and fields the operator rewrites or never records
        (``job.state``, ``job.upgradeMode``, snapshot trigger nonces, ``kubernetes.operator.*``
        configuration...) are skipped. A changed ``restartNonce`` is therefore caught here.
    :param previous_job_id: The job id of a run this call must not report on, e.g. the finished run
        a ``restartNonce`` bump replaces. While the status still shows that job in a terminal state
        the verdict is ``PENDING``. Pass it only when that run had ended: a last-state upgrade of a
        running job keeps its job id, and a RUNNING job with that id is judged normally.
    """
    seen = _read(obj)
    phase, what = _decide(seen, expected_spec, previous_job_id)
    return JobVerdict(
        phase=phase,
        message=_message(seen, phase, what),
        job_id=seen.job_id,
        job_state=seen.job_state,
        lifecycle_state=seen.lifecycle,
        jm_status=seen.jm_status,
        error=seen.error,
        savepoint_path=seen.savepoint_path,
    )


def _decide(seen: _Seen, expected_spec: Mapping[str, Any] | None, previous_job_id: str | None) -> tuple[JobPhase, str]:
    if seen.deleting:
        return JobPhase.CANCELED, "being deleted; its job will not complete"
    if not seen.has_status:
        return (
            JobPhase.PENDING,
            "no status yet: the Flink Kubernetes Operator has not picked it up "
            "(check that the operator runs and watches this namespace)",
        )
    if seen.reconciled_spec is None:
        if _spec_rejected(seen):
            return JobPhase.FAILED, _rejected_text(seen)
        if seen.spec_job_state == "suspended" and seen.error is None:
            # The operator does not deploy a resource created suspended; this is all that will happen.
            return JobPhase.SUSPENDED, "created with job.state suspended, so nothing is deployed"
        return JobPhase.PENDING, "not deployed by the Flink Kubernetes Operator yet"

    stale = _staleness(seen, expected_spec)
    if stale:
        if _spec_rejected(seen):
            return JobPhase.FAILED, _rejected_text(seen)
        return JobPhase.PENDING, stale

    reconciliation = seen.reconciliation_state
    if reconciliation == "UPGRADING":
        return JobPhase.PENDING, "being deployed with the new spec"
    if reconciliation in ("ROLLING_BACK", "ROLLED_BACK"):
        return (
            JobPhase.FAILED,
            "the requested spec did not become stable; the Flink Kubernetes Operator rolls back to the "
            "last stable spec",
        )
    if reconciliation != "DEPLOYED":
        return JobPhase.PENDING, "not deployed yet"

    if previous_job_id and seen.job_id == previous_job_id and seen.job_state in _GLOBALLY_TERMINAL:
        # The status still describes the run being replaced: its outcome is not this run's.
        return JobPhase.PENDING, f"waiting for the new job to replace {previous_job_id}"

    if seen.reconciled_job_state == "suspended":
        if seen.spec_job_state == "suspended":
            return JobPhase.SUSPENDED, "suspended (job.state suspended)"
        # Spec says running but the operator recorded suspended: it does that itself when the job
        # was cancelled behind its back, or (session jobs) when the job vanished from the cluster.
        if seen.job_state == "FAILED":
            return JobPhase.FAILED, "the job failed while being cancelled outside Airflow"
        if seen.job_state in _GLOBALLY_TERMINAL:
            return JobPhase.CANCELED, "the job was cancelled outside Airflow (not by this task)"
        return (
            JobPhase.PENDING,
            "the job is gone from the cluster; waiting for the operator to submit it again",
        )

    if seen.job_state == "FAILED":
        return JobPhase.FAILED, "the job failed"
    if seen.jm_status == "ERROR":
        return JobPhase.FAILED, "the JobManager deployment failed"
    if not seen.is_job:
        return _judge_session_cluster(seen)
    if seen.job_state == "CANCELED":
        return JobPhase.CANCELED, "the job was cancelled outside Airflow (not by this task)"
    if seen.job_state == "FINISHED":
        if seen.lifecycle in ("SUSPENDED", "UPGRADING"):
            # Suspend and upgrade also write FINISHED; only a job that ended by itself counts.
            return JobPhase.PENDING, f"the job shows FINISHED but the resource is {seen.lifecycle}"
        # Flink's own word on the job outranks the lifecycle, which the operator derives partly
        # from error text it clears lazily.
        return JobPhase.FINISHED, "the job finished"
    if seen.lifecycle == "FAILED":
        # Unrecoverable without a person: e.g. the JobManager is gone and HA metadata with it.
        return JobPhase.FAILED, "the Flink Kubernetes Operator marked the resource FAILED"
    if seen.job_state == "RUNNING":
        if seen.kind == FLINK_DEPLOYMENT and seen.jm_status != "READY":
            return JobPhase.PENDING, f"the JobManager is {seen.jm_status}; waiting for it to be READY again"
        if seen.lifecycle in (None, "STABLE", "DEPLOYED"):
            return JobPhase.RUNNING, "the job is running"
        return JobPhase.PENDING, f"the job is RUNNING but the resource is {seen.lifecycle}"
    if seen.kind == FLINK_DEPLOYMENT and seen.jm_status == "MISSING":
        return (
            JobPhase.PENDING,
            "the JobManager deployment is missing; waiting for the operator to recover it",
        )
    if seen.kind == FLINK_DEPLOYMENT and seen.jm_status in ("DEPLOYING", "DEPLOYED_NOT_READY"):
        return JobPhase.PENDING, f"the JobManager is starting ({seen.jm_status})"
    return JobPhase.PENDING, _NOT_YET_RUNNING.get(seen.job_state, f"the job is {seen.job_state}")


def _judge_session_cluster(seen: _Seen) -> tuple[JobPhase, str]:
    if seen.jm_status == "READY":
        return JobPhase.RUNNING, "the session cluster is ready"
    return JobPhase.PENDING, "the session cluster is starting"


def _staleness(seen: _Seen, expected_spec: Mapping[str, Any] | None) -> str | None:
    """Say why the status does not describe the requested spec yet, or ``None`` when it does."""
    if seen.observed_generation is None:
        return "not reconciled by the Flink Kubernetes Operator yet (no observedGeneration)"
    if seen.generation is not None and seen.observed_generation != seen.generation:
        relation = "<" if seen.observed_generation < seen.generation else "!="
        return (
            f"status is stale (observedGeneration {seen.observed_generation} {relation} generation "
            f"{seen.generation}); waiting for the Flink Kubernetes Operator to reconcile the new spec"
        )
    if expected_spec is not None and seen.reconciled_spec is not None:
        mismatch = _first_mismatch(expected_spec, seen.reconciled_spec, ())
        if mismatch is not None:
            path, actual, wanted = mismatch
            return (
                f"status is stale: the reconciled spec has {path}={_show(actual)}, requested "
                f"{_show(wanted)}; waiting for the Flink Kubernetes Operator to reconcile the requested spec"
            )
    return None


def _spec_rejected(seen: _Seen) -> bool:
    """
    Whether the operator's validation rejected the current generation.

    A rejected spec leaves observedGeneration where it was, so the status looks merely stale. The
    error can be pinned on the current generation only when no other unreconciled generation lies
    in between: a new resource (generation 1) or one update after the last reconciled one.
    Otherwise the error may be about an earlier, since corrected, spec: wait instead.
    """
    error_type = seen.error.type if seen.error else None
    if not error_type or not error_type.endswith(_VALIDATION_EXCEPTION) or seen.generation is None:
        return False
    if seen.observed_generation is None:
        return seen.generation == 1
    return seen.generation == seen.observed_generation + 1


def _rejected_text(seen: _Seen) -> str:
    return (
        f"spec (generation {seen.generation}) rejected by the Flink Kubernetes Operator; "
        "fix the spec and apply it again"
    )


def _first_mismatch(wanted: Any, actual: Any, path: tuple[str, ...]) -> tuple[str, Any, Any] | None:
    """Return ``(path, actual, wanted)`` for the first requested field the reconciled spec lacks."""
    if wanted is None or path in _UNRECORDED_SPEC_PATHS:
        return None
    if path == ("flinkConfiguration",) and isinstance(wanted, Mapping):
        return _first_config_mismatch(wanted, actual)
    if isinstance(wanted, Mapping):
        if not isinstance(actual, Mapping):
            return _format_path(path), actual, wanted
        for key, value in wanted.items():
            found = _first_mismatch(value, actual.get(key), (*path, str(key)))
            if found is not None:
                return found
        return None
    if isinstance(wanted, list | tuple):
        if not isinstance(actual, list | tuple) or len(actual) != len(wanted):
            return _format_path(path), actual, wanted
        for index, (item, actual_item) in enumerate(zip(wanted, actual, strict=True)):
            found = _first_mismatch(item, actual_item, (*path, f"[{index}]"))
            if found is not None:
                return found
        return None
    return None if _same_scalar(wanted, actual) else (_format_path(path), actual, wanted)


def _first_config_mismatch(wanted: Mapping[str, Any], actual: Any) -> tuple[str, Any, Any] | None:
    # Flink reads nested and dotted keys alike; compare them flattened so either form matches.
    wanted_flat = _flatten(wanted)
    actual_flat = _flatten(actual) if isinstance(actual, Mapping) else {}
    for key, value in wanted_flat.items():
        if value is None or key.startswith(_UNRECORDED_CONFIG_PREFIXES):
            continue
        found = _first_mismatch(value, actual_flat.get(key), (key,))
        if found is not None:
            return f'flinkConfiguration["{key}"]', found[1], found[2]
    return None


def _flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in config.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            flat.update(_flatten(value, dotted))
        else:
            flat[dotted] = value
    return flat


def _same_scalar(wanted: Any, actual: Any) -> bool:
    # Flink configuration is text in the end: "2" and 2, "true" and True mean the same to it.
    if isinstance(wanted, bool) or isinstance(actual, bool):
        return _scalar_text(wanted) == _scalar_text(actual)
    if isinstance(wanted, int | float) and isinstance(actual, int | float):
        return wanted == actual
    return _scalar_text(wanted) == _scalar_text(actual)


def _scalar_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _format_path(path: tuple[str, ...]) -> str:
    return "".join(part if part.startswith("[") or not index else f".{part}" for index, part in enumerate(path))


def _show(value: Any) -> str:
    text = _scalar_text(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


def _read(obj: Mapping[str, Any]) -> _Seen:
    metadata = _mapping(obj.get("metadata"))
    spec = _mapping(obj.get("spec"))
    raw_status = obj.get("status")
    status = _mapping(raw_status)
    job_status = _mapping(status.get("jobStatus"))
    reconciliation = _mapping(status.get("reconciliationStatus"))
    reconciled_spec, reconciled_meta = _parse_reconciled(reconciliation.get("lastReconciledSpec"))

    kind = obj.get("kind") or (FLINK_SESSION_JOB if "deploymentName" in spec else FLINK_DEPLOYMENT)
    spec_job = spec.get("job")
    reconciled_job = reconciled_spec.get("job") if reconciled_spec is not None else None
    reconciled_job_state = None
    if isinstance(reconciled_job, Mapping):
        reconciled_job_state = str(reconciled_job.get("state") or "running").lower()

    observed_generation = _int(status.get("observedGeneration"))
    if observed_generation is None and reconciled_meta is not None:
        # Operators before observedGeneration (FLINK-33803) kept it in the reconciled metadata.
        observed_generation = _int(_mapping(reconciled_meta.get("metadata")).get("generation"))

    lifecycle = _text(status.get("lifecycleState"))
    return _Seen(
        kind=str(kind),
        ref=f"{metadata.get('namespace') or 'default'}/{metadata.get('name') or '?'}",
        generation=_int(metadata.get("generation")),
        deleting=bool(metadata.get("deletionTimestamp")) or lifecycle in ("DELETING", "DELETED"),
        has_status=bool(status),
        is_job=isinstance(spec_job, Mapping) or isinstance(reconciled_job, Mapping),
        spec_job_state=str(_mapping(spec_job).get("state") or "running").lower(),
        job_id=_text(job_status.get("jobId")),
        job_state=_text(job_status.get("state")),
        lifecycle=lifecycle,
        jm_status=_text(status.get("jobManagerDeploymentStatus")) if kind != FLINK_SESSION_JOB else None,
        reconciliation_state=_text(reconciliation.get("state")),
        reconciled_spec=reconciled_spec,
        reconciled_job_state=reconciled_job_state,
        observed_generation=observed_generation,
        error=parse_flink_error(status.get("error")),
        savepoint_path=_savepoint_path(job_status),
    )


def _parse_reconciled(raw: Any) -> tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]:
    """Return ``(spec, resource_metadata)`` from ``lastReconciledSpec``; ``(None, None)`` if unreadable."""
    wrapper: Any = raw
    if isinstance(raw, str):
        try:
            wrapper = json.loads(raw)
        except ValueError:
            return None, None
    if not isinstance(wrapper, Mapping):
        return None, None
    meta = wrapper.get("resource_metadata")
    if isinstance(meta, Mapping):
        spec = wrapper.get("spec")
        return (spec if isinstance(spec, Mapping) else None), meta
    # Before resource_metadata existed the string was the spec itself, with apiVersion mixed in.
    return {key: value for key, value in wrapper.items() if key != "apiVersion"}, None


def _savepoint_path(job_status: Mapping[str, Any]) -> str | None:
    # upgradeSavepointPath is where the operator would restore from: written by suspend and
    # upgrade savepoints and by the last checkpoint seen of a terminal job. savepointInfo is
    # deprecated in 1.15 (FlinkStateSnapshot resources replace it) but older operators fill it.
    upgrade_path = _text(job_status.get("upgradeSavepointPath"))
    if upgrade_path and upgrade_path != _LAST_STATE_DUMMY_PATH:
        return upgrade_path
    last_savepoint = _mapping(_mapping(job_status.get("savepointInfo")).get("lastSavepoint"))
    return _text(last_savepoint.get("location"))


def _message(seen: _Seen, phase: JobPhase, what: str) -> str:
    states = [
        f"{label} {value}"
        for label, value in (
            ("job", seen.job_state),
            ("lifecycle", seen.lifecycle),
            ("JobManager", seen.jm_status),
            (
                "reconciliation",
                seen.reconciliation_state if seen.reconciliation_state != "DEPLOYED" else None,
            ),
        )
        if value
    ]
    message = f"{seen.kind} {seen.ref}: {what}"
    if states:
        message = f"{message} ({', '.join(states)})"
    message = f"{message}."
    # The operator clears status.error lazily: next to a running or finished job it is history.
    if seen.error is not None and phase not in (JobPhase.RUNNING, JobPhase.FINISHED):
        message = f"{message} Error reported: {seen.error.summary()}"
    return message


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None
