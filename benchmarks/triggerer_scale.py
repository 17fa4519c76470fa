"""
Triggerer scale: N concurrent deferred waits in one triggerer-style asyncio loop, against the API emulator.

Each configuration (kind x mode x N) runs three processes, so that each CPU figure belongs to one party:

* the **emulator** (``python -m airflow_provider_flink.testing.kube_emulator``): the API server;
* the **loop** (``python -m benchmarks.triggerer_scale loop CONFIG``): N ``FlinkJobTrigger(...).run()``
  coroutines in one event loop, as a triggerer runs them (mode ``trigger``), or N plain polling coroutines, one
  GET per job per poll interval as the official provider's sensor does each poke (mode ``baseline``). It
  measures its own CPU time and peak RSS over the measurement window and prints each event's ``time.time()``;
* the **driver** (this module's ``main``): creates the N objects, then changes their state over the window as
  the Flink operator (FlinkDeployment status subresource) or a JobManager (a fake Flink REST server behind the
  emulator's service proxy, for native clusters) would, and turns the records into figures.

Figures per configuration: API requests per waiting job per minute (from the emulator's request record, loop
requests only), loop CPU seconds per minute, loop peak RSS, and the latency from the deciding change to the
trigger's event (p50, p99). ::

    python -m benchmarks.triggerer_scale --out build/benchmarks                 # N = 100, 1000, 5000
    python -m benchmarks.triggerer_scale --out build/benchmarks --quick         # N = 50, 200; short window
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import math
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REST_FIXTURES = ROOT / "tests" / "native_operator" / "fixtures" / "rest"
NAMESPACE = "bench"
API_VERSION = "flink.apache.org/v1beta1"
DEPLOYMENTS_PATH = f"/apis/flink.apache.org/v1beta1/namespaces/{NAMESPACE}/flinkdeployments"
#: What each case runs: (kind of the waits, mode). ``baseline`` is the peers' way: one GET per poke.
CASES: dict[str, tuple[str, str]] = {
    "deployment-trigger": ("FlinkDeployment", "trigger"),
    "deployment-baseline": ("FlinkDeployment", "baseline"),
    "native-trigger": ("native", "trigger"),
    "native-baseline": ("native", "baseline"),
}
DEFAULT_CASES = ("deployment-trigger", "deployment-baseline", "native-trigger")


# ----------------------------------------------------------------------------------------------------
# Small helpers shared with benchmarks.overheads
# ----------------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile (``fraction`` in 0..1) of ``values``; ``None`` when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a process has used so far (from ``/proc``), or ``None`` if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def current_rss_mb() -> float:
    """This process's resident set size now, in MB (``VmRSS``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class EmulatorProcess:
    """
    The Kubernetes API emulator in a process of its own, so that its CPU is not counted as the client's.

    :param workdir: Where its kubeconfig and log are written.
    :param python: The interpreter to run it with.
    """

    def __init__(self, workdir: Path, python: str = sys.executable) -> None:
        self.workdir = workdir
        self.kubeconfig = workdir / "kubeconfig"
        self.python = python
        self.process: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self) -> EmulatorProcess:
        log = open(self.workdir / "emulator.log", "w")  # noqa: SIM115 - lives as long as the process
        argv = [self.python, "-m", "airflow_provider_flink.testing.kube_emulator", "--port", "0"]
        argv += ["--kubeconfig", str(self.kubeconfig), "--namespace", NAMESPACE]
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, text=True, cwd=ROOT)
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()
        if not self.url.startswith("http"):
            self.stop()
            raise RuntimeError(f"the emulator did not start; see {self.workdir / 'emulator.log'}")
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def cpu_seconds(self) -> float | None:
        return process_cpu_seconds(self.pid)

    def kubeconfig_dict(self) -> dict[str, Any]:
        import yaml

        return yaml.safe_load(self.kubeconfig.read_text())

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


# ----------------------------------------------------------------------------------------------------
# What the Flink operator writes: FlinkDeployment bodies and statuses
# ----------------------------------------------------------------------------------------------------


def deployment_body(name: str) -> dict[str, Any]:
    """A batch FlinkDeployment as the provider's operator builds it."""
    from airflow_provider_flink.specs.deployment import build_flink_deployment

    return build_flink_deployment(
        None,
        name=name,
        namespace=NAMESPACE,
        image="flink:2.0",
        flink_version="v2_0",
        jar_uri="local:///opt/flink/usrlib/wordcount.jar",
        entry_class="org.example.WordCount",
        args=["--input", "s3://bucket/in"],
        parallelism=2,
        flink_configuration={"execution.runtime-mode": "BATCH", "taskmanager.numberOfTaskSlots": "2"},
        job_manager={"cpu": 1, "memory": "2048m"},
        task_manager={"cpu": 1, "memory": "2048m"},
    )


