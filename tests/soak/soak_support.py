"""
Running the soak's lifecycles in real Airflow against the emulator, and counting what they leave behind.

Lifecycles without a worker kill run several to a DAG, in one ``dag.test()`` (tasks run one after another; one run
per lifecycle would spend most of the soak starting DAG runs). A lifecycle with a worker kill runs alone, the way
``tests/operators/test_worker_crash.py`` does it: its DAG runs in a subprocess that is SIGKILLed mid-wait, then the
retry runs with ``airflow tasks test`` on the same DAG run.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from airflow_support import (
    _latest_task_instances,
    airflow_3,
    ensure_airflow_db,
    new_dag,
    run_dag,
    start_dag_in_subprocess,
    xcom_of,
)
from soak_plan import (
    DEPLOYMENT,
    FAULT_KINDS,
    FAULT_TRIGGERER_RESTART,
    FAULT_WORKER_KILL,
    NATIVE,
    Lifecycle,
    SoakSecrets,
)

from airflow_provider_flink.testing.kube_emulator import KubeEmulator

#: Pacing of the simulated Flink operator: a batch job's whole lifecycle takes about a second.
OPERATOR_STEP_SECONDS = 0.1
#: Lifecycles when FLINK_SOAK_LIFECYCLES is unset: the CI size (about 2 minutes per Airflow version here).
DEFAULT_LIFECYCLES = 10
#: Lifecycles per DAG run.
BATCH_SIZE = 10
#: A lifecycle that hangs (a wait that never ends) fails its task instead of stalling the soak.
TASK_TIMEOUT = timedelta(minutes=3)
#: Steps a batch job runs when its worker is to be killed: long enough to kill it while it runs.
KILL_RUNNING_STEPS = "40"
#: Pacing of a job the triggerer restarts under: slow enough for the restarts to come mid-wait, even while a
#: streaming job or a failing JobManager is still starting.
RESTART_STEP_SECONDS = "0.3"

NATIVE_IMAGE = "flink:2.3.0-java17"
NATIVE_JAR_URI = "local:///opt/flink/usrlib/testjobs.jar"
NATIVE_ENTRY_CLASS = "airflowtest.TestJobs"
#: The CLI's JVM starts faster this way, and fails at once instead of retrying when the API server says no.
NATIVE_CLI_ENV = {"JVM_ARGS": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Dkubernetes.request.retry.backoffLimit=0"}

#: What a lifecycle may leave in its namespace, and what counts as left over.
LEFTOVER_KINDS = (
    ("flink.apache.org", "v1beta1", "flinkdeployments"),
    ("apps", "v1", "deployments"),
    ("", "v1", "services"),
    ("", "v1", "configmaps"),
    ("", "v1", "pods"),
)
RUN_ID_LABEL = "airflow.apache.org/run_id"

#: ``dag_id.task_id`` to the exception a task failed with, written by :func:`record_failure`.
FAILURES: dict[str, str] = {}


def record_failure(context: Any) -> None:
    """``on_failure_callback`` of every soak task: what Airflow reports as the task's failure."""
    ti = context["ti"]
    FAILURES[f"{ti.dag_id}.{ti.task_id}"] = str(context.get("exception"))


# -- the operators ---------------------------------------------------------------------------------------------


