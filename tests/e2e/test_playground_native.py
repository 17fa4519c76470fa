"""The playground runs the native-mode jar example end to end: real Airflow, real Flink CLI, real local Flink."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from airflow_support import airflow_3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.skipif(not airflow_3(), reason="the playground runs Airflow 3 (its own virtualenv installs 3.3)")
@pytest.mark.timeout(600)
def test_playground_runs_the_native_jar_example_on_a_local_flink_cluster_and_stops_it(tmp_path):
    home = os.environ.get("FLINK_HOME")
    if not home or not (Path(home) / "bin" / "flink").is_file():
        pytest.fail("FLINK_HOME must point at a Flink 2.x distribution (`bash tests/run.sh` sets it up)", pytrace=False)
    command = [
        sys.executable,
        "-m",
        "airflow_provider_flink.testing.playground",
        "--workdir",
        str(tmp_path),
        "--dag",
        "flink_native_jar",
        "--once",
        "--port",
        str(_free_port()),
        "--timeout",
        "300",
    ]

    result = subprocess.run(command, capture_output=True, text=True, timeout=580)

    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    assert "Local Flink cluster up" in output and "ended: success" in output
    assert "native application cluster flink/flink-native-jar-wordcount-" in output
    # The UI address comes as soon as the API server answers, before anything runs; the job's states in order.
    assert output.index("Airflow UI: http://127.0.0.1:") < output.index("New run ")
    assert output.index("job RUNNING") < output.index("job FINISHED")
    # The first try succeeded: none was lost to a component not yet up, or to Airflow 3.3's stale defer-exit race.
    with sqlite3.connect(f"file:{tmp_path / 'airflow' / 'airflow.db'}?mode=ro", uri=True) as db:
        tries = db.execute("SELECT try_number FROM task_instance WHERE dag_id = 'flink_native_jar'").fetchall()
    assert tries == [(1,)]
    # The deferrable task waited in the real triggerer process, which writes the trigger's own log file.
    trigger_logs = list(tmp_path.glob("airflow/logs/dag_id=flink_native_jar/**/*.log.trigger.*.log"))
    assert trigger_logs and any("FINISHED" in log.read_text() for log in trigger_logs)
    # The local Flink cluster was stopped on the way out: its daemons' pid files are gone.
    assert list((tmp_path / "flink" / "pid").glob("*.pid")) == []