def running_status(spec: dict[str, Any], job_id: str, now_ms: int) -> dict[str, Any]:
    """The status the Flink operator (1.15) leaves once a deployed job runs: lifecycle STABLE, JobManager READY."""
    from airflow_provider_flink.testing.flink_operator_simulator import normalize_spec, spec_with_meta

    reconciled = spec_with_meta(normalize_spec("FlinkDeployment", spec), API_VERSION, True)
    return {
        "jobStatus": {
            "jobName": "WordCount",
            "jobId": job_id,
            "state": "RUNNING",
            "startTime": str(now_ms),
            "updateTime": str(now_ms),
            "savepointInfo": {"savepointHistory": [], "lastPeriodicSavepointTimestamp": 0},
            "checkpointInfo": {"lastPeriodicCheckpointTimestamp": 0},
        },
        "observedGeneration": 1,
        "lifecycleState": "STABLE",
        "clusterInfo": {"flink-version": "2.0.0", "total-cpu": "2.0", "total-memory": "4294967296"},
        "jobManagerDeploymentStatus": "READY",
        "reconciliationStatus": {
            "reconciliationTimestamp": now_ms,
            "state": "DEPLOYED",
            "lastReconciledSpec": reconciled,
            "lastStableSpec": reconciled,
        },
        "taskManager": {"labelSelector": "component=taskmanager", "replicas": 1},
        "conditions": [],
    }


def checkpoint_patch(now_ms: int) -> dict[str, Any]:
    """A status change that decides nothing: the operator recording a periodic checkpoint."""
    return {
        "status": {
            "jobStatus": {"updateTime": str(now_ms), "checkpointInfo": {"lastPeriodicCheckpointTimestamp": now_ms}}
        }
    }


def terminal_patch(outcome: str, now_ms: int) -> dict[str, Any]:
    """The deciding status change: the job FINISHED (lifecycle stays STABLE) or FAILED (with the operator's error)."""
    from airflow_provider_flink.testing.flink_operator_simulator import flink_resource_exception

    if outcome == "FINISHED":
        return {"status": {"jobStatus": {"state": "FINISHED", "updateTime": str(now_ms)}}}
    error = flink_resource_exception(
        "org.apache.flink.util.SerializedThrowable",
        "Recovery is suppressed by NoRestartBackoffTimeStrategy",
        causes=[("org.apache.flink.util.SerializedThrowable", "java.io.FileNotFoundException: s3://bucket/in")],
    )
    return {
        "status": {
            "jobStatus": {"state": "FAILED", "updateTime": str(now_ms)},
            "error": error,
            "lifecycleState": "FAILED",
        }
    }


def check_statuses_are_judged_as_intended() -> None:
    """Guard against unrealistic bodies: the provider's own judge must read each status as this benchmark means."""
    from airflow_provider_flink.state import JobPhase, judge_custom_resource

    body = deployment_body("judge-check")
    obj = {**body, "metadata": {**body["metadata"], "generation": 1}}
    obj["status"] = running_status(body["spec"], "0" * 32, 0)
    expectations = [({}, JobPhase.RUNNING), (checkpoint_patch(1), JobPhase.RUNNING)]
    expectations += [(terminal_patch("FINISHED", 2), JobPhase.FINISHED), (terminal_patch("FAILED", 2), JobPhase.FAILED)]
    for patch, phase in expectations:
        status = json.loads(json.dumps(obj["status"]))
        for key, value in patch.get("status", {}).items():
            status[key] = {**status[key], **value} if isinstance(value, dict) else value
        verdict = judge_custom_resource({**obj, "status": status}, expected_spec=body["spec"])
        if verdict.phase is not phase:
            raise AssertionError(f"status meant as {phase} is judged {verdict.phase}: {verdict.message}")


# ----------------------------------------------------------------------------------------------------
# A JobManager's REST API for native clusters
# ----------------------------------------------------------------------------------------------------


