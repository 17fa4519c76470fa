"""
First tries lost to Airflow 3.3's stale defer-exit race, with and without the provider's deferral hold.

When a deferrable task defers, its worker exits and the executor reports "success" for that try. If the trigger
fires within seconds and the resumed try is already running when the scheduler reads that report, the scheduler
logs "Executor ... reported that the task instance finished with state success, but the task instance's state
attribute is running" and fails the try (apache/airflow#72716, #71580; fixes #71579, #72767 not merged). The
provider holds a trigger's event until ``[flink] deferral_hold_seconds`` after the deferral (default 10).

For each hold (``--holds``, default ``0,10``: off, then the default) this starts a fresh Airflow (API server,
scheduler, DAG processor, triggerer; LocalExecutor, parallelism 4, SQLite, as the playground runs it) against the
Kubernetes API emulator and the simulated Flink operator, triggers ``--runs`` runs of
``first_try_dags/first_try_race.py`` (two deferrable tasks whose triggers can fire within about two seconds),
``--concurrency`` at a time, and reads the metadata database when they ended: a task instance whose try number
is above 1 lost its first try (the DAG retries once, so the run still ends), and the ``state mismatch`` rows of
the log table are the scheduler's own record of the race. ::

    .venv-af3/bin/python -m benchmarks.first_try [--runs 20] [--holds 0,10] [--concurrency 4] [--out DIR]

Prints the figures and writes ``first_try.json`` to ``--out`` (default ``build/benchmarks``). Not run in CI.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from airflow_provider_flink.testing.flink_operator_simulator import FlinkOperatorSimulator
from airflow_provider_flink.testing.kube_emulator import KubeEmulator
from airflow_provider_flink.testing.playground import NAMESPACE, _free_port, airflow_processes

DAGS_FOLDER = Path(__file__).resolve().parent / "first_try_dags"
DAG_ID = "first_try_race"
DEFERRABLE_TASKS = ("deploy", "savepoint")


def measure(hold: float, runs: int, concurrency: int, step_seconds: float, workdir: Path) -> dict[str, Any]:
    """One fresh Airflow with ``[flink] deferral_hold_seconds = hold``; ``runs`` runs; what their tries show."""
    started = time.monotonic()
    with KubeEmulator() as emulator:
        kubeconfig = emulator.write_kubeconfig(str(workdir / "kubeconfig"), namespace=NAMESPACE)
        extra_env = {"AIRFLOW__FLINK__DEFERRAL_HOLD_SECONDS": str(hold)}
        with (
            FlinkOperatorSimulator(kubeconfig, step_seconds=step_seconds),
            airflow_processes(workdir, kubeconfig, _free_port(), DAGS_FOLDER, extra_env=extra_env) as airflow,
        ):
            airflow.wait_ready((DAG_ID,))
            durations: list[float] = []
            states: dict[str, str] = {}
            for first in range(0, runs, concurrency):
                batch = [f"race_{hold:g}_{index:03d}" for index in range(first, min(first + concurrency, runs))]
                begun = time.monotonic()
                for run_id in batch:
                    airflow.rest.trigger(DAG_ID, run_id)
                for run_id in batch:
                    states[run_id] = _wait_for_end(airflow.rest, run_id, timeout=600)
                durations.append(time.monotonic() - begun)
                print(f"  hold {hold:g}s: runs {first + 1}-{first + len(batch)} ended {sorted(set(states.values()))}")
            tries, mismatches = _read_database(airflow.home / "airflow.db")
    lost = [f"{run_id}/{task_id}" for (run_id, task_id), try_number in sorted(tries.items()) if try_number > 1]
    deferred_tries = sum(1 for (_, task_id) in tries if task_id in DEFERRABLE_TASKS)
    return {
        "hold_seconds": hold,
        "runs": runs,
        "runs_succeeded": sum(1 for state in states.values() if state == "success"),
        "deferrable_task_instances": deferred_tries,
        "first_tries_lost": len(lost),
        "first_try_failure_rate": len(lost) / deferred_tries if deferred_tries else None,
        "state_mismatch_log_rows": mismatches,
        "lost": lost,
        "median_batch_seconds": statistics.median(durations) if durations else None,
        "elapsed_seconds": time.monotonic() - started,
    }


def _wait_for_end(rest: Any, run_id: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    state = "unknown"
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError, KeyError):  # a busy API server: ask again
            state = rest.run_state(DAG_ID, run_id)
        if state in ("success", "failed"):
            return state
        time.sleep(1)
    return state


def _read_database(database: Path) -> tuple[dict[tuple[str, str], int], int]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT run_id, task_id, try_number FROM task_instance WHERE dag_id = ?", (DAG_ID,))
        tries = {(run_id, task_id): int(try_number) for run_id, task_id, try_number in rows}
        mismatches = db.execute(
            "SELECT count(*) FROM log WHERE event = 'state mismatch' AND dag_id = ?", (DAG_ID,)
        ).fetchone()[0]
    return tries, int(mismatches)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="DAG runs per hold (two deferrable tasks each)")
    parser.add_argument("--holds", default="0,10", help="comma-separated [flink] deferral_hold_seconds values")
    parser.add_argument("--concurrency", type=int, default=4, help="runs triggered together (parallelism is 4)")
    parser.add_argument("--step-seconds", type=float, default=0.3, help="pace of the simulated Flink operator")
    parser.add_argument("--out", default="build/benchmarks", help="where first_try.json goes")
    args = parser.parse_args(argv)
    results = []
    for hold in (float(value) for value in args.holds.split(",")):
        with tempfile.TemporaryDirectory(prefix=f"first-try-{hold:g}-") as workdir:
            print(f"hold {hold:g}s: {args.runs} runs, {args.concurrency} at a time")
            results.append(measure(hold, args.runs, args.concurrency, args.step_seconds, Path(workdir)))
    print()
    print("| deferral hold | runs ok | deferrable task instances | first tries lost | rate | state mismatch rows |")
    print("|---|---|---|---|---|---|")
    for r in results:
        rate = "-" if r["first_try_failure_rate"] is None else f"{r['first_try_failure_rate']:.0%}"
        print(
            f"| {r['hold_seconds']:g} s | {r['runs_succeeded']}/{r['runs']} | {r['deferrable_task_instances']} | "
            f"{r['first_tries_lost']} | {rate} | {r['state_mismatch_log_rows']} |"
        )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "first_try.json").write_text(json.dumps(results, indent=2))
    print(f"\n(written to {out / 'first_try.json'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
