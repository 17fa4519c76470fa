"""
Run a streaming job in a Flink session cluster, then tear both down.

A session cluster is a FlinkDeployment without a job: one JobManager that several FlinkSessionJobs share,
which saves the start-up of a cluster per job. The first task creates it and waits until its JobManager is
ready; the second submits a FlinkSessionJob into it and waits until the job RUNNING; the last two delete
the session job, then the session cluster, so nothing is left running (also when an earlier task failed).

Runs as-is against the local playground (``bash dags/playground.sh --dag flink_session_job``) or the docker
compose stack.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pendulum

from airflow_provider_flink.operators.flink_deployment import FlinkDeploymentOperator, FlinkSessionJobOperator
from airflow_provider_flink.operators.flink_lifecycle import FlinkDeleteJobOperator

try:  # Airflow 3
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.11
    from airflow import DAG


def run_scoped_name(run_id: str, prefix: str) -> str:
    """``prefix`` plus a digest of the run id: a valid Flink cluster id, the same on retries, unique per run."""
    return f"{prefix}-{hashlib.sha256(run_id.encode()).hexdigest()[:10]}"


# One session cluster per DAG run: the cleanup of one run never deletes the cluster another run uses.
CLUSTER = "{{ run_id | run_scoped_name('session') }}"
JOB = "{{ run_id | run_scoped_name('top-speed') }}"

with DAG(
    # Retrying is safe: the operators re-attach to the job a failed try left running instead of starting another.
    default_args={"retries": 1, "retry_delay": timedelta(seconds=5)},
    dag_id="flink_session_job",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["flink", "example"],
    doc_md=__doc__,
    user_defined_filters={"run_scoped_name": run_scoped_name},
):
    cluster = FlinkDeploymentOperator(
        task_id="session_cluster",
        name=CLUSTER,
        image="flink:2.0",
        flink_version="v2_0",
        session_cluster=True,  # no spec.job: FlinkSessionJobs run in it
        flink_configuration={"taskmanager.numberOfTaskSlots": "2"},
        job_manager={"cpu": 0.5, "memory": "1024m"},
        task_manager={"cpu": 1, "memory": "1728m"},
        wait_for="running",  # a session cluster "runs" once its JobManager is ready
        deferrable=True,
        poll_interval=5,
    )
    job = FlinkSessionJobOperator(
        task_id="session_job",
        name=JOB,
        deployment_name=CLUSTER,
        # The Flink operator downloads a session job's jar itself: an http(s):// (or s3://...) URI, not local://.
        jar_uri="https://repo1.maven.org/maven2/org/apache/flink/flink-examples-streaming/2.0.0/"
        "flink-examples-streaming-2.0.0-TopSpeedWindowing.jar",
        parallelism=2,
        upgrade_mode="stateless",
        wait_for="running",  # a streaming job: it counts once RUNNING; a job that fails to start fails the task
        deferrable=True,
        poll_interval=5,
    )
    # all_done: clean up after a failure too, so a failed run leaves nothing running. The session job goes
    # first: the Flink operator does not delete a session cluster that still has session jobs.
    stop_job = FlinkDeleteJobOperator(
        task_id="delete_session_job", name=JOB, kind="FlinkSessionJob", trigger_rule="all_done"
    )
    teardown = FlinkDeleteJobOperator(task_id="delete_session_cluster", name=CLUSTER, trigger_rule="all_done")
    cluster >> job >> stop_job >> teardown
