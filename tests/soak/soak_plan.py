"""
The soak's plan: which job lifecycles run, with which faults, and what each must end with.

Pure data and pure functions (no I/O, no Airflow): one seed gives one plan, so a failing soak is replayed with
``FLINK_SOAK_SEED=<seed>``. Every random choice of a lifecycle comes from the one generator seeded here, in plan
order, so the plan does not depend on how the lifecycles are later grouped or run.
"""

from __future__ import annotations

import random
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_flink.testing.kube_emulator import Fault

DEPLOYMENT = "deployment"
NATIVE = "native"

#: Scenarios of the Flink operator simulator (annotation ``flink-simulator/scenario``).
DEPLOYMENT_SCENARIOS = ("batch-success", "batch-failure", "streaming", "jm-error")
#: First program argument of the native test job (``airflowtest.TestJobs``).
NATIVE_SCENARIOS = ("bounded", "failing")
SUCCESS_SCENARIOS = frozenset({"batch-success", "streaming", "bounded"})

FAULT_5XX = "5xx-burst"
FAULT_429 = "429-retry-after"
FAULT_DROP = "dropped-connection"
FAULT_CUT_WATCH = "cut-watch"
FAULT_GONE_WATCH = "410-gone-watch"
FAULT_CONFLICT = "409-conflict"
FAULT_WORKER_KILL = "worker-kill"
FAULT_TRIGGERER_RESTART = "triggerer-restart"
FAULT_KINDS = (
    FAULT_5XX,
    FAULT_429,
    FAULT_DROP,
    FAULT_CUT_WATCH,
    FAULT_GONE_WATCH,
    FAULT_CONFLICT,
    FAULT_WORKER_KILL,
    FAULT_TRIGGERER_RESTART,
)
#: Faults a native lifecycle cannot meet: nothing watches a native cluster, and nothing the provider writes to it
#: carries a resourceVersion (its only write is a merge patch of labels, which never conflicts).
NOT_FOR_NATIVE = frozenset({FAULT_CUT_WATCH, FAULT_GONE_WATCH, FAULT_CONFLICT})
#: Chance that a lifecycle gets a fault kind on top of the one it may have been given for coverage. A worker kill
#: costs two Airflow processes (about 20 s), hence its low rate.
EXTRA_FAULT_RATE = {
    FAULT_5XX: 0.35,
    FAULT_429: 0.25,
    FAULT_DROP: 0.3,
    FAULT_CUT_WATCH: 0.3,
    FAULT_GONE_WATCH: 0.3,
    FAULT_CONFLICT: 0.08,
    FAULT_WORKER_KILL: 0.03,
    FAULT_TRIGGERER_RESTART: 0.25,
}
#: Share of native lifecycles (each runs the real Flink CLI, a JVM: several seconds); at least one success and one
#: failure at every size of two or more.
NATIVE_SHARE = 0.1

#: Where a native lifecycle's worker is killed: after ``flink run`` created the cluster but before the task
#: labelled it as its own, or while it waits on the labelled cluster.
KILL_POINTS_NATIVE = ("submitted", "waiting")

#: The root cause the native test job fails with.
NATIVE_FAILURE_TEXT = "Simulated bad record 42"


@dataclass(frozen=True)
class SoakSecrets:
    """
    Secret values put where the provider claims to keep them out of logs; any occurrence in a log is a leak.

    :param kube_token: The bearer token of the connection's inline kubeconfig (also in the trigger's kwargs).
    :param deployment_conf_secret: ``s3.secret-key`` in a FlinkDeployment's ``flinkConfiguration``.
    :param native_conf_secret: ``s3.secret-key`` in a native job's ``flink_conf`` (a ``-D`` option of ``flink run``).
    :param native_conf_password: ``security.ssl.rest.truststore-password`` in a native job's ``flink_conf``.
    """

    # Not in repr: pytest shows fixture values in failure reports, and the report must not leak them either.
    kube_token: str = field(repr=False)
    deployment_conf_secret: str = field(repr=False)
    native_conf_secret: str = field(repr=False)
    native_conf_password: str = field(repr=False)

    @classmethod
    def generate(cls) -> SoakSecrets:
        # Random, so that no log line can contain one by chance or from an earlier run.
        return cls(*(f"{prefix}{secrets.token_hex(12)}" for prefix in ("tok", "dsk", "nsk", "npw")))

    def values(self) -> dict[str, str]:
        """Name to value, for the leak count."""
        return {
            "kube_token": self.kube_token,
            "deployment_conf_secret": self.deployment_conf_secret,
            "native_conf_secret": self.native_conf_secret,
            "native_conf_password": self.native_conf_password,
        }


