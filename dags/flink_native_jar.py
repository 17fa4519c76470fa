"""
A daily batch job in its own Flink application cluster, with Flink's native Kubernetes mode.

No Flink Kubernetes Operator: the task runs ``flink run --target kubernetes-application`` with the worker's
Flink CLI (``submitter="local"``: Java and a Flink distribution on the worker, found through the connection
extra ``flink_home``, ``flink`` on PATH, or ``FLINK_HOME``). Flink creates the JobManager Deployment itself;
the task then waits in the triggerer until Flink's REST API (read through the API server's service proxy) says
the job FINISHED, and deletes the cluster. A failed job fails the task with Flink's exception.

The jar is WordCount from the image's own examples (``local://`` means "inside the image"), run on its
built-in text. Runs as-is on the docker compose stack and in the local playground
(``bash dags/playground.sh --dag flink_native_jar``), where a small stand-in job of the same file name runs on
a real local Flink cluster.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum

from airflow_provider_flink.operators.flink_native import FlinkNativeSubmitOperator

try:  # Airflow 3
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.11
    from airflow import DAG

with DAG(
    # Retrying is safe: the operators re-attach to the job a failed try left running instead of starting another.
    default_args={"retries": 1, "retry_delay": timedelta(seconds=5)},
    dag_id="flink_native_jar",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["flink", "example", "native"],
    doc_md=__doc__,
):
    FlinkNativeSubmitOperator(
        task_id="wordcount",
        # No cluster_id: one is derived from dag, task and run, so a retry reattaches to its cluster
        # instead of starting the job twice.
        image="flink:2.0",
        jar_uri="local:///opt/flink/examples/streaming/WordCount.jar",
        args=["--execution-mode", "BATCH"],
        parallelism=1,
        flink_conf={
            # BATCH is also what makes the task wait for FINISHED (not merely RUNNING).
            "execution.runtime-mode": "BATCH",
            # Which day this cluster computes, visible with `kubectl describe deployment`.
            "kubernetes.jobmanager.annotations": "airflow.apache.org/logical-date:{{ ds }}",
        },
        service_account="flink",  # what the JobManager runs as: it creates its TaskManager pods
        jobmanager_memory="1024m",
        taskmanager_memory="1728m",
        submitter="local",
        deferrable=True,  # wait in the triggerer, not in a worker slot
        poll_interval=5,
        startup_timeout=600,  # image pull, JobManager start and TaskManager slots together
    )
