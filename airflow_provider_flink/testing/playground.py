"""
The local playground: real Airflow running the example DAGs against the in-repo Kubernetes API emulator and
Flink operator simulator, on a machine with neither Docker nor a cluster.

``bash dags/playground.sh`` runs this module in its own virtualenv. It starts the emulator and the simulator
in this process, writes a kubeconfig for them, points Airflow's ``kubernetes_default`` connection at it, starts
``airflow standalone`` (API server, scheduler, triggerer, DAG processor on SQLite), triggers an example DAG,
prints what happens to its FlinkDeployment while it runs, and keeps everything up for you to explore the UI
until Ctrl-C (``--once``: stop after the run instead).

Native mode (``--dag flink_native_jar``): when a Flink distribution is at hand (``$FLINK_HOME``, else the
``pyflink`` package of PyPI's ``apache-flink``, which ``dags/playground.sh`` installs) and Java 17 with
``javac``, the playground also starts the native cluster simulator (:mod:`.native_cluster_simulator`: it plays
Kubernetes and the JobManager for the clusters ``flink run --target kubernetes-application`` creates on the
emulator) and a real local Flink cluster that runs their jobs (configuration, logs and temp files under
``<workdir>/flink``, REST on a free port; about 2.3 GB of memory for its JobManager and TaskManager). The
connection's extra ``flink_home`` points the operator's local Flink CLI at that distribution. The image's
``local:///opt/flink/examples/streaming/WordCount.jar`` is played by a small test job of the same file name,
compiled once with ``javac`` into ``<workdir>/flink-usrlib``. Both start in the background while Airflow
starts; on two cores the JVMs still slow Airflow's start by tens of seconds, so ``--native auto`` (the default)
skips them for ``--once`` with a DAG that is not a native example (``flink_native_*``); ``--native always``
or ``never`` decide otherwise. The simulator cannot run Python jobs: ``flink_native_python`` is submitted,
then its simulated JobManager crash-loops.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from airflow_provider_flink.testing.flink_operator_simulator import FlinkOperatorSimulator
from airflow_provider_flink.testing.kube_emulator import KubeEmulator
from airflow_provider_flink.testing.native_cluster_simulator import (
    LocalFlinkCluster,
    NativeClusterSimulator,
    build_stand_in_jars,
)

NAMESPACE = "flink"
DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
TERMINAL_RUN_STATES = ("success", "failed")
#: DAG ids of the native-mode examples, which need the native cluster simulator and a local Flink cluster.
NATIVE_EXAMPLE_PREFIX = "flink_native_"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _airflow_env(
    airflow_home: Path,
    kubeconfig: str,
    api_port: int,
    dags_folder: Path = DAGS_FOLDER,
    flink_home: Path | None = None,
) -> dict[str, str]:
    extra: dict[str, str] = {"kube_config_path": kubeconfig, "namespace": NAMESPACE}
    if flink_home is not None:
        extra["flink_home"] = str(flink_home)  # the local Flink CLI of FlinkNativeSubmitOperator
    connection = {"conn_type": "kubernetes", "extra": extra}
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


def _describe(emulator: KubeEmulator, native: NativeClusterSimulator | None = None) -> dict[str, str]:
    """One line per Flink resource in the emulator: what a person watching would want to see."""
    lines = {}
    if native is not None:
        # Native clusters are plain Deployments; their job's state is what the simulated JobManager last saw.
        jobs = {(c.namespace, c.cluster_id): c.job_state for c in list(native.clusters.values()) if not c.gone}
        for obj in emulator.list_objects("apps", "v1", "deployments"):
            labels = obj["metadata"].get("labels") or {}
            if labels.get("type") == "flink-native-kubernetes":
                namespace, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
                pods = [
                    pod
                    for pod in emulator.list_objects("", "v1", "pods", namespace)
                    if (pod["metadata"].get("labels") or {}).get("app") == name
                ]
                phase = ((pods[0].get("status") or {}).get("phase") if pods else None) or "-"
                job_state = jobs.get((namespace, name)) or "-"
                lines[f"native application cluster {namespace}/{name}"] = f"JobManager pod {phase}, job {job_state}"
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
    workdir: Path, kubeconfig: str, api_port: int, dags_folder: Path = DAGS_FOLDER, flink_home: Path | None = None
) -> Iterator[tuple[dict[str, str], subprocess.Popen[bytes]]]:
    """
    Run ``airflow standalone`` (AIRFLOW_HOME ``workdir/airflow``) against ``kubeconfig`` until the block ends.

    Yields the environment of Airflow's commands and the process. The process group is stopped on the way
    out, also when the block raises, so no scheduler, triggerer or worker outlives it.

    :param workdir: Where Airflow's home and ``airflow-standalone.log`` go.
    :param kubeconfig: The kubeconfig of the ``kubernetes_default`` connection.
    :param api_port: Port of Airflow's UI and API server.
    :param dags_folder: The DAGs folder.
    :param flink_home: Flink distribution for native mode (connection extra ``flink_home``), if any.
    """
    env = _airflow_env(workdir / "airflow", kubeconfig, api_port, dags_folder, flink_home)
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


def find_flink_home() -> Path | None:
    """``$FLINK_HOME``, else the Flink distribution inside the ``pyflink`` package (``pip install apache-flink``)."""
    candidates = [os.environ.get("FLINK_HOME")]
    # find_spec, not import: only its folder is needed, and PyFlink's Python dependencies may be missing (--no-deps).
    spec = importlib.util.find_spec("pyflink")
    if spec is not None and spec.origin:
        candidates.append(str(Path(spec.origin).parent))
    for candidate in candidates:
        if candidate and (Path(candidate) / "bin" / "flink").is_file():
            return Path(candidate)
    return None


class NativeMode:
    """
    The native-mode half of the playground: the native cluster simulator and the local Flink cluster it runs jobs on.

    The simulator watches the emulator at once; the jar build and Flink's start run in a background thread
    (:meth:`wait_ready` waits for them), so they overlap Airflow's own startup.

    :param emulator: The running API server emulator.
    :param flink_home: The Flink distribution (CLI, and the local cluster's jars).
    :param workdir: The playground's workdir; ``flink``, ``flink-usrlib`` and ``native-simulator`` go there.
    """

    def __init__(self, emulator: KubeEmulator, flink_home: Path, workdir: Path) -> None:
        self.flink_home = flink_home
        self.usrlib = workdir / "flink-usrlib"
        self.usrlib.mkdir(parents=True, exist_ok=True)
        # Two slots: enough for the examples, and one TaskManager keeps the memory at about 2.3 GB.
        self.flink = LocalFlinkCluster(flink_home, workdir / "flink", task_slots=2)
        shutil.rmtree(workdir / "native-simulator", ignore_errors=True)  # submitter pods of an earlier session
        self.simulator = NativeClusterSimulator(
            emulator, self.flink, usrlib_dir=self.usrlib, flink_home=flink_home, work_dir=workdir / "native-simulator"
        )
        self.error: BaseException | None = None
        self._started = threading.Thread(target=self._start_flink, name="playground-local-flink", daemon=True)

    def _start_flink(self) -> None:
        try:
            build_stand_in_jars(self.flink_home, self.usrlib)
            self.flink.start()
        except BaseException as error:  # reported by wait_ready, in the main thread
            self.error = error

    def start(self) -> NativeMode:
        self.simulator.start()
        self._started.start()
        return self

    def wait_ready(self, timeout: float = 300.0) -> bool:
        """Wait for the local Flink cluster; say why native jobs cannot run when it did not come up."""
        self._started.join(timeout)
        if self._started.is_alive():
            _say(f"The local Flink cluster is still starting after {timeout:.0f}s: see {self.flink.work_dir / 'log'}")
            return False
        if self.error is not None:
            _say(f"The local Flink cluster did not start, native examples cannot run: {self.error}")
            return False
        return True

    def stop(self) -> None:
        self.simulator.stop()
        self._started.join()  # a cluster still starting must have written its pid files before we stop it
        self.flink.stop()


@contextmanager
def native_mode(emulator: KubeEmulator, workdir: Path, enabled: bool = True) -> Iterator[NativeMode | None]:
    """Start :class:`NativeMode` when Flink and Java are at hand (else say why not and yield ``None``)."""
    flink_home = find_flink_home() if enabled else None
    missing = [tool for tool in ("java", "javac") if shutil.which(tool) is None]
    if not enabled:
        yield None
        return
    if flink_home is None or missing:
        why = f"{' and '.join(missing)} not on PATH" if missing else "no Flink distribution (FLINK_HOME or pyflink)"
        _say(f"Native-mode examples unavailable: {why}")
        yield None
        return
    native = NativeMode(emulator, flink_home, workdir).start()
    _say(f"Native cluster simulator running; local Flink {flink_home} starting (REST {native.flink.rest_url})")
    try:
        yield native
    finally:
        native.stop()


def run(
    workdir: Path,
    dag_id: str,
    once: bool,
    step_seconds: float,
    timeout: float,
    api_port: int,
    native_enabled: bool = True,
) -> int:
    workdir.mkdir(parents=True, exist_ok=True)
    airflow_home = workdir / "airflow"
    with KubeEmulator() as emulator:
        kubeconfig = emulator.write_kubeconfig(str(workdir / "kubeconfig"), namespace=NAMESPACE)
        _say(f"Kubernetes API emulator on {emulator.url} (kubeconfig: {kubeconfig})")
        with (
            FlinkOperatorSimulator(kubeconfig, step_seconds=step_seconds),
            native_mode(emulator, workdir, native_enabled) as native,
        ):
            _say("Flink Kubernetes Operator simulator reconciling FlinkDeployments")
            _say(f"Starting Airflow (AIRFLOW_HOME={airflow_home}, DAGs from {DAGS_FOLDER})")
            flink_home = native.flink_home if native is not None else None
            with airflow_standalone(workdir, kubeconfig, api_port, flink_home=flink_home) as (env, standalone):
                try:
                    _wait_for_dag(env, dag_id, 180, standalone)
                    if native is not None and native.wait_ready():
                        _say(f"Local Flink cluster up: its Web UI at {native.flink.rest_url}")
                    _airflow("dags", "unpause", dag_id, env=env)
                    return _drive(emulator, env, airflow_home, dag_id, once, timeout, api_port, native)
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
    native: NativeMode | None = None,
) -> int:
    run_id = _start_run(env, dag_id)
    _say(f"{dag_id} is running (run {run_id}); following its Flink resources:")
    seen: dict[str, str] = {}
    state = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for key, line in _describe(emulator, native.simulator if native is not None else None).items():
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
    parser.add_argument(
        "--native",
        choices=("auto", "always", "never"),
        default="auto",
        help="start the native cluster simulator and a local Flink cluster (auto: unless --once with a DAG that "
        "is not a native example)",
    )
    args = parser.parse_args(argv)
    # `kill` or a terminal closing must still stop Airflow: run the cleanup in `finally` blocks.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    native = args.native == "always" or (
        args.native == "auto" and (not args.once or args.dag.startswith(NATIVE_EXAMPLE_PREFIX))
    )
    workdir = Path(args.workdir).resolve()
    return run(workdir, args.dag, args.once, args.step_seconds, args.timeout, args.port, native)


if __name__ == "__main__":
    sys.exit(main())