@dataclass
class Lifecycle:
    """
    One task instance's life (with its retries) from submission to cleanup, and the faults it meets.

    :param index: Position in the plan; names the namespace, task and resource.
    :param seed: The soak's seed, part of the failure marker.
    :param kind: ``deployment`` (FlinkDeploymentOperator) or ``native`` (FlinkNativeSubmitOperator).
    :param scenario: What the job does (see :data:`DEPLOYMENT_SCENARIOS`, :data:`NATIVE_SCENARIOS`).
    :param deferrable: Whether the task waits in the triggerer.
    :param faults: Fault kinds of :data:`FAULT_KINDS` this lifecycle meets.
    :param retries: The task's retries.
    :param cleanup: ``delete_on`` of a FlinkDeployment (``None``: the operator's default), ``cleanup`` of a native
        cluster.
    :param restart_delays: Seconds each life of the trigger lasts before the triggerer restarts.
    :param kill_point: Where the worker is killed, for a ``worker-kill`` lifecycle.
    :param kube_faults: The API faults, with the fault kind each stands for.
    """

    index: int
    seed: int
    kind: str
    scenario: str
    deferrable: bool
    faults: list[str] = field(default_factory=list)
    retries: int = 0
    cleanup: str | None = None
    restart_delays: list[float] = field(default_factory=list)
    kill_point: str | None = None
    kube_faults: list[tuple[str, Fault]] = field(default_factory=list)

    # -- identity ---------------------------------------------------------------------------------------------

    @property
    def namespace(self) -> str:
        """A namespace of its own: every request and object of the lifecycle is told apart by it."""
        return f"soak-{self.index:04d}"

    @property
    def name(self) -> str:
        """The FlinkDeployment's name (a native cluster id is derived by the operator)."""
        return f"job-{self.index:04d}"

    @property
    def task_id(self) -> str:
        return f"lc_{self.index:04d}"

    @property
    def marker(self) -> str:
        """Text of the injected job failure, unique to this lifecycle."""
        return f"soak-failure-{self.seed}-{self.index:04d}"

    @property
    def worker_kill(self) -> bool:
        return FAULT_WORKER_KILL in self.faults

    def describe(self) -> str:
        mode = "deferrable" if self.deferrable else "sync"
        extras = [f"retries={self.retries}"] if self.retries else []
        if self.cleanup:
            extras.append(f"cleanup={self.cleanup}")
        if self.kill_point:
            extras.append(f"kill at {self.kill_point}")
        faults = ",".join(self.faults) or "no faults"
        return f"#{self.index} {self.kind}/{self.scenario} {mode} [{faults}] {' '.join(extras)}".rstrip()

    # -- expectations -----------------------------------------------------------------------------------------

    @property
    def expects_success(self) -> bool:
        return self.scenario in SUCCESS_SCENARIOS

    @property
    def expected_state(self) -> str | None:
        """The job state of the task's XCom on success."""
        if not self.expects_success:
            return None
        return "RUNNING" if self.scenario == "streaming" else "FINISHED"

    @property
    def expected_error(self) -> str | None:
        """Text the task's failure must quote: the Flink error."""
        if self.expects_success:
            return None
        return NATIVE_FAILURE_TEXT if self.kind == NATIVE else self.marker

    @property
    def expects_kept(self) -> bool:
        """Whether the job's resource outlives the task, by the operators' documented cleanup rules."""
        if self.kind == DEPLOYMENT:
            if self.scenario == "streaming":
                return True  # wait_for="running": delete_on defaults to "never"
            if self.expects_success:
                return False  # a finished batch job: delete_on defaults to "success"
            return self.cleanup != "always"  # a failed one is kept for debugging unless asked otherwise
        return not self.expects_success and self.cleanup == "keep_on_failure"

    @property
    def allowed_creates(self) -> int:
        """
        Successful creations of the job's resource the lifecycle may make; more is a duplicate submission.

        A FlinkDeployment is created once (a re-run bumps ``restartNonce``), unless the failed job's resource is
        deleted by ``delete_on="always"``. A native cluster whose job failed is deleted and submitted again by the
        next try. A job that succeeds, or is still running when a retry comes, is never submitted again.
        """
        if self.expects_success:
            return 1
        tries = 2 if self.worker_kill else self.retries + 1
        if self.kind == DEPLOYMENT:
            # delete_on="always" deletes the failed job's FlinkDeployment: the next try creates it anew.
            return tries if self.cleanup == "always" else 1
        return tries