def operator_spec(lifecycle: Lifecycle, secrets: SoakSecrets) -> tuple[str, str, dict[str, Any]]:
    """
    The operator of a lifecycle as (module, class, JSON-able keyword arguments), for this process and DAG files.

    :param lifecycle: The lifecycle.
    :param secrets: The values to hide; each goes where the provider claims to keep it out of logs.
    """
    common: dict[str, Any] = {"namespace": lifecycle.namespace, "deferrable": lifecycle.deferrable}
    if lifecycle.kind == DEPLOYMENT:
        annotations = {
            "flink-simulator/scenario": lifecycle.scenario,
            # The job's exception, or the image pull message of jm-error: the failure must quote it.
            "flink-simulator/failure-message": f"java.io.IOException: {lifecycle.marker}",
        }
        if lifecycle.worker_kill:
            annotations["flink-simulator/running-steps"] = KILL_RUNNING_STEPS
        elif lifecycle.restart_delays:
            annotations["flink-simulator/step-seconds"] = RESTART_STEP_SECONDS
        configuration = {"s3.secret-key": secrets.deployment_conf_secret}
        if lifecycle.scenario != "streaming":
            configuration["execution.runtime-mode"] = "BATCH"
        kwargs = {
            **common,
            "name": lifecycle.name,
            "image": "flink:2.0",
            "flink_version": "v2_0",
            "jar_uri": "local:///opt/flink/examples/streaming/WordCount.jar",
            "entry_class": "org.apache.flink.streaming.examples.wordcount.WordCount",
            "flink_configuration": configuration,
            "annotations": annotations,
            "wait_for": "running" if lifecycle.scenario == "streaming" else "finished",
            "poll_interval": 0.2,
            "startup_timeout": 120,
            "delete_timeout": 60,
        }
        if lifecycle.cleanup:
            kwargs["delete_on"] = lifecycle.cleanup
        return "airflow_provider_flink.operators.flink_deployment", "FlinkDeploymentOperator", kwargs
    kwargs = {
        **common,
        "image": NATIVE_IMAGE,
        "jar_uri": NATIVE_JAR_URI,
        "entry_class": NATIVE_ENTRY_CLASS,
        "args": [lifecycle.scenario],
        "flink_version": "2.3.0",
        "cli_env": NATIVE_CLI_ENV,
        "flink_conf": {
            "s3.secret-key": secrets.native_conf_secret,
            "security.ssl.rest.truststore-password": secrets.native_conf_password,
        },
        "wait_for": "finished",
        "poll_interval": 0.3,
        "startup_timeout": 120,
        "submit_timeout": 120,
        "delete_timeout": 60,
        "cleanup": lifecycle.cleanup or "always",
    }
    return "airflow_provider_flink.operators.flink_native", "FlinkNativeSubmitOperator", kwargs


def build_operator(lifecycle: Lifecycle, secrets: SoakSecrets) -> Any:
    """Instantiate the lifecycle's operator in the current DAG context."""
    module, cls, kwargs = operator_spec(lifecycle, secrets)
    operator_class = getattr(importlib.import_module(module), cls)
    return operator_class(
        task_id=lifecycle.task_id,
        retries=lifecycle.retries,
        retry_delay=timedelta(seconds=0),
        execution_timeout=TASK_TIMEOUT,
        on_failure_callback=record_failure,
        **kwargs,
    )


KILL_DAG_SOURCE = """
import json
from datetime import timedelta

import pendulum
from {module} import {cls}

try:
    from airflow.sdk import DAG
except ImportError:
    from airflow import DAG

with DAG({dag_id!r}, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), schedule=None) as dag:
    {cls}(task_id={task_id!r}, execution_timeout=timedelta(seconds={timeout}), **json.loads({kwargs!r}))
"""


# -- triggerer restarts ----------------------------------------------------------------------------------------


