"""
Reliability soak: randomized Flink job lifecycles in real Airflow under injected API and process faults.

``FLINK_SOAK_LIFECYCLES`` lifecycles (default: the CI size of :data:`soak_support.DEFAULT_LIFECYCLES`; the benchmark
runs 200) are drawn from ``FLINK_SOAK_SEED`` (default: a fixed seed; ``random``: a fresh one): FlinkDeployment batch
success, batch failure, streaming (wait until running) and JobManager error, sync and deferrable, and native batch
success and failure. Each meets faults drawn from 5xx bursts, 429 with Retry-After, dropped connections, cut
watches, 410 Gone on watches, 409 conflicts on the provider's update of the FlinkDeployment, a worker killed
mid-wait and then retried, and triggerer restarts (see ``soak_plan`` and ``soak_support.restarting_triggerer``).

A worker kill SIGKILLs a sync task's worker (a subprocess running the DAG) mid-wait and retries the task with
``airflow tasks test`` on the same DAG run; a triggerer restart cancels a deferred task's trigger inside
``dag.test()`` and runs a new one built from ``serialize()``. Every lifecycle has a namespace of its own, which
tells its requests and objects apart.

Held to: every lifecycle ends with the right verdict (task state, and the job state or the Flink error Airflow
reports), nothing is left in the emulator that the cleanup rules say should be gone (and nothing they keep is
gone), no job is submitted twice, and no injected secret value appears in any log of the soak. These are
correctness targets; the timings printed are for people.

Knobs: ``FLINK_BENCH_REPORT_DIR`` (write ``soak.json`` there), ``FLINK_SOAK_ONLY=3,17`` (replay only those
lifecycles of the plan), ``FLINK_SOAK_LOG_DIR`` (write every log the soak read). ``pytest tests/soak -s`` shows the
summary table.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from soak_plan import SoakSecrets, draw_plan
from soak_support import (
    SoakReport,
    SoakRunner,
    airflow_log_files,
    masked_mentions,
    replay_selection,
    scan_for_secrets,
    soak_settings,
    soak_timeout,
)


@pytest.mark.timeout(soak_timeout())
def test_randomized_lifecycles_under_faults_keep_verdicts_cleanup_and_secrets(
    emulator, operator_simulator, native_simulator, soak_connection, soak_secrets: SoakSecrets, capfd, caplog, tmp_path
):
    seed, count = soak_settings()
    plan = replay_selection(draw_plan(seed, count))
    runner = SoakRunner(emulator, soak_secrets, tmp_path, read_output=lambda: "".join(capfd.readouterr()))
    started_wall, started = time.time(), time.monotonic()

    try:
        runner.run(plan)
    finally:
        runner.close()

    logs = [*runner.logs, ("pytest log capture", caplog.text), *airflow_log_files(since=started_wall)]
    leaks, leak_places = scan_for_secrets(logs, soak_secrets)
    wall = time.monotonic() - started
    report = SoakReport(seed, runner.outcomes, wall, leaks, leak_places, runner.seconds, masked_mentions(logs))
    _publish(report, logs, capfd)
    assert report.failures() == {"wrong_verdicts": [], "orphans": [], "duplicates": [], "secret_leaks": []}, (
        f"soak seed {seed}: replay with FLINK_SOAK_SEED={seed} FLINK_SOAK_LIFECYCLES={count}"
    )


def _publish(report: SoakReport, logs: list[tuple[str, str]], capfd) -> None:
    """Print the summary (outside the capture, so ``pytest -s`` shows it); write soak.json and the logs if asked."""
    with capfd.disabled():
        print("\n" + report.table())
        for target, misses in report.failures().items():
            for miss in misses:
                print(f"MISSED TARGET {target}: {miss}")
    log_folder = os.environ.get("FLINK_SOAK_LOG_DIR")
    if log_folder:
        # Every log the soak read, to look into a missed target.
        Path(log_folder).mkdir(parents=True, exist_ok=True)
        with open(Path(log_folder) / "soak-logs.txt", "w") as handle:
            for source, text in logs:
                handle.write(f"===== {source} =====\n{text}\n")
    folder = os.environ.get("FLINK_BENCH_REPORT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / "soak.json").write_text(json.dumps(report.to_json(), indent=2) + "\n")
