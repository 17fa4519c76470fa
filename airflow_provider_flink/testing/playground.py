"""
The local playground: real Airflow running the example DAGs against the in-repo Kubernetes API emulator and
Flink operator simulator, on a machine with neither Docker nor a cluster.

``bash dags/playground.sh`` runs this module in its own virtualenv. It starts the emulator and the simulator
in this process, writes a kubeconfig for them, points Airflow's ``kubernetes_default`` connection at it, starts
``airflow standalone`` (API server, scheduler, triggerer, DAG processor on SQLite), triggers an example DAG,
prints what happens to its FlinkDeployment while it runs, and keeps everything up for you to explore the UI
until Ctrl-C (``--once``: stop after the run instead).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from airflow_provider_flink.testing.flink_operator_simulator import FlinkOperatorSimulator
from airflow_provider_flink.testing.kube_emulator import KubeEmulator

NAMESPACE = "flink"
DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
TERMINAL_RUN_STATES = ("success", "failed")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _airflow_env(airflow_home: Path, kubeconfig: str, api_port: int, dags_folder: Path = DAGS_FOLDER) -> dict[str, str]:
    connection = {"conn_type": "kubernetes", "extra": {"kube_config_path": kubeconfig, "namespace": NAMESPACE}}
    return {
        **os.environ,
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # The default parallelism starts 32 idle workers (about 5 GB); the examples need a handful.
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__BASE_URL": f"http://localhost:{api_port}",
        # Log servers of the scheduler and triggerer: any free port, so nothing clashes with a running Airflow.
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(_free_port()),
        "AIRFLOW_CONN_KUBERNETES_DEFAULT": json.dumps(connection),
        # `airflow standalone` starts its components as `airflow ...` from PATH: this virtualenv's.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def _airflow(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    airflow = str(Path(sys.executable).with_name("airflow"))
    return subprocess.run([airflow, *args], env=env, capture_output=True, text=True, check=check)


def _say(message: str) -> None:
    print(f"[playground] {message}", flush=True)


def _describe(emulator: KubeEmulator) -> dict[str, str]:
    """One line per Flink resource in the emulator: what a person watching would want to see."""
    lines = {}
    for plural in ("flinkdeployments", "flinksessionjobs", "flinkstatesnapshots"):
        for obj in emulator.list_objects("flink.apache.org", "v1beta1", plural):
            status = obj.get("status") or {}
            job = status.get("jobStatus") or {}
            key = f"{obj['kind']} {obj['metadata']['namespace']}/{obj['metadata']['name']}"
            if plural == "flinkstatesnapshots":
                parts = [f"state {status.get('state') or '-'}", f"path {status.get('path') or '-'}"]
            else:
                parts = [
                    f"lifecycle {status.get('lifecycleState') or '-'}",
                    f"JobManager {status.get('jobManagerDeploymentStatus') or '-'}",
                    f"job {job.get('state') or '-'}",
                ]
            lines[key] = ", ".join(parts)
    return lines


def _wait_for_dag(env: dict[str, str], dag_id: str, timeout: float, airflow: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if airflow.poll() is not None:
            raise SystemExit(f"airflow standalone exited ({airflow.returncode}): see its log in the workdir")
        listed = _airflow("dags", "list", "-o", "json", env=env, check=False)
        if listed.returncode == 0 and dag_id in listed.stdout:
            return
        time.sleep(2)
    raise SystemExit(f"The DAG processor did not load {dag_id} within {timeout:.0f}s: see {env['AIRFLOW_HOME']}/logs")


def _runs(env: dict[str, str], dag_id: str) -> list[dict[str, Any]]:
    listed = _airflow("dags", "list-runs", dag_id, "-o", "json", env=env, check=False)
    # Airflow may print warnings before the JSON document on stdout.
    document = next((line for line in listed.stdout.splitlines() if line.startswith("[")), "[]")
    try:
        return list(json.loads(document))
    except ValueError:
        return []


def _start_run(env: dict[str, str], dag_id: str) -> str:
    """A scheduled DAG starts its latest interval by itself once unpaused; any other DAG is triggered."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        runs = _runs(env, dag_id)
        if runs:
            return str(runs[0]["run_id"])
        time.sleep(2)
    run_id = f"playground__{time.strftime('%Y%m%dT%H%M%S')}"
    logical_date = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    _airflow("dags", "trigger", dag_id, "--run-id", run_id, "--logical-date", logical_date, env=env)
    return run_id