@contextlib.contextmanager
def restarting_triggerer(delays_by_namespace: dict[str, list[float]]) -> Iterator[dict[str, int]]:
    """
    Restart the triggerer under the deferred tasks of ``dag.test()`` whose trigger waits in a given namespace.

    ``dag.test()`` runs a deferred task's trigger in line through the module function ``_run_inline_trigger``
    (``airflow.sdk.definitions.dag`` on Airflow 3, ``airflow.models.dag`` on Airflow 2). This wraps it: the trigger
    runs for the first delay, then is cancelled as a stopping triggerer cancels its triggers (the coroutine gets
    ``CancelledError``, then ``cleanup()`` runs), and a new trigger is built from ``serialize()`` (through JSON, as
    the triggerer gets it from the database) and run the same way, until the delays are used; the last one runs to
    its event through Airflow's own function. A trigger that fires before a restart simply returns its event.

    :param delays_by_namespace: Seconds each life lasts, by the namespace of the trigger's resource.
    :return: Restarts done, by namespace (filled while the context is open).
    """
    module: Any = importlib.import_module("airflow.sdk.definitions.dag" if airflow_3() else "airflow.models.dag")
    original = module._run_inline_trigger
    restarts: dict[str, int] = {}

    def run_inline_trigger(trigger: Any, *args: Any) -> Any:
        namespace = getattr(trigger, "namespace", None)
        for delay in delays_by_namespace.get(namespace or "", []):
            event = asyncio.run(_live_until_restart(trigger, delay))
            if event is not None:
                return event
            restarts[namespace or ""] = restarts.get(namespace or "", 0) + 1
            trigger = _rebuilt(trigger)
        return original(trigger, *args)

    module._run_inline_trigger = run_inline_trigger
    try:
        yield restarts
    finally:
        module._run_inline_trigger = original


async def _live_until_restart(trigger: Any, delay: float) -> Any:
    """Run ``trigger`` for ``delay`` seconds; its event if it fired, else ``None`` once it is cancelled."""
    events: AsyncIterator[Any] = trigger.run()

    async def first_event() -> Any:
        return await anext(events, None)

    task = asyncio.ensure_future(first_event())
    done, _ = await asyncio.wait({task}, timeout=delay)
    if task in done:
        with contextlib.suppress(Exception):
            await events.aclose()  # type: ignore[attr-defined]
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await trigger.cleanup()
    return None


def _rebuilt(trigger: Any) -> Any:
    classpath, kwargs = trigger.serialize()
    module, _, name = classpath.rpartition(".")
    return getattr(importlib.import_module(module), name)(**json.loads(json.dumps(kwargs)))


# -- results ---------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """
    How one lifecycle ended, judged against its plan.

    :param lifecycle: The lifecycle.
    :param state: The task's final state as Airflow reports it.
    :param detail: The XCom job state on success, Airflow's failure text otherwise.
    :param problems: Why the verdict is wrong (empty: correct).
    :param creates: Successful creations of the job's resource.
    :param orphans: Objects left in its namespace that its cleanup rules say should be gone.
    :param fired: Fault kinds that actually struck it.
    """

    lifecycle: Lifecycle
    state: str
    detail: str
    problems: list[str]
    creates: int
    orphans: list[str]
    fired: set[str] = field(default_factory=set)

    @property
    def correct(self) -> bool:
        return not self.problems

    @property
    def duplicates(self) -> int:
        return max(0, self.creates - self.lifecycle.allowed_creates)


def judge_verdict(lifecycle: Lifecycle, state: str, detail: str) -> list[str]:
    """What is wrong with a lifecycle's final state and message; empty when it is the expected one."""
    expected = "success" if lifecycle.expects_success else "failed"
    shown = _excerpt(detail)
    if state != expected:
        return [f"task ended {state}, expected {expected}: {shown}"]
    if lifecycle.expected_state and lifecycle.expected_state not in detail:
        return [f"task succeeded with job state {detail!r}, expected {lifecycle.expected_state}"]
    if lifecycle.expected_error and lifecycle.expected_error not in detail:
        return [f"the failure does not quote the Flink error {lifecycle.expected_error!r}: {shown}"]
    return []


def _excerpt(detail: str) -> str:
    """A long detail (a retry's whole output) cut to its last traceback, or to its end: where the failure is."""
    if len(detail) <= 1500:
        return detail
    start = detail.rfind("Traceback (most recent call last)")
    if start >= 0:
        return detail[start : start + 6000]
    return f"...{detail[-1500:]}"


# -- the runner ------------------------------------------------------------------------------------------------


