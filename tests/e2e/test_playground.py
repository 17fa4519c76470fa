"""
The README's main command: the playground runs a DAG end to end in real Airflow processes, each invocation anew.

Every test starts the playground as ``bash dags/playground.sh`` does (its module, ``--once``) in a fresh
workdir, and reads what a person would: the terminal, the task logs, the metadata database.
"""

from __future__ import annotations

import re
import socket
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from airflow_support import airflow_3

README = Path(__file__).resolve().parents[2] / "README.md"
FLINK_ERROR = "java.lang.IllegalStateException: playground disk full on /data"
FLINK_ROOT_CAUSE = "playground disk full on /data"
needs_airflow_3 = pytest.mark.skipif(
    not airflow_3(), reason="the playground runs Airflow 3 (its own virtualenv installs 3.3)"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _playground(workdir: Path, *args: str, timeout: float = 580) -> tuple[int, str]:
    command = [
        sys.executable,
        "-m",
        "airflow_provider_flink.testing.playground",
        "--workdir",
        str(workdir),
        "--once",
        "--step-seconds",
        "0.3",
        "--port",
        str(_free_port()),
        "--timeout",
        "300",
        *args,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    return result.returncode, result.stdout + result.stderr


def _tries(workdir: Path, dag_id: str) -> dict[tuple[str, str], int]:
    """(run_id, task_id) -> try number, from the playground's metadata database."""
    with sqlite3.connect(f"file:{workdir / 'airflow' / 'airflow.db'}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT run_id, task_id, try_number FROM task_instance WHERE dag_id = ?", (dag_id,))
        return {(run_id, task_id): int(try_number) for run_id, task_id, try_number in rows}


def _run_id(output: str) -> str:
    [run_id] = re.findall(r"New run (\S+) of ", output)
    return run_id


@needs_airflow_3
@pytest.mark.timeout(1200)
def test_each_invocation_runs_the_streaming_example_anew_through_scheduler_and_triggerer(tmp_path):
    code, first = _playground(tmp_path)
    assert code == 0, first[-5000:]
    first_tries = _tries(tmp_path, "flink_streaming_savepoint")
    code, second = _playground(tmp_path)

    assert code == 0, second[-5000:]
    assert "Fresh metadata database: removed" in second
    assert _run_id(first) != _run_id(second)
    assert f"DAG run {_run_id(second)} of flink_streaming_savepoint ended: success" in second
    assert _run_id(first) not in second  # only the new run is reported
    # Every task succeeded on its first try: none was lost to Airflow 3.3's stale defer-exit race.
    assert set(first_tries.values()) == {1} and set(_tries(tmp_path, "flink_streaming_savepoint").values()) == {1}
    # Status lines come from the watch, in order: the job ran before the savepoint completed.
    assert second.index("job RUNNING") < second.index("state COMPLETED")
    # The deferrable tasks went through the real triggerer process: it writes each trigger's own log file.
    trigger_logs = sorted(tmp_path.glob("airflow/logs/dag_id=flink_streaming_savepoint/**/*.log.trigger.*.log"))
    assert {log.parent.name for log in trigger_logs} == {"task_id=deploy", "task_id=savepoint"}
    assert any("top-speed" in log.read_text() for log in trigger_logs)
    # Each trigger held its event after the deferral: the provider's guard against that race.
    assert all("no event before" in log.read_text() for log in trigger_logs)


@needs_airflow_3
@pytest.mark.timeout(600)
def test_a_failing_dag_of_the_users_folder_prints_the_task_the_reason_and_the_log(tmp_path):
    dags = tmp_path / "my_dags"
    dags.mkdir()
    (dags / "failing_job.py").write_text(
        textwrap.dedent(
            f'''
            import pendulum
            from airflow.sdk import DAG
            from airflow_provider_flink.operators.flink_deployment import FlinkDeploymentOperator

            with DAG(dag_id="my_failing_job", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
                FlinkDeploymentOperator(
                    task_id="run_job",
                    name="my-failing-job",
                    image="flink:2.0",
                    flink_version="v2_0",
                    jar_uri="local:///opt/flink/usrlib/job.jar",
                    flink_configuration={{"execution.runtime-mode": "BATCH"}},
                    annotations={{
                        "flink-simulator/scenario": "batch-failure",
                        "flink-simulator/failure-message": "{FLINK_ERROR}",
                    }},
                    deferrable=True,
                )
            '''
        )
    )

    code, output = _playground(tmp_path / "work", "--dags-folder", str(dags))

    assert code == 1, output[-5000:]
    assert "ended: failed" in output
    assert "task run_job: failed (try 1)" in output
    [reason] = re.findall(r"reason: (.*)", output)
    # The provider's verdict: what failed, in which state, and Flink's root cause.
    assert reason.startswith("FlinkJobFailed: FlinkDeployment flink/my-failing-job: the job failed")
    assert FLINK_ROOT_CAUSE in reason
    [log] = re.findall(r"    log: (\S+)", output)
    assert Path(log).is_file() and FLINK_ROOT_CAUSE in Path(log).read_text()


@needs_airflow_3
@pytest.mark.timeout(600)
def test_the_readmes_first_dag_runs_from_a_users_folder(tmp_path):
    section = README.read_text().split("## Your first DAG", 1)[1]
    code_block = section.split("```python\n", 1)[1].split("```", 1)[0]
    dags = tmp_path / "my_dags"
    dags.mkdir()
    (dags / "my_first_flink_job.py").write_text(code_block)

    code, output = _playground(tmp_path / "work", "--dags-folder", str(dags))

    assert code == 0, output[-5000:]
    assert "ended: success" in output and "task wordcount: success (try 1)" in output


@needs_airflow_3
@pytest.mark.timeout(120)
def test_an_unknown_dag_fails_at_once_listing_the_dag_ids(tmp_path):
    code, output = _playground(tmp_path, "--dag", "no_such_dag", timeout=100)

    assert code == 2
    assert "No DAG 'no_such_dag'" in output and "flink_streaming_savepoint" in output
    assert "Starting Airflow" not in output


@needs_airflow_3
@pytest.mark.timeout(120)
def test_the_python_native_example_is_not_offered_and_says_why(tmp_path):
    code, output = _playground(tmp_path, "--dag", "flink_native_python", timeout=100)

    assert code == 2
    assert "does not run on the playground" in output and "PyFlink" in output
