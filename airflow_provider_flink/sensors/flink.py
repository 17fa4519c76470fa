"""The sensor that waits on a Flink job's state."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    BaseSensorOperator,
    conf,
)

from airflow_provider_flink.operators._connection import FlinkConnectionMixin
from airflow_provider_flink.state.waiting import WAIT_TARGETS, Wait, WaitEvent

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_flink.state.verdict import JobVerdict

#: ``native`` is a native application cluster (``flink run --target kubernetes-application``), named by its id.
SENSOR_KINDS = ("FlinkDeployment", "FlinkSessionJob", "native")


class FlinkJobSensor(FlinkConnectionMixin, BaseSensorOperator):
    """
    Wait until a Flink job reaches a target state, failing as soon as it cannot get there.

    Judges the job, not the JobManager: a batch job counts as finished only when Flink says FINISHED for
    the current spec; FAILED, CANCELED or an unexpected suspension fail the task with Flink's error; a
    status not yet reconciled (``MISSING``, stale generation) keeps waiting. Works in ``poke`` and
    ``reschedule`` modes and, with ``deferrable=True``, in the triggerer.

    With ``kind="native"`` it waits on a native application cluster (e.g. one started by
    ``FlinkNativeSubmitOperator`` with ``wait_for="none"``): the job's state comes from Flink REST through
    the API server's service proxy, a JobManager that cannot start fails at once, and a cluster deleted
    before its job's end was read fails with that explanation.

    :param name: Name of the FlinkDeployment or FlinkSessionJob, or the cluster id of a native cluster.
    :param namespace: Its namespace; default the connection's, else ``default``.
    :param kind: ``FlinkDeployment``, ``FlinkSessionJob`` or ``native``.
    :param target_state: ``finished`` (batch, the default), ``running`` (streaming) or ``suspended``.
    :param kubernetes_conn_id: The ``kubernetes`` connection (cncf-kubernetes connection type).
    :param cluster_context: Kubeconfig context, overriding the connection's.
    :param config_file: Kubeconfig path, overriding the connection's.
    :param in_cluster: Use the worker pod's service account.
    :param deferrable: Wait in the triggerer. Default ``[operators] default_deferrable``.
    """

    template_fields: Sequence[str] = ("name", "namespace")
    ui_color = "#e6522c"

    def __init__(
        self,
        *,
        name: str,
        namespace: str | None = None,
        kind: str = "FlinkDeployment",
        target_state: str = "finished",
        kubernetes_conn_id: str = "kubernetes_default",
        cluster_context: str | None = None,
        config_file: str | None = None,
        in_cluster: bool | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if kind not in SENSOR_KINDS:
            raise ValueError(f"kind must be one of {', '.join(SENSOR_KINDS)}, not {kind!r}")
        if target_state not in WAIT_TARGETS:
            raise ValueError(f"target_state must be one of {', '.join(WAIT_TARGETS)}, not {target_state!r}")
        self.name = name
        self.namespace = namespace
        self.kind = kind
        self.target_state = target_state
        self.kubernetes_conn_id = kubernetes_conn_id
        self.cluster_context = cluster_context
        self.config_file = config_file
        self.in_cluster = in_cluster
        self.deferrable = deferrable

    def _look(self) -> WaitEvent | None:
        from airflow_provider_flink.state import judge_custom_resource

        if not isinstance(self.name, str) or not self.name.strip():
            # Checked after rendering (name is templated). An empty name would read the whole collection.
            raise AirflowFailException(
                f"FlinkJobSensor {self.task_id}: name is empty ({self.name!r}); name the {self.kind} to wait on "
                "(or the cluster id of a native cluster)."
            )
        namespace = self.hook.resolve_namespace()
        if self.kind == "native":
            verdict = self._look_native(namespace)
            self.log.info("%s", verdict.message)
            return Wait(self.target_state).check(verdict, time.time())
        obj = self.hook.get_resource(self.kind, self.name, namespace)
        if obj is None:
            raise AirflowException(
                f"{self.kind} {namespace}/{self.name} does not exist: check the name and namespace, or that "
                "the task creating it ran."
            )
        verdict = judge_custom_resource(obj)
        self.log.info("%s", verdict.message)
        return Wait(self.target_state).check(verdict, time.time())

    def _look_native(self, namespace: str) -> JobVerdict:
        from airflow_provider_flink.hooks.kubernetes import AsyncFlinkKubernetesHook
        from airflow_provider_flink.triggers.flink import look_native_cluster, native_gone_message, native_retry_policy

        # The trigger's look, run here: one judgement of a native cluster, sync or deferred.
        async def look() -> JobVerdict | None:
            connection = self.hook.get_trigger_connection_kwargs()
            async with AsyncFlinkKubernetesHook(**connection, retry_policy=native_retry_policy()) as hook:
                return await look_native_cluster(hook, self.name, namespace)

        verdict = asyncio.run(look())
        if verdict is None:
            raise AirflowException(native_gone_message(self.name, namespace))
        return verdict

    def poke(self, context: Context) -> bool:
        event = self._look()
        if event is None:
            return False
        return self._finish(event)

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        event = self._look()
        if event is not None:
            return self._finish(event)
        from airflow_provider_flink.triggers.flink import FlinkJobTrigger

        timeout = timedelta(seconds=self.timeout) if self.timeout else None
        self.defer(
            trigger=FlinkJobTrigger(
                kind=self.kind,
                name=self.name,
                namespace=self.hook.resolve_namespace(),
                connection=self.hook.get_trigger_connection_kwargs(),
                target=self.target_state,
                poll_interval=self.poke_interval,
                deadline=time.time() + self.timeout if self.timeout else None,
            ),
            method_name="execute_complete",
            timeout=timeout + timedelta(minutes=5) if timeout else None,
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> bool:
        return self._finish(WaitEvent.from_dict(event))

    def _finish(self, event: WaitEvent) -> bool:
        if event.status == "success":
            self.log.info("%s", event.message)
            return True
        if event.status == "failed":
            kind = "Deployment" if self.kind == "native" else self.kind
            for line in self.hook.failure_report(kind, self.name, self.hook.resolve_namespace()):
                self.log.error("%s", line)
        if event.status == "timeout":
            raise AirflowSensorTimeout(event.message)
        raise AirflowException(event.message)
