"""Day-2 operations: suspend, resume, savepoint and delete, through real Airflow."""

from __future__ import annotations

import pytest
from airflow_support import new_dag, run_dag, xcom_of
from realstack.backends import BACKEND_NAMESPACE as NAMESPACE
from test_flink_deployment_operator import GROUP, PLURAL, VERSION, _operator

from airflow_provider_flink.operators.flink_lifecycle import (
    FlinkDeleteJobOperator,
    FlinkResumeJobOperator,
    FlinkSavepointOperator,
    FlinkSuspendJobOperator,
)

KNOBS = {"name": "wordcount", "poll_interval": 0.2, "timeout": 60}


def _streaming(**kwargs):
    return _operator(
        task_id="deploy", scenario="streaming", flink_configuration={}, wait_for="running", upgrade_mode="savepoint"
    )


@pytest.mark.parametrize("deferrable", [False, True], ids=["sync", "deferrable"])
def test_suspend_then_resume_runs_a_new_job(kube_backend, simulator, k8s_connection, deferrable):
    with new_dag() as dag:
        (
            _streaming()
            >> FlinkSuspendJobOperator(task_id="suspend", deferrable=deferrable, **KNOBS)
            >> FlinkResumeJobOperator(task_id="resume", deferrable=deferrable, **KNOBS)
        )

    states = run_dag(dag)

    assert states == {"deploy": "success", "suspend": "success", "resume": "success"}
    assert xcom_of(dag, "suspend")["state"] == "SUSPENDED"
    assert xcom_of(dag, "resume")["state"] == "RUNNING"
    assert xcom_of(dag, "resume")["job_id"] != xcom_of(dag, "deploy")["job_id"]


@pytest.mark.parametrize("deferrable", [False, True], ids=["sync", "deferrable"])
def test_savepoint_operator_returns_the_savepoint_path(kube_backend, simulator, k8s_connection, deferrable):
    with new_dag() as dag:
        _streaming() >> FlinkSavepointOperator(task_id="savepoint", deferrable=deferrable, **KNOBS)

    states = run_dag(dag)

    assert states == {"deploy": "success", "savepoint": "success"}
    path = xcom_of(dag, "savepoint")["savepoint_path"]
    assert path and "savepoint" in path


def test_savepoint_of_a_missing_deployment_fails_naming_it(kube_backend, k8s_connection, capfd):
    with new_dag() as dag:
        FlinkSavepointOperator(task_id="savepoint", **KNOBS)

    states = run_dag(dag)

    assert states == {"savepoint": "failed"}
    assert f"FlinkDeployment {NAMESPACE}/wordcount does not exist" in "".join(capfd.readouterr())


def test_delete_operator_waits_until_the_finalizer_let_the_deployment_go(kube_backend, simulator, k8s_connection):
    with new_dag() as dag:
        _streaming() >> FlinkDeleteJobOperator(task_id="delete", **KNOBS)

    states = run_dag(dag)

    assert states == {"deploy": "success", "delete": "success"}
    assert kube_backend.get_object(GROUP, VERSION, PLURAL, NAMESPACE, "wordcount") is None


def test_savepoint_by_trigger_nonce_where_snapshot_resources_are_off(kube_backend, simulator, k8s_connection):
    # Operators before 1.10 (or with snapshot resources disabled) record savepoints in savepointInfo.
    with new_dag() as dag:
        deploy = _operator(
            task_id="deploy",
            scenario="streaming",
            flink_configuration={"kubernetes.operator.snapshot.resource.enabled": "false"},
            wait_for="running",
        )
        deploy >> FlinkSavepointOperator(task_id="savepoint", method="nonce", **KNOBS)

    states = run_dag(dag)

    assert states == {"deploy": "success", "savepoint": "success"}
    live = kube_backend.get_object(GROUP, VERSION, PLURAL, NAMESPACE, "wordcount")
    assert live["spec"]["job"]["savepointTriggerNonce"] == 1
    assert (
        xcom_of(dag, "savepoint")["savepoint_path"]
        == (live["status"]["jobStatus"]["savepointInfo"]["lastSavepoint"]["location"])
    )
    assert not kube_backend.list_objects(GROUP, VERSION, "flinkstatesnapshots")


def test_hook_tells_which_flink_resources_the_cluster_serves(kube_backend, k8s_connection):
    from airflow_provider_flink.hooks.kubernetes import FlinkKubernetesHook

    hook = FlinkKubernetesHook()

    assert hook.serves("flinkstatesnapshots")
    assert not hook.serves("flinkbluegreendeployments")
