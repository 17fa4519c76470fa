"""Session clusters, FlinkSessionJobs and FlinkStateSnapshots under the simulated operator."""

from __future__ import annotations

import json
import re

import pytest
from simulator_support import (
    KIND_DEPLOYMENT,
    KIND_SESSION_JOB,
    KIND_SNAPSHOT,
    Flink,
    deployment_body,
    distinct,
    job_state,
    session_job_body,
    snapshot_body,
    status_of,
)

pytestmark = pytest.mark.usefixtures("simulator")


def ready(obj: dict) -> bool:
    return status_of(obj).get("jobManagerDeploymentStatus") == "READY"


def test_session_cluster_becomes_ready_and_stable_without_a_job(flink: Flink) -> None:
    flink.create(deployment_body("session", job=False))

    final = flink.wait_for(
        KIND_DEPLOYMENT, "session", lambda o: status_of(o).get("lifecycleState") == "STABLE", "STABLE"
    )[-1]

    assert (
        final["status"]["jobManagerDeploymentStatus"],
        job_state(final),
        final["status"]["conditions"][0]["reason"],
    ) == (
        "READY",
        None,
        "JobManagerReady",
    )


def test_session_job_without_its_session_cluster_stays_created_without_error_or_job(flink: Flink) -> None:
    flink.create(session_job_body("orphan", "no-such-session"))
    flink.create(deployment_body("orphan-clock", scenario="batch-success"))
    flink.wait_for(KIND_DEPLOYMENT, "orphan-clock", lambda o: job_state(o) == "FINISHED", "FINISHED")

    status = flink.get(KIND_SESSION_JOB, "orphan")["status"]

    assert (status["lifecycleState"], status.get("error"), status["jobStatus"].get("jobId")) == ("CREATED", None, None)


def test_session_job_runs_once_its_session_cluster_is_ready(flink: Flink) -> None:
    flink.create(session_job_body("late-job", "late-session"))
    flink.wait_for(KIND_SESSION_JOB, "late-job", lambda o: bool(o.get("status")), "a status")

    flink.create(deployment_body("late-session", job=False))
    objects = flink.wait_for(KIND_SESSION_JOB, "late-job", lambda o: job_state(o) == "FINISHED", "FINISHED")

    assert distinct([job_state(o) for o in objects]) == ["RECONCILING", "CREATED", "RUNNING", "FINISHED"]


def test_session_job_status_has_no_jobmanager_status_and_ends_stable(flink: Flink) -> None:
    flink.create(deployment_body("shared", job=False))
    flink.create(session_job_body("batch-job", "shared"))

    final = flink.wait_for(KIND_SESSION_JOB, "batch-job", lambda o: job_state(o) == "FINISHED", "FINISHED")[-1]

    assert ("jobManagerDeploymentStatus" in final["status"], final["status"]["lifecycleState"]) == (False, "STABLE")


def test_session_job_failure_carries_the_exception(flink: Flink) -> None:
    flink.create(deployment_body("shared-fail", job=False))
    flink.create(session_job_body("failing-job", "shared-fail", scenario="batch-failure"))

    final = flink.wait_for(KIND_SESSION_JOB, "failing-job", lambda o: job_state(o) == "FAILED", "FAILED")[-1]

    assert (final["status"]["lifecycleState"], json.loads(final["status"]["error"])["type"]) == (
        "FAILED",
        "org.apache.flink.util.SerializedThrowable",
    )


def test_session_job_gets_its_own_finalizer_and_goes_away_when_deleted(flink: Flink) -> None:
    flink.create(deployment_body("shared-del", job=False))
    flink.create(session_job_body("deleted-job", "shared-del"))
    finalized = flink.wait_for(
        KIND_SESSION_JOB, "deleted-job", lambda o: bool(o["metadata"].get("finalizers")), "a finalizer"
    )[-1]

    flink.delete(KIND_SESSION_JOB, "deleted-job")
    history = flink.recorder.wait_deleted(KIND_SESSION_JOB, "deleted-job")

    assert (
        finalized["metadata"]["finalizers"],
        "DELETING" in [status_of(o).get("lifecycleState") for _, o in history],
    ) == (
        ["flinksessionjobs.flink.apache.org/finalizer"],
        True,
    )


def test_session_job_on_an_application_cluster_fails_validation(flink: Flink) -> None:
    flink.create(deployment_body("app-cluster", scenario="streaming", batch=False))
    flink.create(session_job_body("misplaced", "app-cluster"))

    final = flink.wait_for(KIND_SESSION_JOB, "misplaced", lambda o: bool(status_of(o).get("error")), "an error")[-1]

    assert (final["status"]["lifecycleState"], json.loads(final["status"]["error"])["message"]) == (
        "FAILED",
        "Can not submit session job to application cluster",
    )


def test_flinkstatesnapshot_goes_trigger_pending_in_progress_completed_with_a_path(flink: Flink) -> None:
    flink.create(deployment_body("snap-source", scenario="streaming", batch=False))
    flink.wait_for(KIND_DEPLOYMENT, "snap-source", lambda o: job_state(o) == "RUNNING", "RUNNING")

    flink.create(snapshot_body("manual-sp", "snap-source"))
    objects = flink.wait_for(
        KIND_SNAPSHOT, "manual-sp", lambda o: status_of(o).get("state") == "COMPLETED", "COMPLETED"
    )

    assert (
        distinct([status_of(o).get("state") for o in objects]),
        bool(
            re.match(r"^file:///flink-data/manual/savepoint-[0-9a-f]{6}-[0-9a-f]{12}$", objects[-1]["status"]["path"])
        ),
    ) == (["TRIGGER_PENDING", "IN_PROGRESS", "COMPLETED"], True)


def test_flinkstatesnapshot_of_a_finished_job_is_abandoned(flink: Flink) -> None:
    flink.create(deployment_body("snap-done", scenario="batch-success"))
    flink.wait_for(KIND_DEPLOYMENT, "snap-done", lambda o: job_state(o) == "FINISHED", "FINISHED")

    flink.create(snapshot_body("late-sp", "snap-done"))
    final = flink.wait_for(KIND_SNAPSHOT, "late-sp", lambda o: status_of(o).get("state") == "ABANDONED", "ABANDONED")[
        -1
    ]

    assert final["status"]["error"] == (
        "Secondary resource JobReference(kind=FlinkDeployment, name=snap-done) for savepoint late-sp is not running"
    )


def test_suspending_a_session_job_finishes_it_and_forgets_its_job_id(flink: Flink) -> None:
    flink.create(deployment_body("shared-pause", job=False))
    body = session_job_body("paused-job", "shared-pause")
    body["spec"]["flinkConfiguration"] = {}
    flink.create(body)
    flink.wait_for(KIND_SESSION_JOB, "paused-job", lambda o: job_state(o) == "RUNNING", "RUNNING")

    flink.patch_spec(KIND_SESSION_JOB, "paused-job", {"job": {"state": "suspended"}})
    final = flink.wait_for(
        KIND_SESSION_JOB, "paused-job", lambda o: status_of(o).get("lifecycleState") == "SUSPENDED", "SUSPENDED"
    )[-1]

    assert (job_state(final), "jobId" in final["status"]["jobStatus"]) == ("FINISHED", False)
