"""The five per-object scenarios of a FlinkDeployment in application mode, seen through a watch."""

from __future__ import annotations

import json

import pytest
from simulator_support import (
    KIND_DEPLOYMENT,
    Flink,
    deployment_body,
    distinct,
    job_state,
    status_of,
)

pytestmark = pytest.mark.usefixtures("simulator")


def finished(obj: dict) -> bool:
    return job_state(obj) == "FINISHED"


def test_status_stays_absent_until_the_objects_first_step(flink: Flink) -> None:
    # A slow object (one step per minute) next to a twin at the default pace: the twin's whole
    # lifecycle passes before the slow object's first reconciliation writes anything.
    slow = {"flink-simulator/step-seconds": "60"}
    flink.create(deployment_body("slow-start", scenario="batch-success", annotations=slow))
    flink.create(deployment_body("quick-twin", scenario="batch-success"))
    flink.wait_for(KIND_DEPLOYMENT, "quick-twin", finished, "FINISHED")

    slow_object = flink.get(KIND_DEPLOYMENT, "slow-start")

    assert (slow_object.get("status"), slow_object["metadata"].get("finalizers")) == (None, None)


def test_first_status_is_the_default_created_status_with_jobmanager_missing(flink: Flink) -> None:
    flink.create(deployment_body("first-look"))

    first = flink.wait_for(KIND_DEPLOYMENT, "first-look", lambda o: bool(o.get("status")), "a status")[-1]

    assert (
        first["status"]["lifecycleState"],
        first["status"]["jobManagerDeploymentStatus"],
        first["status"]["reconciliationStatus"],
    ) == ("CREATED", "MISSING", {"reconciliationTimestamp": 0, "state": "UPGRADING"})


def test_first_reconciliation_adds_the_operator_finalizer(flink: Flink) -> None:
    flink.create(deployment_body("finalized"))

    objects = flink.wait_for(KIND_DEPLOYMENT, "finalized", lambda o: bool(o.get("status")), "a status")

    assert "flinkdeployments.flink.apache.org/finalizer" in objects[-1]["metadata"]["finalizers"]


def test_batch_success_jobmanager_goes_deploying_then_not_ready_then_ready(flink: Flink) -> None:
    flink.create(deployment_body("jm-progress", scenario="batch-success"))

    objects = flink.wait_for(KIND_DEPLOYMENT, "jm-progress", finished, "FINISHED")

    jm_states = distinct([status_of(obj).get("jobManagerDeploymentStatus") for obj in objects])
    assert jm_states == ["MISSING", "DEPLOYING", "DEPLOYED_NOT_READY", "READY"]


def test_batch_success_job_goes_reconciling_created_running_finished(flink: Flink) -> None:
    flink.create(deployment_body("job-progress", scenario="batch-success"))

    objects = flink.wait_for(KIND_DEPLOYMENT, "job-progress", finished, "FINISHED")

    assert distinct([job_state(obj) for obj in objects]) == ["RECONCILING", "CREATED", "RUNNING", "FINISHED"]


def test_batch_success_lifecycle_is_deployed_then_stable_and_stays_stable_when_finished(flink: Flink) -> None:
    flink.create(deployment_body("lifecycle", scenario="batch-success"))

    objects = flink.wait_for(KIND_DEPLOYMENT, "lifecycle", finished, "FINISHED")

    lifecycle = distinct([status_of(obj).get("lifecycleState") for obj in objects])
    assert lifecycle == ["CREATED", "UPGRADING", "DEPLOYED", "STABLE"]


def test_batch_success_finished_status_is_judged_complete_like_the_reference_sheet(flink: Flink) -> None:
    flink.create(deployment_body("judged", scenario="batch-success"))

    final = flink.wait_for(KIND_DEPLOYMENT, "judged", finished, "FINISHED")[-1]

    status = final["status"]
    reconciled = json.loads(status["reconciliationStatus"]["lastReconciledSpec"])
    assert (
        status["jobManagerDeploymentStatus"],
        status["reconciliationStatus"]["state"],
        status["observedGeneration"] == final["metadata"]["generation"],
        reconciled["spec"]["job"]["state"],
    ) == ("READY", "DEPLOYED", True, "running")


