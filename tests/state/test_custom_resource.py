"""
Judging a job from FlinkDeployment / FlinkSessionJob objects shaped as the Flink Kubernetes Operator
1.15 writes them.

Each row names the situation, builds the object the operator leaves behind in it, and states the
phase plus the words the message must carry. The official provider's mistakes have rows of their
own (``official_provider_*``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_flink.state import JobPhase, JobVerdict, judge_custom_resource

NAMESPACE = "analytics"
JOB_ID = "9d5c2a8e4f1b4c7d8e3f2a1b0c9d8e7f"
OLD_JOB_ID = "1a2b3c4d5e6f47a8b9c0d1e2f3a4b5c6"

#: The spec as a DAG applies it.
SPEC: dict[str, Any] = {
    "image": "flink:1.20",
    "flinkVersion": "v1_20",
    "serviceAccount": "flink",
    "flinkConfiguration": {
        "taskmanager.numberOfTaskSlots": "2",
        "kubernetes.operator.job.restart.failed": "false",
    },
    "jobManager": {"resource": {"memory": "2048m", "cpu": 1}},
    "taskManager": {"resource": {"memory": "2048m", "cpu": 1}},
    "job": {
        "jarURI": "local:///opt/flink/usrlib/wordcount.jar",
        "entryClass": "org.example.WordCount",
        "args": ["--input", "s3://bucket/in"],
        "parallelism": 2,
        "upgradeMode": "savepoint",
        "state": "running",
    },
}

#: Error documents as FlinkResourceExceptionUtils serialises them into status.error.
JOB_FAILURE = json.dumps(
    {
        "type": "org.apache.flink.util.SerializedThrowable",
        "message": "Recovery is suppressed by NoRestartBackoffTimeStrategy",
        "additionalMetadata": {},
        "throwableList": [
            {
                "type": "org.apache.flink.util.SerializedThrowable",
                "message": "java.io.FileNotFoundException: s3://bucket/in does not exist",
                "additionalMetadata": {},
            }
        ],
    }
)
IMAGE_PULL_FAILURE = json.dumps(
    {
        "type": "org.apache.flink.kubernetes.operator.exception.DeploymentFailedException",
        "message": '[flink-main-container] Back-off pulling image "flink:1.20-typo"',
        "additionalMetadata": {"reason": "ImagePullBackOff"},
        "throwableList": [],
    }
)
MANUAL_RESTORE = json.dumps(
    {
        "type": "org.apache.flink.kubernetes.operator.exception.UpgradeFailureException",
        "message": "HA metadata not available to restore from last state. It is possible that the job has "
        "finished or terminally failed, or the configmaps have been deleted. Manual restore required.",
        "additionalMetadata": {},
        "throwableList": [],
    }
)
MISSING_JM = json.dumps(
    {
        "type": "org.apache.flink.kubernetes.operator.exception.MissingJobManagerException",
        "message": "Missing JobManager deployment",
        "additionalMetadata": {},
        "throwableList": [],
    }
)
INVALID_SPEC = json.dumps(
    {
        "type": "org.apache.flink.kubernetes.operator.exception.ValidationException",
        "message": "Job parallelism must be larger than 0",
        "additionalMetadata": {},
        "throwableList": [],
    }
)


def reconciled_spec(
    *, job_state: str = "running", restart_nonce: int | None = None, generation: int | None = None
) -> str:
    """Return lastReconciledSpec as the operator writes it: every field, defaults, upgradeMode rewritten."""
    job = {
        "jarURI": SPEC["job"]["jarURI"],
        "parallelism": 2,
        "entryClass": SPEC["job"]["entryClass"],
        "args": list(SPEC["job"]["args"]),
        "state": job_state,
        "savepointTriggerNonce": None,
        "initialSavepointPath": None,
        "checkpointTriggerNonce": None,
        # First deployments are recorded as stateless whatever was asked.
        "upgradeMode": "stateless",
        "allowNonRestoredState": None,
        "savepointRedeployNonce": None,
        "autoscalerResetNonce": None,
    }
    spec = {
        "job": job,
        "restartNonce": restart_nonce,
        "flinkConfiguration": {"taskmanager.numberOfTaskSlots": "2"},
        "image": "flink:1.20",
        "imagePullPolicy": None,
        "serviceAccount": "flink",
        "flinkVersion": "v1_20",
        "ingress": None,
        "podTemplate": None,
        "jobManager": {"resource": {"cpu": 1.0, "memory": "2048m", "ephemeralStorage": None}, "replicas": 1},
        "taskManager": {
            "resource": {"cpu": 1.0, "memory": "2048m", "ephemeralStorage": None},
            "replicas": None,
        },
        "logConfiguration": None,
        "mode": None,
    }
    meta: dict[str, Any] = {"apiVersion": "flink.apache.org/v1beta1", "firstDeployment": True}
    if generation is not None:  # operators before 1.8 kept the generation here
        meta["metadata"] = {"generation": generation}
    return json.dumps({"spec": spec, "resource_metadata": meta}, separators=(",", ":"))


def deployment(
    *,
    job_state: str | None = "RUNNING",
    lifecycle: str | None = "STABLE",
    jm: str = "READY",
    reconciliation: str = "DEPLOYED",
    reconciled_job_state: str | None = "running",
    spec_job_state: str = "running",
    generation: int = 1,
    observed: int | None = 1,
    error: str | None = None,
    job_id: str | None = JOB_ID,
    restart_nonce: int | None = None,
    reconciled_restart_nonce: int | None = None,
    reconciled_meta_generation: int | None = None,
    upgrade_savepoint: str | None = None,
    last_savepoint: str | None = None,
    deleting: bool = False,
    session_cluster: bool = False,
) -> dict[str, Any]:
    """Return a FlinkDeployment as read from the API server; ``reconciled_job_state=None``: never deployed."""
    spec = json.loads(json.dumps(SPEC))
    spec["job"]["state"] = spec_job_state
    if restart_nonce is not None:
        spec["restartNonce"] = restart_nonce
    metadata: dict[str, Any] = {
        "name": "wordcount",
        "namespace": NAMESPACE,
        "generation": generation,
        "uid": "0b7e4c1a-54a4-4d0f-9b1e-3c2d1e0f9a8b",
        "resourceVersion": "48213",
        "finalizers": ["flinkdeployments.flink.apache.org/finalizer"],
    }
    if deleting:
        metadata["deletionTimestamp"] = "2026-11-26T18:40:00Z"
    job_status: dict[str, Any] = {
        "jobName": "WordCount",
        "jobId": job_id,
        "state": job_state,
        "startTime": "1764182400000",
        "updateTime": "1764182460000",
        "upgradeSavepointPath": upgrade_savepoint,
        "savepointInfo": {"lastPeriodicSavepointTimestamp": 0, "savepointHistory": []},
        "checkpointInfo": {"lastPeriodicCheckpointTimestamp": 0},
    }
    if last_savepoint:
        savepoint = {"timeStamp": 1764182450000, "location": last_savepoint, "triggerType": "MANUAL"}
        job_status["savepointInfo"] = {"lastSavepoint": savepoint, "savepointHistory": [savepoint]}
    reconciliation_status: dict[str, Any] = {
        "reconciliationTimestamp": 1764182399000,
        "state": reconciliation,
    }
    if reconciled_job_state is not None:
        last = reconciled_spec(
            job_state=reconciled_job_state,
            restart_nonce=reconciled_restart_nonce,
            generation=reconciled_meta_generation,
        )
        reconciliation_status["lastReconciledSpec"] = last
        reconciliation_status["lastStableSpec"] = last
    status: dict[str, Any] = {
        "jobStatus": job_status,
        "error": error,
        "observedGeneration": observed,
        "lifecycleState": lifecycle,
        "clusterInfo": {"flink-version": "1.20.1", "total-cpu": "2.0", "total-memory": "4294967296"},
        "jobManagerDeploymentStatus": jm,
        "reconciliationStatus": reconciliation_status,
        "taskManager": {"labelSelector": "component=taskmanager,app=wordcount", "replicas": 1},
        "conditions": [],
    }
    if session_cluster:
        del spec["job"]
        status["jobStatus"] = {"savepointInfo": {}, "checkpointInfo": {}}
        if reconciled_job_state is not None:
            wrapper = json.loads(reconciliation_status["lastReconciledSpec"])
            wrapper["spec"]["job"] = None
            reconciliation_status["lastReconciledSpec"] = json.dumps(wrapper)
    return {
        "apiVersion": "flink.apache.org/v1beta1",
        "kind": "FlinkDeployment",
        "metadata": metadata,
        "spec": spec,
        "status": {key: value for key, value in status.items() if value is not None},
    }


def session_job(**kwargs: Any) -> dict[str, Any]:
    """Return a FlinkSessionJob: the same status without the JobManager and cluster fields."""
    obj = deployment(**kwargs)
    obj["kind"] = "FlinkSessionJob"
    obj["metadata"]["name"] = "wordcount-job"
    obj["spec"] = {"deploymentName": "session", "job": obj["spec"]["job"]}
    for key in ("jobManagerDeploymentStatus", "clusterInfo", "taskManager", "conditions"):
        obj["status"].pop(key, None)
    return obj


def no_status() -> dict[str, Any]:
    obj = deployment()
    del obj["status"]
    return obj


def first_seen(**overrides: Any) -> dict[str, Any]:
    """Return the status the operator writes before its first deployment: defaults, JobManager MISSING."""
    fields: dict[str, Any] = {
        "job_state": None,
        "job_id": None,
        "lifecycle": "CREATED",
        "jm": "MISSING",
        "reconciliation": "UPGRADING",
        "reconciled_job_state": None,
        "observed": None,
    }
    return deployment(**{**fields, **overrides})


def deploying_first_time() -> dict[str, Any]:
    """Return the status just before the first submission: spec recorded as suspended, UPGRADING."""
    return deployment(
        job_state=None,
        lifecycle="UPGRADING",
        jm="MISSING",
        reconciliation="UPGRADING",
        reconciled_job_state="suspended",
    )


def without_observed_generation(meta_generation: int | None, generation: int = 2) -> dict[str, Any]:
    return deployment(
        job_state="FINISHED", generation=generation, observed=None, reconciled_meta_generation=meta_generation
    )


PENDING, RUNNING, FINISHED, FAILED = JobPhase.PENDING, JobPhase.RUNNING, JobPhase.FINISHED, JobPhase.FAILED
CANCELED, SUSPENDED = JobPhase.CANCELED, JobPhase.SUSPENDED


def case(case_id: str, obj: dict[str, Any], phase: JobPhase, *needles: str, **kwargs: Any) -> Any:
    """One row: the situation, the object, the phase, words the message must carry, judge arguments."""
    return pytest.param(obj, kwargs, phase, needles, id=case_id)


# fmt: off
CASES = [
    # --- before and during deployment ------------------------------------------------------------
    case("no_status_yet", no_status(), PENDING, "FlinkDeployment analytics/wordcount:", "no status"),
    case("official_provider_initial_missing_is_pending_not_failed", first_seen(), PENDING,
         "not deployed", "JobManager MISSING"),
    case("first_deployment_in_progress", deploying_first_time(), PENDING,
         "being deployed", "reconciliation UPGRADING"),
    case("jobmanager_deploying", deployment(job_state="RECONCILING", lifecycle="DEPLOYED", jm="DEPLOYING"),
         PENDING, "JobManager is starting (DEPLOYING)"),
    case("jobmanager_up_rest_not_ready", deployment(job_state="RECONCILING", jm="DEPLOYED_NOT_READY"),
         PENDING, "JobManager is starting (DEPLOYED_NOT_READY)"),
    case("job_created", deployment(job_state="CREATED"), PENDING, "starting (CREATED)"),
    case("job_initializing", deployment(job_state="INITIALIZING"), PENDING, "starting (INITIALIZING)"),
    case("job_reconciling_with_ready_jobmanager", deployment(job_state="RECONCILING"), PENDING,
         "RECONCILING"),
    case("created_suspended_is_never_deployed", first_seen(spec_job_state="suspended"), SUSPENDED,
         "created with job.state suspended"),
    # --- running ---------------------------------------------------------------------------------
    case("official_provider_running_batch_is_not_finished", deployment(), RUNNING,
         "the job is running", "job RUNNING", "lifecycle STABLE", "JobManager READY"),
    case("running_before_stable", deployment(lifecycle="DEPLOYED"), RUNNING, "lifecycle DEPLOYED"),
    case("running_but_jobmanager_restarting", deployment(jm="DEPLOYING"), PENDING, "JobManager is DEPLOYING"),
    case("restarting_is_transient", deployment(job_state="RESTARTING"), PENDING,
         "RESTARTING", "restart strategy"),
    case("failing_is_not_failed_yet", deployment(job_state="FAILING"), PENDING, "FAILING"),
    case("cancelling", deployment(job_state="CANCELLING"), PENDING, "CANCELLING"),
    case("flink_suspended_on_leadership_loss", deployment(job_state="SUSPENDED"), PENDING, "leadership"),
    case("session_cluster_ready", deployment(session_cluster=True), RUNNING, "session cluster is ready"),
    case("session_cluster_starting", deployment(session_cluster=True, jm="DEPLOYING"), PENDING,
         "session cluster is starting"),
    # --- finished --------------------------------------------------------------------------------
    case("batch_finished", deployment(job_state="FINISHED"), FINISHED, "the job finished"),
    case("finished_after_jobmanager_ttl_cleanup", deployment(job_state="FINISHED", jm="MISSING"), FINISHED,
         "the job finished", "JobManager MISSING"),
    case("finished_written_by_suspend", deployment(job_state="FINISHED", lifecycle="SUSPENDED", jm="MISSING",
         reconciled_job_state="suspended", spec_job_state="suspended", generation=2, observed=2), SUSPENDED,
         "suspended (job.state suspended)"),
    case("finished_written_by_upgrade", deployment(job_state="FINISHED", lifecycle="UPGRADING", jm="MISSING",
         reconciliation="UPGRADING", reconciled_job_state="suspended", generation=2, observed=2), PENDING,
         "being deployed", "reconciliation UPGRADING"),
    case("finished_with_suspended_lifecycle_is_no_success",
         deployment(job_state="FINISHED", lifecycle="SUSPENDED"), PENDING,
         "FINISHED but the resource is SUSPENDED"),
    case("official_provider_stale_status_after_spec_update", deployment(job_state="FINISHED", generation=2),
         PENDING, "stale", "observedGeneration 1 < generation 2"),
    case("observed_generation_from_old_operator_metadata", without_observed_generation(2), FINISHED,
         "the job finished"),
    case("observed_generation_from_old_operator_metadata_stale", without_observed_generation(1), PENDING,
         "observedGeneration 1 < generation 2"),
    case("finished_outranks_a_failed_lifecycle_after_ttl_cleanup",
         deployment(job_state="FINISHED", jm="MISSING", lifecycle="FAILED", error=MANUAL_RESTORE), FINISHED,
         "the job finished"),
    case("observed_generation_unknown", without_observed_generation(None), PENDING, "not reconciled"),
    # --- failed ----------------------------------------------------------------------------------
    case("official_provider_failed_job_with_ready_jobmanager",
         deployment(job_state="FAILED", lifecycle="FAILED", error=JOB_FAILURE), FAILED,
         "the job failed", "job FAILED", "Recovery is suppressed by NoRestartBackoffTimeStrategy",
         "root cause: java.io.FileNotFoundException: s3://bucket/in does not exist"),
    case("jobmanager_error",
         deployment(job_state="RECONCILING", lifecycle="DEPLOYED", jm="ERROR", error=IMAGE_PULL_FAILURE),
         FAILED, "the JobManager deployment failed", "ImagePullBackOff", "flink:1.20-typo"),
    case("jobmanager_gone_without_ha_metadata",
         deployment(job_state="RECONCILING", lifecycle="FAILED", jm="MISSING", error=MANUAL_RESTORE),
         FAILED, "marked the resource FAILED", "Manual restore required"),
    case("jobmanager_gone_operator_recovers",
         deployment(job_state="RECONCILING", jm="MISSING", error=MISSING_JM), PENDING,
         "JobManager deployment is missing", "Missing JobManager deployment"),
    case("rolled_back", deployment(reconciliation="ROLLED_BACK", lifecycle="ROLLED_BACK"), FAILED,
         "rolls back to the last stable spec", "reconciliation ROLLED_BACK"),
    case("rolling_back", deployment(reconciliation="ROLLING_BACK", lifecycle="ROLLING_BACK"), FAILED,
         "reconciliation ROLLING_BACK"),
    case("new_resource_rejected_by_validation", first_seen(lifecycle="FAILED", error=INVALID_SPEC), FAILED,
         "rejected", "generation 1", "Job parallelism must be larger than 0"),
    case("update_rejected_by_validation", deployment(generation=2, observed=1, error=INVALID_SPEC), FAILED,
         "rejected", "generation 2"),
    case("older_rejection_may_be_fixed_already", deployment(generation=3, observed=1, error=INVALID_SPEC),
         PENDING, "stale", "Job parallelism must be larger than 0"),
    # --- cancelled, suspended, deleted -----------------------------------------------------------
    case("cancelled_outside_airflow",
         deployment(job_state="CANCELED", lifecycle="SUSPENDED", reconciled_job_state="suspended"), CANCELED,
         "cancelled outside Airflow", "job CANCELED", "lifecycle SUSPENDED"),
    case("cancelled_outside_airflow_older_operator", deployment(job_state="CANCELED"), CANCELED,
         "cancelled outside Airflow"),
    case("suspended_by_spec", deployment(job_state="FINISHED", lifecycle="SUSPENDED", jm="MISSING",
         reconciled_job_state="suspended", spec_job_state="suspended"), SUSPENDED, "suspended (job.state"),
    case("being_deleted", deployment(deleting=True), CANCELED, "being deleted"),
    case("lifecycle_deleting", deployment(lifecycle="DELETING"), CANCELED, "being deleted"),
    # --- re-runs and requested specs -------------------------------------------------------------
    case("rerun_old_finished_job_does_not_decide",
         deployment(job_state="FINISHED", job_id=OLD_JOB_ID, generation=2, observed=2), PENDING,
         f"waiting for the new job to replace {OLD_JOB_ID}", previous_job_id=OLD_JOB_ID),
    case("rerun_old_failed_job_does_not_decide",
         deployment(job_state="FAILED", lifecycle="FAILED", job_id=OLD_JOB_ID, error=JOB_FAILURE), PENDING,
         f"waiting for the new job to replace {OLD_JOB_ID}", previous_job_id=OLD_JOB_ID),
    case("rerun_new_job_finished", deployment(job_state="FINISHED"), FINISHED, "the job finished",
         previous_job_id=OLD_JOB_ID),
    case("last_state_upgrade_keeps_job_id", deployment(job_id=OLD_JOB_ID), RUNNING, "the job is running",
         previous_job_id=OLD_JOB_ID),
    case("restart_nonce_not_reconciled_yet", deployment(job_state="FINISHED", restart_nonce=2,
         reconciled_restart_nonce=1, generation=2, observed=2), PENDING,
         "stale", "restartNonce=1", "requested 2", expected_spec={**SPEC, "restartNonce": 2}),
    case("requested_spec_reconciled_with_operator_defaults", deployment(job_state="FINISHED", restart_nonce=2,
         reconciled_restart_nonce=2, generation=2, observed=2), FINISHED,
         "the job finished", expected_spec={**SPEC, "restartNonce": 2}),
    case("requested_args_not_reconciled", deployment(), PENDING,
         "job.args[1]=s3://bucket/in", "requested s3://bucket/other",
         expected_spec={"job": {**SPEC["job"], "args": ["--input", "s3://bucket/other"]}}),
    case("requested_config_not_reconciled", deployment(), PENDING,
         'flinkConfiguration["taskmanager.numberOfTaskSlots"]=2', "requested 4",
         expected_spec={"flinkConfiguration": {"taskmanager": {"numberOfTaskSlots": 4}}}),
    case("requested_nested_config_matches_flat", deployment(), RUNNING, "the job is running",
         expected_spec={"flinkConfiguration": {"taskmanager": {"numberOfTaskSlots": 2}}}),
    # --- FlinkSessionJob -------------------------------------------------------------------------
    case("session_job_no_status", {**session_job(), "status": {}}, PENDING,
         "FlinkSessionJob analytics/wordcount-job:", "no status"),
    case("session_job_submitting", session_job(job_state="RECONCILING", lifecycle="DEPLOYED"), PENDING,
         "RECONCILING"),
    case("session_job_running", session_job(), RUNNING, "FlinkSessionJob analytics/wordcount-job:",
         "the job is running"),
    case("session_job_finished", session_job(job_state="FINISHED"), FINISHED, "the job finished"),
    case("session_job_failed", session_job(job_state="FAILED", lifecycle="FAILED", error=JOB_FAILURE), FAILED,
         "the job failed", "Recovery is suppressed"),
    case("session_job_stale", session_job(job_state="FINISHED", generation=3, observed=2), PENDING,
         "observedGeneration 2 < generation 3"),
    case("session_job_lost_will_be_resubmitted", session_job(job_state="RECONCILING", lifecycle="SUSPENDED",
         reconciled_job_state="suspended", error="Job Not Found"), PENDING,
         "submit it again", "Job Not Found"),
    case("session_job_cancelled_outside_airflow", session_job(job_state="CANCELED", lifecycle="SUSPENDED",
         reconciled_job_state="suspended"), CANCELED, "cancelled outside Airflow"),
    case("session_job_suspended_by_spec", session_job(job_state="FINISHED", job_id=None,
         lifecycle="SUSPENDED", reconciled_job_state="suspended", spec_job_state="suspended"), SUSPENDED,
         "suspended (job.state"),
]
# fmt: on


@pytest.mark.parametrize(("obj", "kwargs", "phase", "needles"), CASES)
def test_judge_custom_resource_phase_and_message(
    obj: dict[str, Any], kwargs: dict[str, Any], phase: JobPhase, needles: tuple[str, ...]
) -> None:
    verdict = judge_custom_resource(obj, **kwargs)

    assert (verdict.phase, [n for n in needles if n not in verdict.message]) == (phase, []), verdict.message


@pytest.mark.parametrize(
    ("obj", "expected_path"),
    [
        pytest.param(
            deployment(upgrade_savepoint="s3://bucket/sp/savepoint-1", last_savepoint="s3://bucket/sp/old"),
            "s3://bucket/sp/savepoint-1",
            id="upgrade_savepoint_path_is_where_the_operator_restores_from",
        ),
        pytest.param(
            deployment(last_savepoint="s3://bucket/sp/savepoint-2"),
            "s3://bucket/sp/savepoint-2",
            id="last_savepoint_of_older_operators",
        ),
        pytest.param(
            deployment(upgrade_savepoint="KUBERNETES_OPERATOR_LAST_STATE"),
            None,
            id="last_state_placeholder_is_not_a_location",
        ),
        pytest.param(deployment(), None, id="no_savepoint"),
    ],
)
def test_verdict_reports_latest_savepoint_location(obj: dict[str, Any], expected_path: str | None) -> None:
    assert judge_custom_resource(obj).savepoint_path == expected_path


def test_verdict_carries_the_facts_it_rests_on() -> None:
    verdict = judge_custom_resource(deployment(job_state="FAILED", lifecycle="FAILED", error=JOB_FAILURE))

    assert (
        verdict.job_id,
        verdict.job_state,
        verdict.lifecycle_state,
        verdict.jm_status,
        verdict.error is not None and verdict.error.message,
        verdict.is_terminal,
    ) == (JOB_ID, "FAILED", "FAILED", "READY", "Recovery is suppressed by NoRestartBackoffTimeStrategy", True)


@pytest.mark.parametrize(
    ("phase", "terminal"),
    [
        (JobPhase.PENDING, False),
        (JobPhase.RUNNING, False),
        (JobPhase.FINISHED, True),
        (JobPhase.FAILED, True),
        (JobPhase.CANCELED, True),
        (JobPhase.SUSPENDED, True),
    ],
)
def test_only_outcomes_that_need_a_new_spec_or_run_are_terminal(phase: JobPhase, terminal: bool) -> None:
    assert JobVerdict(phase=phase, message="").is_terminal is terminal


@pytest.mark.parametrize(
    "garbage",
    [
        pytest.param({}, id="empty_object"),
        pytest.param({"status": "not-a-dict", "metadata": None}, id="wrong_types"),
        pytest.param(
            {"metadata": {"generation": 1}, "status": {"observedGeneration": 1, "reconciliationStatus": {
                "state": "DEPLOYED", "lastReconciledSpec": "{not json"}}},
            id="unreadable_last_reconciled_spec",
        ),
    ],
)  # fmt: skip
def test_malformed_objects_are_pending_not_errors(garbage: dict[str, Any]) -> None:
    assert judge_custom_resource(garbage).phase is JobPhase.PENDING