def draw_plan(seed: int, count: int) -> list[Lifecycle]:
    """
    Draw ``count`` lifecycles from ``seed``.

    Native lifecycles are about a tenth, and at least one native success and one native failure are present from
    two lifecycles on. Each fault kind is first given to one compatible lifecycle (so a plan of eight or more has
    them all), then every lifecycle may draw more; scenarios and options are then made to fit the faults.

    :param seed: The soak's seed.
    :param count: How many lifecycles.
    """
    rng = random.Random(seed)
    natives = min(count, max(2, round(count * NATIVE_SHARE)))
    kinds = [NATIVE] * natives + [DEPLOYMENT] * (count - natives)
    rng.shuffle(kinds)
    plan: list[Lifecycle] = []
    native_seen = 0
    for index, kind in enumerate(kinds):
        if kind == NATIVE:
            scenario = NATIVE_SCENARIOS[native_seen] if native_seen < len(NATIVE_SCENARIOS) else None
            scenario = scenario or rng.choice(NATIVE_SCENARIOS)
            native_seen += 1
        else:
            scenario = rng.choice(DEPLOYMENT_SCENARIOS)
        plan.append(Lifecycle(index=index, seed=seed, kind=kind, scenario=scenario, deferrable=rng.random() < 0.5))

    unassigned = list(plan)
    rng.shuffle(unassigned)
    coverage = list(FAULT_KINDS)
    rng.shuffle(coverage)
    for fault in coverage:
        for lifecycle in unassigned:
            if _compatible(fault, lifecycle):
                lifecycle.faults.append(fault)
                unassigned.remove(lifecycle)
                break
    for lifecycle in plan:
        for fault in FAULT_KINDS:
            drawn = rng.random() < EXTRA_FAULT_RATE[fault]
            if drawn and fault not in lifecycle.faults and _compatible(fault, lifecycle):
                lifecycle.faults.append(fault)
        _fit_to_faults(lifecycle, rng)
        lifecycle.kube_faults = _kube_faults(lifecycle, rng)
    return plan


def _compatible(fault: str, lifecycle: Lifecycle) -> bool:
    if lifecycle.kind == NATIVE and fault in NOT_FOR_NATIVE:
        return False
    # A killed worker's retry runs in `airflow tasks test`, outside this process: its trigger cannot be restarted.
    exclusive = {FAULT_WORKER_KILL: FAULT_TRIGGERER_RESTART, FAULT_TRIGGERER_RESTART: FAULT_WORKER_KILL}
    return exclusive.get(fault) not in lifecycle.faults


def _fit_to_faults(lifecycle: Lifecycle, rng: random.Random) -> None:
    """Choose the options the faults need, then the other options."""
    if FAULT_CONFLICT in lifecycle.faults:
        # The provider writes an existing FlinkDeployment (PUT with its resourceVersion) only when a later try
        # re-runs the job: the job must fail and be retried, or be met again by a killed worker's retry.
        if lifecycle.expects_success:
            lifecycle.scenario = rng.choice(("batch-failure", "jm-error"))
        if not lifecycle.worker_kill:
            lifecycle.retries = 1
    if FAULT_TRIGGERER_RESTART in lifecycle.faults:
        lifecycle.deferrable = True
        lifecycle.restart_delays = [round(rng.uniform(0.05, 0.5), 3) for _ in range(rng.randint(1, 2))]
    if lifecycle.worker_kill:
        lifecycle.kill_point = rng.choice(KILL_POINTS_NATIVE) if lifecycle.kind == NATIVE else "running"
        # Only a task that waits on its worker has a worker to lose mid-wait: a deferred task waits in the
        # triggerer (whose loss is the triggerer restart), and Airflow never retries a task for it.
        lifecycle.deferrable = False
    elif not lifecycle.expects_success and not lifecycle.retries and rng.random() < 0.25:
        lifecycle.retries = 1  # a failed job run again by the retry, and failing again
    # A conflict needs the failed job's FlinkDeployment to stay for the retry to update it.
    keeps_failed = FAULT_CONFLICT in lifecycle.faults
    if lifecycle.kind == DEPLOYMENT and not lifecycle.expects_success and not keeps_failed and rng.random() < 0.3:
        lifecycle.cleanup = "always"
    elif lifecycle.kind == NATIVE:
        lifecycle.cleanup = rng.choice(("always", "keep_on_failure"))