def test_runtime_mode_batch_selects_batch_success_without_an_annotation(flink: Flink) -> None:
    flink.create(deployment_body("defaulted"))

    final = flink.wait_for(KIND_DEPLOYMENT, "defaulted", finished, "FINISHED")[-1]

    assert status_of(final)["lifecycleState"] == "STABLE"


def test_job_id_is_32_hex_and_times_are_epoch_millis_strings(flink: Flink) -> None:
    flink.create(deployment_body("shapes", scenario="batch-success"))

    job_status = flink.wait_for(KIND_DEPLOYMENT, "shapes", finished, "FINISHED")[-1]["status"]["jobStatus"]

    assert (
        len(job_status["jobId"]) == 32 and int(job_status["jobId"], 16) >= 0,
        job_status["startTime"].isdigit() and len(job_status["startTime"]) == 13,
        job_status["updateTime"].isdigit() and int(job_status["updateTime"]) >= int(job_status["startTime"]),
    ) == (True, True, True)


def test_batch_failure_marks_job_and_lifecycle_failed(flink: Flink) -> None:
    flink.create(deployment_body("fails", scenario="batch-failure"))

    final = flink.wait_for(KIND_DEPLOYMENT, "fails", lambda o: job_state(o) == "FAILED", "FAILED")[-1]

    assert (status_of(final)["lifecycleState"], status_of(final)["jobManagerDeploymentStatus"]) == (
        "FAILED",
        "READY",
    )


def test_batch_failure_error_is_the_operator_exception_json_with_the_cause(flink: Flink) -> None:
    annotations = {"flink-simulator/failure-message": "java.io.FileNotFoundException: /data/in"}
    flink.create(deployment_body("error-json", scenario="batch-failure", annotations=annotations))

    final = flink.wait_for(KIND_DEPLOYMENT, "error-json", lambda o: job_state(o) == "FAILED", "FAILED")[-1]

    assert json.loads(final["status"]["error"]) == {
        "type": "org.apache.flink.util.SerializedThrowable",
        "message": "Recovery is suppressed by NoRestartBackoffTimeStrategy",
        "additionalMetadata": {},
        "throwableList": [
            {
                "type": "org.apache.flink.util.SerializedThrowable",
                "message": "/data/in",
                "additionalMetadata": {},
            }
        ],
    }


def test_batch_failure_records_a_warning_event_with_reason_error(flink: Flink) -> None:
    annotations = {"flink-simulator/failure-message": "boom in the mapper"}
    flink.create(deployment_body("warned", scenario="batch-failure", annotations=annotations))
    flink.wait_for(KIND_DEPLOYMENT, "warned", lambda o: job_state(o) == "FAILED", "FAILED")

    events = flink.wait_for_events("warned", lambda evs: any(e.type == "Warning" for e in evs), "a warning")

    warnings = [(e.reason, e.message) for e in events if e.type == "Warning"]
    assert warnings == [("Error", "Recovery is suppressed by NoRestartBackoffTimeStrategy -> boom in the mapper")]


def test_batch_failure_jobmanager_log_ends_with_the_exception(flink: Flink) -> None:
    annotations = {"flink-simulator/failure-message": "java.lang.ArithmeticException: / by zero"}
    flink.create(deployment_body("logged", scenario="batch-failure", annotations=annotations))
    flink.wait_for(KIND_DEPLOYMENT, "logged", lambda o: job_state(o) == "FAILED", "FAILED")
    pod = flink.jobmanager_pods("logged")[0].metadata.name

    log = flink.wait_for_log(pod, "to FAILED")

    assert "Caused by: java.lang.ArithmeticException: / by zero" in log.strip().splitlines()[-3]


def test_streaming_job_keeps_running_while_a_batch_twin_finishes(flink: Flink) -> None:
    flink.create(deployment_body("endless", scenario="streaming", batch=False))
    flink.create(deployment_body("twin", scenario="batch-success"))
    flink.wait_for(KIND_DEPLOYMENT, "twin", finished, "FINISHED")

    objects = flink.wait_for(KIND_DEPLOYMENT, "endless", lambda o: job_state(o) == "RUNNING", "RUNNING")
    later = flink.get(KIND_DEPLOYMENT, "endless")

    assert (distinct([job_state(o) for o in [*objects, later]])[-1], status_of(later)["lifecycleState"]) == (
        "RUNNING",
        "STABLE",
    )


