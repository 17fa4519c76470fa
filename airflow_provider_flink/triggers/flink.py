"""The trigger that waits on a Flink job without holding a worker slot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_flink.state.waiting import Wait, WaitEvent

if TYPE_CHECKING:
    from airflow_provider_flink.hooks.kubernetes import AsyncFlinkKubernetesHook
    from airflow_provider_flink.state.verdict import JobVerdict

#: Failed looks in a row (after the hook's own retries) before the trigger gives up with an ``error`` event.
MAX_CONSECUTIVE_ERRORS = 5


class FlinkJobTrigger(BaseTrigger):
    """
    Wait in the triggerer until a Flink job reaches a target state, then fire one event.

    Used by ``FlinkDeploymentOperator`` and ``FlinkJobSensor`` when deferrable. Each look fetches the
    resource through ``AsyncFlinkKubernetesHook``, judges it with ``judge_custom_resource`` and asks
    :class:`~airflow_provider_flink.state.waiting.Wait` whether the wait is over: the same judgement
    and rule as the operator's synchronous wait and the sensor's poke.

    The event payload is :class:`~airflow_provider_flink.state.waiting.WaitEvent` as a dict: ``status`` is
    ``success``, ``failed``, ``timeout`` or ``error``, with a ``message`` for people.

    :param kind: ``FlinkDeployment`` or ``FlinkSessionJob``.
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
        does to the resource: ``delete``, ``suspend`` or ``keep``.
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
            },
        )

    @property
    def resource(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"

    def _hook(self) -> AsyncFlinkKubernetesHook:
        from airflow_provider_flink.hooks.kubernetes import AsyncFlinkKubernetesHook

        return AsyncFlinkKubernetesHook(**self.connection)

    async def _look(self, hook: AsyncFlinkKubernetesHook) -> JobVerdict | None:
        from airflow_provider_flink.state.custom_resource import judge_custom_resource

        obj = await hook.get_resource(self.kind, self.name, self.namespace)
        if obj is None:
            return None
        return judge_custom_resource(obj, expected_spec=self.expected_spec, previous_job_id=self.previous_job_id)

    def _event(self, event: WaitEvent) -> TriggerEvent:
        """The payload: the wait's end plus what the resumed task needs to act without rebuilding anything."""
        identity = {"kind": self.kind, "name": self.name, "namespace": self.namespace, "target": self.target}
        return TriggerEvent({**event.to_dict(), **identity})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        async with self._hook() as hook:
            async for event in self._wait(hook):
                yield event
                return

    async def _wait(self, hook: AsyncFlinkKubernetesHook) -> AsyncIterator[TriggerEvent]:
        wait = Wait(self.target, startup_deadline=self.startup_deadline, deadline=self.deadline)
        errors = 0
        while True:
            try:
                verdict = await self._look(hook)
                errors = 0
            except Exception as error:  # the hook already retried transient failures
                errors += 1
                self.log.warning("Looking at %s failed (%d in a row): %s", self.resource, errors, error)
                if errors >= MAX_CONSECUTIVE_ERRORS:
                    yield self._event(WaitEvent("error", f"Cannot read {self.resource}: {error}"))
                    return
                await asyncio.sleep(self.poll_interval)
                continue
            if verdict is None:
                message = f"{self.resource} no longer exists: it was deleted while Airflow waited for it."
                yield self._event(WaitEvent("error", message))
                return
            now = time.time()
            event = wait.check(verdict, now)
            if event is not None:
                self.log.info("%s: %s", self.resource, event.message)
                yield self._event(event)
                return
            self.log.debug("%s: %s", self.resource, verdict.message)
            await asyncio.sleep(wait.sleep_for(self.poll_interval, now))

    async def on_kill(self) -> None:
        """Delete or suspend the resource when a user kills the deferred task (Airflow 3.3+ calls this)."""
        if self.on_kill_action == "keep":
            return
        hook = self._hook()
        if self.on_kill_action == "suspend":
            self.log.info("Task killed: suspending %s", self.resource)
            await hook.patch_resource(self.kind, self.name, {"spec": {"job": {"state": "suspended"}}}, self.namespace)
        else:
            self.log.info("Task killed: deleting %s", self.resource)
            await hook.delete_resource(self.kind, self.name, self.namespace)
