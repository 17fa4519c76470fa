"""FlinkJobSensor in native mode (``kind="native"``, ``name`` = cluster id) through real Airflow (``dag.test``)."""

from __future__ import annotations

from typing import Any

import pytest
from airflow_support import new_dag, run_dag
from native_support import CLI_ENV, ENTRY_CLASS, IMAGE, JAR_URI

from airflow_provider_flink.operators.flink_native import FlinkNativeSubmitOperator
from airflow_provider_flink.sensors.flink import FlinkJobSensor

CLUSTER_ID_OF_SUBMIT = "{{ ti.xcom_pull(task_ids='submit')['cluster_id'] }}"


def _submit(mode: str) -> FlinkNativeSubmitOperator:
    return FlinkNativeSubmitOperator(
        task_id="submit",
        image=IMAGE,
        jar_uri=JAR_URI,
        entry_class=ENTRY_CLASS,
        args=[mode],
        flink_version="2.3.0",
        cli_env=CLI_ENV,
        wait_for="none",
    )


def _sensor(name: str = CLUSTER_ID_OF_SUBMIT, **kwargs: Any) -> FlinkJobSensor:
    return FlinkJobSensor(
        task_id="wait", kind="native", name=name, target_state="finished", poke_interval=0.5, timeout=120, **kwargs
    )


@pytest.mark.parametrize(
    ("mode", "deferrable", "state", "text"),
    [("bounded", False, "success", "FINISHED"), ("failing", True, "failed", "Simulated bad record 42")],
    ids=["poke-finished", "deferrable-failed"],
)
def test_sensor_waits_for_a_native_job_and_judges_its_end(
    emulator, simulator, k8s_connection, capfd, mode, deferrable, state, text
):
    with new_dag() as dag:
        _submit(mode) >> _sensor(deferrable=deferrable)

    states = run_dag(dag)

    assert states == {"submit": "success", "wait": state}
    assert text in "".join(capfd.readouterr())


def test_sensor_on_a_missing_native_cluster_says_it_is_gone(emulator, k8s_connection, capfd):
    with new_dag() as dag:
        _sensor(name="no-such-cluster")

    states = run_dag(dag)

    assert states == {"wait": "failed"}
    assert "was deleted before its final state could be read" in "".join(capfd.readouterr())