class SoakRunner:
    """
    Run lifecycles against the emulator and the simulators, and judge each one.

    :param emulator: The API emulator (shared by both simulators).
    :param secrets: The secret values of the soak.
    :param work_dir: A private folder (DAG files of the worker-kill lifecycles).
    :param read_output: Returns, and forgets, what this process and its children wrote to stdout/stderr since the
        last call (``capfd.readouterr`` joined).
    """

    def __init__(
        self, emulator: KubeEmulator, secrets: SoakSecrets, work_dir: Path, read_output: Callable[[], str]
    ) -> None:
        from kubernetes import client, config

        self.emulator = emulator
        self.secrets = secrets
        self.work_dir = work_dir
        self.read_output = read_output
        self.outcomes: list[Outcome] = []
        #: Seconds spent per way of running: ``dag.test`` batches and worker-kill lifecycles.
        self.seconds: dict[str, float] = {"batches": 0.0, "worker kills": 0.0}
        #: (source, text) of every log the soak produced, for the secret scan.
        self.logs: list[tuple[str, str]] = []
        self._api = config.new_client_from_config_dict(emulator.kubeconfig_dict())
        self._custom = client.CustomObjectsApi(self._api)
        self._apps = client.AppsV1Api(self._api)
        self._core = client.CoreV1Api(self._api)
        # Before any worker subprocess: they share this session's metadata database.
        ensure_airflow_db()

    def close(self) -> None:
        self._api.close()

    def run(self, plan: list[Lifecycle]) -> None:
        """Run every lifecycle of ``plan``: worker kills alone, the others in DAGs of :data:`BATCH_SIZE`."""
        batch: list[Lifecycle] = []
        for lifecycle in plan:
            if lifecycle.worker_kill:
                self._timed("worker kills", self._run_with_worker_kill, lifecycle)
            else:
                batch.append(lifecycle)
                if len(batch) == BATCH_SIZE:
                    self._timed("batches", self._run_batch, batch)
                    batch = []
        if batch:
            self._timed("batches", self._run_batch, batch)

    def _timed(self, what: str, run: Callable[[Any], None], argument: Any) -> None:
        started = time.monotonic()
        try:
            run(argument)
        finally:
            self.seconds[what] += time.monotonic() - started

    # -- in one dag.test() ------------------------------------------------------------------------------------

    def _run_batch(self, batch: list[Lifecycle]) -> None:
        with new_dag() as dag:
            for lifecycle in batch:
                build_operator(lifecycle, self.secrets)
        self._arm(batch)
        delays = {lc.namespace: lc.restart_delays for lc in batch if lc.restart_delays}
        with restarting_triggerer(delays) as restarts:
            states = run_dag(dag)
        self.logs.append((f"dag.test of {dag.dag_id}", self.read_output()))
        for lifecycle in batch:
            state = states.get(lifecycle.task_id, "missing")
            if state == "success":
                detail = str((xcom_of(dag, lifecycle.task_id) or {}).get("state"))
            else:
                detail = FAILURES.get(f"{dag.dag_id}.{lifecycle.task_id}", "(no failure recorded)")
            fired = {FAULT_TRIGGERER_RESTART} if restarts.get(lifecycle.namespace) else set()
            self._settle(lifecycle, state, detail, fired)
        self._disarm()

    # -- with a worker kill -----------------------------------------------------------------------------------

    def _run_with_worker_kill(self, lifecycle: Lifecycle) -> None:
        dag_id = f"soak_kill_{lifecycle.index:04d}_{uuid.uuid4().hex[:8]}"
        folder = self.work_dir / dag_id
        folder.mkdir(parents=True)
        module, cls, kwargs = operator_spec(lifecycle, self.secrets)
        dag_file = folder / "soak_kill_dag.py"
        dag_file.write_text(
            KILL_DAG_SOURCE.format(
                module=module,
                cls=cls,
                dag_id=dag_id,
                task_id=lifecycle.task_id,
                timeout=int(TASK_TIMEOUT.total_seconds()),
                kwargs=json.dumps(kwargs),
            )
        )
        env = {**os.environ, "AIRFLOW__CORE__DAGS_FOLDER": str(folder)}
        self._arm([lifecycle])
        worker = start_dag_in_subprocess(dag_file, env)
        killed = False
        try:
            deadline = time.monotonic() + TASK_TIMEOUT.total_seconds()
            while worker.poll() is None and time.monotonic() < deadline and not self._kill_point(lifecycle):
                time.sleep(0.05)
        finally:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)  # the worker dies without any cleanup
                killed = True
            worker.wait()
        first_try = self.read_output()
        self.logs.append((f"killed worker of {dag_id}", first_try))
        instances = {ti.task_id: ti for ti in _latest_task_instances(dag_id)}
        if lifecycle.task_id not in instances:
            self._settle(lifecycle, "missing", f"the DAG run never started:\n{first_try[-2000:]}", set())
            self._disarm()
            return
        run_id = instances[lifecycle.task_id].run_id
        if not killed:
            # The task ended before the kill point was seen: no retry happens then, as in a real deployment.
            state = str(instances[lifecycle.task_id].state)
            self._settle(lifecycle, state, self._kill_detail(dag_id, lifecycle, state, first_try), set())
            self._disarm()
            return
        airflow = os.path.join(os.path.dirname(sys.executable), "airflow")
        retry = subprocess.run(
            [airflow, "tasks", "test", dag_id, lifecycle.task_id, run_id],
            env=env,
            capture_output=True,
            text=True,
            timeout=TASK_TIMEOUT.total_seconds() + 120,
        )
        output = retry.stdout + retry.stderr + self.read_output()
        self.logs.append((f"retry (airflow tasks test) of {dag_id}", output))
        if airflow_3():
            # Airflow 3's `tasks test` records the task's state and exits 0 even when the task failed.
            instances = {ti.task_id: ti for ti in _latest_task_instances(dag_id)}
            state = str(instances[lifecycle.task_id].state)
        else:
            # Airflow 2's runs in test mode, which records nothing; it exits non-zero when the task failed.
            state = "success" if retry.returncode == 0 else "failed"
        self._settle(lifecycle, state, self._kill_detail(dag_id, lifecycle, state, output), {FAULT_WORKER_KILL})
        self._disarm()

    def _kill_point(self, lifecycle: Lifecycle) -> bool:
        ns = lifecycle.namespace
        if lifecycle.kind == DEPLOYMENT:
            obj = self.emulator.get_object("flink.apache.org", "v1beta1", "flinkdeployments", ns, lifecycle.name)
            status = (obj or {}).get("status") or {}
            job_state = (status.get("jobStatus") or {}).get("state")
            return job_state in ("RUNNING", "FAILED", "FINISHED") or status.get("jobManagerDeploymentStatus") == "ERROR"
        if lifecycle.kill_point == "submitted":
            # The CLI writes the ConfigMap last: the cluster is complete, the task has not labelled it yet.
            return any(
                cm["metadata"]["name"].startswith("flink-config-")
                for cm in self.emulator.list_objects("", "v1", "configmaps", ns)
            )
        return any(
            RUN_ID_LABEL in (d["metadata"].get("labels") or {})
            for d in self.emulator.list_objects("apps", "v1", "deployments", ns)
        )

    @staticmethod
    def _kill_detail(dag_id: str, lifecycle: Lifecycle, state: str, output: str) -> str:
        """The job state from the XCom on success; else the retry's output, which holds the failure."""
        if state == "success":
            result = xcom_of(SimpleNamespace(dag_id=dag_id), lifecycle.task_id) or {}
            return str(result.get("state"))
        return output

    # -- faults, accounting, housekeeping ---------------------------------------------------------------------

    def _arm(self, lifecycles: list[Lifecycle]) -> None:
        for lifecycle in lifecycles:
            for _, fault in lifecycle.kube_faults:
                self.emulator.add_fault(fault)

    def _disarm(self) -> None:
        self.emulator.clear_faults()
        # Every lifecycle so far is accounted for; keep the record small for the next ones.
        self.emulator.clear_requests()

    def _settle(self, lifecycle: Lifecycle, state: str, detail: str, fired: set[str]) -> None:
        fired |= {kind for kind, fault in lifecycle.kube_faults if fault.hits}
        problems = judge_verdict(lifecycle, state, detail)
        orphans, missing = self._leftovers(lifecycle)
        if missing:
            problems.append(f"its {missing} was deleted although the cleanup rules keep it")
        outcome = Outcome(lifecycle, state, detail, problems, self._creates(lifecycle), orphans, fired)
        self.outcomes.append(outcome)
        self._clean_up_kept(lifecycle)

    def _creates(self, lifecycle: Lifecycle) -> int:
        plural = "flinkdeployments" if lifecycle.kind == DEPLOYMENT else "deployments"
        collection = f"/namespaces/{lifecycle.namespace}/{plural}"
        return sum(
            1
            for r in self.emulator.requests
            if r.verb == "POST" and r.path.endswith(collection) and 200 <= r.status < 300
        )

    def _leftovers(self, lifecycle: Lifecycle) -> tuple[list[str], str | None]:
        """Objects in the lifecycle's namespace that should be gone, and the kept resource if it is missing."""
        found = [
            (plural, obj["metadata"]["name"])
            for group, version, plural in LEFTOVER_KINDS
            for obj in self.emulator.list_objects(group, version, plural, lifecycle.namespace)
        ]
        top_plural = "flinkdeployments" if lifecycle.kind == DEPLOYMENT else "deployments"
        tops = [name for plural, name in found if plural == top_plural]
        if not lifecycle.expects_kept:
            return [f"{plural}/{name}" for plural, name in found], None
        if lifecycle.kind == DEPLOYMENT:
            keeper: str | None = lifecycle.name
        else:
            keeper = tops[0] if tops else None  # the cluster id is derived by the operator
        missing = None if keeper in tops else f"{top_plural[:-1]} {keeper or '(native cluster)'}"
        # What belongs to the kept job carries its name (pods, services and ConfigMaps of the cluster).
        orphans = [
            f"{plural}/{name}"
            for plural, name in found
            if keeper is None or keeper not in name or (plural == top_plural and name != keeper)
        ]
        return orphans, missing

    def _clean_up_kept(self, lifecycle: Lifecycle) -> None:
        """Delete what the lifecycle rightly kept: running streaming jobs would load the simulator for nothing."""
        ns = lifecycle.namespace
        with contextlib.suppress(Exception):
            for obj in self.emulator.list_objects("flink.apache.org", "v1beta1", "flinkdeployments", ns):
                self._custom.delete_namespaced_custom_object(
                    "flink.apache.org", "v1beta1", ns, "flinkdeployments", obj["metadata"]["name"]
                )
            for obj in self.emulator.list_objects("apps", "v1", "deployments", ns):
                self._apps.delete_namespaced_deployment(obj["metadata"]["name"], ns, propagation_policy="Foreground")
            for obj in self.emulator.list_objects("", "v1", "configmaps", ns):
                self._core.delete_namespaced_config_map(obj["metadata"]["name"], ns)