def test_jm_error_sets_jobmanager_error_and_keeps_the_job_reconciling(flink: Flink) -> None:
    flink.create(deployment_body("no-image", scenario="jm-error"))

    final = flink.wait_for(
        KIND_DEPLOYMENT,
        "no-image",
        lambda o: status_of(o).get("jobManagerDeploymentStatus") == "ERROR",
        "ERROR",
    )[-1]

    assert (job_state(final), status_of(final)["lifecycleState"]) == ("RECONCILING", "DEPLOYED")


def test_jm_error_error_names_the_image_pull_failure(flink: Flink) -> None:
    flink.create(deployment_body("bad-image", scenario="jm-error"))

    final = flink.wait_for(
        KIND_DEPLOYMENT,
        "bad-image",
        lambda o: status_of(o).get("jobManagerDeploymentStatus") == "ERROR",
        "ERROR",
    )[-1]

    assert json.loads(final["status"]["error"]) == {
        "type": "org.apache.flink.kubernetes.operator.exception.DeploymentFailedException",
        "message": '[flink-main-container] Back-off pulling image "flink:1.20"',
        "additionalMetadata": {"reason": "ImagePullBackOff"},
        "throwableList": [],
    }


def test_jm_error_records_a_warning_event_and_a_pending_pod(flink: Flink) -> None:
    flink.create(deployment_body("pull-fails", scenario="jm-error"))
    flink.wait_for(
        KIND_DEPLOYMENT,
        "pull-fails",
        lambda o: status_of(o).get("jobManagerDeploymentStatus") == "ERROR",
        "ERROR",
    )

    events = flink.wait_for_events("pull-fails", lambda evs: any(e.type == "Warning" for e in evs), "a warning")
    warnings = [e.reason for e in events if e.type == "Warning"]
    pod = flink.jobmanager_pods("pull-fails")[0]

    assert (warnings, pod.status.phase, pod.status.container_statuses[0].state.waiting.reason) == (
        ["ImagePullBackOff"],
        "Pending",
        "ImagePullBackOff",
    )


def test_reconciling_job_never_leaves_reconciling_while_a_batch_twin_finishes(flink: Flink) -> None:
    flink.create(deployment_body("stuck", scenario="reconciling"))
    flink.create(deployment_body("stuck-twin", scenario="batch-success"))
    flink.wait_for(KIND_DEPLOYMENT, "stuck-twin", finished, "FINISHED")

    objects = flink.wait_for(
        KIND_DEPLOYMENT, "stuck", lambda o: status_of(o).get("jobManagerDeploymentStatus") == "READY", "READY"
    )
    later = flink.get(KIND_DEPLOYMENT, "stuck")

    assert distinct([job_state(o) for o in [*objects, later]]) == ["RECONCILING"]


def test_jobmanager_pod_is_owned_by_the_deployment_and_labelled_like_native_mode(flink: Flink) -> None:
    flink.create(deployment_body("owned", scenario="batch-success"))
    flink.wait_for(KIND_DEPLOYMENT, "owned", finished, "FINISHED")

    pod = flink.jobmanager_pods("owned")[0]

    assert (
        pod.metadata.owner_references[0].kind,
        pod.metadata.owner_references[0].name,
        pod.metadata.labels["type"],
        pod.status.phase,
    ) == ("FlinkDeployment", "owned", "flink-native-kubernetes", "Running")


def test_cluster_info_and_task_manager_status_are_filled_when_ready(flink: Flink) -> None:
    flink.create(deployment_body("info", scenario="batch-success"))

    status = flink.wait_for(KIND_DEPLOYMENT, "info", finished, "FINISHED")[-1]["status"]

    assert (
        status["clusterInfo"]["flink-version"].startswith("1.20."),
        status["taskManager"],
        status["conditions"][0]["type"],
    ) == (True, {"labelSelector": "component=taskmanager,app=info", "replicas": 1}, "Running")
