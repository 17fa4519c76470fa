"""
The local playground: real Airflow running a DAG against the in-repo Kubernetes API emulator and Flink operator
simulator, on a machine with neither Docker nor a cluster.

``bash dags/playground.sh`` runs this module in its own virtualenv. Each invocation:

1. parses the DAGs folder (``dags/`` of this repository, or yours with ``--dags-folder``) and stops at once,
   listing the DAG ids, when ``--dag`` names none of them;
2. starts a fresh metadata database (``--keep`` keeps the earlier runs), the emulator and the simulator in this
   process, writes a kubeconfig for them and points Airflow's ``kubernetes_default`` connection at it;
3. starts Airflow's API server (on 127.0.0.1), scheduler, DAG processor and triggerer (SQLite, LocalExecutor,
   no log servers: the API server reads the task logs from disk), prints the UI address as soon as it answers,
   and waits until all four report healthy and the DAG is parsed;
4. unpauses the DAG and triggers one new run (schedules are off: that run is the only one), then prints every
   change of the Flink resources as the watch on the emulator delivers it, and each task's state changes, with
   timestamps, until the run ends;
5. reports the run: each task's state and try, and for a failed task its reason (the error the task raised,
   e.g. the provider's verdict) and the path of its log; then keeps everything up for you to explore the UI
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
starts them only for a DAG with a ``FlinkNativeSubmitOperator`` (or without ``--once``); ``--native always``
or ``never`` decide otherwise. The simulator cannot run Python jobs, so ``flink_native_python`` is not offered
here: it needs an image with PyFlink on a real cluster.
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
import textwrap
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
DEFAULT_DAG = "flink_streaming_savepoint"
TERMINAL_RUN_STATES = ("success", "failed")
#: Every process the playground starts listens on this address only.
HOST = "127.0.0.1"
#: Examples of ``dags/`` the playground cannot run, and why.
NOT_ON_PLAYGROUND = {
    "flink_native_python": (
        "it needs a Flink image with Python and PyFlink on a real cluster; the playground's simulated JobManager "
        "cannot run Python jobs (see the DAG's docstring, and README.md, Example DAGs)"
    ),
}
#: Airflow's components, as started by the playground: (name, arguments of ``airflow``).
COMPONENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("api-server", ("api-server", "--host", HOST)),
    # No log servers (they would listen on every interface): the API server reads the task logs from disk.
    ("scheduler", ("scheduler", "--skip-serve-logs")),
    ("dag-processor", ("dag-processor",)),
    ("triggerer", ("triggerer", "--skip-serve-logs")),
)
#: What /api/v2/monitor/health calls the components that must be healthy before anything runs.
HEALTH_KEYS = ("metadatabase", "scheduler", "triggerer", "dag_processor")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _say(message: str) -> None:
    print(f"[playground] {message}", flush=True)


def _now() -> str:
    """Wall-clock time of an observation, to the millisecond."""
    moment = time.time()
    return time.strftime("%H:%M:%S", time.localtime(moment)) + f".{int(moment % 1 * 1000):03d}"


def _airflow_env(
    airflow_home: Path,
    kubeconfig: str,
    api_port: int,
    dags_folder: Path = DAGS_FOLDER,
    flink_home: Path | None = None,
    extra_env: dict[str, str] | None = None,
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
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        # The default parallelism starts 32 idle workers (about 5 GB); the examples need a handful.
        "AIRFLOW__CORE__PARALLELISM": "4",
        # The run the playground triggers is the only one: a scheduled DAG does not add its own when unpaused.
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__API__HOST": HOST,
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__BASE_URL": f"http://{HOST}:{api_port}",
        "AIRFLOW_CONN_KUBERNETES_DEFAULT": json.dumps(connection),
        # Airflow's components start their workers as `airflow ...` from PATH: this virtualenv's.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        **(extra_env or {}),
    }


def _airflow(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    airflow = str(Path(sys.executable).with_name("airflow"))
    return subprocess.run([airflow, *args], env=env, capture_output=True, text=True, check=check)


# -- the DAGs folder, parsed before anything starts ---------------------------------------------------------------

_PARSE_SCRIPT = textwrap.dedent(
    """
    import json, sys, warnings
    warnings.simplefilter("ignore")
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:
        from airflow.models.dagbag import DagBag
    bag = DagBag(dag_folder=sys.argv[1])  # AIRFLOW__CORE__LOAD_EXAMPLES is off
    dags = {dag_id: sorted({type(t).__name__ for t in dag.tasks}) for dag_id, dag in bag.dags.items()}
    print(json.dumps({"dags": dags, "import_errors": {str(k): str(v) for k, v in bag.import_errors.items()}}))
    """
)


@dataclass
class ParsedFolder:
    """What a DAGs folder holds: each DAG id with its tasks' operator class names, and the files that failed."""

    dags: dict[str, list[str]]
    import_errors: dict[str, str]