# -- the report ------------------------------------------------------------------------------------------------


def scan_for_secrets(logs: list[tuple[str, str]], secrets: SoakSecrets) -> tuple[int, list[str]]:
    """
    Count the raw secret values in the logs.

    :return: The total, and where each was found (the line, with the value replaced by its name).
    """
    total = 0
    where: list[str] = []
    for source, text in logs:
        for name, value in secrets.values().items():
            found = text.count(value)
            if not found:
                continue
            total += found
            line = next(line for line in text.splitlines() if value in line)
            where.append(f"{name} x{found} in {source}: {line.replace(value, f'<{name}>')[:500]}")
    return total, where


#: How the native submission log shows a masked option: seen at least once, it proves the scan reads those logs.
MASKED_OPTION = "-Ds3.secret-key=***"


def masked_mentions(logs: list[tuple[str, str]]) -> int:
    """Occurrences of :data:`MASKED_OPTION`: zero while native jobs were submitted means the scan is blind."""
    return sum(text.count(MASKED_OPTION) for _, text in logs)


def airflow_log_files(since: float) -> list[tuple[str, str]]:
    """Airflow's own log files (task logs, triggerer, processors) written since ``since``, as (path, text)."""
    home = Path(os.environ.get("AIRFLOW_HOME", "~/airflow")).expanduser()
    files = []
    for path in home.rglob("*"):
        if path.is_file() and path.suffix in (".log", ".json", "") and "logs" in path.parts:
            with contextlib.suppress(OSError):
                if path.stat().st_mtime >= since:
                    files.append((str(path), path.read_text(errors="replace")))
    return files


