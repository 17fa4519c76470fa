"""Errors raised by the Flink provider, each naming the object, the HTTP status and the server's message."""

from __future__ import annotations

import json
from typing import Any

from airflow.exceptions import AirflowException

# The API server answers this for an unknown resource type, e.g. when the CRD is not installed;
# a missing object gets "<plural> "<name>" not found" instead.
_UNKNOWN_RESOURCE_MESSAGE = "the server could not find the requested resource"


class FlinkKubernetesError(AirflowException):
    """
    Base class of every error this provider raises about a Kubernetes or Flink object.

    :param message: Full human readable message.
    :param kind: Kind of the object (``FlinkDeployment``, ``Pod``, ...).
    :param namespace: Namespace of the object.
    :param name: Name of the object.
    :param status: HTTP status of the failed request, ``None`` when no answer was received.
    :param server_message: The server's own explanation (Kubernetes ``Status.message`` or Flink ``errors``).
    """

    def __init__(
        self,
        message: str,
        *,
        kind: str | None = None,
        namespace: str | None = None,
        name: str | None = None,
        status: int | None = None,
        reason: str | None = None,
        server_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.status = status
        self.reason = reason
        self.server_message = server_message

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only attributes would be lost by the default pickling of exceptions (used by
        # Airflow when an error crosses a process boundary).
        return (_rebuild, (type(self), str(self), self.__dict__.copy()))


def _rebuild(cls: type[FlinkKubernetesError], message: str, state: dict[str, Any]) -> FlinkKubernetesError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class FlinkApiError(FlinkKubernetesError):
    """A request to the Kubernetes API server (or to Flink REST through it) failed."""


class FlinkResourceNotFound(FlinkApiError):
    """The object does not exist (HTTP 404)."""


class FlinkConflictError(FlinkApiError):
    """The object already exists, or kept changing under a write (HTTP 409)."""


class FlinkPermissionDenied(FlinkApiError):
    """The connection's identity may not do this (HTTP 401 or 403)."""


class FlinkInvalidResource(FlinkApiError):
    """The API server rejected the object's content (HTTP 400 or 422)."""


class FlinkApiUnavailable(FlinkApiError):
    """The API server kept failing transiently (or was unreachable) until the retry budget ran out."""


class FlinkWatchExpired(FlinkApiError):
    """The watch's resourceVersion is too old (HTTP 410 Gone): list again and watch from the new version."""


class FlinkRestError(FlinkApiError):
    """A Flink REST call through the API server's service proxy failed."""


def parse_server_message(body: bytes | str | None) -> str | None:
    """
    Extract the server's explanation from an error response body.

    Understands a Kubernetes ``Status`` (``message``), Flink REST errors (``{"errors": [...]}``)
    and falls back to the raw text, shortened.

    :param body: Response body as received.
    """
    if body is None:
        return None
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else str(body)
    text = text.strip()
    if not text:
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        return text if len(text) <= 500 else text[:500] + "..."
    if isinstance(parsed, dict):
        if parsed.get("message"):
            return str(parsed["message"])
        errors = parsed.get("errors")
        if isinstance(errors, list) and errors:
            # Flink puts the useful line first and a full stack trace after it.
            return "; ".join(str(e).strip().splitlines()[0] for e in errors if str(e).strip()) or None
    return text if len(text) <= 500 else text[:500] + "..."


def _hint(status: int | None, verb: str | None, rbac_resource: str | None, server_message: str | None) -> str:
    if status in (401, 403):
        what = f"'{verb}' on {rbac_resource}" if verb and rbac_resource else "the needed permission"
        return f" Grant the connection's identity {what} in this namespace (RBAC), or use another connection."
    if status == 404 and server_message == _UNKNOWN_RESOURCE_MESSAGE:
        return (
            " Is the resource type known to the cluster"
            " (for Flink kinds: is the Flink Kubernetes Operator's CRD installed)?"
        )
    if status == 409:
        return " Re-read the object and retry, or choose another name."
    return ""


def api_error(
    *,
    action: str,
    kind: str,
    namespace: str | None,
    name: str | None,
    status: int | None,
    reason: str | None = None,
    body: bytes | str | None = None,
    detail: str | None = None,
    note: str | None = None,
    verb: str | None = None,
    rbac_resource: str | None = None,
    error_class: type[FlinkApiError] | None = None,
) -> FlinkApiError:
    """
    Build the error for a failed request, choosing the subclass from the HTTP status.

    :param action: What was attempted, e.g. ``"create"``.
    :param kind: Kind of the object.
    :param namespace: Namespace of the object.
    :param name: Name of the object, ``None`` for a collection.
    :param status: HTTP status, ``None`` when no answer was received.
    :param reason: HTTP reason phrase.
    :param body: Response body, parsed for the server's message.
    :param detail: Extra text when there is no body (e.g. the network error).
    :param note: Appended to the message, e.g. how many attempts were made.
    :param verb: RBAC verb, for the permission hint.
    :param rbac_resource: RBAC resource (``flinkdeployments.flink.apache.org``), for the permission hint.
    :param error_class: Force a subclass instead of choosing it from the status.
    """
    server_message = parse_server_message(body) or detail
    target = f"{namespace}/{name}" if name else f"namespace {namespace}"
    http = f"HTTP {status}" + (f" {reason}" if reason else "") if status else "no HTTP answer"
    message = f"Could not {action} {kind} {target}: {http}"
    if server_message:
        message += f": {server_message}"
    if note:
        message += f" ({note})"
    message += "." if not message.endswith(".") else ""
    message += _hint(status, verb, rbac_resource, server_message)
    if error_class is None:
        error_class = _class_for_status(status, server_message)
    return error_class(
        message,
        kind=kind,
        namespace=namespace,
        name=name,
        status=status,
        reason=reason,
        server_message=server_message,
    )


def _class_for_status(status: int | None, server_message: str | None) -> type[FlinkApiError]:
    if status == 404 and server_message != _UNKNOWN_RESOURCE_MESSAGE:
        return FlinkResourceNotFound
    if status == 409:
        return FlinkConflictError
    if status in (401, 403):
        return FlinkPermissionDenied
    if status in (400, 422):
        return FlinkInvalidResource
    if status == 410:
        return FlinkWatchExpired
    return FlinkApiError


class FlinkJobFailed(AirflowException):
    """The Flink job failed, was cancelled or suspended while a task waited for it to run or finish."""


class FlinkJobTimeout(AirflowException):
    """A wait on a Flink job ran out of time (startup timeout, ``wait_timeout`` or ``execution_timeout``)."""
