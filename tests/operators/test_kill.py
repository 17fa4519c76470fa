"""A task killed while it waits (SIGTERM to the worker, as Airflow sends it) cleans up per on_kill_action."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from airflow_support import ensure_airflow_db, start_dag_in_subprocess
from realstack.backends import BACKEND_NAMESPACE as NAMESPACE
from test_flink_deployment_operator import GROUP, PLURAL, VERSION

DAG_FILE = """
import pendulum
from airflow_provider_flink.operators.flink_deployment import FlinkDeploymentOperator
try:
    from airflow.sdk import DAG
except ImportError:
    from airflow import DAG

with DAG("kill_dag", start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), schedule=None) as dag:
    FlinkDeploymentOperator(
        task_id="flink",
        name="killjob",
        image="flink:2.0",
        flink_version="v2_0",
        jar_uri="local:///opt/flink/examples/streaming/TopSpeedWindowing.jar",
        annotations={"flink-simulator/scenario": "streaming"},
        wait_for="finished",  # a streaming job never finishes: the task waits until it is killed
        on_kill_action=ON_KILL_ACTION,
        poll_interval=0.2,
    )
"""


@pytest.mark.parametrize("action", ["delete", "suspend"])
def test_sigterm_while_waiting_applies_on_kill_action(kube_backend, simulator, k8s_connection, tmp_path: Path, action):
    ensure_airflow_db()
    dag_file = tmp_path / "kill_dag.py"
    dag_file.write_text(DAG_FILE.replace("ON_KILL_ACTION", repr(action)))
    worker = start_dag_in_subprocess(dag_file)
    try:
        deadline = time.monotonic() + 60
        while _job_state(kube_backend) != "RUNNING":
            assert time.monotonic() < deadline, "the job never ran"
            time.sleep(0.2)
        time.sleep(1)  # the task is now in its wait loop

        os.kill(worker.pid, signal.SIGTERM)
        worker.wait(timeout=60)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)

    live = kube_backend.get_object(GROUP, VERSION, PLURAL, NAMESPACE, "killjob")
    if action == "delete":
        assert live is None
    else:
        assert live["spec"]["job"]["state"] == "suspended"


def _job_state(emulator):
    obj = emulator.get_object(GROUP, VERSION, PLURAL, NAMESPACE, "killjob")
    return ((obj or {}).get("status") or {}).get("jobStatus", {}).get("state")
