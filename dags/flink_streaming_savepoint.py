"""
A long-running streaming job: deploy (or upgrade) it, wait until it runs, then take a savepoint.

Re-running this DAG with an unchanged spec leaves the job alone (no restart); changing the image or a
setting upgrades it with a savepoint (``upgradeMode: savepoint``), and the task waits until the upgraded
generation runs. The second task takes a savepoint through a FlinkStateSnapshot and returns its path.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum

from airflow_provider_flink.operators.flink_deployment import FlinkDeploymentOperator
from airflow_provider_flink.operators.flink_lifecycle import FlinkSavepointOperator

try:  # Airflow 3
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.11
    from airflow import DAG

SPEC = """
apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
metadata:
  name: top-speed
spec:
  image: flink:2.0
  flinkVersion: v2_0
  serviceAccount: flink
  flinkConfiguration:
    taskmanager.numberOfTaskSlots: "2"
    state.savepoints.dir: file:///flink-data/savepoints
  jobManager:
    resource: {cpu: 0.5, memory: 1024m}
  taskManager:
    resource: {cpu: 1, memory: 1728m}
  job:
    jarURI: local:///opt/flink/examples/streaming/TopSpeedWindowing.jar
    parallelism: 2
    upgradeMode: savepoint
"""

with DAG(
    # Retrying is safe: the operators re-attach to the job a failed try left running instead of starting another.
    default_args={"retries": 1, "retry_delay": timedelta(seconds=5)},
    dag_id="flink_streaming_savepoint",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["flink", "example"],
    doc_md=__doc__,
):
    deploy = FlinkDeploymentOperator(
        task_id="deploy",
        application_file=SPEC,  # a path such as "specs/top_speed.yaml" works too (rendered with Jinja)
        wait_for="running",
        deferrable=True,
        poll_interval=5,
    )
    savepoint = FlinkSavepointOperator(task_id="savepoint", name="top-speed", deferrable=True, poll_interval=5)
    deploy >> savepoint
