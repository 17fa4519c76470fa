"""
The trigger that waits on a Flink job without holding a worker slot.

Two sources of truth, one waiting rule: the Flink Kubernetes Operator's custom resources
(``kind="FlinkDeployment"`` / ``"FlinkSessionJob"``, judged by ``judge_custom_resource``) and native
application clusters (``kind="native"``, judged from Flink REST through the API server's service proxy
by :mod:`airflow_provider_flink.state.rest`; see :func:`look_native_cluster`).
"""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_flink.state.waiting import Wait, WaitEvent
from airflow_provider_flink.triggers.shared_watch import Watched, shared_hook, watched

if TYPE_CHECKING:
    from airflow_provider_flink.hooks.kubernetes import AsyncFlinkKubernetesHook
    from airflow_provider_flink.state.verdict import JobVerdict

#: Failed looks in a row (after the hook's own retries) before the trigger gives up with an ``error`` event.
MAX_CONSECUTIVE_ERRORS = 5
#: ``kind`` of a native application cluster (``flink run --target kubernetes-application``); name = cluster id.
NATIVE_KIND = "native"
#: Seconds between two judgements of an unchanged object while the shared watch is live (no request is made).
WATCHED_INTERVAL = 300.0
#: Lines of the JobManager's log quoted in the message of a JobManager that cannot start.
STARTUP_LOG_LINES = 20
#: Default of ``[flink] deferral_hold_seconds``: how long after a deferral the triggerer holds the trigger's event.
DEFAULT_DEFERRAL_HOLD_SECONDS = 10.0


def deferral_hold_seconds() -> float:
    """
    ``[flink] deferral_hold_seconds`` (default 10): no event fires sooner than this after a deferral.

    Airflow 3.3 (apache/airflow#72716, #71580; fixes #71579, #72767 open) fails a deferred task's resumed try when
    the trigger fires within seconds of the deferral: the worker that deferred reports "success" to the executor,
    and if the scheduler reads that report only once the resumed try runs, it logs "Executor ... reported that the
    task instance finished with state success, but the task instance's state attribute is running" and fails the
    try. Holding the event until the scheduler has certainly read the report (one worker exit and a scheduler loop,
    seconds) leaves that report nothing to fail. ``0`` turns the hold off.
    """
    from airflow.providers.common.compat.sdk import conf

    return max(conf.getfloat("flink", "deferral_hold_seconds", fallback=DEFAULT_DEFERRAL_HOLD_SECONDS), 0.0)


def native_gone_message(cluster_id: str, namespace: str) -> str:
    """What to say when a native cluster's JobManager Deployment vanished before its job's end was read."""
    return (
        f"The application cluster {namespace}/{cluster_id} was deleted before its final state could be read: "
        f"its JobManager Deployment {cluster_id} is gone (deleted by someone else, or torn down by Flink when "
        "the application ended). Set execution.shutdown-on-application-finish=false (the default of "
        "FlinkNativeSubmitOperator) so the JobManager outlives the job, and check that nothing else deletes "
        f"deployment/{cluster_id}."
    )


