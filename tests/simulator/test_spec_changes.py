"""How the simulated operator reacts to spec changes: suspend, resume, upgrade, nonces, deletion."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from simulator_support import (
    KIND_DEPLOYMENT,
    KIND_SNAPSHOT,
    Flink,
    deployment_body,
    distinct,
    eventually,
    in_order,
    job_id,
    job_state,
    status_of,
)

pytestmark = pytest.mark.usefixtures("simulator")

SAVEPOINT_PATH = re.compile(r"^file:///flink-data/savepoints/savepoint-[0-9a-f]{6}-[0-9a-f]{12}$")
LEGACY_SAVEPOINTS = {"kubernetes.operator.snapshot.resource.enabled": "false"}


def running_streaming_job(flink: Flink, name: str, **kwargs: Any) -> dict[str, Any]:
    flink.create(deployment_body(name, scenario="streaming", batch=False, **kwargs))
    return flink.wait_for(
        KIND_DEPLOYMENT,
        name,
        lambda o: job_state(o) == "RUNNING" and status_of(o).get("lifecycleState") == "STABLE",
        "RUNNING",
    )[-1]


def suspended(obj: dict[str, Any]) -> bool:
    return status_of(obj).get("lifecycleState") == "SUSPENDED"


def caught_up_and(state: str, old_job_id: str | None, generation: int = 2) -> Any:
    """A predicate: generation ``generation`` is reconciled and a new job is in ``state``."""

    def predicate(obj: dict[str, Any]) -> bool:
        return (
            obj["metadata"]["generation"] >= generation
            and status_of(obj).get("observedGeneration") == obj["metadata"]["generation"]
            and job_state(obj) == state
            and job_id(obj) != old_job_id
        )

    return predicate


def test_suspend_finishes_the_job_and_deletes_the_jobmanager_in_stateless_mode(flink: Flink) -> None:
    running_streaming_job(flink, "pausing")

    flink.patch_spec(KIND_DEPLOYMENT, "pausing", {"job": {"state": "suspended"}})
    final = flink.wait_for(KIND_DEPLOYMENT, "pausing", suspended, "SUSPENDED")[-1]

    assert (job_state(final), status_of(final)["jobManagerDeploymentStatus"]) == ("FINISHED", "MISSING")


def test_suspend_in_stateless_mode_removes_the_jobmanager_pod(flink: Flink) -> None:
    running_streaming_job(flink, "pod-goes")

    flink.patch_spec(KIND_DEPLOYMENT, "pod-goes", {"job": {"state": "suspended"}})
    flink.wait_for(KIND_DEPLOYMENT, "pod-goes", suspended, "SUSPENDED")

    assert flink.wait_for_pods("pod-goes", lambda pods: not pods, "no JobManager pod") == []


def test_resume_after_suspend_starts_a_new_job(flink: Flink) -> None:
    first = running_streaming_job(flink, "resumed")
    flink.patch_spec(KIND_DEPLOYMENT, "resumed", {"job": {"state": "suspended"}})
    flink.wait_for(KIND_DEPLOYMENT, "resumed", suspended, "SUSPENDED")

    flink.patch_spec(KIND_DEPLOYMENT, "resumed", {"job": {"state": "running"}})
    final = flink.wait_for(KIND_DEPLOYMENT, "resumed", caught_up_and("RUNNING", job_id(first), 3), "a new job")[-1]

    assert (len(job_id(final) or ""), status_of(final)["lifecycleState"]) == (32, "STABLE")


def test_suspend_in_savepoint_mode_records_the_upgrade_savepoint_and_keeps_the_cluster(flink: Flink) -> None:
    running_streaming_job(flink, "sp-pause", upgrade_mode="savepoint")

    flink.patch_spec(KIND_DEPLOYMENT, "sp-pause", {"job": {"state": "suspended"}})
    final = flink.wait_for(KIND_DEPLOYMENT, "sp-pause", suspended, "SUSPENDED")[-1]

    assert (
        bool(SAVEPOINT_PATH.match(final["status"]["jobStatus"]["upgradeSavepointPath"])),
        job_state(final),
        final["status"]["jobManagerDeploymentStatus"],
    ) == (True, "FINISHED", "READY")


def test_resume_in_savepoint_mode_restores_the_new_job_from_the_upgrade_savepoint(flink: Flink) -> None:
    first = running_streaming_job(flink, "sp-resume", upgrade_mode="savepoint")
    flink.patch_spec(KIND_DEPLOYMENT, "sp-resume", {"job": {"state": "suspended"}})
    paused = flink.wait_for(KIND_DEPLOYMENT, "sp-resume", suspended, "SUSPENDED")[-1]
    savepoint = paused["status"]["jobStatus"]["upgradeSavepointPath"]

    flink.patch_spec(KIND_DEPLOYMENT, "sp-resume", {"job": {"state": "running"}})
    final = flink.wait_for(KIND_DEPLOYMENT, "sp-resume", caught_up_and("RUNNING", job_id(first), 3), "a new job")[-1]
    pod = flink.wait_for_pods("sp-resume", lambda pods: len(pods) == 1, "one JobManager pod")[0]

    assert f"Starting job {job_id(final)} from savepoint {savepoint}" in flink.wait_for_log(
        pod.metadata.name, "switched from state CREATED to RUNNING"
    )


def test_upgrade_savepoint_is_a_completed_flinkstatesnapshot_by_default(flink: Flink) -> None:
    running_streaming_job(flink, "sp-snap", upgrade_mode="savepoint")
    flink.patch_spec(KIND_DEPLOYMENT, "sp-snap", {"job": {"state": "suspended"}})
    savepoint = flink.wait_for(KIND_DEPLOYMENT, "sp-snap", suspended, "SUSPENDED")[-1]["status"]["jobStatus"][
        "upgradeSavepointPath"
    ]

    snapshot = eventually(
        lambda: next(
            (s for s in flink.list_objects(KIND_SNAPSHOT) if s["metadata"]["name"].startswith("sp-snap-")), None
        ),
        "an upgrade FlinkStateSnapshot",
    )
    completed = flink.wait_for(
        KIND_SNAPSHOT,
        snapshot["metadata"]["name"],
        lambda o: status_of(o).get("state") == "COMPLETED",
        "COMPLETED",
    )[-1]

    assert (
        completed["metadata"]["labels"]["snapshot.trigger-type"],
        completed["spec"]["savepoint"]["alreadyExists"],
        completed["status"]["path"],
    ) == ("UPGRADE", True, savepoint)


def test_upgrade_savepoint_goes_to_savepoint_info_when_snapshot_resources_are_disabled(flink: Flink) -> None:
    running_streaming_job(flink, "sp-legacy", upgrade_mode="savepoint", flink_configuration=LEGACY_SAVEPOINTS)

    flink.patch_spec(KIND_DEPLOYMENT, "sp-legacy", {"job": {"state": "suspended"}})
    final = flink.wait_for(KIND_DEPLOYMENT, "sp-legacy", suspended, "SUSPENDED")[-1]

    last = final["status"]["jobStatus"]["savepointInfo"]["lastSavepoint"]
    assert (last["triggerType"], last["location"]) == (
        "UPGRADE",
        final["status"]["jobStatus"]["upgradeSavepointPath"],
    )


def test_spec_change_lags_observed_generation_then_upgrades_then_stabilizes(flink: Flink) -> None:
    running_streaming_job(flink, "upgraded")

    flink.patch_spec(KIND_DEPLOYMENT, "upgraded", {"job": {"args": ["--input", "/data/other"]}})
    flink.wait_for(
        KIND_DEPLOYMENT,
        "upgraded",
        lambda o: status_of(o).get("observedGeneration") == 2 and status_of(o).get("lifecycleState") == "STABLE",
        "STABLE again",
    )
    objects = flink.recorder.objects(KIND_DEPLOYMENT, "upgraded")

    seen = distinct(
        [
            (
                obj["metadata"]["generation"],
                status_of(obj).get("observedGeneration"),
                status_of(obj).get("lifecycleState"),
                (status_of(obj).get("reconciliationStatus") or {}).get("state"),
            )
            for obj in objects
        ]
    )
    assert in_order(
        seen,
        [
            (2, 1, "STABLE", "DEPLOYED"),
            (2, 2, "UPGRADING", "UPGRADING"),
            (2, 2, "DEPLOYED", "DEPLOYED"),
            (2, 2, "STABLE", "DEPLOYED"),
        ],
    ), seen


def test_spec_change_stops_the_old_job_before_a_new_job_id_runs(flink: Flink) -> None:
    old = job_id(running_streaming_job(flink, "replaced"))

    flink.patch_spec(KIND_DEPLOYMENT, "replaced", {"job": {"parallelism": 2}})
    objects = flink.wait_for(KIND_DEPLOYMENT, "replaced", caught_up_and("RUNNING", old), "the new job")

    upgrading = next(
        o for o in objects if o["metadata"]["generation"] == 2 and status_of(o).get("lifecycleState") == "UPGRADING"
    )
    assert (job_id(upgrading), job_state(upgrading), job_id(objects[-1]) != old) == (old, "FINISHED", True)


def test_spec_change_is_recorded_in_last_reconciled_spec(flink: Flink) -> None:
    running_streaming_job(flink, "recorded")

    flink.patch_spec(KIND_DEPLOYMENT, "recorded", {"job": {"args": ["--input", "/data/v2"]}})
    final = flink.wait_for(KIND_DEPLOYMENT, "recorded", caught_up_and("RUNNING", None), "the new job")[-1]

    reconciled = json.loads(final["status"]["reconciliationStatus"]["lastReconciledSpec"])
    assert (reconciled["spec"]["job"]["args"], reconciled["resource_metadata"]["firstDeployment"]) == (
        ["--input", "/data/v2"],
        False,
    )


def test_restart_nonce_reruns_a_finished_job_with_a_new_job_id(flink: Flink) -> None:
    flink.create(deployment_body("rerun", scenario="batch-success"))
    first = flink.wait_for(KIND_DEPLOYMENT, "rerun", lambda o: job_state(o) == "FINISHED", "FINISHED")[-1]

    flink.patch_spec(KIND_DEPLOYMENT, "rerun", {"restartNonce": 1})
    objects = flink.wait_for(KIND_DEPLOYMENT, "rerun", caught_up_and("FINISHED", job_id(first)), "a rerun")

    lifecycle = distinct([status_of(o).get("lifecycleState") for o in objects])
    assert in_order(lifecycle, ["STABLE", "UPGRADING", "DEPLOYED", "STABLE"]), lifecycle


def test_savepoint_trigger_nonce_fills_savepoint_info_when_snapshot_resources_are_disabled(
    flink: Flink,
) -> None:
    running_streaming_job(flink, "sp-nonce", flink_configuration=LEGACY_SAVEPOINTS)

    flink.patch_spec(KIND_DEPLOYMENT, "sp-nonce", {"job": {"savepointTriggerNonce": 7}})
    objects = flink.wait_for(
        KIND_DEPLOYMENT,
        "sp-nonce",
        lambda o: "lastSavepoint" in (status_of(o).get("jobStatus") or {}).get("savepointInfo", {}),
        "a savepoint",
    )

    last = objects[-1]["status"]["jobStatus"]["savepointInfo"]["lastSavepoint"]
    assert (bool(SAVEPOINT_PATH.match(last["location"])), last["triggerType"], last["triggerNonce"]) == (
        True,
        "MANUAL",
        7,
    )


def test_savepoint_trigger_nonce_shows_a_trigger_id_while_in_progress(flink: Flink) -> None:
    running_streaming_job(flink, "sp-progress", flink_configuration=LEGACY_SAVEPOINTS)

    flink.patch_spec(KIND_DEPLOYMENT, "sp-progress", {"job": {"savepointTriggerNonce": 1}})
    objects = flink.wait_for(
        KIND_DEPLOYMENT,
        "sp-progress",
        lambda o: "lastSavepoint" in (status_of(o).get("jobStatus") or {}).get("savepointInfo", {}),
        "a savepoint",
    )

    trigger_ids = [(status_of(obj).get("jobStatus") or {}).get("savepointInfo", {}).get("triggerId") for obj in objects]
    assert len(distinct(trigger_ids)) == 1 and trigger_ids[-1] is None


def test_savepoint_trigger_nonce_creates_a_flinkstatesnapshot_that_completes(flink: Flink) -> None:
    running_streaming_job(flink, "sp-manual")

    flink.patch_spec(KIND_DEPLOYMENT, "sp-manual", {"job": {"savepointTriggerNonce": 3}})
    snapshot = eventually(
        lambda: next(
            (
                s
                for s in flink.list_objects(KIND_SNAPSHOT)
                if s["metadata"]["name"].startswith("sp-manual-savepoint-manual-")
            ),
            None,
        ),
        "a manual FlinkStateSnapshot",
    )
    completed = flink.wait_for(
        KIND_SNAPSHOT,
        snapshot["metadata"]["name"],
        lambda o: status_of(o).get("state") == "COMPLETED",
        "COMPLETED",
    )[-1]

    assert re.match(r"^file:///flink-data/savepoints/savepoint-[0-9a-f]{6}-[0-9a-f]{12}$", completed["status"]["path"])


def test_savepoint_trigger_nonce_does_not_redeploy_the_job(flink: Flink) -> None:
    before = running_streaming_job(flink, "sp-stays")

    flink.patch_spec(KIND_DEPLOYMENT, "sp-stays", {"job": {"savepointTriggerNonce": 5}})
    objects = flink.wait_for(
        KIND_DEPLOYMENT,
        "sp-stays",
        lambda o: reconciled_nonce(o) == 5 and status_of(o).get("lifecycleState") == "STABLE",
        "the nonce recorded and the spec stable again",
    )

    after_patch = [o for o in objects if o["metadata"]["generation"] == 2]
    assert (
        {job_id(o) for o in after_patch},
        [o for o in after_patch if status_of(o).get("lifecycleState") == "UPGRADING"],
    ) == ({job_id(before)}, [])


def reconciled_nonce(obj: dict[str, Any]) -> Any:
    reconciled = (status_of(obj).get("reconciliationStatus") or {}).get("lastReconciledSpec")
    return json.loads(reconciled)["spec"]["job"]["savepointTriggerNonce"] if reconciled else None


def test_delete_shows_deleting_then_the_finalizer_goes_and_the_object_with_it(flink: Flink) -> None:
    running_streaming_job(flink, "deleted")

    flink.delete(KIND_DEPLOYMENT, "deleted")
    history = flink.recorder.wait_deleted(KIND_DEPLOYMENT, "deleted")

    seen = distinct([(etype, status_of(obj).get("lifecycleState")) for etype, obj in history])
    assert in_order(seen, [("MODIFIED", "STABLE"), ("MODIFIED", "DELETING"), ("DELETED", "DELETING")]), seen


def test_delete_waits_for_the_simulator_because_of_the_finalizer(flink: Flink) -> None:
    running_streaming_job(flink, "held")

    flink.delete(KIND_DEPLOYMENT, "held")
    history = flink.recorder.wait_deleted(KIND_DEPLOYMENT, "held")

    marked = [obj for etype, obj in history if etype == "MODIFIED" and obj["metadata"].get("deletionTimestamp")]
    assert marked and "flinkdeployments.flink.apache.org/finalizer" in marked[0]["metadata"]["finalizers"]


def test_delete_removes_the_jobmanager_pod(flink: Flink) -> None:
    running_streaming_job(flink, "cleaned")

    flink.delete(KIND_DEPLOYMENT, "cleaned")
    flink.recorder.wait_deleted(KIND_DEPLOYMENT, "cleaned")

    assert flink.wait_for_pods("cleaned", lambda pods: not pods, "no JobManager pod") == []