def parse_dags_folder(dags_folder: Path, env: dict[str, str]) -> ParsedFolder:
    """Parse ``dags_folder`` as the DAG processor will (in a subprocess: Airflow reads ``env``'s settings)."""
    done = subprocess.run(
        [sys.executable, "-c", _PARSE_SCRIPT, str(dags_folder)], env=env, capture_output=True, text=True
    )
    document = next((line for line in reversed(done.stdout.splitlines()) if line.startswith("{")), None)
    if done.returncode != 0 or document is None:
        raise SystemExit(f"Could not parse the DAGs folder {dags_folder}:\n{done.stderr[-3000:]}")
    parsed = json.loads(document)
    return ParsedFolder(parsed["dags"], parsed["import_errors"])


def choose_dag(parsed: ParsedFolder, wanted: str | None, dags_folder: Path) -> str:
    """The DAG to run; else exit with status 2, naming the DAGs there are and the files that did not import."""
    ids = sorted(parsed.dags)
    problems = [f"  {path}: {error.strip().splitlines()[-1]}" for path, error in parsed.import_errors.items()]
    errors = ("\nFiles that did not import:\n" + "\n".join(problems)) if problems else ""
    if wanted is None:
        if dags_folder == DAGS_FOLDER:
            wanted = DEFAULT_DAG
        elif len(ids) == 1:
            return ids[0]
        else:
            what = f"{dags_folder} has {len(ids)} DAGs: name one with --dag" if ids else f"No DAG in {dags_folder}"
            raise _refuse(_usage_error(what, ids, dags_folder) + errors)
    if wanted not in parsed.dags:
        raise _refuse(_usage_error(f"No DAG {wanted!r} in {dags_folder}", ids, dags_folder) + errors)
    if dags_folder == DAGS_FOLDER and wanted in NOT_ON_PLAYGROUND:
        raise _refuse(f"[playground] {wanted} does not run on the playground: {NOT_ON_PLAYGROUND[wanted]}.")
    return wanted


def _usage_error(what: str, ids: list[str], dags_folder: Path) -> str:
    not_here = NOT_ON_PLAYGROUND if dags_folder == DAGS_FOLDER else {}
    listed = "\n".join(f"  {dag_id}" + ("  (not on the playground)" if dag_id in not_here else "") for dag_id in ids)
    listed = listed or "  (none)"
    return f"[playground] {what}. DAG ids there:\n{listed}"


def _refuse(message: str) -> SystemExit:
    """Exit status 2, as for any bad command line, with ``message`` on stderr."""
    print(message, file=sys.stderr, flush=True)
    return SystemExit(2)


# -- Airflow's processes and its REST API ------------------------------------------------------------------------