async def look_native_cluster(
    hook: AsyncFlinkKubernetesHook, cluster_id: str, namespace: str, previous_job_id: str | None = None
) -> JobVerdict | None:
    """
    Judge the job of a native application cluster once; ``None`` when the cluster is gone.

    Reads the JobManager Deployment (gone, or being deleted without a final job state: ``None``), then
    ``/jobs/overview`` through the service proxy and, for a job that ended, its detail, execution result
    and exceptions. While REST does not answer, the JobManager pods tell whether it is still starting or
    cannot start (image pull error, crash loop...: FAILED at once, with the log tail in the message).
    Used by the trigger, and by the operator and sensor for their synchronous looks.

    :param hook: An async hook (its retry policy applies to every request).
    :param cluster_id: The ``kubernetes.cluster-id``.
    :param namespace: The cluster's namespace.
    :param previous_job_id: A job id whose state must not decide.
    """
    from airflow_provider_flink.exceptions import FlinkApiError
    from airflow_provider_flink.state.rest import (
        GLOBALLY_TERMINAL_STATES,
        judge_jobmanager_pods,
        judge_rest,
        select_job,
    )
    from airflow_provider_flink.state.verdict import JobPhase

    deployment = await hook.get_deployment(cluster_id, namespace)
    if deployment is None:
        return None
    deleting = bool((deployment.get("metadata") or {}).get("deletionTimestamp"))

    async def rest(path: str) -> dict[str, Any] | None:
        answer = await hook.flink_rest("GET", cluster_id, path, namespace)
        return answer if isinstance(answer, dict) else None

    overview: dict[str, Any] | None = None
    rest_problem = None
    try:
        overview = await rest("/jobs/overview")
    except FlinkApiError as error:
        if error.status in (401, 403):
            raise  # waiting cannot fix RBAC (services/proxy): let it count toward the trigger's error event
        # 503/404 from the service proxy while the JobManager starts; the pod tells why.
        rest_problem = f"HTTP {error.status}" if error.status else type(error).__name__
    if overview is None:
        pods = await hook.find_jobmanager_pods(cluster_id, namespace)
        verdict = judge_jobmanager_pods(cluster_id, pods, namespace=namespace, rest_problem=rest_problem)
        if verdict.phase is JobPhase.FAILED and pods:
            verdict = await _with_log_tail(hook, verdict, pods[0], namespace)
    else:
        entry = select_job(overview, previous_job_id)
        job = exceptions = result = None
        if entry is not None and entry.get("state") in GLOBALLY_TERMINAL_STATES:
            job_path = f"/jobs/{entry['jid']}"
            job = await _rest_or_none(rest, job_path)
            result = await _rest_or_none(rest, f"{job_path}/execution-result")
            if entry.get("state") == "FAILED":
                exceptions = await _rest_or_none(rest, f"{job_path}/exceptions")
        verdict = judge_rest(
            cluster_id, overview, job, exceptions, result, namespace=namespace, previous_job_id=previous_job_id
        )
    if deleting and not verdict.is_terminal:
        return None
    return verdict


async def _rest_or_none(rest: Any, path: str) -> dict[str, Any] | None:
    # Details only refine a terminal state the overview already showed: losing one must not stall the wait.
    from airflow_provider_flink.exceptions import FlinkApiError

    try:
        return await rest(path)
    except FlinkApiError:
        return None


async def _with_log_tail(
    hook: AsyncFlinkKubernetesHook, verdict: JobVerdict, pod: dict[str, Any], namespace: str
) -> JobVerdict:
    import dataclasses

    from airflow_provider_flink.state.rest import FLINK_MAIN_CONTAINER

    name = pod["metadata"]["name"]
    containers = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
    container = FLINK_MAIN_CONTAINER if FLINK_MAIN_CONTAINER in containers else None
    restarted = any(s.get("restartCount") for s in (pod.get("status") or {}).get("containerStatuses") or [])
    try:
        # A crash-looping container's useful log is the previous instance's.
        text = await hook.read_pod_log(
            name, namespace, container=container, tail_lines=STARTUP_LOG_LINES, limit_bytes=8192, previous=restarted
        )
    except Exception:
        return verdict  # an image that never started has no log
    if not text.strip():
        return verdict
    tail = "\n".join(text.strip().splitlines()[-STARTUP_LOG_LINES:])
    return dataclasses.replace(verdict, message=f"{verdict.message}\nLast lines of the JobManager log:\n{tail}")