@dataclass
class SoakReport:
    """
    The soak's figures, and the targets it is held to.

    :param seed: The plan's seed.
    :param outcomes: One per lifecycle.
    :param wall_seconds: Duration of the whole soak.
    :param secret_leaks: Occurrences of the raw secret values in the logs.
    :param leak_places: Where they were found.
    :param seconds: Time spent per way of running lifecycles.
    :param masked: Occurrences of the masked option in the logs (see :data:`MASKED_OPTION`).
    """

    seed: int
    outcomes: list[Outcome]
    wall_seconds: float
    secret_leaks: int
    leak_places: list[str]
    seconds: dict[str, float] = field(default_factory=dict)
    masked: int = 0

    @property
    def correct(self) -> int:
        return sum(1 for outcome in self.outcomes if outcome.correct)

    @property
    def orphans(self) -> int:
        return sum(len(outcome.orphans) for outcome in self.outcomes)

    @property
    def duplicates(self) -> int:
        return sum(outcome.duplicates for outcome in self.outcomes)

    def fault_counts(self, fired: bool = False) -> dict[str, int]:
        counts = dict.fromkeys(FAULT_KINDS, 0)
        for outcome in self.outcomes:
            for kind in outcome.fired if fired else outcome.lifecycle.faults:
                counts[kind] += 1
        return counts

    def to_json(self) -> dict[str, Any]:
        """The benchmark's ``soak.json``."""
        return {
            "lifecycles": len(self.outcomes),
            "correct": self.correct,
            "orphans": self.orphans,
            "duplicates": self.duplicates,
            "secret_leaks": self.secret_leaks,
            "faults": self.fault_counts(),
            "faults_fired": self.fault_counts(fired=True),
            "seed": self.seed,
            "wall_seconds": round(self.wall_seconds, 1),
        }

    def failures(self) -> dict[str, list[str]]:
        """Everything that misses a target, by target (empty lists when the soak is clean)."""
        return {
            "wrong_verdicts": [
                f"{o.lifecycle.describe()}: {'; '.join(o.problems)}" for o in self.outcomes if o.problems
            ],
            "orphans": [f"{o.lifecycle.describe()}: {', '.join(o.orphans)}" for o in self.outcomes if o.orphans],
            "duplicates": [
                f"{o.lifecycle.describe()}: {o.creates} creations, at most {o.lifecycle.allowed_creates} allowed"
                for o in self.outcomes
                if o.duplicates
            ],
            "secret_leaks": self.leak_places + self._blind_scan(),
        }

    def _blind_scan(self) -> list[str]:
        natives = sum(1 for outcome in self.outcomes if outcome.lifecycle.kind == NATIVE)
        if natives and not self.masked:
            return [f"no log shows {MASKED_OPTION!r} although {natives} native jobs were submitted: the scan is blind"]
        return []

    def table(self) -> str:
        """A summary for people: per kind and scenario, per fault, and the targets."""
        rows: dict[str, list[int]] = {}
        for outcome in self.outcomes:
            lifecycle = outcome.lifecycle
            key = f"{lifecycle.kind}/{lifecycle.scenario} {'deferrable' if lifecycle.deferrable else 'sync'}"
            row = rows.setdefault(key, [0, 0, 0, 0])
            row[0] += 1
            row[1] += outcome.correct
            row[2] += len(outcome.orphans)
            row[3] += outcome.duplicates
        lines = [
            f"Flink provider reliability soak: seed {self.seed}, {len(self.outcomes)} lifecycles, "
            f"{self.wall_seconds:.0f} s",
            f"{'lifecycle':<34}{'runs':>6}{'correct':>9}{'orphans':>9}{'dupes':>7}",
        ]
        for key in sorted(rows):
            runs, correct, orphans, duplicates = rows[key]
            lines.append(f"{key:<34}{runs:>6}{correct:>9}{orphans:>9}{duplicates:>7}")
        lines.append(f"{'fault':<34}{'drawn':>6}{'fired':>9}")
        drawn, fired = self.fault_counts(), self.fault_counts(fired=True)
        for kind in FAULT_KINDS:
            lines.append(f"{kind:<34}{drawn[kind]:>6}{fired[kind]:>9}")
        lines.append("time: " + ", ".join(f"{what} {seconds:.0f} s" for what, seconds in self.seconds.items()))
        lines.append(
            f"correct {self.correct}/{len(self.outcomes)} (target all), orphans {self.orphans} (target 0), "
            f"duplicates {self.duplicates} (target 0), secret leaks {self.secret_leaks} (target 0; masked values "
            f"seen {self.masked})"
        )
        return "\n".join(lines)


