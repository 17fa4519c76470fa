"""
A scheduled daily batch job on the Flink Kubernetes Operator.

Every day a FlinkDeployment runs WordCount over that day's input (the logical date is in the job's
arguments), the task waits until Flink says the job FINISHED (not merely that its JobManager is up),
and the FlinkDeployment is deleted once it succeeded. A failed job fails the task with Flink's exception,
and its FlinkDeployment is kept for debugging.

Runs as-is against the local playground (``bash dags/playground.sh``) or the docker compose stack.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum

from airflow_provider_flink.operators.flink_deployment import FlinkDeploymentOperator

try:  # Airflow 3
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.11
    from airflow import DAG

with DAG(
    # Retrying is safe: the operators re-attach to the job a failed try left running instead of starting another.
    default_args={"retries": 1, "retry_delay": timedelta(seconds=5)},
    dag_id="flink_batch_daily",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["flink", "example"],
    doc_md=__doc__,
):
    FlinkDeploymentOperator(
        task_id="wordcount",
        # One FlinkDeployment per day: a re-run of the same day reattaches instead of starting a second job.
        name="wordcount-{{ ds_nodash }}",
        image="flink:2.0",
        flink_version="v2_0",
        jar_uri="local:///opt/flink/examples/batch/WordCount.jar",
        args=["--input", "/data/events/{{ ds }}", "--output", "/data/wordcount/{{ ds }}"],
        parallelism=2,
        flink_configuration={"execution.runtime-mode": "BATCH"},
        job_manager={"cpu": 0.5, "memory": "1024m"},
        task_manager={"cpu": 1, "memory": "1728m"},
        wait_for="finished",  # the default for BATCH runtime mode, spelled out here
        delete_on="success",
        deferrable=True,  # wait in the triggerer, not in a worker slot
        poll_interval=5,
    )