class FlinkJobTrigger(BaseTrigger):
    """
    Wait in the triggerer until a Flink job reaches a target state, then fire one event.

    Used by ``FlinkDeploymentOperator``, ``FlinkNativeSubmitOperator`` and ``FlinkJobSensor`` when deferrable.
    The custom resources are read from one watch per connection, namespace and kind that every trigger of the
    process shares (:mod:`~airflow_provider_flink.triggers.shared_watch`: no request per job while the watch is
    live, a GET per poll interval while it is not); a native cluster is asked through Flink REST each poll
    interval. Each look judges what it read (``judge_custom_resource``; :func:`look_native_cluster`) and asks
    :class:`~airflow_provider_flink.state.waiting.Wait` whether the wait is over: the same judgement
    and rule as the operators' synchronous waits and the sensor's poke.

    The event payload is :class:`~airflow_provider_flink.state.waiting.WaitEvent` as a dict: ``status`` is
    ``success``, ``failed``, ``timeout`` or ``error``, with a ``message`` for people.

    :param kind: ``FlinkDeployment``, ``FlinkSessionJob``, ``FlinkStateSnapshot`` (a savepoint being taken), or
        ``native`` for a native application cluster (``name`` is then its cluster id).
    :param name: Name of the resource.
    :param namespace: Namespace of the resource.
    :param connection: Connection settings resolved on the worker
        (:meth:`FlinkKubernetesHook.get_trigger_connection_kwargs`), so the triggerer needs neither the
        kubeconfig file nor the secrets backend.
    :param target: ``running``, ``finished`` or ``suspended``.
    :param expected_spec: The spec the task asked for: a status reconciled from another spec never decides.
    :param previous_job_id: A job id whose terminal state must not decide (the run a re-run replaces).
    :param poll_interval: Seconds between looks.
    :param startup_deadline: Epoch seconds by which the job must have started, or ``None``.
    :param deadline: Epoch seconds by which the wait must be over, or ``None``.
    :param on_kill_action: What the trigger's ``on_kill`` (Airflow 3.3+, when a user kills the deferred task)
        does to the resource: ``delete``, ``suspend`` or ``keep`` (a native cluster cannot be suspended: kept).
    :param savepoint_nonce: Wait for the savepoint triggered with this ``savepointTriggerNonce`` (operators
        without FlinkStateSnapshot resources) instead of the job state.
    :param hold_until: Epoch seconds before which the trigger fires no event when it runs in the triggerer (a
        verdict seen earlier is looked at again then); default: :func:`deferral_hold_seconds` from now, since the
        trigger is built just before the deferral. Not applied to the synchronous waits that run a trigger in the
        worker, nor to ``dag.test()``: there is no deferral for the scheduler to race with.
    """

    def __init__(
        self,
        *,
        kind: str,
        name: str,
        namespace: str,
        connection: dict[str, Any],
        target: str = "finished",
        expected_spec: dict[str, Any] | None = None,
        previous_job_id: str | None = None,
        poll_interval: float = 10.0,
        startup_deadline: float | None = None,
        deadline: float | None = None,
        on_kill_action: str = "keep",
        savepoint_nonce: int | None = None,
        hold_until: float | None = None,
    ) -> None:
        super().__init__()
        self.kind = kind
        self.name = name
        self.namespace = namespace
        self.connection = connection
        self.target = target
        self.expected_spec = expected_spec
        self.previous_job_id = previous_job_id
        self.poll_interval = poll_interval
        self.startup_deadline = startup_deadline
        self.deadline = deadline
        self.on_kill_action = on_kill_action
        self.savepoint_nonce = savepoint_nonce
        self.hold_until = hold_until if hold_until is not None else time.time() + deferral_hold_seconds()

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "kind": self.kind,
                "name": self.name,
                "namespace": self.namespace,
                "connection": self.connection,
                "target": self.target,
                "expected_spec": self.expected_spec,
                "previous_job_id": self.previous_job_id,
                "poll_interval": self.poll_interval,
                "startup_deadline": self.startup_deadline,
                "deadline": self.deadline,
                "on_kill_action": self.on_kill_action,
                "savepoint_nonce": self.savepoint_nonce,
                "hold_until": self.hold_until,
            },
        )

    @property
    def resource(self) -> str:
        if self.kind == NATIVE_KIND:
            return f"Flink application cluster {self.namespace}/{self.name}"
        return f"{self.kind} {self.namespace}/{self.name}"

    def _hook(self) -> AsyncFlinkKubernetesHook:
        from airflow_provider_flink.hooks.kubernetes import AsyncFlinkKubernetesHook

        if self.kind == NATIVE_KIND:
            return AsyncFlinkKubernetesHook(**self.connection, retry_policy=native_retry_policy())
        return AsyncFlinkKubernetesHook(**self.connection)

    async def _look(self, hook: AsyncFlinkKubernetesHook, view: Watched | None = None) -> JobVerdict | None:
        from airflow_provider_flink.state.custom_resource import judge_custom_resource

        if self.kind == NATIVE_KIND:
            return await look_native_cluster(hook, self.name, self.namespace, self.previous_job_id)
        # The shared watch's cache when it is live and holds the object; else (no watch yet, watch down, object
        # not delivered yet or deleted) one GET decides.
        obj = await view.cached(self.poll_interval) if view is not None else None
        if obj is None:
            obj = await hook.get_resource(self.kind, self.name, self.namespace)
        if obj is None:
            return None
        if self.kind == "FlinkStateSnapshot":
            from airflow_provider_flink.state.snapshot import judge_snapshot

            return judge_snapshot(obj)
        if self.savepoint_nonce is not None:
            from airflow_provider_flink.state.snapshot import judge_savepoint_trigger

            return judge_savepoint_trigger(obj, self.savepoint_nonce)
        return judge_custom_resource(obj, expected_spec=self.expected_spec, previous_job_id=self.previous_job_id)

    def _event(self, event: WaitEvent) -> TriggerEvent:
        """The payload: the wait's end plus what the resumed task needs to act without rebuilding anything."""
        identity = {"kind": self.kind, "name": self.name, "namespace": self.namespace, "target": self.target}
        return TriggerEvent({**event.to_dict(), **identity})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        # The first import of the Kubernetes clients takes seconds: do it off the triggerer's event loop, which
        # every other trigger shares.
        await asyncio.to_thread(importlib.import_module, "airflow_provider_flink.hooks.kubernetes")
        yield await self._wait_with_shared_client()

    async def _wait_with_shared_client(self) -> TriggerEvent:
        # Returns before the event is yielded, so what the wait shares is released even if the generator is never
        # closed (the triggerer cancels a trigger after its event).
        native = self.kind == NATIVE_KIND
        async with shared_hook(self.connection, native=native) as hook:
            if native:  # Flink REST has nothing to watch: each look asks the JobManager
                return await self._wait(hook, None)
            async with watched(self.connection, hook, self.kind, self.namespace, self.name) as view:
                return await self._wait(hook, view)

    async def _wait(self, hook: AsyncFlinkKubernetesHook, view: Watched | None) -> TriggerEvent:
        # The triggerer sets trigger_id; a synchronous wait in the worker and dag.test() run the trigger without one.
        hold_until = self.hold_until if getattr(self, "trigger_id", None) is not None else None
        wait = Wait(self.target, startup_deadline=self.startup_deadline, deadline=self.deadline, hold_until=hold_until)
        if hold_until is not None and hold_until > time.time():
            self.log.info(
                "%s: no event before %.1fs from now, so the scheduler has processed the deferral first (Airflow 3.3 "
                "fails a task resumed too soon, apache/airflow#72716; [flink] deferral_hold_seconds)",
                self.resource,
                hold_until - time.time(),
            )
        errors = 0
        while True:
            try:
                verdict = await self._look(hook, view)
                errors = 0
            except Exception as error:  # the hook already retried transient failures
                errors += 1
                self.log.warning("Looking at %s failed (%d in a row): %s", self.resource, errors, error)
                if errors >= MAX_CONSECUTIVE_ERRORS:
                    return self._event(WaitEvent("error", f"Cannot read {self.resource}: {error}"))
                await self._pause(view, self.poll_interval)
                continue
            if verdict is None:
                message = f"{self.resource} no longer exists: it was deleted while Airflow waited for it."
                if self.kind == NATIVE_KIND:
                    message = native_gone_message(self.name, self.namespace)
                return self._event(WaitEvent("error", message))
            now = time.time()
            event = wait.check(verdict, now)
            if event is not None:
                self.log.info("%s: %s", self.resource, event.message)
                return self._event(event)
            self.log.debug("%s: %s", self.resource, verdict.message)
            # A live watch wakes the wait on every change: the interval only bounds how long a deadline can wait.
            interval = WATCHED_INTERVAL if view is not None and view.live else self.poll_interval
            await self._pause(view, wait.sleep_for(interval, now))

    @staticmethod
    async def _pause(view: Watched | None, seconds: float) -> None:
        if view is None:
            await asyncio.sleep(seconds)
        else:
            await view.changed(seconds)

    async def on_kill(self) -> None:
        """Delete or suspend the resource when a user kills the deferred task (Airflow 3.3+ calls this)."""
        if self.on_kill_action == "keep" or (self.kind == NATIVE_KIND and self.on_kill_action != "delete"):
            return
        async with self._hook() as hook:
            if self.kind == NATIVE_KIND:
                self.log.info("Task killed: deleting %s", self.resource)
                await hook.delete_application_cluster(self.name, self.namespace)
            elif self.on_kill_action == "suspend":
                self.log.info("Task killed: suspending %s", self.resource)
                patch = {"spec": {"job": {"state": "suspended"}}}
                await hook.patch_resource(self.kind, self.name, patch, self.namespace)
            else:
                self.log.info("Task killed: deleting %s", self.resource)
                await hook.delete_resource(self.kind, self.name, self.namespace)


async def first_event(trigger: BaseTrigger) -> dict[str, Any]:
    """Run a trigger in this process until its first event: an operator's synchronous wait is the deferred one."""
    async for event in trigger.run():
        return dict(event.payload)
    raise RuntimeError(f"{trigger!r} ended without an event")


def native_retry_policy() -> Any:
    """
    The retry policy of native-mode looks: few, short retries.

    Until the JobManager is up, every look's REST call fails with 503 from the service proxy; the default
    policy would spend about 15 s retrying each. A failed look is simply looked at again after the poll
    interval, and the trigger tolerates several failed looks in a row.
    """
    from airflow_provider_flink.hooks.retry import RetryPolicy

    return RetryPolicy(max_attempts=2, base_delay=0.5, max_delay=2.0, max_total=10.0)