def _kube_faults(lifecycle: Lifecycle, rng: random.Random) -> list[tuple[str, Fault]]:
    """
    The API faults of a lifecycle, each limited to its namespace so that lifecycles never disturb each other.

    Bursts stay below what one call's retry policy absorbs (6 attempts for the resource calls, 2 per look for a
    native cluster, whose trigger also tolerates 4 failed looks in a row), so every one of them must leave the
    verdict unchanged. ``skip`` lets the first requests through, so that faults land in the wait, not only on the
    submission.
    """
    ns = re.escape(lifecycle.namespace)
    if lifecycle.kind == DEPLOYMENT:
        resource = rf"/namespaces/{ns}/flinkdeployments/{re.escape(lifecycle.name)}$"
        creation = rf"/namespaces/{ns}/flinkdeployments$"
        # The wait reads the resource, or lists and watches its namespace's FlinkDeployments: GET covers the
        # three, whichever the trigger uses.
        wait_targets = [rf"/namespaces/{ns}/flinkdeployments(/{re.escape(lifecycle.name)})?$"]
        max_burst = 5
    else:
        # The JobManager Deployment (the wait's first read) and Flink REST through the service proxy.
        wait_targets = [rf"/namespaces/{ns}/deployments/[^/]+$", rf"/namespaces/{ns}/services/[^/]+/proxy/"]
        creation = None
        max_burst = 3
    watch = rf"/namespaces/{ns}/flinkdeployments(/|$)"

    def on_wait_or_create(allow_create: bool) -> tuple[str, str, int]:
        if allow_create and creation is not None and rng.random() < 0.25:
            return "POST", creation, 0
        return "GET", rng.choice(wait_targets), rng.randint(1, 4)

    faults: list[tuple[str, Fault]] = []
    for kind in lifecycle.faults:
        if kind == FAULT_5XX:
            verb, path, skip = on_wait_or_create(allow_create=True)
            count = rng.randint(1, 3) if verb == "POST" else rng.randint(2, max_burst)
            fault = Fault(verb=verb, path_regex=path, status=rng.choice((500, 502, 503, 504)), count=count, skip=skip)
        elif kind == FAULT_429:
            verb, path, skip = on_wait_or_create(allow_create=True)
            fault = Fault(verb=verb, path_regex=path, status=429, retry_after=1.0, count=rng.randint(1, 2), skip=skip)
        elif kind == FAULT_DROP:
            verb, path, skip = on_wait_or_create(allow_create=True)
            fault = Fault(verb=verb, path_regex=path, drop_connection=True, count=rng.randint(1, 3), skip=skip)
        elif kind == FAULT_CUT_WATCH:
            after = rng.randint(1, 3)
            fault = Fault(verb="WATCH", path_regex=watch, cut_watch_after_events=after, count=rng.randint(1, 3))
        elif kind == FAULT_GONE_WATCH:
            fault = Fault(verb="WATCH", path_regex=watch, status=410, count=rng.randint(1, 2))
        elif kind == FAULT_CONFLICT:
            # skip=1: the first PUT of the resource is the Flink operator (simulator) adding its finalizer; the
            # next is the provider's update when the job is run again. Fewer than the hook's 5 conflict re-reads.
            fault = Fault(verb="PUT", path_regex=resource, status=409, count=rng.randint(1, 3), skip=1)
        else:
            continue  # worker kill and triggerer restart are not API faults
        faults.append((kind, fault))
    # The emulator applies the first matching fault until it is used up: the 410 goes first, or a short wait
    # would spend its one or two watches on the other watch faults.
    faults.sort(key=lambda entry: entry[0] != FAULT_GONE_WATCH)
    return faults


def plan_summary(plan: list[Lifecycle]) -> dict[str, Any]:
    """Counts of the plan by kind/scenario and by fault kind, for the report."""
    scenarios: dict[str, int] = {}
    faults = dict.fromkeys(FAULT_KINDS, 0)
    for lifecycle in plan:
        key = f"{lifecycle.kind}/{lifecycle.scenario}"
        scenarios[key] = scenarios.get(key, 0) + 1
        for fault in lifecycle.faults:
            faults[fault] += 1
    return {"scenarios": scenarios, "faults": faults}
