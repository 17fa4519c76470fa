"""
Test support for Flink's native Kubernetes application mode without a Kubernetes cluster.

The real Flink CLI deploys against the in-repo API server emulator (:mod:`.kube_emulator`): it creates the
JobManager Deployment, its Services and the ``flink-config-<cluster-id>`` ConfigMap there, exactly as on a
real cluster. Nothing on the emulator runs pods, though, so :class:`NativeClusterSimulator` plays the parts
of Kubernetes and of the JobManager:

* For each Deployment labelled ``type=flink-native-kubernetes, component=jobmanager`` it creates the
  JobManager pod (labels ``app=<id>, component=jobmanager``, owned by the Deployment, so deleting the
  Deployment removes it), reads the ConfigMap the CLI wrote (main class, program arguments, jar, every
  ``-D`` option) and **runs the job for real** on a :class:`LocalFlinkCluster` (a real Flink started from
  ``$FLINK_HOME`` as ``bin/start-cluster.sh`` would) through its REST API. ``local:///...`` jar URIs map to a
  folder the test chooses. The emulator's service proxy ``<id>-rest:rest`` is pointed at a small filter in
  front of that cluster's REST API which shows each application cluster only its own job, so several
  tests can share one local Flink. The JobManager pod's log gets Flink-like lines and, when the job fails,
  Flink's real exception.
* The scenario comes from the Flink option ``simulator.scenario`` (pass it in ``flink_conf``):
  ``normal`` (default: the real job), ``image-pull-error`` (the JobManager pod waits with ``ErrImagePull``
  and REST never answers), ``crash-loop`` (the JobManager container crash-loops with an exception in
  its log) or ``stuck`` (the JobManager pod stays in ``ContainerCreating``, as with a volume that never
  mounts). A jar missing from the jar folder also crash-loops, as the real JobManager would.
* Simulated kubelet for the pod submitter: a pod labelled ``airflow-provider-flink/role=submitter`` is
  "run" by executing its command locally with the real Flink CLI (``/opt/flink/bin/flink`` becomes
  ``$FLINK_HOME/bin/flink``, and a kubeconfig for the emulator stands in for the pod's service account);
  its output becomes the pod log, and its exit code the container's terminated state.

What is simulated, plainly: pods never run anywhere; the JobManager is the shared local Flink cluster (its
REST answers are real, but TaskManager pods, resources and the JobManager's own startup are not), and the
submitter pod is a local process. What is real: the Flink CLI, the Kubernetes objects it creates, the
API server semantics (the emulator), Flink's job execution, states and exceptions.

:func:`build_test_jobs_jar` compiles a small job jar (``airflowtest.TestJobs``) with ``javac`` against
``flink-dist``: its first program argument picks ``bounded`` (finishes), ``failing`` (throws
``IllegalStateException: Simulated bad record 42``, no restarts), ``unbounded`` (runs until cancelled) or
``restarting`` (fails once, then waits 10 minutes to restart); any other first argument runs ``bounded``.
:func:`build_stand_in_jars` also copies it under the file names of the example DAGs' jars (``WordCount.jar``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zipfile
from collections.abc import Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

from airflow_provider_flink.testing.kube_emulator import KubeEmulator

log = logging.getLogger(__name__)

SCENARIO_KEY = "simulator.scenario"
SCENARIO_NORMAL = "normal"
SCENARIO_IMAGE_PULL_ERROR = "image-pull-error"
SCENARIO_CRASH_LOOP = "crash-loop"
SCENARIO_STUCK = "stuck"
SCENARIOS = (SCENARIO_NORMAL, SCENARIO_IMAGE_PULL_ERROR, SCENARIO_CRASH_LOOP, SCENARIO_STUCK)
TEST_JOBS_CLASS = "airflowtest.TestJobs"
MAIN_CONTAINER = "flink-main-container"
SUBMITTER_ROLE_LABEL = "airflow-provider-flink/role"
_TERMINAL = frozenset({"FINISHED", "FAILED", "CANCELED"})

TEST_JOBS_SOURCE = """\
package airflowtest;

import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;

