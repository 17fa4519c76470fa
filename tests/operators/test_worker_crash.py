"""A worker killed mid-wait: the retry re-attaches to the running job, with no second create and no re-run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from airflow_support import ensure_airflow_db, start_dag_in_subprocess
from realstack.backends import BACKEND_NAMESPACE as NAMESPACE
from test_flink_deployment_operator import GROUP, PLURAL, VERSION, _posts

DAG_FILE = """
import pendulum
from airflow_provider_flink.operators.flink_deployment import FlinkDeploymentOperator
try:
    from airflow.sdk import DAG
except ImportError:
    from airflow import DAG

with DAG("crash_dag", start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), schedule=None) as dag:
    FlinkDeploymentOperator(
        task_id="flink",
        name="crashjob",
        image="flink:2.0",
        flink_version="v2_0",
        jar_uri="local:///opt/flink/examples/batch/WordCount.jar",
        flink_configuration={"execution.runtime-mode": "BATCH"},
        # a batch job that runs long enough for the worker to be killed while it waits
        annotations={"flink-simulator/scenario": "batch-success", "flink-simulator/running-steps": "60"},
        poll_interval=0.2,
        delete_on="never",  # keep it, to inspect what the retry did
    )
"""


def _wait_for(condition, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def test_retry_after_worker_crash_reattaches_without_second_create_or_rerun(
    kube_backend, simulator, k8s_connection, tmp_path: Path
):
    ensure_airflow_db()
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "crash_dag.py").write_text(DAG_FILE)
    env = {**os.environ, "AIRFLOW__CORE__DAGS_FOLDER": str(dags)}
    worker = start_dag_in_subprocess(dags / "crash_dag.py", env)
    try:
        running = _wait_for(lambda: _job_state(kube_backend) == "RUNNING" and _live(kube_backend))
    finally:
        os.killpg(worker.pid, signal.SIGKILL)  # the worker dies without any cleanup
        worker.wait()
    job_id = running["status"]["jobStatus"]["jobId"]
    run_id = running["metadata"]["annotations"]["airflow.apache.org/run_id"]

    airflow = os.path.join(os.path.dirname(sys.executable), "airflow")
    retry = subprocess.run(
        [airflow, "tasks", "test", "crash_dag", "flink", run_id], env=env, capture_output=True, text=True
    )

    assert retry.returncode == 0, retry.stdout[-3000:] + retry.stderr[-3000:]
    output = retry.stdout + retry.stderr
    assert "reattaching" in output or "already finished for this task instance" in output
    assert len(_posts(kube_backend)) == 1  # no second create
    final = _live(kube_backend)
    assert "restartNonce" not in final["spec"]  # never re-run
    assert final["status"]["jobStatus"]["jobId"] == job_id
    assert final["status"]["jobStatus"]["state"] == "FINISHED"


def _live(emulator):
    return emulator.get_object(GROUP, VERSION, PLURAL, NAMESPACE, "crashjob")


def _job_state(emulator):
    obj = _live(emulator)
    return ((obj or {}).get("status") or {}).get("jobStatus", {}).get("state")