@contextmanager
def airflow_standalone(
    workdir: Path, kubeconfig: str, api_port: int, dags_folder: Path = DAGS_FOLDER
) -> Iterator[tuple[dict[str, str], subprocess.Popen[bytes]]]:
    """
    Run ``airflow standalone`` (AIRFLOW_HOME ``workdir/airflow``) against ``kubeconfig`` until the block ends.

    Yields the environment of Airflow's commands and the process. The process group is stopped on the way
    out, also when the block raises, so no scheduler, triggerer or worker outlives it.

    :param workdir: Where Airflow's home and ``airflow-standalone.log`` go.
    :param kubeconfig: The kubeconfig of the ``kubernetes_default`` connection.
    :param api_port: Port of Airflow's UI and API server.
    :param dags_folder: The DAGs folder.
    """
    env = _airflow_env(workdir / "airflow", kubeconfig, api_port, dags_folder)
    _airflow("db", "migrate", env=env)
    with open(workdir / "airflow-standalone.log", "w") as log:
        standalone = subprocess.Popen(
            [str(Path(sys.executable).with_name("airflow")), "standalone"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: one signal stops every component and worker
        )
        try:
            yield env, standalone
        finally:
            _stop_process_group(standalone)


def _stop_process_group(process: subprocess.Popen[bytes]) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    # Workers the components started may outlive their parent: whatever is left of the group goes too.
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def run(workdir: Path, dag_id: str, once: bool, step_seconds: float, timeout: float, api_port: int) -> int:
    workdir.mkdir(parents=True, exist_ok=True)
    airflow_home = workdir / "airflow"
    with KubeEmulator() as emulator:
        kubeconfig = emulator.write_kubeconfig(str(workdir / "kubeconfig"), namespace=NAMESPACE)
        _say(f"Kubernetes API emulator on {emulator.url} (kubeconfig: {kubeconfig})")
        with FlinkOperatorSimulator(kubeconfig, step_seconds=step_seconds):
            _say("Flink Kubernetes Operator simulator reconciling FlinkDeployments")
            _say(f"Starting Airflow (AIRFLOW_HOME={airflow_home}, DAGs from {DAGS_FOLDER})")
            with airflow_standalone(workdir, kubeconfig, api_port) as (env, standalone):
                try:
                    _wait_for_dag(env, dag_id, 180, standalone)
                    _airflow("dags", "unpause", dag_id, env=env)
                    return _drive(emulator, env, airflow_home, dag_id, once, timeout, api_port)
                finally:
                    _say("Stopping Airflow")


def _drive(
    emulator: KubeEmulator,
    env: dict[str, str],
    airflow_home: Path,
    dag_id: str,
    once: bool,
    timeout: float,
    api_port: int,
) -> int:
    run_id = _start_run(env, dag_id)
    _say(f"{dag_id} is running (run {run_id}); following its Flink resources:")
    seen: dict[str, str] = {}
    state = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for key, line in _describe(emulator).items():
            if seen.get(key) != line:
                _say(f"  {key}: {line}")
                seen[key] = line
        state = next((run["state"] for run in _runs(env, dag_id) if run.get("run_id") == run_id), None)
        if state in TERMINAL_RUN_STATES:
            break
        time.sleep(1)
    _say(f"DAG run {run_id} ended: {state}")
    passwords = airflow_home / "simple_auth_manager_passwords.json.generated"
    _say(f"Airflow UI: http://localhost:{api_port} (user admin, password in {passwords})")
    if not once:
        _say("Everything stays up for you to explore; press Ctrl-C to stop.")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0 if state == "success" else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", default=".playground", help="where Airflow's home and the kubeconfig go")
    parser.add_argument("--dag", default="flink_streaming_savepoint", help="the example DAG to run")
    parser.add_argument("--once", action="store_true", help="stop after the DAG run instead of serving")
    parser.add_argument("--step-seconds", type=float, default=1.0, help="pace of the simulated Flink operator")
    parser.add_argument("--timeout", type=float, default=600, help="seconds the DAG run may take")
    parser.add_argument("--port", type=int, default=8080, help="port of Airflow's UI and API server")
    args = parser.parse_args(argv)
    # `kill` or a terminal closing must still stop Airflow: run the cleanup in `finally` blocks.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    return run(Path(args.workdir).resolve(), args.dag, args.once, args.step_seconds, args.timeout, args.port)


if __name__ == "__main__":
    sys.exit(main())
