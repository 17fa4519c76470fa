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


def _deployment(last_savepoint: dict | None, job_state: str = "RUNNING") -> dict:
    status = {
        "jobStatus": {"state": job_state, "jobId": "a" * 32, "savepointInfo": {"lastSavepoint": last_savepoint}},
        "lifecycleState": "STABLE",
        "jobManagerDeploymentStatus": "READY",
        "observedGeneration": 1,
        "reconciliationStatus": {
            "state": "DEPLOYED",
            "lastReconciledSpec": json.dumps({"spec": {"job": {"state": "running"}}, "resource_metadata": {}}),
        },
    }
    return {
        "kind": "FlinkDeployment",
        "metadata": {"name": "job", "namespace": "flink", "generation": 1},
        "status": status,
    }


@pytest.mark.parametrize(
    ("last_savepoint", "job_state", "phase"),
    [
        (None, "RUNNING", JobPhase.PENDING),
        ({"triggerNonce": 1, "location": "file:///sp/old"}, "RUNNING", JobPhase.PENDING),
        ({"triggerNonce": 2, "location": "file:///sp/new"}, "RUNNING", JobPhase.FINISHED),
        (None, "FAILED", JobPhase.FAILED),
    ],
    ids=["none-yet", "older-savepoint", "ours", "job-failed-first"],
)
def test_savepoint_trigger_nonce_is_done_only_with_our_nonce(last_savepoint, job_state, phase):
    from airflow_provider_flink.state.snapshot import judge_savepoint_trigger

    verdict = judge_savepoint_trigger(_deployment(last_savepoint, job_state), nonce=2)

    assert verdict.phase is phase
    if phase is JobPhase.FINISHED:
        assert verdict.savepoint_path == "file:///sp/new"
