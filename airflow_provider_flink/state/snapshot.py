"""Judging a FlinkStateSnapshot (a savepoint or checkpoint taken by the Flink Kubernetes Operator)."""

from __future__ import annotations

from typing import Any

from airflow_provider_flink.state.verdict import JobPhase, JobVerdict, parse_flink_error

_PENDING_STATES = frozenset({"TRIGGER_PENDING", "IN_PROGRESS"})
_FAILED_STATES = frozenset({"FAILED", "ABANDONED"})


def judge_snapshot(obj: dict[str, Any]) -> JobVerdict:
    """
    Say whether a FlinkStateSnapshot is still being taken (PENDING), done (FINISHED, with its path) or FAILED.

    ``ABANDONED`` (the job it refers to is gone or not running) counts as failed: no snapshot will come.

    :param obj: The FlinkStateSnapshot object as read from the API server.
    """
    metadata = obj.get("metadata") or {}
    status = obj.get("status") or {}
    resource = f"FlinkStateSnapshot {metadata.get('namespace')}/{metadata.get('name')}"
    state = status.get("state")
    error = parse_flink_error(status.get("error"))
    if state == "COMPLETED":
        path = status.get("path")
        return JobVerdict(JobPhase.FINISHED, f"{resource}: completed at {path}", job_state=state, savepoint_path=path)
    if state in _FAILED_STATES:
        reason = error.summary() if error else "no error reported"
        failures = status.get("failures")
        tries = f" after {failures} failed attempt(s)" if failures else ""
        return JobVerdict(JobPhase.FAILED, f"{resource}: {state}{tries}: {reason}", job_state=state, error=error)
    seen = state or "not picked up by the Flink operator yet"
    return JobVerdict(JobPhase.PENDING, f"{resource}: {seen}", job_state=state)


def judge_savepoint_trigger(obj: dict[str, Any], nonce: int) -> JobVerdict:
    """
    Say whether the savepoint asked for with ``spec.job.savepointTriggerNonce = nonce`` is done.

    The way of Flink Kubernetes Operators without FlinkStateSnapshot resources (before 1.10, or with
    ``kubernetes.operator.snapshot.resource.enabled: false``): the operator records the savepoint in
    ``status.jobStatus.savepointInfo.lastSavepoint`` with the nonce that triggered it. A job that fails or stops
    meanwhile ends the wait: no savepoint will come.

    :param obj: The FlinkDeployment or FlinkSessionJob as read from the API server.
    :param nonce: The ``savepointTriggerNonce`` the task set.
    """
    from airflow_provider_flink.state.custom_resource import judge_custom_resource

    metadata = obj.get("metadata") or {}
    resource = f"{obj.get('kind')} {metadata.get('namespace')}/{metadata.get('name')}"
    job_status = (obj.get("status") or {}).get("jobStatus") or {}
    last = (job_status.get("savepointInfo") or {}).get("lastSavepoint") or {}
    if str(last.get("triggerNonce")) == str(nonce) and last.get("location"):
        path = last["location"]
        return JobVerdict(
            JobPhase.FINISHED,
            f"{resource}: savepoint {nonce} completed at {path}",
            job_id=job_status.get("jobId"),
            job_state=job_status.get("state"),
            savepoint_path=path,
        )
    job = judge_custom_resource(obj)
    if job.phase in (JobPhase.FAILED, JobPhase.CANCELED, JobPhase.SUSPENDED, JobPhase.FINISHED):
        return JobVerdict(
            JobPhase.FAILED,
            f"{resource}: the job is {job.phase} before savepoint {nonce} was taken. {job.message}",
            job_id=job.job_id,
            job_state=job.job_state,
            error=job.error,
        )
    return JobVerdict(JobPhase.PENDING, f"{resource}: savepoint {nonce} in progress", job_id=job.job_id)
