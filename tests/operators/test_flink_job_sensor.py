"""FlinkJobSensor on FlinkDeployments and FlinkSessionJobs, in poke, reschedule and deferrable modes."""

from __future__ import annotations

import pytest
from airflow_support import new_dag, run_dag
from test_flink_deployment_operator import _operator

from airflow_provider_flink.operators.flink_deployment import FlinkSessionJobOperator
from airflow_provider_flink.sensors.flink import FlinkJobSensor


def _sensor(**kwargs) -> FlinkJobSensor:
    return FlinkJobSensor(task_id="wait", name="wordcount", poke_interval=0.2, timeout=60, **kwargs)


@pytest.mark.parametrize(
    "mode_kwargs",
    [{"mode": "poke"}, {"mode": "reschedule"}, {"deferrable": True}],
    ids=["poke", "reschedule", "deferrable"],
)
def test_sensor_waits_from_missing_status_until_the_batch_job_finished(
    kube_backend, simulator, k8s_connection, mode_kwargs
):
    # Submitted without waiting, the status starts MISSING: the sensor must wait, not fail on it.
    with new_dag() as dag:
        _operator(task_id="submit", wait_for="none") >> _sensor(**mode_kwargs)

    states = run_dag(dag)

    assert states == {"submit": "success", "wait": "success"}


@pytest.mark.parametrize("deferrable", [False, True], ids=["poke", "deferrable"])
def test_sensor_fails_fast_with_the_flink_error_when_the_job_fails(
    kube_backend, simulator, k8s_connection, capfd, deferrable
):
    with new_dag() as dag:
        _operator(task_id="submit", wait_for="none", scenario="batch-failure") >> _sensor(deferrable=deferrable)

    states = run_dag(dag)

    assert states == {"submit": "success", "wait": "failed"}
    assert "failed" in "".join(capfd.readouterr()).lower()


def test_sensor_target_running_succeeds_on_a_running_streaming_job(kube_backend, simulator, k8s_connection):
    with new_dag() as dag:
        submit = _operator(task_id="submit", wait_for="none", scenario="streaming", flink_configuration={})
        submit >> _sensor(target_state="running")

    states = run_dag(dag)

    assert states == {"submit": "success", "wait": "success"}


def test_sensor_on_a_missing_resource_fails_naming_it(kube_backend, k8s_connection, capfd):
    with new_dag() as dag:
        _sensor()

    states = run_dag(dag)

    assert states == {"wait": "failed"}
    assert "FlinkDeployment flink-jobs/wordcount does not exist" in "".join(capfd.readouterr())


def test_session_job_runs_in_a_session_cluster_and_the_sensor_sees_it_finish(kube_backend, simulator, k8s_connection):
    with new_dag() as dag:
        session = _operator(
            task_id="session",
            name="session-cluster",
            jar_uri=None,
            entry_class=None,
            flink_configuration={},
            session_cluster=True,
            wait_for="running",
        )
        job = FlinkSessionJobOperator(
            task_id="job",
            name="wordcount-job",
            deployment_name="session-cluster",
            jar_uri="local:///opt/flink/examples/streaming/WordCount.jar",
            parallelism=1,
            annotations={"flink-simulator/scenario": "batch-success"},
            wait_for="none",
        )
        sensor = FlinkJobSensor(
            task_id="wait", name="wordcount-job", kind="FlinkSessionJob", poke_interval=0.2, timeout=60
        )
        session >> job >> sensor

    states = run_dag(dag)

    assert states == {"session": "success", "job": "success", "wait": "success"}
