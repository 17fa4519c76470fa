"""Judging FlinkStateSnapshot objects."""

from __future__ import annotations

import json

import pytest

from airflow_provider_flink.state import JobPhase
from airflow_provider_flink.state.snapshot import judge_snapshot


def _snapshot(status: dict | None) -> dict:
    obj = {"metadata": {"name": "job-savepoint-1", "namespace": "flink"}, "spec": {"savepoint": {}}}
    if status is not None:
        obj["status"] = status
    return obj


@pytest.mark.parametrize(
    ("status", "phase"),
    [
        (None, JobPhase.PENDING),
        ({"state": "TRIGGER_PENDING"}, JobPhase.PENDING),
        ({"state": "IN_PROGRESS", "triggerId": "abc"}, JobPhase.PENDING),
        ({"state": "COMPLETED", "path": "s3://sp/savepoint-1"}, JobPhase.FINISHED),
        ({"state": "FAILED", "failures": 3, "error": "checkpoint declined"}, JobPhase.FAILED),
        ({"state": "ABANDONED", "error": "Target for snapshot flink/job was not found"}, JobPhase.FAILED),
    ],
    ids=["no-status", "trigger-pending", "in-progress", "completed", "failed", "abandoned"],
)
def test_snapshot_phase_for_each_state(status, phase):
    assert judge_snapshot(_snapshot(status)).phase is phase


def test_completed_snapshot_carries_its_path():
    verdict = judge_snapshot(_snapshot({"state": "COMPLETED", "path": "s3://sp/savepoint-1"}))

    assert verdict.savepoint_path == "s3://sp/savepoint-1"


def test_failed_snapshot_message_names_it_and_quotes_the_flink_error():
    error = json.dumps({"type": "org.apache.flink.runtime.checkpoint.CheckpointException", "message": "declined"})

    verdict = judge_snapshot(_snapshot({"state": "FAILED", "failures": 2, "error": error}))

    assert "FlinkStateSnapshot flink/job-savepoint-1" in verdict.message
    assert "declined" in verdict.message and "2 failed attempt" in verdict.message