/** Jobs for the provider's tests; the first argument picks: bounded, failing, unbounded, restarting. */
public final class TestJobs {
    public static void main(String[] args) throws Exception {
        String mode = args.length > 0 ? args[0] : "bounded";
        Configuration conf = new Configuration();
        if ("restarting".equals(mode)) {
            conf.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
            conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 1);
            conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, java.time.Duration.ofMinutes(10));
        } else {
            conf.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        long count = "unbounded".equals(mode) ? Long.MAX_VALUE : 1000L;
        env.fromSequence(1, count).map(new Step(mode)).sinkTo(new DiscardingSink<>());
        env.execute("airflow-test-" + mode);
    }

    static final class Step implements MapFunction<Long, Long> {
        private final String mode;

        Step(String mode) {
            this.mode = mode;
        }

        @Override
        public Long map(Long value) throws Exception {
            if (("failing".equals(mode) || "restarting".equals(mode)) && value == 42L) {
                throw new IllegalStateException("Simulated bad record 42");
            }
            if ("unbounded".equals(mode)) {
                Thread.sleep(50);
            }
            return value * 2;
        }
    }
}
"""


# ----------------------------------------------------------------------------------------------------
# The job jar and the local Flink cluster
# ----------------------------------------------------------------------------------------------------


def build_test_jobs_jar(flink_home: str | os.PathLike[str], dest_dir: str | os.PathLike[str]) -> Path:
    """
    Compile :data:`TEST_JOBS_SOURCE` against ``flink-dist`` and package ``testjobs.jar`` in ``dest_dir``.

    Reuses the jar when ``dest_dir`` already holds one built from the same source.

    :param flink_home: A Flink 2.x distribution (``lib/flink-dist-*.jar``).
    :param dest_dir: Folder for the jar (e.g. under pytest's cache).
    """
    dest = Path(dest_dir)
    jar = dest / "testjobs.jar"
    stamp = dest / "testjobs.source"
    if jar.is_file() and stamp.is_file() and stamp.read_text() == TEST_JOBS_SOURCE:
        return jar
    dist = sorted(Path(flink_home, "lib").glob("flink-dist*.jar"))
    if not dist:
        raise FileNotFoundError(f"No lib/flink-dist*.jar in {flink_home}")
    work = dest / "build"
    shutil.rmtree(work, ignore_errors=True)
    (work / "src" / "airflowtest").mkdir(parents=True)
    source = work / "src" / "airflowtest" / "TestJobs.java"
    source.write_text(TEST_JOBS_SOURCE)
    classes = work / "classes"
    subprocess.run(
        ["javac", "--release", "11", "-nowarn", "-cp", str(dist[0]), "-d", str(classes), str(source)],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    with zipfile.ZipFile(jar, "w") as archive:
        archive.writestr("META-INF/MANIFEST.MF", f"Manifest-Version: 1.0\nMain-Class: {TEST_JOBS_CLASS}\n\n")
        for path in sorted(classes.rglob("*.class")):
            archive.write(path, path.relative_to(classes).as_posix())
    stamp.write_text(TEST_JOBS_SOURCE)
    shutil.rmtree(work, ignore_errors=True)
    return jar


#: File names of example jars (``local:///opt/flink/examples/streaming/WordCount.jar`` of the example DAGs) that
#: :func:`build_stand_in_jars` fills with the test job, so an example runs unchanged against the simulator.
EXAMPLE_JAR_NAMES = ("WordCount.jar",)


def build_stand_in_jars(
    flink_home: str | os.PathLike[str], usrlib_dir: str | os.PathLike[str], names: tuple[str, ...] = EXAMPLE_JAR_NAMES
) -> Path:
    """
    Fill ``usrlib_dir`` with ``testjobs.jar`` and copies of it named ``names``; return the folder.

    The simulator finds a ``local://`` jar by file name, so a copy named ``WordCount.jar`` stands in for the
    example jar of the Flink image (PyPI's Flink distribution ships none). The test job's manifest names its
    main class, and an unknown first argument (``--execution-mode``) makes it the ``bounded`` job.

    :param flink_home: A Flink 2.x distribution to compile against.
    :param usrlib_dir: The simulator's ``usrlib_dir``.
    :param names: File names the test job stands in for.
    """
    jar = build_test_jobs_jar(flink_home, usrlib_dir)
    for name in names:
        shutil.copyfile(jar, Path(usrlib_dir) / name)
    return Path(usrlib_dir)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def flatten_config(value: Any, prefix: str = "") -> dict[str, Any]:
    """Flink's ``config.yaml`` (nested or flat) as dotted keys."""
    if not isinstance(value, Mapping):
        return {prefix: value}
    flat: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        flat.update(flatten_config(item, name) if isinstance(item, Mapping) else {name: item})
    return flat


class LocalFlinkCluster:
    """
    A real Flink session cluster on this machine (as ``bin/start-cluster.sh`` starts it), private to one test session.

    Configuration, logs, pid files and temp files live in ``work_dir``; the REST and RPC ports are free ports,
    so several sessions (or developers) on one machine do not collide.

    :param flink_home: The Flink distribution.
    :param work_dir: Private folder.
    :param task_slots: Slots of its one TaskManager (how many test jobs may run at once).
    """

    def __init__(self, flink_home: str | os.PathLike[str], work_dir: str | os.PathLike[str], task_slots: int = 4):
        self.flink_home = Path(flink_home)
        self.work_dir = Path(work_dir)
        self.task_slots = task_slots
        self.rest_port = free_port()
        self._jar_ids: dict[str, str] = {}
        self._lock = threading.Lock()

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.rest_port}"

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "FLINK_CONF_DIR": str(self.work_dir / "conf"),
            "FLINK_LOG_DIR": str(self.work_dir / "log"),
            "FLINK_PID_DIR": str(self.work_dir / "pid"),
        }

    def start(self, timeout: float = 120.0) -> LocalFlinkCluster:
        """Write the configuration, start JobManager and TaskManager, and wait until the slots are there."""
        for folder in ("log", "pid", "tmp"):
            (self.work_dir / folder).mkdir(parents=True, exist_ok=True)
        conf_dir = self.work_dir / "conf"
        if not conf_dir.exists():
            shutil.copytree(self.flink_home / "conf", conf_dir)
        config = flatten_config(yaml.safe_load((self.flink_home / "conf" / "config.yaml").read_text()) or {})
        tmp = str(self.work_dir / "tmp")
        config.update(
            {
                "jobmanager.rpc.port": free_port(),
                "rest.port": self.rest_port,
                "rest.address": "127.0.0.1",
                "rest.bind-address": "127.0.0.1",
                "jobmanager.memory.process.size": "1024m",
                "taskmanager.memory.process.size": "1280m",
                "taskmanager.numberOfTaskSlots": self.task_slots,
                "io.tmp.dirs": tmp,
                "web.tmpdir": tmp,
                "web.upload.dir": tmp,
            }
        )
        (conf_dir / "config.yaml").write_text(yaml.safe_dump(config))
        # What bin/start-cluster.sh does for a local cluster, both daemons at once: each script spends
        # seconds in JVMs reading the configuration before it starts its daemon.
        starters = [
            subprocess.Popen(
                [str(self.flink_home / "bin" / script), "start"],
                env=self._env(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for script in ("jobmanager.sh", "taskmanager.sh")
        ]
        for starter in starters:
            starter.wait(timeout=timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, ValueError):
                if self.get("/overview").get("slots-total", 0) >= self.task_slots:
                    return self
            time.sleep(0.5)
        self.stop()
        raise TimeoutError(f"The local Flink cluster did not come up in {timeout} s; see {self.work_dir / 'log'}")

    def stop(self, grace: float = 15.0) -> None:
        """Stop the cluster's daemons: SIGTERM to the pids they recorded, SIGKILL after ``grace`` seconds."""
        pids = []
        for pid_file in (self.work_dir / "pid").glob("*.pid"):
            pids += [int(line) for line in pid_file.read_text().split() if line.strip().isdigit()]
            pid_file.unlink()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for pid in pids:
            while _alive(pid):
                if time.monotonic() >= deadline:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                    break
                time.sleep(0.1)

    def __enter__(self) -> LocalFlinkCluster:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- REST ----------------------------------------------------------------------------------

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.rest_url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read().decode()
        return json.loads(text) if text.strip() else {}

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def upload_jar(self, jar: str | os.PathLike[str]) -> str:
        """Upload a jar once (``POST /jars/upload``); return its jar id."""
        key = os.fspath(jar)
        with self._lock:
            if key not in self._jar_ids:
                boundary = uuid.uuid4().hex
                content = Path(jar).read_bytes()
                head = (
                    f"--{boundary}\r\n"
                    f'Content-Disposition: form-data; name="jarfile"; filename="{Path(jar).name}"\r\n'
                    "Content-Type: application/x-java-archive\r\n\r\n"
                )
                body = head.encode() + content + f"\r\n--{boundary}--\r\n".encode()
                request = urllib.request.Request(self.rest_url + "/jars/upload", data=body, method="POST")
                request.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
                with urllib.request.urlopen(request, timeout=60) as response:
                    answer = json.loads(response.read())
                self._jar_ids[key] = os.path.basename(answer["filename"])
            return self._jar_ids[key]

    def run_jar(self, jar_id: str, entry_class: str | None, args: list[str], parallelism: int | None) -> str:
        """Start a job from an uploaded jar (``POST /jars/<id>/run``); return its job id."""
        body: dict[str, Any] = {"programArgsList": args}
        if entry_class:
            body["entryClass"] = entry_class
        if parallelism:
            body["parallelism"] = parallelism
        return str(self.request("POST", f"/jars/{jar_id}/run", body)["jobid"])

    def cancel(self, job_id: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.request("PATCH", f"/jobs/{job_id}?mode=cancel")


# ----------------------------------------------------------------------------------------------------
# The REST filter: each application cluster sees only its own job
# ----------------------------------------------------------------------------------------------------


class _RestFilter:
    """
    HTTP front of the local cluster's REST API at ``/clusters/<namespace>/<cluster-id>/<flink path>``.

    ``/jobs/overview`` lists only that cluster's jobs, ``/jobs/<id>/...`` of another cluster's job answers 404
    as Flink does for an unknown job, everything else is passed through.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.jobs: dict[tuple[str, str], set[str]] = {}
        simulator = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                simulator._handle(self)

            def do_PATCH(self) -> None:
                simulator._handle(self)

            def do_POST(self) -> None:
                simulator._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="flink-rest-filter", daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def base_url(self, namespace: str, cluster_id: str) -> str:
        return f"{self.url}/clusters/{namespace}/{cluster_id}"

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parsed = urllib.parse.urlsplit(handler.path)
        parts = parsed.path.split("/", 4)
        if len(parts) < 4 or parts[1] != "clusters":
            return self._reply(handler, 404, {"errors": ["Not found."]})
        key = (parts[2], parts[3])
        flink_path = "/" + (parts[4] if len(parts) > 4 else "")
        segments = [s for s in flink_path.split("/") if s]
        if segments and segments[0] == "v1":
            segments = segments[1:]
        mine = self.jobs.get(key, set())
        if len(segments) >= 2 and segments[0] == "jobs" and segments[1] != "overview" and segments[1] not in mine:
            return self._reply(handler, 404, {"errors": [f"Job {segments[1]} not found"]})
        length = int(handler.headers.get("Content-Length") or 0)
        data = handler.rfile.read(length) if length else None
        url = self.upstream + flink_path + (f"?{parsed.query}" if parsed.query else "")
        request = urllib.request.Request(url, data=data, method=handler.command)
        if data:
            request.add_header("Content-Type", handler.headers.get("Content-Type") or "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, body = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read()
        except OSError as error:
            return self._reply(handler, 502, {"errors": [f"local Flink unreachable: {error}"]})
        if segments == ["jobs", "overview"] and status == 200:
            overview = json.loads(body)
            overview["jobs"] = [job for job in overview.get("jobs") or [] if job.get("jid") in mine]
            body = json.dumps(overview).encode()
        self._reply_raw(handler, status, body)

    @staticmethod
    def _reply(handler: BaseHTTPRequestHandler, status: int, document: Any) -> None:
        _RestFilter._reply_raw(handler, status, json.dumps(document).encode())

    @staticmethod
    def _reply_raw(handler: BaseHTTPRequestHandler, status: int, body: bytes) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=UTF-8")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)


# ----------------------------------------------------------------------------------------------------
# The simulator
# ----------------------------------------------------------------------------------------------------


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _log_time() -> str:
    moment = datetime.now(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S,") + f"{moment.microsecond // 1000:03d}"


class _Cluster:
    """What the simulator knows about one native application cluster."""

    def __init__(self, deployment: dict[str, Any]) -> None:
        meta = deployment["metadata"]
        self.namespace: str = meta["namespace"]
        self.cluster_id: str = meta["name"]
        self.uid: str = meta["uid"]
        self.image: str = deployment["spec"]["template"]["spec"]["containers"][0].get("image", "flink")
        self.pod_name = f"{self.cluster_id}-{uuid.uuid4().hex[:10]}-{uuid.uuid4().hex[:5]}"
        self.job_id: str | None = None
        self.job_state: str | None = None
        self.log_lines: list[str] = []
        self.gone = False


class NativeClusterSimulator:
    """
    Play Kubernetes (pods, the kubelet) and the JobManager for native Flink clusters on the emulator.

    See the module docstring for what is real and what is simulated.

    :param emulator: The running API server emulator.
    :param flink: The local Flink cluster that runs the jobs (``None``: only startup scenarios work).
    :param usrlib_dir: Folder standing for the image's ``/opt/flink/usrlib`` (``local://`` jars are looked
        up there by file name).
    :param flink_home: Flink distribution whose CLI "runs" submitter pods.
    :param work_dir: Private folder for the submitter pods' configuration and logs.
    :param poll_interval: Seconds between looks at the emulator.
    """

    def __init__(
        self,
        emulator: KubeEmulator,
        flink: LocalFlinkCluster | None,
        *,
        usrlib_dir: str | os.PathLike[str],
        flink_home: str | os.PathLike[str] | None = None,
        work_dir: str | os.PathLike[str] | None = None,
        poll_interval: float = 0.1,
    ) -> None:
        self.emulator = emulator
        self.flink = flink
        self.usrlib_dir = Path(usrlib_dir)
        self.flink_home = Path(flink_home) if flink_home else None
        self.work_dir = Path(work_dir) if work_dir else None
        self.poll_interval = poll_interval
        self.clusters: dict[str, _Cluster] = {}
        self.submitter_runs: dict[str, subprocess.Popen[str] | None] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._filter = _RestFilter(flink.rest_url) if flink is not None else None
        from kubernetes import client, config

        self._api = config.new_client_from_config_dict(emulator.kubeconfig_dict())
        self._core = client.CoreV1Api(self._api)

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> NativeClusterSimulator:
        thread = threading.Thread(target=self._loop, name="native-cluster-simulator", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for process in list(self.submitter_runs.values()):
            if process is not None and process.poll() is None:
                process.kill()
        for thread in self._threads:
            thread.join(timeout=30)
        if self.flink is not None:
            for cluster in self.clusters.values():
                if cluster.job_id and cluster.job_state not in _TERMINAL:
                    self.flink.cancel(cluster.job_id)
        if self._filter is not None:
            self._filter.close()
        self._api.close()

    def __enter__(self) -> NativeClusterSimulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _spawn(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=self._guard, args=(target, *args), daemon=True)
        thread.start()
        self._threads.append(thread)

    def _guard(self, target: Any, *args: Any) -> None:
        try:
            target(*args)
        except Exception:
            if not self._stop.is_set():
                log.exception("native cluster simulator: %s failed", getattr(target, "__name__", target))

    # -- the control loop ------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_interval):
            try:
                self._tick()
            except Exception:
                if not self._stop.is_set():
                    log.exception("native cluster simulator tick failed")

    def _tick(self) -> None:
        deployments = {
            d["metadata"]["uid"]: d
            for d in self.emulator.list_objects("apps", "v1", "deployments")
            if (d["metadata"].get("labels") or {}).get("type") == "flink-native-kubernetes"
            and (d["metadata"].get("labels") or {}).get("component") == "jobmanager"
        }
        for uid, deployment in deployments.items():
            if uid not in self.clusters:
                cluster = self.clusters[uid] = _Cluster(deployment)
                self._spawn(self._run_cluster, cluster)
        for uid, cluster in self.clusters.items():
            if uid not in deployments and not cluster.gone:
                cluster.gone = True
                if self.flink is not None and cluster.job_id and cluster.job_state not in _TERMINAL:
                    # The JobManager pod died with its Deployment: the job dies too.
                    self.flink.cancel(cluster.job_id)
        pods = self.emulator.list_objects("", "v1", "pods")
        live = {p["metadata"]["uid"] for p in pods}
        for pod in pods:
            uid = pod["metadata"]["uid"]
            submitter = (pod["metadata"].get("labels") or {}).get(SUBMITTER_ROLE_LABEL) == "submitter"
            if submitter and uid not in self.submitter_runs:
                self.submitter_runs[uid] = None
                self._spawn(self._run_submitter_pod, pod)
        for uid, process in list(self.submitter_runs.items()):
            if uid not in live and process is not None and process.poll() is None:
                process.kill()  # the pod was deleted: its container stops

    # -- JobManager ----------------------------------------------------------------------------------

    def _run_cluster(self, cluster: _Cluster) -> None:
        config = self._wait_for_config(cluster)
        if config is None:
            return
        scenario = str(config.get(SCENARIO_KEY) or SCENARIO_NORMAL)
        self._create_jobmanager_pod(cluster)
        self._log(cluster, "org.apache.flink.runtime.entrypoint.ClusterEntrypoint", "-" * 80)
        self._log(
            cluster,
            "org.apache.flink.runtime.entrypoint.ClusterEntrypoint",
            "Starting KubernetesApplicationClusterEntrypoint (Version: 2.3.0, Scala: 2.12).",
        )
        if scenario == SCENARIO_STUCK:
            cluster.log_lines.clear()
            return
        if scenario == SCENARIO_IMAGE_PULL_ERROR:
            cluster.log_lines.clear()  # the container never started
            message = (
                f'rpc error: code = NotFound desc = failed to pull and unpack image "{cluster.image}": '
                f"not found: manifest unknown"
            )
            self._set_pod_status(cluster, "Pending", {"waiting": {"reason": "ErrImagePull", "message": message}})
            self._pod_event(cluster, "Failed", f'Failed to pull image "{cluster.image}": {message}')
            return
        jar = self._local_jar(config)
        if scenario == SCENARIO_CRASH_LOOP or jar is None:
            missing = config.get("pipeline.jars")
            cause = (
                f"java.io.FileNotFoundException: {missing} (No such file or directory)"
                if jar is None
                else "org.apache.flink.configuration.IllegalConfigurationException: simulated bad configuration"
            )
            self._crash_loop(cluster, cause)
            return
        self._set_pod_status(cluster, "Running", {"running": {"startedAt": _now()}}, ready=True)
        assert self.flink is not None and self._filter is not None
        args = config.get("$internal.application.program-args") or []
        if isinstance(args, str):
            args = [a for a in args.split(";") if a]
        parallelism = config.get("parallelism.default")
        jar_id = self.flink.upload_jar(jar)
        job_id = self.flink.run_jar(
            jar_id, config.get("$internal.application.main"), [str(a) for a in args], int(parallelism or 1)
        )
        cluster.job_id = job_id
        self._filter.jobs.setdefault((cluster.namespace, cluster.cluster_id), set()).add(job_id)
        self.emulator.register_service_proxy(
            cluster.namespace,
            f"{cluster.cluster_id}-rest",
            "rest",
            self._filter.base_url(cluster.namespace, cluster.cluster_id),
        )
        self._log(cluster, "org.apache.flink.runtime.dispatcher.StandaloneDispatcher", f"Submitting job ({job_id}).")
        self._follow_job(cluster)

    def _wait_for_config(self, cluster: _Cluster, timeout: float = 60.0) -> dict[str, Any] | None:
        # The CLI creates the Deployment first and its ConfigMap a moment later.
        deadline = time.monotonic() + timeout
        name = f"flink-config-{cluster.cluster_id}"
        while time.monotonic() < deadline and not self._stop.is_set() and not cluster.gone:
            configmap = self.emulator.get_object("", "v1", "configmaps", cluster.namespace, name)
            if configmap is not None:
                text = (configmap.get("data") or {}).get("config.yaml") or ""
                return flatten_config(yaml.safe_load(text) or {})
            time.sleep(self.poll_interval)
        return None

    def _local_jar(self, config: Mapping[str, Any]) -> Path | None:
        jars = config.get("pipeline.jars") or []
        jars = [jars] if isinstance(jars, str) else list(jars)
        for uri in jars:
            path = self.usrlib_dir / os.path.basename(urllib.parse.urlsplit(str(uri)).path)
            if path.is_file():
                return path
        return None

    def _follow_job(self, cluster: _Cluster) -> None:
        assert self.flink is not None
        while not self._stop.is_set():
            try:
                job = self.flink.get(f"/jobs/{cluster.job_id}")
            except (OSError, ValueError):
                time.sleep(0.5)
                continue
            state = job.get("state")
            if state != cluster.job_state:
                previous = cluster.job_state or "CREATED"
                cluster.job_state = state
                self._log(
                    cluster,
                    "org.apache.flink.runtime.executiongraph.ExecutionGraph",
                    f"Job {job.get('name')} ({cluster.job_id}) switched from state {previous} to {state}.",
                )
                if state == "FAILED":
                    self._log_exception(cluster)
            if state in _TERMINAL or cluster.gone:
                return
            time.sleep(0.3)

    def _log_exception(self, cluster: _Cluster) -> None:
        assert self.flink is not None
        with contextlib.suppress(OSError, ValueError):
            entries = self.flink.get(f"/jobs/{cluster.job_id}/exceptions")["exceptionHistory"]["entries"]
            if entries:
                trace = entries[0]["stacktrace"]
                self._log(cluster, "org.apache.flink.runtime.jobmaster.JobMaster", "Job failed.", level="ERROR")
                cluster.log_lines.extend(trace.rstrip().splitlines())
                self._push_log(cluster)

    def _crash_loop(self, cluster: _Cluster, cause: str) -> None:
        entrypoint = "KubernetesApplicationClusterEntrypoint"
        self._log(
            cluster,
            "org.apache.flink.runtime.entrypoint.ClusterEntrypoint",
            f"Could not start cluster entrypoint {entrypoint}.",
            level="ERROR",
        )
        cluster.log_lines += [
            "org.apache.flink.runtime.entrypoint.ClusterEntrypointException: Failed to initialize the cluster "
            f"entrypoint {entrypoint}.",
            "\tat org.apache.flink.runtime.entrypoint.ClusterEntrypoint.startCluster(ClusterEntrypoint.java:260)",
            f"Caused by: {cause}",
        ]
        self._push_log(cluster)
        terminated = {"exitCode": 1, "reason": "Error", "startedAt": _now(), "finishedAt": _now()}
        back_off = f"back-off 40s restarting failed container={MAIN_CONTAINER} pod={cluster.pod_name}"
        self._set_pod_status(
            cluster,
            "Running",
            {"waiting": {"reason": "CrashLoopBackOff", "message": back_off}},
            last_state={"terminated": terminated},
            restarts=3,
        )
        self._pod_event(cluster, "BackOff", f"Back-off restarting failed container {MAIN_CONTAINER}")

    # -- Kubernetes objects ----------------------------------------------------------------------

    def _create_jobmanager_pod(self, cluster: _Cluster) -> None:
        body = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": cluster.pod_name,
                "namespace": cluster.namespace,
                "labels": {"app": cluster.cluster_id, "component": "jobmanager", "type": "flink-native-kubernetes"},
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "name": cluster.cluster_id,
                        "uid": cluster.uid,
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "spec": {
                "restartPolicy": "Always",
                "containers": [
                    {
                        "name": MAIN_CONTAINER,
                        "image": cluster.image,
                        "args": ["kubernetes-jobmanager.sh", "kubernetes-application"],
                    }
                ],
            },
        }
        self._core.create_namespaced_pod(cluster.namespace, body, _preload_content=False)
        self._set_pod_status(cluster, "Pending", {"waiting": {"reason": "ContainerCreating"}})

    def _set_pod_status(
        self,
        cluster: _Cluster,
        phase: str,
        state: dict[str, Any],
        *,
        ready: bool = False,
        last_state: dict[str, Any] | None = None,
        restarts: int = 0,
    ) -> None:
        container = {
            "name": MAIN_CONTAINER,
            "image": cluster.image,
            "imageID": "",
            "ready": ready,
            "restartCount": restarts,
            "state": state,
            "lastState": last_state or {},
        }
        status = {
            "phase": phase,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": _now()}],
            "containerStatuses": [container],
            "startTime": _now(),
        }
        self._patch_pod_status(cluster.namespace, cluster.pod_name, status)

    def _patch_pod_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        from kubernetes.client.exceptions import ApiException

        try:
            self._core.patch_namespaced_pod_status(
                name,
                namespace,
                {"status": status},
                _content_type="application/merge-patch+json",
                _preload_content=False,
            )
        except ApiException as error:
            if error.status != 404:  # deleted meanwhile
                raise

    def _pod_event(self, cluster: _Cluster, reason: str, message: str) -> None:
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{cluster.pod_name}.{uuid.uuid4().hex[:16]}", "namespace": cluster.namespace},
            "involvedObject": {
                "apiVersion": "v1",
                "kind": "Pod",
                "name": cluster.pod_name,
                "namespace": cluster.namespace,
            },
            "reason": reason,
            "message": message,
            "type": "Warning",
            "source": {"component": "kubelet"},
            "firstTimestamp": _now(),
            "lastTimestamp": _now(),
            "count": 1,
        }
        with contextlib.suppress(Exception):
            self._core.create_namespaced_event(cluster.namespace, event, _preload_content=False)

    def _log(self, cluster: _Cluster, logger: str, text: str, level: str = "INFO") -> None:
        cluster.log_lines.append(f"{_log_time()} {level:<5} {logger:<60} [] - {text}")
        self._push_log(cluster)

    def _push_log(self, cluster: _Cluster) -> None:
        self.emulator.set_pod_log(cluster.namespace, cluster.pod_name, "\n".join(cluster.log_lines) + "\n")

    # -- submitter pods (a simulated kubelet running the container's command locally) --------------

    def _run_submitter_pod(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        namespace, name, uid = meta["namespace"], meta["name"], meta["uid"]
        container = pod["spec"]["containers"][0]
        if self.flink_home is None or self.work_dir is None:
            raise RuntimeError("NativeClusterSimulator needs flink_home and work_dir to run submitter pods")
        folder = self.work_dir / f"submitter-{uid}"
        (folder / "log").mkdir(parents=True)
        shutil.copytree(self.flink_home / "conf", folder / "conf")
        kubeconfig = self.emulator.write_kubeconfig(folder / "kubeconfig", namespace=namespace)
        argv = list(container["command"])
        argv[0] = str(self.flink_home / "bin" / "flink")
        # A pod would reach the API server with its service account; here a kubeconfig stands in for it.
        target_at = argv.index("--target") + 2 if "--target" in argv else 2
        argv.insert(target_at, f"-Dkubernetes.config.file={kubeconfig}")
        env = {
            **os.environ,
            **{e["name"]: e.get("value", "") for e in container.get("env") or []},
            "FLINK_CONF_DIR": str(folder / "conf"),
            "FLINK_LOG_DIR": str(folder / "log"),
        }
        started = _now()
        self._patch_pod_status(
            namespace,
            name,
            {
                "phase": "Running",
                "containerStatuses": [
                    {
                        "name": container["name"],
                        "image": container["image"],
                        "imageID": "",
                        "ready": True,
                        "restartCount": 0,
                        "state": {"running": {"startedAt": started}},
                    }
                ],
            },
        )
        process = subprocess.Popen(
            argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.submitter_runs[uid] = process
        output, _ = process.communicate()
        code = process.returncode
        self.emulator.set_pod_log(namespace, name, output)
        terminated = {
            "exitCode": code if code >= 0 else 137,
            "reason": "Completed" if code == 0 else "Error",
            "startedAt": started,
            "finishedAt": _now(),
        }
        self._patch_pod_status(
            namespace,
            name,
            {
                "phase": "Succeeded" if code == 0 else "Failed",
                "containerStatuses": [
                    {
                        "name": container["name"],
                        "image": container["image"],
                        "imageID": "",
                        "ready": False,
                        "restartCount": 0,
                        "state": {"terminated": terminated},
                    }
                ],
            },
        )