def soak_timeout() -> int:
    """
    pytest-timeout budget of the soak, in seconds: generous per lifecycle (the project's default of 300 s per test
    would end a 200-lifecycle soak), so that only a hang trips it.
    """
    count = int(os.environ.get("FLINK_SOAK_LIFECYCLES") or DEFAULT_LIFECYCLES)
    return 600 + 30 * count


def replay_selection(plan: list[Lifecycle]) -> list[Lifecycle]:
    """
    The lifecycles of ``plan`` named by FLINK_SOAK_ONLY (indexes separated by commas), or all of them.

    With the seed and size of a failed soak, this replays just the lifecycles that went wrong.
    """
    only = os.environ.get("FLINK_SOAK_ONLY")
    if not only:
        return plan
    wanted = {int(index) for index in only.split(",") if index.strip()}
    return [lifecycle for lifecycle in plan if lifecycle.index in wanted]


#: The seed of a run that names none.
DEFAULT_SEED = 20261126


def soak_settings() -> tuple[int, int]:
    """
    (seed, lifecycles) from FLINK_SOAK_SEED and FLINK_SOAK_LIFECYCLES.

    Without a seed the run is the same every time (:data:`DEFAULT_SEED`: CI must not pass or fail by luck);
    ``FLINK_SOAK_SEED=random`` draws a fresh one (the benchmark's 200-lifecycle run), printed for a replay.
    """
    import random

    seed_text = os.environ.get("FLINK_SOAK_SEED") or str(DEFAULT_SEED)
    seed = random.SystemRandom().randrange(1, 2**31) if seed_text == "random" else int(seed_text)
    count = int(os.environ.get("FLINK_SOAK_LIFECYCLES") or DEFAULT_LIFECYCLES)
    if count < 2:
        raise ValueError("FLINK_SOAK_LIFECYCLES must be at least 2 (a native success and a native failure)")
    return seed, count