class FakeFlinkRest:
    """
    One aiohttp server answering Flink REST for every native cluster, at ``/<cluster-id>/<REST path>``.

    Answers are Flink 2.3's, from ``tests/native_operator/fixtures/rest``, with the cluster's job id. A
    cluster's job is RUNNING until its ``finish_at`` (epoch seconds), then FINISHED or FAILED: the state change
    happens at a known instant without anyone writing anything.
    """

    def __init__(self) -> None:
        self.jobs: dict[str, tuple[str, float, str]] = {}  # cluster id -> (job id, finish_at, outcome)
        self.port = 0
        self.served = 0
        self._runner: Any = None
        running = json.loads((REST_FIXTURES / "overview_running.json").read_text())["jobs"][0]
        self._templates = {
            "overview": json.dumps(running),
            "job_FINISHED": (REST_FIXTURES / "job_finished.json").read_text(),
            "job_FAILED": (REST_FIXTURES / "job_failed.json").read_text(),
            "result_FINISHED": (REST_FIXTURES / "execution_result_finished.json").read_text(),
            "result_FAILED": (REST_FIXTURES / "execution_result_failed.json").read_text(),
            "exceptions_FAILED": (REST_FIXTURES / "exceptions_failed.json").read_text(),
        }
        self._fixture_jids = {key: _jid_of(json.loads(text)) for key, text in self._templates.items()}

    def add(self, cluster_id: str, finish_at: float = math.inf, outcome: str = "FINISHED") -> None:
        job_id = hashlib.md5(cluster_id.encode()).hexdigest()
        self.jobs[cluster_id] = (job_id, finish_at, outcome)

    def _answer(self, key: str, job_id: str) -> str:
        return self._templates[key].replace(self._fixture_jids[key], job_id)

    async def handle(self, request: Any) -> Any:
        from aiohttp import web

        self.served += 1
        cluster_id, _, path = request.path.lstrip("/").partition("/")
        if cluster_id not in self.jobs:
            return web.json_response({"errors": ["Not found"]}, status=404)
        job_id, finish_at, outcome = self.jobs[cluster_id]
        state = outcome if time.time() >= finish_at else "RUNNING"
        if path == "jobs/overview":
            entry = json.loads(self._answer("overview", job_id))
            if state != "RUNNING":
                entry.update({"state": state, "end-time": int(finish_at * 1000)})
                entry["tasks"].update({"running": 0, "finished" if state == "FINISHED" else "failed": 1})
            return web.json_response({"jobs": [entry]})
        # The details the trigger reads once the overview shows a terminal state.
        key = {f"jobs/{job_id}": "job", f"jobs/{job_id}/execution-result": "result"}.get(path)
        key = key or ("exceptions" if path == f"jobs/{job_id}/exceptions" else None)
        if key and state != "RUNNING" and f"{key}_{state}" in self._templates:
            return web.Response(text=self._answer(f"{key}_{state}", job_id), content_type="application/json")
        return web.json_response({"errors": ["Not found"]}, status=404)

    async def start(self) -> FakeFlinkRest:
        from aiohttp import web

        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def _jid_of(document: dict[str, Any]) -> str:
    return str(document.get("jid") or (document.get("job-execution-result") or {}).get("id") or "no-jid-in-fixture")


