"""The README's main command: the playground runs an example DAG end to end in real Airflow processes."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from airflow_support import airflow_3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.skipif(not airflow_3(), reason="the playground runs Airflow 3 (its own virtualenv installs 3.3)")
@pytest.mark.timeout(600)
def test_playground_runs_the_streaming_example_through_scheduler_and_triggerer(tmp_path):
    command = [
        sys.executable,
        "-m",
        "airflow_provider_flink.testing.playground",
        "--workdir",
        str(tmp_path),
        "--once",
        "--step-seconds",
        "0.3",
        "--port",
        str(_free_port()),
        "--timeout",
        "300",
    ]

    result = subprocess.run(command, capture_output=True, text=True, timeout=580)

    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    assert "ended: success" in output
    assert "FlinkStateSnapshot flink/" in output and "state COMPLETED" in output
    # The deferrable tasks went through the real triggerer process: it writes each trigger's own log file.
    trigger_logs = sorted(tmp_path.glob("airflow/logs/dag_id=flink_streaming_savepoint/**/*.log.trigger.*.log"))
    assert {log.parent.name for log in trigger_logs} == {"task_id=deploy", "task_id=savepoint"}
    assert any("top-speed" in log.read_text() for log in trigger_logs)