@dataclass
class AirflowRest:
    """A small client of Airflow 3's REST API, logged in as the simple auth manager's ``admin``."""

    base_url: str
    airflow_home: Path
    token: str = ""

    def request(self, method: str, path: str, body: Any = None, auth: bool = True, timeout: float = 30) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth:
            if not self.token:
                self.log_in()
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"null")

    @property
    def password_file(self) -> Path:
        return self.airflow_home / "simple_auth_manager_passwords.json.generated"

    def log_in(self) -> None:
        password = json.loads(self.password_file.read_text())["admin"]
        answer = self.request("POST", "/auth/token", {"username": "admin", "password": password}, auth=False)
        self.token = answer["access_token"]

    def trigger(self, dag_id: str, run_id: str, conf: dict[str, Any] | None = None) -> str:
        """Unpause ``dag_id`` and start a new run of it now."""
        self.request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
        # To the microsecond: two runs of a DAG cannot share a logical date.
        logical_date = datetime.now(UTC).isoformat()
        body = {"dag_run_id": run_id, "logical_date": logical_date, "conf": conf or {}}
        return str(self.request("POST", f"/api/v2/dags/{dag_id}/dagRuns", body)["dag_run_id"])

    def run_state(self, dag_id: str, run_id: str) -> str:
        return str(self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")["state"])

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        answer = self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances")
        return list(answer["task_instances"])


@dataclass
class AirflowProcesses:
    """
    Airflow's API server, scheduler, DAG processor and triggerer, as :func:`airflow_processes` started them.

    :param env: The environment of Airflow's commands.
    :param home: ``AIRFLOW_HOME``.
    :param log: The file the components write their output to.
    :param rest: A client of the API server.
    :param processes: Each component's process.
    """

    env: dict[str, str]
    home: Path
    log: Path
    rest: AirflowRest
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def ui_url(self) -> str:
        return self.rest.base_url

    def exited(self) -> str | None:
        """The first component that is no longer running, with its exit status, if any."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                return f"{name} exited ({process.returncode})"
        return None

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def wait_ready(
        self, dag_ids: tuple[str, ...] = (), timeout: float = 300.0, on_ui: Callable[[str], None] | None = None
    ) -> None:
        """
        Wait until every component is healthy and the DAG processor has parsed ``dag_ids``.

        :param dag_ids: DAGs that must be in the API's list.
        :param timeout: Seconds to wait; then :class:`SystemExit` with what was missing and the log's tail.
        :param on_ui: Called once with the UI address as soon as the API server answers.
        """
        deadline = time.monotonic() + timeout
        missing = "the API server"
        while time.monotonic() < deadline:
            gone = self.exited()
            if gone is not None:
                raise SystemExit(f"Airflow's {gone}; the end of {self.log}:\n{self.log_tail()}")
            try:
                health = self.rest.request("GET", "/api/v2/monitor/health", auth=False, timeout=5)
                if on_ui is not None:
                    on_ui(self.ui_url)
                    on_ui = None
                unhealthy = [key for key in HEALTH_KEYS if (health.get(key) or {}).get("status") != "healthy"]
                missing = "healthy " + ", ".join(unhealthy) if unhealthy else ""
                if not unhealthy and dag_ids:
                    listed = self.rest.request("GET", "/api/v2/dags?limit=1000")["dags"]
                    absent = set(dag_ids) - {dag["dag_id"] for dag in listed}
                    missing = f"the DAG processor to parse {', '.join(sorted(absent))}" if absent else ""
                if not missing:
                    return
            except (OSError, ValueError, KeyError):
                pass  # not up yet: the API server, the password file or the components are still coming
            time.sleep(1)
        raise SystemExit(f"Airflow was not ready within {timeout:.0f}s (waiting for {missing}); see {self.log}")


@contextmanager
def airflow_processes(
    workdir: Path,
    kubeconfig: str,
    api_port: int,
    dags_folder: Path = DAGS_FOLDER,
    flink_home: Path | None = None,
    extra_env: dict[str, str] | None = None,
) -> Iterator[AirflowProcesses]:
    """
    Run Airflow's four components (AIRFLOW_HOME ``workdir/airflow``) against ``kubeconfig`` until the block ends.

    The metadata database is migrated first (created if absent). Every component runs in a process group of its
    own, stopped on the way out, also when the block raises, so no scheduler, triggerer or worker outlives it.

    :param workdir: Where Airflow's home and ``airflow.log`` (the components' output) go.
    :param kubeconfig: The kubeconfig of the ``kubernetes_default`` connection.
    :param api_port: Port of Airflow's UI and API server (on 127.0.0.1).
    :param dags_folder: The DAGs folder.
    :param flink_home: Flink distribution for native mode (connection extra ``flink_home``), if any.
    :param extra_env: More environment for the components (e.g. ``AIRFLOW__...`` settings).
    """
    home = workdir / "airflow"
    env = _airflow_env(home, kubeconfig, api_port, dags_folder, flink_home, extra_env)
    _airflow("db", "migrate", env=env)
    log_path = workdir / "airflow.log"
    airflow = str(Path(sys.executable).with_name("airflow"))
    stack = AirflowProcesses(env, home, log_path, AirflowRest(f"http://{HOST}:{api_port}", home))
    with open(log_path, "w") as log:
        try:
            for name, args in COMPONENTS:
                stack.processes[name] = subprocess.Popen(
                    [airflow, *args],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group: one signal stops it and its workers
                )
            yield stack
        finally:
            for process in stack.processes.values():
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
            for process in stack.processes.values():
                _stop_process_group(process)


def _stop_process_group(process: subprocess.Popen[bytes]) -> None:
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


# -- what happens to the run ---------------------------------------------------------------------------------------


def describe_flink_object(obj: dict[str, Any]) -> tuple[str, str]:
    """``(key, line)`` for a FlinkDeployment, FlinkSessionJob or FlinkStateSnapshot: what a person watching wants."""
    status = obj.get("status") or {}
    job = status.get("jobStatus") or {}
    key = f"{obj['kind']} {obj['metadata']['namespace']}/{obj['metadata']['name']}"
    if obj["kind"] == "FlinkStateSnapshot":
        parts = [f"state {status.get('state') or '-'}", f"path {status.get('path') or '-'}"]
    else:
        parts = [
            f"lifecycle {status.get('lifecycleState') or '-'}",
            f"JobManager {status.get('jobManagerDeploymentStatus') or '-'}",
            f"job {job.get('state') or '-'}",
        ]
    return key, ", ".join(parts)


class FlinkResourceWatch:
    """
    Print every change of the Flink resources on the emulator, in order, with the time it was seen.

    One watch (LIST, then WATCH from its resourceVersion, resumed after a cut) per kind: FlinkDeployments,
    FlinkSessionJobs, FlinkStateSnapshots, and for native mode the JobManager Deployments and pods. A native job's
    state lives in the simulated JobManager, not in a Kubernetes object: :meth:`poll_native` reads it (call it
    often; the simulator itself samples Flink REST every 0.3 s).

    :param kubeconfig: Kubeconfig of the emulator.
    :param emulator: The emulator (read in-process for the native clusters' pods).
    :param native: The native cluster simulator, if native mode runs.
    """

    def __init__(self, kubeconfig: str, emulator: KubeEmulator, native: NativeClusterSimulator | None = None) -> None:
        self.kubeconfig = kubeconfig
        self.emulator = emulator
        self.native = native
        self.seen: dict[str, str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._watches: list[Any] = []

    def __enter__(self) -> FlinkResourceWatch:
        from kubernetes import client, config

        api = config.new_client_from_config(self.kubeconfig)
        self._api = api
        custom = client.CustomObjectsApi(api)
        sources: list[tuple[str, Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = [
            (plural, custom.list_cluster_custom_object, ("flink.apache.org", "v1beta1", plural), {})
            for plural in ("flinkdeployments", "flinksessionjobs", "flinkstatesnapshots")
        ]
        if self.native is not None:
            apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
            native_only = {"label_selector": "type=flink-native-kubernetes"}
            sources.append(("deployments", apps.list_deployment_for_all_namespaces, (), native_only))
            sources.append(("pods", core.list_pod_for_all_namespaces, (), {"label_selector": "component=jobmanager"}))
        for name, list_call, args, kwargs in sources:
            thread = threading.Thread(
                target=self._follow, args=(list_call, args, kwargs), name=f"playground-watch-{name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for watch in list(self._watches):
            watch.stop()
        for thread in self._threads:
            thread.join(timeout=5)
        self._api.close()

    def emit(self, key: str, line: str) -> None:
        with self._lock:
            if self.seen.get(key) != line:
                self.seen[key] = line
                _say(f"{_now()} {key}: {line}")

    def _follow(self, list_call: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        from kubernetes import watch
        from kubernetes.client.exceptions import ApiException

        version: str | None = None
        while not self._stop.is_set():
            stream = watch.Watch()
            self._watches.append(stream)
            try:
                for event in stream.stream(list_call, *args, resource_version=version, timeout_seconds=60, **kwargs):
                    obj = event.get("raw_object") or {}
                    version = (obj.get("metadata") or {}).get("resourceVersion") or version
                    if event["type"] == "ERROR":
                        version = None  # e.g. 410 Gone: list again
                    elif event["type"] != "BOOKMARK":
                        self._show(event["type"], obj)
            except ApiException as error:
                if error.status == 410:
                    version = None
                elif not self._stop.is_set():
                    time.sleep(0.5)
            except Exception:
                if not self._stop.is_set():
                    time.sleep(0.5)  # the emulator cut the connection: watch again from the last version
            finally:
                self._watches.remove(stream)

    def _show(self, kind_of_change: str, obj: dict[str, Any]) -> None:
        if obj.get("kind") in ("Deployment", "Pod"):
            self.poll_native()
            return
        key, line = describe_flink_object(obj)
        self.emit(key, "deleted" if kind_of_change == "DELETED" else line)

    def poll_native(self) -> None:
        """Show each native application cluster's JobManager pod phase and its job's state, when they changed."""
        if self.native is None:
            return
        for cluster in list(self.native.clusters.values()):
            key = f"native application cluster {cluster.namespace}/{cluster.cluster_id}"
            if cluster.gone:
                if key in self.seen:
                    self.emit(key, "deleted")
                continue
            pods = [
                pod
                for pod in self.emulator.list_objects("", "v1", "pods", cluster.namespace)
                if (pod["metadata"].get("labels") or {}).get("app") == cluster.cluster_id
            ]
            phase = ((pods[0].get("status") or {}).get("phase") if pods else None) or "-"
            self.emit(key, f"JobManager pod {phase}, job {cluster.job_state or '-'}")


def new_run_id() -> str:
    """A run id no earlier invocation used: the time to the second plus a random suffix."""
    return f"playground__{time.strftime('%Y%m%dT%H%M%S')}_{os.urandom(2).hex()}"


def follow_run(
    rest: AirflowRest, dag_id: str, run_id: str, timeout: float, watch: FlinkResourceWatch | None = None
) -> str | None:
    """
    Print the task instances' state changes (polled each second) until the run ends; return its last state.

    :param rest: The API client.
    :param dag_id: The DAG.
    :param run_id: The run.
    :param timeout: Seconds to follow before giving up (the state then returned is not terminal).
    :param watch: The resource watch, whose native jobs are polled on the way.
    """
    tasks: dict[tuple[str, int], tuple[str, int]] = {}
    state: str | None = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if watch is not None:
            watch.poll_native()
        try:
            for ti in rest.task_instances(dag_id, run_id):
                now = (str(ti["state"]), int(ti.get("try_number") or 0))
                key = (str(ti["task_id"]), int(ti.get("map_index", -1)))
                if tasks.get(key) != now and now[0] != "None":
                    name = key[0] if key[1] < 0 else f"{key[0]}[{key[1]}]"
                    _say(f"{_now()} task {name}: {now[0]} (try {now[1]})")
                tasks[key] = now
            state = rest.run_state(dag_id, run_id)
        except (OSError, ValueError, KeyError):
            pass  # a busy API server: ask again
        if state in TERMINAL_RUN_STATES:
            return state
        time.sleep(1)
    return state


def task_log(airflow_home: Path, dag_id: str, run_id: str, task_id: str, try_number: int) -> Path | None:
    """The log file of one try, if it was written."""
    folder = airflow_home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
    found = sorted(folder.glob(f"**/attempt={try_number}.log"))
    return found[0] if found else None


def failure_reason(log: Path) -> str | None:
    """
    Why a try failed, from its log: the error it raised (``FlinkJobFailed: <the provider's verdict>``, ...).

    Airflow 3 writes the log as JSON lines; the last exception's type and message win, else the last error line.
    """
    exception = error_line = None
    for raw in log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(raw)
        except ValueError:
            if " ERROR " in raw:
                error_line = raw.strip()
            continue
        if not isinstance(entry, dict):
            continue
        details = entry.get("error_detail")
        if isinstance(details, list) and details and isinstance(details[-1], dict):
            last = details[-1]
            exception = f"{last.get('exc_type', 'Error')}: {last.get('exc_value', '')}".strip()
        elif str(entry.get("level", "")).lower() in ("error", "critical"):
            error_line = str(entry.get("event", "")).strip() or error_line
    return exception or error_line


def report_run(rest: AirflowRest, airflow_home: Path, dag_id: str, run_id: str, state: str | None) -> None:
    """Each task's end and try; for a failed task, its reason and log file."""
    ended = f"ended: {state}" if state in TERMINAL_RUN_STATES else f"did not end (last state: {state})"
    _say(f"DAG run {run_id} of {dag_id} {ended}")
    try:
        instances = rest.task_instances(dag_id, run_id)
    except (OSError, ValueError, KeyError) as error:
        _say(f"  (could not read the task instances: {error})")
        return
    for ti in sorted(instances, key=lambda ti: (str(ti.get("start_date") or "~"), ti["task_id"])):
        task_id, try_number = str(ti["task_id"]), int(ti.get("try_number") or 0)
        _say(f"  task {task_id}: {ti['state']} (try {try_number})")
        if ti["state"] != "failed":
            continue
        log = task_log(airflow_home, dag_id, run_id, task_id, try_number)
        reason = failure_reason(log) if log is not None else None
        _say(f"    reason: {reason or 'no error in the task log; see the log and the UI'}")
        where = (
            str(log)
            if log is not None
            else f"not written (the task never started: see {airflow_home.parent / 'airflow.log'})"
        )
        _say(f"    log: {where}")


# -- one invocation ------------------------------------------------------------------------------------------------


def _fresh_database(airflow_home: Path, keep: bool) -> None:
    database = airflow_home / "airflow.db"
    if keep:
        _say(f"Keeping the metadata database {database} (--keep): earlier runs stay; this one is new")
    elif database.exists():
        database.unlink()
        _say(f"Fresh metadata database: removed {database} of an earlier invocation (--keep keeps it)")
    else:
        _say(f"Fresh metadata database {database}")


def run(
    workdir: Path,
    dag_id: str | None,
    once: bool,
    step_seconds: float,
    timeout: float,
    api_port: int,
    native: str = "auto",
    dags_folder: Path = DAGS_FOLDER,
    keep: bool = False,
) -> int:
    """One invocation of the playground (see the module docstring); returns the exit status."""
    workdir.mkdir(parents=True, exist_ok=True)
    airflow_home = workdir / "airflow"
    airflow_home.mkdir(exist_ok=True)
    _say(f"Parsing the DAGs in {dags_folder}")
    parsed = parse_dags_folder(
        dags_folder, _airflow_env(airflow_home, str(workdir / "kubeconfig"), api_port, dags_folder)
    )
    dag_id = choose_dag(parsed, dag_id, dags_folder)
    native_enabled = native == "always" or (
        native == "auto" and (not once or any(name.startswith("FlinkNative") for name in parsed.dags[dag_id]))
    )
    _fresh_database(airflow_home, keep)
    with KubeEmulator() as emulator:
        kubeconfig = emulator.write_kubeconfig(str(workdir / "kubeconfig"), namespace=NAMESPACE)
        _say(f"Kubernetes API emulator on {emulator.url} (kubeconfig: {kubeconfig})")
        with (
            FlinkOperatorSimulator(kubeconfig, step_seconds=step_seconds),
            native_mode(emulator, workdir, native_enabled) as native_flink,
        ):
            _say("Flink Kubernetes Operator simulator reconciling FlinkDeployments")
            _say(
                f"Starting Airflow (AIRFLOW_HOME={airflow_home}, DAGs from {dags_folder}, "
                f"output in {workdir / 'airflow.log'})"
            )
            flink_home = native_flink.flink_home if native_flink is not None else None
            with airflow_processes(workdir, kubeconfig, api_port, dags_folder, flink_home) as airflow:
                try:
                    passwords = airflow.rest.password_file
                    airflow.wait_ready(
                        (dag_id,), on_ui=lambda url: _say(f"Airflow UI: {url} (user admin, password in {passwords})")
                    )
                    _say(f"Airflow ready: API server, scheduler, triggerer and DAG processor healthy; {dag_id} parsed")
                    if native_flink is not None and native_flink.wait_ready():
                        _say(f"Local Flink cluster up: its Web UI at {native_flink.flink.rest_url}")
                    return _drive(emulator, kubeconfig, airflow, dag_id, once, timeout, native_flink)
                finally:
                    _say("Stopping Airflow")


def _drive(
    emulator: KubeEmulator,
    kubeconfig: str,
    airflow: AirflowProcesses,
    dag_id: str,
    once: bool,
    timeout: float,
    native: NativeMode | None = None,
) -> int:
    run_id = new_run_id()
    with FlinkResourceWatch(kubeconfig, emulator, native.simulator if native is not None else None) as watch:
        airflow.rest.trigger(dag_id, run_id)
        _say(f"New run {run_id} of {dag_id} triggered; Flink resources as the watch sees them, task states:")
        state = follow_run(airflow.rest, dag_id, run_id, timeout, watch)
        watch.poll_native()
    report_run(airflow.rest, airflow.home, dag_id, run_id, state)
    if not once:
        _say(f"Everything stays up for you to explore on {airflow.ui_url}; press Ctrl-C to stop.")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0 if state == "success" else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bash dags/playground.sh", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--dag", default=None, help=f"the DAG to run (default: {DEFAULT_DAG}, or the only DAG of --dags-folder)"
    )
    parser.add_argument(
        "--dags-folder",
        default=None,
        help="run the DAGs of this folder instead of the repository's dags/ (your own DAG files)",
    )
    parser.add_argument("--once", action="store_true", help="stop after the DAG run instead of serving")
    parser.add_argument(
        "--keep", action="store_true", help="keep the metadata database of earlier invocations (default: start fresh)"
    )
    parser.add_argument("--step-seconds", type=float, default=1.0, help="pace of the simulated Flink operator")
    parser.add_argument("--timeout", type=float, default=600, help="seconds the DAG run may take (default 600)")
    parser.add_argument("--port", type=int, default=8080, help="port of Airflow's UI and API server (default 8080)")
    parser.add_argument(
        "--native",
        choices=("auto", "always", "never"),
        default="auto",
        help="start the native cluster simulator and a local Flink cluster (auto: for a DAG with a "
        "FlinkNativeSubmitOperator, or whenever not --once)",
    )
    parser.add_argument(
        "--workdir", default=".playground", help="where Airflow's home, its output and the kubeconfig go"
    )
    args = parser.parse_args(argv)
    # `kill` or a terminal closing must still stop Airflow: run the cleanup in `finally` blocks.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    dags_folder = Path(args.dags_folder).resolve() if args.dags_folder else DAGS_FOLDER
    if not dags_folder.is_dir():
        parser.error(f"--dags-folder {args.dags_folder}: no such folder")
    workdir = Path(args.workdir).resolve()
    return run(
        workdir, args.dag, args.once, args.step_seconds, args.timeout, args.port, args.native, dags_folder, args.keep
    )


if __name__ == "__main__":
    sys.exit(main())