def native_objects(cluster_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The JobManager Deployment and the REST Service that ``flink run --target kubernetes-application`` creates."""
    labels = {"app": cluster_id, "component": "jobmanager", "type": "flink-native-kubernetes"}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": cluster_id, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "flink-main-container", "image": "flink:2.3"}]},
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": f"{cluster_id}-rest", "labels": {"app": cluster_id}},
        "spec": {"selector": labels, "ports": [{"name": "rest", "port": 8081, "targetPort": 8081}]},
    }
    return deployment, service


# ----------------------------------------------------------------------------------------------------
# The loop process
# ----------------------------------------------------------------------------------------------------


def failed(record: dict[str, Any]) -> bool:
    """Whether a recorded request failed; a watch the client closed is recorded with status 0 and did not."""
    return record["status"] >= 400 or (record["status"] == 0 and record["verb"] != "WATCH")


def count_warnings(log: Path) -> int:
    """Warning and error lines of a loop's log (the triggers log a failed look as a warning)."""
    if not log.exists():
        return 0
    pattern = re.compile(r"\[\s*(warning|error)\s*\]|\b(WARNING|ERROR)\b")
    with open(log, errors="replace") as lines:
        return sum(1 for line in lines if pattern.search(line))


def job_names(prefix: str, count: int) -> list[str]:
    return [f"{prefix}-{i:05d}" for i in range(count)]


class LoopProcess:
    """
    The triggerer-style loop: N waits in one asyncio loop, talking to the driver by JSON lines.

    stdout: ``{"ready"}`` once start-up is over, ``{"event"}`` per wait that ended, ``{"mark"}`` with the
    window's CPU and memory figures, ``{"done"}``. stdin: ``start`` (the window begins), ``mark`` (it ends),
    ``stop``.

    :param config: ``mode``, ``kind``, ``prefix``, ``count``, ``poll_interval``, ``kubeconfig``,
        ``expected_spec``, ``min_warmup``, ``max_warmup``.
    """

    def __init__(self, config: dict[str, Any], rss_airflow_mb: float) -> None:
        self.config = config
        self.rss_airflow_mb = rss_airflow_mb
        self.events = 0
        self.window: dict[str, float] = {}

    @staticmethod
    def send(message: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    def connection(self) -> dict[str, Any]:
        from airflow_provider_flink.hooks.kubernetes import FlinkKubernetesHook

        hook = FlinkKubernetesHook(kubernetes_conn_id=None, config_dict=self.config["kubeconfig"], namespace=NAMESPACE)
        return hook.get_trigger_connection_kwargs()

    def record(self, name: str, status: str) -> None:
        self.events += 1
        self.send({"event": name, "t": time.time(), "status": status})

    async def trigger_wait(self, name: str, connection: dict[str, Any]) -> None:
        from airflow_provider_flink.triggers.flink import FlinkJobTrigger

        trigger = FlinkJobTrigger(
            kind=self.config["kind"],
            name=name,
            namespace=NAMESPACE,
            connection=connection,
            target="finished",
            expected_spec=self.config["expected_spec"],
            poll_interval=self.config["poll_interval"],
        )
        # The triggerer builds each trigger from its serialized kwargs, as stored in the database.
        _, kwargs = trigger.serialize()
        trigger = FlinkJobTrigger(**kwargs)
        async with contextlib.aclosing(trigger.run()) as events:
            async for event in events:
                self.record(name, event.payload["status"])
                return

    async def baseline_wait(self, name: str, hook: Any) -> None:
        from airflow_provider_flink.state import judge_custom_resource
        from airflow_provider_flink.state.rest import judge_rest
        from airflow_provider_flink.state.waiting import Wait

        wait = Wait("finished")
        while True:
            try:
                if self.config["kind"] == "native":
                    overview = await hook.flink_rest("GET", name, "/jobs/overview", NAMESPACE)
                    verdict = judge_rest(name, overview, namespace=NAMESPACE)
                else:
                    obj = await hook.get_resource(self.config["kind"], name, NAMESPACE)
                    verdict = judge_custom_resource(obj, expected_spec=self.config["expected_spec"])
                event = wait.check(verdict, time.time())
            except Exception as error:  # counted as the trigger's errors are: look again next poke
                self.send({"error": name, "message": str(error)[:300]})
                event = None
            if event is not None:
                self.record(name, event.status)
                return
            await asyncio.sleep(self.config["poll_interval"])

    async def commands(self, tasks: list[asyncio.Task[None]]) -> None:
        while True:
            line = (await asyncio.to_thread(sys.stdin.readline)).strip()
            if line == "start":
                self.window = {"t0": time.time(), "cpu0": time.process_time()}
                self.send({"started": self.window["t0"]})
            elif line == "mark":
                usage = resource.getrusage(resource.RUSAGE_SELF)
                self.send(
                    {
                        "mark": time.time(),
                        "cpu_seconds": time.process_time() - self.window["cpu0"],
                        "wall_seconds": time.time() - self.window["t0"],
                        "peak_rss_mb": usage.ru_maxrss / 1024,
                        "rss_mb": current_rss_mb(),
                        "events": self.events,
                        "pending_tasks": sum(1 for task in tasks if not task.done()),
                    }
                )
            elif line in ("stop", ""):  # "": the driver went away
                return

    async def warm_up(self, started: float) -> dict[str, float]:
        """Wait until start-up is over: the first looks and client set-ups made, the loop's CPU settled."""
        minimum, maximum = self.config["min_warmup"], self.config["max_warmup"]
        first = last = time.process_time()
        while True:
            await asyncio.sleep(1.0)
            now, cpu = time.monotonic() - started, time.process_time()
            rate, last = cpu - last, cpu
            if now >= minimum and (rate < 0.5 or now >= maximum):
                return {"warmup_seconds": now, "warmup_cpu_seconds": cpu - first, "cpu_rate_at_ready": rate}

    async def run(self) -> None:
        from airflow_provider_flink.hooks.kubernetes import AsyncFlinkKubernetesHook
        from airflow_provider_flink.triggers import flink  # noqa: F401 - imported before the baseline RSS

        connection = self.connection()
        names = job_names(self.config["prefix"], self.config["count"])
        rss_before = current_rss_mb()
        started = time.monotonic()
        hook = None
        if self.config["mode"] == "baseline":
            # One client for every poll: the cheapest polling there is.
            hook = AsyncFlinkKubernetesHook(**connection)
            coroutines = [self.baseline_wait(name, hook) for name in names]
        else:
            coroutines = [self.trigger_wait(name, connection) for name in names]
        tasks = [asyncio.ensure_future(coroutine) for coroutine in coroutines]
        ready = await self.warm_up(started)
        self.send(
            {"ready": time.time(), "rss_airflow_mb": self.rss_airflow_mb, "rss_before_waits_mb": rss_before, **ready}
        )
        await self.commands(tasks)
        for task in tasks:
            task.cancel()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 30)
        if hook is not None:
            await hook.close()
        self.send({"done": time.time()})


def loop_main(config_path: str) -> int:
    config = json.loads(Path(config_path).read_text())
    import airflow  # noqa: F401 - what any triggerer holds before the first trigger: the reference RSS

    asyncio.run(LoopProcess(config, current_rss_mb()).run())
    return 0


# ----------------------------------------------------------------------------------------------------
# The driver
# ----------------------------------------------------------------------------------------------------


@dataclass
class RunSettings:
    """What one configuration runs with (see the command-line flags)."""

    case: str
    size: int
    window: float
    poll_interval: float
    fail_fraction: float
    seed: int
    grace: float
    max_warmup: float
    concurrency: int = 32


@dataclass
class RunResult:
    """The figures of one configuration, as written to ``scale.json``."""

    case: str
    kind: str
    mode: str
    size: int
    window_seconds: float = 0.0
    poll_interval: float = 0.0
    setup_seconds: float = 0.0
    warmup_seconds: float = 0.0
    startup_requests_per_wait: float = 0.0
    startup_cpu_seconds: float = 0.0
    loop_requests: int = 0
    requests_by_verb: dict[str, int] = field(default_factory=dict)
    failed_requests: int = 0
    driver_writes: int = 0
    job_minutes: float = 0.0
    requests_per_job_minute: float | None = None
    loop_cpu_seconds: float = 0.0
    cpu_seconds_per_minute: float | None = None
    peak_rss_mb: float = 0.0
    rss_mb_at_window_end: float = 0.0
    rss_airflow_mb: float = 0.0
    rss_before_waits_mb: float = 0.0
    emulator_cpu_seconds_per_minute: float | None = None
    driver_cpu_seconds_per_minute: float | None = None
    load_average: list[float] = field(default_factory=list)
    loop_warnings: int = 0
    rest_requests_served: int = 0
    changes: int = 0
    events: int = 0
    latencies_measured: int = 0
    latency_p50: float | None = None
    latency_p99: float | None = None
    latency_max: float | None = None
    missing_events: int = 0
    early_events: int = 0
    wrong_status_events: int = 0
    loop_errors: int = 0
    notes: list[str] = field(default_factory=list)


class Driver:
    """
    Run one configuration: emulator, objects, loop, state changes over the window, figures.

    :param settings: The configuration.
    :param workdir: A folder for the emulator's kubeconfig and the processes' logs.
    """

    def __init__(self, settings: RunSettings, workdir: Path) -> None:
        self.settings = settings
        self.workdir = workdir
        self.kind, self.mode = CASES[settings.case]
        self.prefix = f"{'nat' if self.kind == 'native' else 'fd'}{settings.size}"
        self.names = job_names(self.prefix, settings.size)
        self.rng = random.Random(settings.seed)
        self.result = RunResult(settings.case, self.kind, self.mode, settings.size)
        self.changes: dict[str, tuple[float, str]] = {}  # name -> (time of the deciding change, expected status)
        self.events: dict[str, tuple[float, str]] = {}
        self.messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.session: Any = None
        self.emulator_url = ""

    # -- API plumbing -----------------------------------------------------------------------------

    async def request(self, method: str, path: str, body: Any = None, content_type: str = "application/json") -> Any:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": content_type} if data is not None else {}
        async with self.session.request(method, self.emulator_url + path, data=data, headers=headers) as response:
            text = await response.text()
            if response.status >= 400:
                raise RuntimeError(f"{method} {path}: HTTP {response.status}: {text[:300]}")
            return json.loads(text) if text else None

    async def bounded(self, jobs: Sequence[Callable[[], Awaitable[Any]]]) -> list[Any]:
        semaphore = asyncio.Semaphore(self.settings.concurrency)

        async def one(job: Callable[[], Awaitable[Any]]) -> Any:
            async with semaphore:
                return await job()

        return await asyncio.gather(*(one(job) for job in jobs))

    # -- setting up the objects -------------------------------------------------------------------

    async def create_deployments(self) -> dict[str, Any]:
        now_ms = int(time.time() * 1000)

        async def create(name: str) -> dict[str, Any]:
            created = await self.request("POST", DEPLOYMENTS_PATH, deployment_body(name))
            job_id = f"{self.rng.getrandbits(128):032x}"
            status = {"status": running_status(created["spec"], job_id, now_ms)}
            await self.request("PATCH", f"{DEPLOYMENTS_PATH}/{name}/status", status, "application/merge-patch+json")
            return created["spec"]

        specs = await self.bounded([lambda name=name: create(name) for name in self.names])
        return specs[0]

    async def create_native_clusters(self, rest: FakeFlinkRest) -> None:
        upstream = f"http://127.0.0.1:{rest.port}"

        async def create(cluster_id: str) -> None:
            deployment, service = native_objects(cluster_id)
            await self.request("POST", f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments", deployment)
            await self.request("POST", f"/api/v1/namespaces/{NAMESPACE}/services", service)
            proxy = {"namespace": NAMESPACE, "service": f"{cluster_id}-rest", "port": "rest"}
            await self.request("POST", "/_emulator/proxies", {**proxy, "upstream_url": f"{upstream}/{cluster_id}"})
            rest.add(cluster_id)

        await self.bounded([lambda cluster_id=cluster_id: create(cluster_id) for cluster_id in self.names])

    # -- the state changes over the window --------------------------------------------------------

    def plan(self, t0: float) -> list[tuple[str, float, float, str]]:
        """Per job: (name, time of a change that decides nothing, time of the deciding change, outcome)."""
        window = self.settings.window
        # Changes stop early enough that a poll-bound wait still sees its change inside the window.
        first, last = 0.05 * window, window - min(self.settings.poll_interval + 3.0, window / 3)
        plan = []
        for name in self.names:
            decide = t0 + self.rng.uniform(first, last)
            outcome = "FAILED" if self.rng.random() < self.settings.fail_fraction else "FINISHED"
            plan.append((name, t0 + self.rng.uniform(first, decide - t0), decide, outcome))
        return plan

    async def change_deployments(self, plan: list[tuple[str, float, float, str]]) -> None:
        semaphore = asyncio.Semaphore(self.settings.concurrency)

        async def write(name: str, at: float, patch_of: Callable[[int], dict[str, Any]], deciding: str = "") -> None:
            await asyncio.sleep(max(0.0, at - time.time()))
            async with semaphore:
                sent = time.time()
                if deciding:
                    # The state is visible to readers from some instant between sending and the answer: the
                    # sending time is the conservative start of the latency.
                    self.changes[name] = (sent, "success" if deciding == "FINISHED" else "failed")
                await self.request(
                    "PATCH",
                    f"{DEPLOYMENTS_PATH}/{name}/status",
                    patch_of(int(sent * 1000)),
                    "application/merge-patch+json",
                )
                self.result.driver_writes += 1

        writes = []
        for name, middle, decide, outcome in plan:
            writes.append(write(name, middle, checkpoint_patch))
            writes.append(write(name, decide, lambda ms, outcome=outcome: terminal_patch(outcome, ms), outcome))
        await asyncio.gather(*writes)

    def change_native(self, plan: list[tuple[str, float, float, str]], rest: FakeFlinkRest) -> None:
        for name, _, decide, outcome in plan:
            rest.add(name, decide, outcome)
            self.changes[name] = (decide, "success" if outcome == "FINISHED" else "failed")

    # -- the loop process -------------------------------------------------------------------------

    async def read_loop_output(self, stdout: asyncio.StreamReader) -> None:
        while line := await stdout.readline():
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if "event" in message:
                self.events.setdefault(message["event"], (message["t"], message["status"]))
            elif "error" in message:
                self.result.loop_errors += 1
            else:
                await self.messages.put(message)
        await self.messages.put({"eof": True})

    async def expect(self, key: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            message = await asyncio.wait_for(self.messages.get(), max(0.1, deadline - time.monotonic()))
            if key in message:
                return message
            if "eof" in message:
                raise RuntimeError(f"the loop process exited before {key!r}; see {self.workdir / 'loop.log'}")

    # -- one run ----------------------------------------------------------------------------------

    async def run(self) -> RunResult:
        import aiohttp

        settings, result = self.settings, self.result
        result.window_seconds, result.poll_interval = settings.window, settings.poll_interval
        with EmulatorProcess(self.workdir) as emulator:
            self.emulator_url = emulator.url
            connector = aiohttp.TCPConnector(limit=settings.concurrency)
            async with aiohttp.ClientSession(connector=connector) as self.session:
                rest = await FakeFlinkRest().start()
                try:
                    await self.run_with(emulator, rest)
                finally:
                    await rest.stop()
                result.rest_requests_served = rest.served
        return result

    async def run_with(self, emulator: EmulatorProcess, rest: FakeFlinkRest) -> None:
        settings, result = self.settings, self.result
        setup_started = time.monotonic()
        spec = await self.create_native_clusters(rest) if self.kind == "native" else await self.create_deployments()
        result.setup_seconds = time.monotonic() - setup_started
        config = {
            "mode": self.mode,
            "kind": self.kind,
            "prefix": self.prefix,
            "count": settings.size,
            "poll_interval": settings.poll_interval,
            "kubeconfig": emulator.kubeconfig_dict(),
            "expected_spec": spec,
            "min_warmup": settings.poll_interval + 2.0,
            "max_warmup": settings.max_warmup,
        }
        config_path = self.workdir / "loop.json"
        config_path.write_text(json.dumps(config))
        with open(self.workdir / "loop.log", "w") as log:
            loop = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "benchmarks.triggerer_scale", "loop", str(config_path),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=log, cwd=ROOT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )  # fmt: skip
        assert loop.stdin is not None and loop.stdout is not None
        reader = asyncio.ensure_future(self.read_loop_output(loop.stdout))
        try:
            await self.measure(loop, emulator, rest)
        finally:
            if loop.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    loop.kill()
            await loop.wait()
            reader.cancel()
            self.result.loop_warnings = count_warnings(self.workdir / "loop.log")

    async def measure(self, loop: asyncio.subprocess.Process, emulator: EmulatorProcess, rest: FakeFlinkRest) -> None:
        settings, result = self.settings, self.result
        assert loop.stdin is not None
        ready = await self.expect("ready", settings.max_warmup + 120)
        result.warmup_seconds = ready["warmup_seconds"]
        result.rss_before_waits_mb = ready["rss_before_waits_mb"]
        result.rss_airflow_mb = ready["rss_airflow_mb"]
        if ready["cpu_rate_at_ready"] >= 0.5:
            result.notes.append(
                f"start-up not over after {ready['warmup_seconds']:.0f} s (loop CPU {ready['cpu_rate_at_ready']:.2f} "
                "core): the window starts anyway"
            )
        early = dict(self.events)
        startup = [r for r in await self.request("GET", "/_emulator/requests") if r["method"] == "GET"]
        result.startup_requests_per_wait = len(startup) / settings.size
        result.startup_cpu_seconds = ready["warmup_cpu_seconds"]
        await self.request("DELETE", "/_emulator/requests")
        loop.stdin.write(b"start\n")
        await loop.stdin.drain()
        t0 = (await self.expect("started", 30))["started"]
        emulator_cpu0, driver_cpu0 = emulator.cpu_seconds(), time.process_time()
        plan = self.plan(t0)
        if self.kind == "native":
            self.change_native(plan, rest)
            changer = None
        else:
            changer = asyncio.ensure_future(self.change_deployments(plan))
        await asyncio.sleep(max(0.0, t0 + settings.window - time.time()))
        loop.stdin.write(b"mark\n")
        await loop.stdin.drain()
        mark = await self.expect("mark", 60)
        emulator_cpu1, driver_cpu1 = emulator.cpu_seconds(), time.process_time()
        # Other work on the machine competes for the same cores: recorded, to read the figures by.
        result.load_average = [round(value, 2) for value in os.getloadavg()]
        in_window = await self.request("GET", "/_emulator/requests")
        t1 = mark["mark"]
        # Late events (a saturated emulator, a slow poll) are still awaited, but no longer measured for cost.
        grace_end = time.time() + settings.grace
        while len(self.events) < settings.size and time.time() < grace_end:
            await asyncio.sleep(0.25)
        if changer is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(changer, 60)
        loop.stdin.write(b"stop\n")
        await loop.stdin.drain()
        with contextlib.suppress(asyncio.TimeoutError, RuntimeError):
            await self.expect("done", 60)
        await asyncio.wait_for(loop.wait(), 30)
        if self.mode == "trigger" and self.kind != "native":
            # The emulator records a watch when its stream ends; it notices a closed client within 5 s.
            await asyncio.sleep(6.0)
        everything = await self.request("GET", "/_emulator/requests")
        self.figures(t0, t1, mark, in_window, everything[len(in_window) :], early)
        if emulator_cpu0 is not None and emulator_cpu1 is not None:
            result.emulator_cpu_seconds_per_minute = (emulator_cpu1 - emulator_cpu0) / (t1 - t0) * 60
        # The driver's CPU is the fake Flink REST server's and the status writer's.
        result.driver_cpu_seconds_per_minute = (driver_cpu1 - driver_cpu0) / (t1 - t0) * 60

    def figures(
        self,
        t0: float,
        t1: float,
        mark: dict[str, Any],
        in_window: list[dict[str, Any]],
        after_window: list[dict[str, Any]],
        early: dict[str, tuple[float, str]],
    ) -> None:
        result = self.result
        minutes = (t1 - t0) / 60
        # The loop only reads; the driver only writes. A watch open at the window's end is one request of the
        # window even though the emulator records it when it closes.
        loop_records = [r for r in in_window if r["method"] == "GET"]
        loop_records += [r for r in after_window if r["verb"] == "WATCH"]
        verbs = Counter("PROXY" if "/proxy/" in r["path"] else r["verb"] for r in loop_records)
        result.requests_by_verb = dict(sorted(verbs.items()))
        result.loop_requests = len(loop_records)
        result.failed_requests = sum(1 for r in loop_records if failed(r))
        result.job_minutes = sum(max(0.0, min(self.events.get(name, (t1, ""))[0], t1) - t0) / 60 for name in self.names)
        if result.job_minutes:
            result.requests_per_job_minute = result.loop_requests / result.job_minutes
        result.loop_cpu_seconds = mark["cpu_seconds"]
        result.cpu_seconds_per_minute = mark["cpu_seconds"] / minutes
        result.peak_rss_mb = mark["peak_rss_mb"]
        result.rss_mb_at_window_end = mark["rss_mb"]
        result.changes = len(self.changes)
        result.events = len(self.events)
        latencies = []
        for name, (changed, expected) in self.changes.items():
            if name in early or name not in self.events:
                continue
            at, status = self.events[name]
            if at < changed:
                result.early_events += 1
            elif status != expected:
                result.wrong_status_events += 1
            else:
                latencies.append(at - changed)
        result.early_events += len(early)
        result.missing_events = sum(1 for name in self.names if name not in self.events)
        result.latencies_measured = len(latencies)
        result.latency_p50 = percentile(latencies, 0.50)
        result.latency_p99 = percentile(latencies, 0.99)
        result.latency_max = max(latencies) if latencies else None
        if result.missing_events:
            result.notes.append(
                f"{result.missing_events} waits had no event {self.settings.grace:.0f} s after the window"
            )
        if result.early_events:
            result.notes.append(f"{result.early_events} events came before their job's deciding change")


def keep_logs(workdir: Path, logs: Path, stem: str) -> None:
    """Keep the loop's and the emulator's logs of a run (the rest of its folder goes)."""
    logs.mkdir(exist_ok=True)
    for name in ("loop.log", "emulator.log"):
        if (workdir / name).exists():
            shutil.copyfile(workdir / name, logs / f"{stem}.{name}")


async def run_case(settings: RunSettings, workdir: Path) -> RunResult:
    return await Driver(settings, workdir).run()


def summary_rows(results: Sequence[RunResult]) -> list[list[str]]:
    def number(value: float | None, digits: int = 2) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    return [
        [
            r.case,
            str(r.size),
            number(r.requests_per_job_minute, 3),
            number(r.cpu_seconds_per_minute),
            number(r.peak_rss_mb, 0),
            number(r.latency_p50, 3),
            number(r.latency_p99, 3),
            f"{r.events}/{r.size}",
            number(r.emulator_cpu_seconds_per_minute, 1),
        ]
        for r in results
    ]


SUMMARY_HEADERS = [
    "case", "N", "API req/job/min", "loop CPU s/min", "peak RSS MB", "p50 s", "p99 s", "events", "emulator CPU s/min",
]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["loop"]:
        return loop_main(argv[1])
    from benchmarks.report import markdown_table

    parser = argparse.ArgumentParser(prog="python -m benchmarks.triggerer_scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "build" / "benchmarks"), help="output folder (scale.json)")
    parser.add_argument("--quick", action="store_true", help="small run: N = 50, 200 and a 30 s window")
    parser.add_argument("--sizes", help="comma-separated N values (default 100,1000,5000)")
    parser.add_argument("--cases", default=",".join(DEFAULT_CASES), help=f"comma-separated, of {', '.join(CASES)}")
    parser.add_argument("--window", type=float, help="measurement window in seconds (default 45)")
    parser.add_argument("--poll-interval", type=float, default=10.0, help="poll interval of triggers and baseline")
    parser.add_argument("--fail-fraction", type=float, default=0.1, help="share of jobs that end FAILED")
    parser.add_argument("--grace", type=float, help="seconds to await late events after the window (default 20)")
    parser.add_argument("--max-warmup", type=float, default=60.0, help="cap on the start-up phase, seconds")
    parser.add_argument("--seed", type=int, default=7, help="seed of the change times and outcomes")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in (args.sizes or ("50,200" if args.quick else "100,1000,5000")).split(",")]
    window = args.window or (30.0 if args.quick else 45.0)
    grace = args.grace if args.grace is not None else (15.0 if args.quick else 20.0)
    cases = [case.strip() for case in args.cases.split(",") if case.strip()]
    for case in cases:
        if case not in CASES:
            parser.error(f"unknown case {case!r}")
    check_statuses_are_judged_as_intended()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    results: list[RunResult] = []
    started = time.time()
    for size in sizes:
        for case in cases:
            settings = RunSettings(
                case, size, window, args.poll_interval, args.fail_fraction, args.seed, grace, args.max_warmup
            )
            print(f"--- {case} N={size} (window {window:.0f} s, poll {args.poll_interval:g} s)", flush=True)
            with tempfile.TemporaryDirectory(prefix=f"scale-{case}-{size}-", dir=out) as workdir:
                try:
                    result = asyncio.run(run_case(settings, Path(workdir)))
                except Exception as error:  # one broken configuration must not hide the others' figures
                    kind, mode = CASES[case]
                    result = RunResult(case, kind, mode, size, notes=[f"run failed: {type(error).__name__}: {error}"])
                    for log in ("loop.log", "emulator.log"):
                        path = Path(workdir) / log
                        if path.exists():
                            tail = path.read_text(errors="replace").splitlines()[-15:]
                            print(f"{log} (last lines):\n" + "\n".join(tail), file=sys.stderr)
                keep_logs(Path(workdir), out / "logs", f"{case}-{size}")
            if result.loop_warnings or result.loop_errors:
                result.notes.append(
                    f"{result.loop_warnings} warnings and {result.loop_errors} failed baseline looks in the loop "
                    f"(logs/{case}-{size}.loop.log)"
                )
            results.append(result)
            print(markdown_table(SUMMARY_HEADERS, summary_rows([result])), flush=True)
            for note in result.notes:
                print(f"note: {note}", flush=True)
    document = {
        "settings": {
            "sizes": sizes,
            "cases": cases,
            "window_seconds": window,
            "poll_interval": args.poll_interval,
            "fail_fraction": args.fail_fraction,
            "grace_seconds": grace,
            "seed": args.seed,
            "quick": args.quick,
            "wall_seconds": time.time() - started,
        },
        "runs": [asdict(r) for r in results],
    }
    (out / "scale.json").write_text(json.dumps(document, indent=1))
    print("\n" + markdown_table(SUMMARY_HEADERS, summary_rows(results)))
    print(f"\nwritten: {out / 'scale.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
