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
