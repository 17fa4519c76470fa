"""
Submit a batch job and return at once, then wait for it with a deferrable sensor.

Splitting "submit" and "wait" lets other tasks start as soon as the job is submitted, and the waiting
costs no worker slot: ``FlinkJobSensor(deferrable=True)`` hands the wait to the triggerer, which judges
the job with the same rules as the operator (FINISHED for this spec is success; FAILED fails the sensor
with Flink's exception). The FlinkDeployment is deleted once the job succeeded; a failed one is kept for
debugging.

Runs as-is against the local playground (``bash dags/playground.sh --dag flink_submit_then_sense``) or the
docker compose stack.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pendulum

from airflow_provider_flink.operators.flink_deployment import FlinkDeploymentOperator
from airflow_provider_flink.operators.flink_lifecycle import FlinkDeleteJobOperator
from airflow_provider_flink.sensors.flink import FlinkJobSensor

try:  # Airflow 3
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.11
    from airflow import DAG


def run_scoped_name(run_id: str, prefix: str) -> str:
    """``prefix`` plus a digest of the run id: a valid Flink cluster id, the same on retries, unique per run."""
    return f"{prefix}-{hashlib.sha256(run_id.encode()).hexdigest()[:10]}"


# One FlinkDeployment per DAG run, so two runs never share a Flink cluster. (The run id itself is not a valid
# cluster id, and a manual run in Airflow 3 may have no logical date, so no `ds` to build a name from.)
NAME = "{{ run_id | run_scoped_name('sensed-wordcount') }}"

with DAG(
    # Retrying is safe: the operators re-attach to the job a failed try left running instead of starting another.
    default_args={"retries": 1, "retry_delay": timedelta(seconds=5)},
    dag_id="flink_submit_then_sense",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["flink", "example"],
    doc_md=__doc__,
    user_defined_filters={"run_scoped_name": run_scoped_name},
):
    submit = FlinkDeploymentOperator(
        task_id="submit",
        name=NAME,
        image="flink:2.0",
        flink_version="v2_0",
        jar_uri="local:///opt/flink/examples/streaming/WordCount.jar",
        entry_class="org.apache.flink.streaming.examples.wordcount.WordCount",
        parallelism=1,
        flink_configuration={"execution.runtime-mode": "BATCH"},
        wait_for="none",  # return once the FlinkDeployment is accepted; the sensor below does the waiting
    )
    wait = FlinkJobSensor(
        task_id="wait_until_finished",
        name=NAME,
        target_state="finished",
        deferrable=True,  # the triggerer polls the job; no worker slot is held meanwhile
        poke_interval=5,
        timeout=3600,
    )
    # Default trigger rule: runs only when the job succeeded, so a failed job stays for `kubectl describe`.
    cleanup = FlinkDeleteJobOperator(task_id="delete", name=NAME, poll_interval=2)
    submit >> wait >> cleanup
