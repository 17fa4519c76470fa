"""
Judge a native-mode Flink job from its cluster's REST answers, or from its JobManager pod before REST answers.

A native application cluster (``flink run --target kubernetes-application``) has no custom resource:
what the job does is only known from the JobManager's REST API, read through the API server's service
proxy, and, while that API does not answer yet, from the JobManager pod. Two pure functions:

* :func:`judge_rest` reads ``/jobs/overview`` and, for the job it picks, ``/jobs/<id>``,
  ``/jobs/<id>/exceptions`` and ``/jobs/<id>/execution-result``.
* :func:`judge_jobmanager_pods` reads the JobManager pods when REST does not answer, to fail fast on
  startup problems (image pull errors, crash loops, bad configuration) instead of waiting for a timeout.

The answer shapes are Flink 2.3's, taken from a real cluster (``tests/native_operator/fixtures/rest``):
``/jobs/<id>/exceptions`` holds ``exceptionHistory.entries[]`` (``exceptionName``, ``stacktrace``,
``timestamp``, ``concurrentExceptions``); Flink 1.x also sent ``root-exception`` (a stack trace string),
which is read when present. Pure data in, :class:`JobVerdict` out: no I/O, stdlib only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_flink.state.verdict import FlinkError, JobPhase, JobVerdict, parse_flink_error

#: Flink's globally terminal job states (JobStatus#isGloballyTerminalState).
GLOBALLY_TERMINAL_STATES = frozenset({"FINISHED", "FAILED", "CANCELED"})
#: ``application-status`` of ``/jobs/<id>/execution-result`` -> the job state it stands for.
_APPLICATION_STATUS = {"SUCCEEDED": "FINISHED", "FAILED": "FAILED", "CANCELED": "CANCELED", "UNKNOWN": "FAILED"}
_TERMINAL_PHASE = {"FINISHED": JobPhase.FINISHED, "FAILED": JobPhase.FAILED, "CANCELED": JobPhase.CANCELED}

# Why a job that is not globally terminal is not RUNNING yet.
_NOT_YET_RUNNING = {
    "INITIALIZING": "the job is starting (INITIALIZING)",
    "CREATED": "the job is starting (CREATED)",
    "RECONCILING": "the job is being recovered (RECONCILING)",
    # Transient: Flink restarts the job under its restart strategy; FAILED follows if it gives up.
    "RESTARTING": "the job is RESTARTING after a failure; Flink retries it under its restart strategy",
    "FAILING": "the job is FAILING; Flink will restart it or fail it",
    "CANCELLING": "the job is being cancelled (CANCELLING)",
    # Not globally terminal: the JobManager lost leadership and the next leader resumes the job.
    "SUSPENDED": "the job is SUSPENDED by Flink (JobManager leadership lost); it resumes on the next leader",
}

#: JobManager container waiting reasons that will not resolve without a change by a person.
FATAL_WAITING_REASONS = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "ErrImageNeverPull",
        "CrashLoopBackOff",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)
#: Name of the JobManager's container in pods Flink creates.
FLINK_MAIN_CONTAINER = "flink-main-container"


def cluster_ref(cluster_id: str, namespace: str | None = None) -> str:
    """Name a native cluster in messages: ``Flink application cluster ns/id``."""
    return f"Flink application cluster {namespace + '/' if namespace else ''}{cluster_id}"


def select_job(overview: Mapping[str, Any] | None, previous_job_id: str | None = None) -> Mapping[str, Any] | None:
    """
    Pick the job a wait is about from a ``/jobs/overview`` answer: the newest one, ignoring ``previous_job_id``.

    An application cluster normally runs one job; an application whose ``main()`` runs several picks the
    newest (by ``start-time``), which is the one still going when the others are done.

    :param overview: The ``/jobs/overview`` answer, or ``None``.
    :param previous_job_id: A job id that must not decide (a run being replaced).
    :return: The overview entry (``jid``, ``name``, ``state``, ``tasks``...), or ``None`` when there is none.
    """
    jobs = [job for job in (overview or {}).get("jobs") or [] if isinstance(job, Mapping)]
    jobs = [job for job in jobs if job.get("jid") and job.get("jid") != previous_job_id]
    if not jobs:
        return None
    return max(jobs, key=lambda job: _number(job.get("start-time")))


def judge_rest(
    cluster_id: str,
    overview: Mapping[str, Any] | None,
    job: Mapping[str, Any] | None = None,
    exceptions: Mapping[str, Any] | None = None,
    execution_result: Mapping[str, Any] | None = None,
    *,
    namespace: str | None = None,
    previous_job_id: str | None = None,
) -> JobVerdict:
    """
    Judge the job of a native application cluster from its REST answers.

    Phases: ``PENDING`` (REST not answering yet, no job submitted yet, the job starting, restarting or
    being cancelled, or RUNNING with none of its tasks running yet: no TaskManager slot), ``RUNNING``,
    ``FINISHED``, ``FAILED`` (with Flink's exception as :class:`FlinkError`) and ``CANCELED``.

    :param cluster_id: The ``kubernetes.cluster-id``, for messages.
    :param overview: ``/jobs/overview``, or ``None`` when the REST API did not answer.
    :param job: ``/jobs/<id>`` of the selected job (:func:`select_job`), if fetched; its state is fresher
        than the overview's.
    :param exceptions: ``/jobs/<id>/exceptions``, if fetched: the source of a failed job's exception.
    :param execution_result: ``/jobs/<id>/execution-result``, if fetched: confirms a terminal state and
        carries the failure cause when the exception history has none.
    :param namespace: The cluster's namespace, for messages.
    :param previous_job_id: A job id whose state must not decide (a run being replaced).
    """
    ref = cluster_ref(cluster_id, namespace)
    if overview is None:
        return JobVerdict(JobPhase.PENDING, f"{ref}: the REST API does not answer yet (JobManager starting).")
    entry = select_job(overview, previous_job_id)
    if entry is None:
        return JobVerdict(
            JobPhase.PENDING,
            f"{ref}: no job yet; the JobManager runs the application's main() and submits it.",
        )
    job_id = str(entry.get("jid"))
    detail = job if isinstance(job, Mapping) and job.get("jid") in (None, job_id) else None
    state = _state(entry, detail, execution_result, job_id)
    what = f"{ref}: Flink job {job_id}" + (f" ({entry.get('name')})" if entry.get("name") else "")

    if state in _TERMINAL_PHASE:
        phase = _TERMINAL_PHASE[state]
        error = _failure(exceptions, execution_result, job_id) if phase is JobPhase.FAILED else None
        if phase is JobPhase.FINISHED:
            message = f"{what} FINISHED."
        elif phase is JobPhase.CANCELED:
            message = f"{what} was CANCELED (not by this task)."
        else:
            cause = error.summary() if error else "no exception was recorded (see the JobManager log)"
            message = f"{what} FAILED: {cause}"
        return JobVerdict(phase, message, job_id=job_id, job_state=state, error=error)
    if state == "RUNNING":
        tasks = entry.get("tasks")
        tasks = tasks if isinstance(tasks, Mapping) else {}
        started = _number(tasks.get("running")) + _number(tasks.get("finished"))
        if _number(tasks.get("total")) > 0 and started == 0:
            # Flink calls a job RUNNING once it is scheduled; with no TaskManager slot nothing runs.
            return JobVerdict(
                JobPhase.PENDING,
                f"{what} is RUNNING but none of its {int(_number(tasks.get('total')))} tasks runs yet "
                "(waiting for TaskManager slots).",
                job_id=job_id,
                job_state=state,
            )
        return JobVerdict(JobPhase.RUNNING, f"{what} is RUNNING.", job_id=job_id, job_state=state)
    why = _NOT_YET_RUNNING.get(state or "", f"the job state is {state!r}")
    return JobVerdict(JobPhase.PENDING, f"{what}: {why}.", job_id=job_id, job_state=state)


def judge_jobmanager_pods(
    cluster_id: str,
    pods: Sequence[Mapping[str, Any]],
    *,
    namespace: str | None = None,
    rest_problem: str | None = None,
) -> JobVerdict:
    """
    Judge a native cluster whose REST API does not answer from its JobManager pods (newest first).

    ``FAILED`` when the JobManager cannot start without a change by a person: the image cannot be pulled,
    the container crash-loops or terminated with an error, or its configuration is broken (the
    :data:`FATAL_WAITING_REASONS`); the error's ``reason`` is the Kubernetes reason. Otherwise ``PENDING``
    with what the pod is doing, so that a startup timeout says where it stood.

    :param cluster_id: The ``kubernetes.cluster-id``.
    :param pods: The cluster's JobManager pods (``app=<id>,component=jobmanager``), newest first.
    :param namespace: The namespace, for messages.
    :param rest_problem: Why REST did not answer, added to a PENDING message.
    """
    ref = cluster_ref(cluster_id, namespace)
    suffix = f" (REST: {rest_problem})" if rest_problem else ""
    if not pods:
        return JobVerdict(JobPhase.PENDING, f"{ref}: no JobManager pod yet{suffix}.")
    pod = pods[0]
    name = (pod.get("metadata") or {}).get("name") or "?"
    status = pod.get("status") or {}
    statuses = [s for s in status.get("containerStatuses") or [] if isinstance(s, Mapping)]
    main = next((s for s in statuses if s.get("name") == FLINK_MAIN_CONTAINER), statuses[0] if statuses else None)
    pod_ref = f"JobManager pod {namespace + '/' if namespace else ''}{name}"
    if main is not None:
        state = main.get("state") or {}
        waiting = state.get("waiting") or {}
        terminated = state.get("terminated") or {}
        last = (main.get("lastState") or {}).get("terminated") or {}
        if waiting.get("reason") in FATAL_WAITING_REASONS:
            reason = str(waiting["reason"])
            detail = waiting.get("message") or ""
            if reason == "CrashLoopBackOff" and last:
                detail = _terminated_text(last) + (f"; {detail}" if detail else "")
            message = f"{ref}: {pod_ref} cannot start: {reason}" + (f": {detail}" if detail else "")
            return JobVerdict(JobPhase.FAILED, message, error=FlinkError(type=None, message=message, reason=reason))
        if terminated and _number(terminated.get("exitCode")) != 0:
            reason = str(terminated.get("reason") or "Error")
            message = f"{ref}: {pod_ref} terminated: {_terminated_text(terminated)}"
            return JobVerdict(JobPhase.FAILED, message, error=FlinkError(type=None, message=message, reason=reason))
    if status.get("phase") == "Failed":
        reason = str(status.get("reason") or "Failed")
        message = f"{ref}: {pod_ref} failed: {status.get('message') or reason}"
        return JobVerdict(JobPhase.FAILED, message, error=FlinkError(type=None, message=message, reason=reason))
    return JobVerdict(JobPhase.PENDING, f"{ref}: {pod_ref} is {_pod_progress(status, main)}{suffix}.")


def _state(
    entry: Mapping[str, Any], detail: Mapping[str, Any] | None, execution_result: Mapping[str, Any] | None, job_id: str
) -> str | None:
    state = (detail or {}).get("state") or entry.get("state")
    result = _completed_result(execution_result, job_id)
    if result is not None and state not in GLOBALLY_TERMINAL_STATES:
        # The execution result is final once COMPLETED, even if the overview was read a moment earlier.
        state = _APPLICATION_STATUS.get(str(result.get("application-status")), state)
    return str(state) if state is not None else None


def _completed_result(execution_result: Mapping[str, Any] | None, job_id: str) -> Mapping[str, Any] | None:
    if not isinstance(execution_result, Mapping):
        return None
    if (execution_result.get("status") or {}).get("id") != "COMPLETED":
        return None
    result = execution_result.get("job-execution-result")
    if not isinstance(result, Mapping) or result.get("id") not in (None, job_id):
        return None
    return result


def _failure(
    exceptions: Mapping[str, Any] | None, execution_result: Mapping[str, Any] | None, job_id: str
) -> FlinkError | None:
    """Flink's exception for a failed job: the newest exception history entry, else the older shapes."""
    if isinstance(exceptions, Mapping):
        history = exceptions.get("exceptionHistory") or {}
        entries = [e for e in history.get("entries") or [] if isinstance(e, Mapping)]
        if entries:
            newest = max(entries, key=lambda e: _number(e.get("timestamp")))
            error = parse_flink_error(newest.get("stacktrace") or newest.get("exceptionName"))
            if error is not None:
                return _with_task_cause(error, newest)
        # Flink 1.x: a stack trace string (deprecated there, removed in 2.0).
        error = parse_flink_error(exceptions.get("root-exception"))
        if error is not None:
            return error
    result = _completed_result(execution_result, job_id)
    cause = (result or {}).get("failure-cause")
    if isinstance(cause, Mapping):
        return parse_flink_error(cause.get("stack-trace") or cause.get("class"))
    return None


def _with_task_cause(error: FlinkError, entry: Mapping[str, Any]) -> FlinkError:
    # A global failure ("Recovery is suppressed by ...") whose stack trace lacks a cause names the task
    # failure that triggered it among its concurrent exceptions.
    if error.root_cause:
        return error
    for concurrent in entry.get("concurrentExceptions") or []:
        if isinstance(concurrent, Mapping):
            task_error = parse_flink_error(concurrent.get("stacktrace") or concurrent.get("exceptionName"))
            if task_error is not None:
                cause = ": ".join(part for part in (task_error.type, task_error.message) if part)
                return FlinkError(type=error.type, message=error.message, root_cause=cause or None, reason=error.reason)
    return error


def _terminated_text(terminated: Mapping[str, Any]) -> str:
    parts = [f"exit code {terminated.get('exitCode')}"]
    if terminated.get("reason"):
        parts.append(str(terminated["reason"]))
    if terminated.get("message"):
        parts.append(str(terminated["message"]).strip())
    return ", ".join(parts)


def _pod_progress(status: Mapping[str, Any], main: Mapping[str, Any] | None) -> str:
    phase = status.get("phase") or "Pending"
    waiting = ((main or {}).get("state") or {}).get("waiting") or {}
    if waiting.get("reason"):
        return f"{phase} ({waiting['reason']})"
    for condition in status.get("conditions") or []:
        if isinstance(condition, Mapping) and condition.get("status") == "False" and condition.get("reason"):
            detail = f": {condition['message']}" if condition.get("message") else ""
            return f"{phase} ({condition['type']} {condition['reason']}{detail})"
    if phase == "Running":
        return "Running; its REST API does not answer yet"
    return str(phase)


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0
