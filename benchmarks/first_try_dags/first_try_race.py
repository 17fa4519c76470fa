"""
The benchmark DAG of ``benchmarks/first_try.py``: two deferrable tasks whose triggers can fire within seconds.

``deploy`` waits until a streaming job runs (the simulated Flink operator gets there in about two seconds),
``savepoint`` until its FlinkStateSnapshot completes (about one second): the window in which Airflow 3.3 fails a
resumed try (apache/airflow#72716). One FlinkDeployment per run. ``retries=1`` lets a run end even when its first
try is lost, so the benchmark counts lost tries from the try numbers instead of failed runs.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pendulum

from airflow_provider_flink.operators.flink_deployment import FlinkDeploymentOperator
from airflow_provider_flink.operators.flink_lifecycle import FlinkSavepointOperator

try:  # Airflow 3
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.11
    from airflow import DAG


def run_scoped_name(run_id: str, prefix: str) -> str:
    return f"{prefix}-{hashlib.sha256(run_id.encode()).hexdigest()[:10]}"


NAME = "{{ run_id | run_scoped_name('race') }}"

with DAG(
    default_args={"retries": 1, "retry_delay": timedelta(seconds=2)},
    dag_id="first_try_race",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    user_defined_filters={"run_scoped_name": run_scoped_name},
):
    deploy = FlinkDeploymentOperator(
        task_id="deploy",
        name=NAME,
        image="flink:2.0",
        flink_version="v2_0",
        jar_uri="local:///opt/flink/examples/streaming/TopSpeedWindowing.jar",
        parallelism=1,
        flink_configuration={"state.savepoints.dir": "file:///flink-data/savepoints"},
        upgrade_mode="savepoint",
        wait_for="running",
        deferrable=True,
        poll_interval=5,
    )
    savepoint = FlinkSavepointOperator(task_id="savepoint", name=NAME, deferrable=True, poll_interval=5)
    deploy >> savepoint
