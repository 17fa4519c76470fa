"""Day-2 operations on a running Flink job: suspend, resume, savepoint, delete."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowException, BaseOperator, conf

from airflow_provider_flink.exceptions import FlinkJobFailed, FlinkJobTimeout
from airflow_provider_flink.operators._connection import FlinkConnectionMixin
from airflow_provider_flink.state.waiting import WaitEvent, check_seconds

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context


LIFECYCLE_KINDS = ("FlinkDeployment", "FlinkSessionJob")
#: ``spec.savepoint.formatType`` values of a FlinkStateSnapshot (its CRD also lists ``UNKNOWN``, for status only).
SAVEPOINT_FORMATS = ("CANONICAL", "NATIVE")


class FlinkLifecycleOperator(FlinkConnectionMixin, BaseOperator):
    """
    Base of the day-2 operators: act on an existing FlinkDeployment or FlinkSessionJob, then wait for the effect.

    Same knobs as the other operators of this provider: ``wait_for_completion``, ``deferrable``,
    ``poll_interval`` and ``timeout``, and the wait goes through the same trigger and judgement.

    :param name: Name of the FlinkDeployment or FlinkSessionJob.
    :param namespace: Its namespace; default the connection's, else ``default``.
    :param kind: ``FlinkDeployment`` or ``FlinkSessionJob``.
    :param kubernetes_conn_id: The ``kubernetes`` connection (cncf-kubernetes connection type).
    :param cluster_context: Kubeconfig context, overriding the connection's.
    :param config_file: Kubeconfig path, overriding the connection's.
    :param in_cluster: Use the worker pod's service account.
    :param wait_for_completion: Wait until the change took effect (default) or return once it is asked for.
    :param deferrable: Wait in the triggerer. Default ``[operators] default_deferrable``.
    :param poll_interval: Seconds between looks.
    :param timeout: Seconds the wait may take.
    """

    template_fields: Sequence[str] = ("name", "namespace")
    ui_color = "#f2a68c"

    def __init__(
        self,
        *,
        name: str,
        namespace: str | None = None,
        kind: str = "FlinkDeployment",
        kubernetes_conn_id: str = "kubernetes_default",
        cluster_context: str | None = None,
        config_file: str | None = None,
        in_cluster: bool | None = None,
        wait_for_completion: bool = True,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = 10.0,
        timeout: float = 600.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if kind not in LIFECYCLE_KINDS:
            raise ValueError(f"kind must be one of {', '.join(LIFECYCLE_KINDS)}, not {kind!r}")
        check_seconds("poll_interval", poll_interval, positive=True)
        check_seconds("timeout", timeout)
        self.name = name
        self.namespace = namespace
        self.kind = kind
        self.kubernetes_conn_id = kubernetes_conn_id
        self.cluster_context = cluster_context
        self.config_file = config_file
        self.in_cluster = in_cluster
        self.wait_for_completion = wait_for_completion
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.timeout = timeout

    def _existing(self) -> dict[str, Any]:
        namespace = self.hook.resolve_namespace()
        obj = self.hook.get_resource(self.kind, self.name, namespace)
        if obj is None:
            raise AirflowException(f"{self.kind} {namespace}/{self.name} does not exist: nothing to act on.")
        return obj

    def _wait(
        self,
        *,
        kind: str,
        name: str,
        target: str,
        expected_spec: dict[str, Any] | None = None,
        savepoint_nonce: int | None = None,
    ) -> Any:
        """Wait through :class:`FlinkJobTrigger` (deferred or in this process); the result comes back through
        :meth:`execute_complete`."""
        from airflow_provider_flink.triggers.flink import FlinkJobTrigger

        trigger = FlinkJobTrigger(
            kind=kind,
            name=name,
            namespace=self.hook.resolve_namespace(),
            connection=self.hook.get_trigger_connection_kwargs(),
            target=target,
            expected_spec=expected_spec,
            savepoint_nonce=savepoint_nonce,
            poll_interval=self.poll_interval,
            deadline=time.time() + self.timeout,
        )
        if self.deferrable:
            self.defer(
                trigger=trigger,
                method_name="execute_complete",
                timeout=timedelta(seconds=self.timeout + 300),
            )
        from airflow_provider_flink.triggers.flink import first_event  # loads the trigger only to wait

        return self.execute_complete({}, asyncio.run(first_event(trigger)))  # type: ignore[arg-type]

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        wait_event = WaitEvent.from_dict(event)
        if wait_event.status == "success":
            self.log.info("%s", wait_event.message)
            return self._result(wait_event)
        if wait_event.status == "timeout":
            raise FlinkJobTimeout(wait_event.message)
        raise FlinkJobFailed(wait_event.message)

    def _result(self, event: WaitEvent | None) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "namespace": self.hook.resolve_namespace(),
            "job_id": event.job_id if event else None,
            "state": event.phase if event else None,
            "savepoint_path": event.savepoint_path if event else None,
        }


class FlinkSuspendJobOperator(FlinkLifecycleOperator):
    """
    Suspend a Flink job (``spec.job.state: suspended``) and wait until the Flink operator has stopped it.

    With ``upgradeMode: savepoint`` the operator takes a savepoint first, and resuming starts from it.
    See :class:`FlinkLifecycleOperator` for the parameters.
    """

    def execute(self, context: Context) -> dict[str, Any]:
        self._existing()
        patch = {"spec": {"job": {"state": "suspended"}}}
        self.hook.patch_resource(self.kind, self.name, patch, self.hook.resolve_namespace())
        self.log.info("Asked %s %s to suspend.", self.kind, self.name)
        if not self.wait_for_completion:
            return self._result(None)
        return self._wait(kind=self.kind, name=self.name, target="suspended", expected_spec=patch["spec"])


class FlinkResumeJobOperator(FlinkLifecycleOperator):
    """
    Resume a suspended Flink job (``spec.job.state: running``) and wait until it runs again.

    See :class:`FlinkLifecycleOperator` for the parameters.
    """

    def execute(self, context: Context) -> dict[str, Any]:
        self._existing()
        patch = {"spec": {"job": {"state": "running"}}}
        self.hook.patch_resource(self.kind, self.name, patch, self.hook.resolve_namespace())
        self.log.info("Asked %s %s to resume.", self.kind, self.name)
        if not self.wait_for_completion:
            return self._result(None)
        return self._wait(kind=self.kind, name=self.name, target="running", expected_spec=patch["spec"])


class FlinkSavepointOperator(FlinkLifecycleOperator):
    """
    Take a savepoint of a running Flink job and return its path (XCom ``savepoint_path``).

    Creates a FlinkStateSnapshot (the Flink Kubernetes Operator's way since 1.10) named after the task
    instance, so a retry finds the snapshot it asked for instead of taking a second one, and waits until it
    is COMPLETED. A FAILED or ABANDONED snapshot fails the task with the operator's error. Where the cluster
    has no FlinkStateSnapshot CRD (operators before 1.10), it bumps ``spec.job.savepointTriggerNonce`` instead
    and waits for the savepoint recorded with that nonce in ``status.jobStatus.savepointInfo``.

    :param savepoint_directory: Where to write the savepoint; default the job's ``state.savepoints.dir``.
    :param format_type: ``CANONICAL`` or ``NATIVE``; default the operator's.
    :param dispose_on_delete: Delete the savepoint files when the FlinkStateSnapshot is deleted.
    :param backoff_limit: Retries of a failing savepoint by the Flink operator.
    :param method: ``snapshot`` (FlinkStateSnapshot), ``nonce`` (``savepointTriggerNonce``) or ``auto``
        (``snapshot`` when the cluster serves FlinkStateSnapshots, else ``nonce``).
    """

    template_fields: Sequence[str] = (*FlinkLifecycleOperator.template_fields, "savepoint_directory")

    def __init__(
        self,
        *,
        savepoint_directory: str | None = None,
        format_type: str | None = None,
        dispose_on_delete: bool = False,
        backoff_limit: int | None = None,
        method: str = "auto",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if method not in ("auto", "snapshot", "nonce"):
            raise ValueError(f"method must be 'auto', 'snapshot' or 'nonce', not {method!r}")
        if format_type is not None and format_type not in SAVEPOINT_FORMATS:
            # Checked here: the API server would refuse the FlinkStateSnapshot only after the job was looked up.
            raise ValueError(f"format_type must be one of {', '.join(SAVEPOINT_FORMATS)} or None, not {format_type!r}")
        self.method = method
        self.savepoint_directory = savepoint_directory
        self.format_type = format_type
        self.dispose_on_delete = dispose_on_delete
        self.backoff_limit = backoff_limit

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_flink.native.command import derive_cluster_id
        from airflow_provider_flink.state.snapshot import judge_snapshot

        live = self._existing()
        if self.method == "nonce" or (self.method == "auto" and not self.hook.serves("flinkstatesnapshots")):
            return self._savepoint_by_nonce(live)
        ti = context["ti"]
        namespace = self.hook.resolve_namespace()
        # One snapshot per task instance run: a retry finds it again instead of taking another savepoint.
        name = derive_cluster_id(ti.dag_id, ti.task_id, ti.run_id, getattr(ti, "map_index", -1))
        existing = self.hook.get_resource("FlinkStateSnapshot", name, namespace)
        if existing is not None and judge_snapshot(existing).phase.value == "FAILED":
            self.log.info("FlinkStateSnapshot %s/%s failed before: taking it again.", namespace, name)
            self.hook.delete_resource("FlinkStateSnapshot", name, namespace)
            self.hook.wait_until_deleted("FlinkStateSnapshot", name, namespace, timeout=60, interval=1)
            existing = None
        if existing is None:
            self.hook.create_resource(self._snapshot_body(name, namespace), namespace)
            self.log.info("Created FlinkStateSnapshot %s/%s for %s %s.", namespace, name, self.kind, self.name)
        else:
            self.log.info("FlinkStateSnapshot %s/%s exists (a retry): waiting for it.", namespace, name)
        if not self.wait_for_completion:
            return {**self._result(None), "snapshot": name}
        return self._wait(kind="FlinkStateSnapshot", name=name, target="finished")

    def _savepoint_by_nonce(self, live: dict[str, Any]) -> dict[str, Any]:
        nonce = int(((live.get("spec") or {}).get("job") or {}).get("savepointTriggerNonce") or 0) + 1
        patch = {"spec": {"job": {"savepointTriggerNonce": nonce}}}
        self.hook.patch_resource(self.kind, self.name, patch, self.hook.resolve_namespace())
        self.log.info("Asked %s %s for a savepoint (savepointTriggerNonce=%d).", self.kind, self.name, nonce)
        if not self.wait_for_completion:
            return self._result(None)
        return self._wait(kind=self.kind, name=self.name, target="finished", savepoint_nonce=nonce)

    def _snapshot_body(self, name: str, namespace: str) -> dict[str, Any]:
        savepoint: dict[str, Any] = {"disposeOnDelete": self.dispose_on_delete}
        if self.savepoint_directory:
            savepoint["path"] = self.savepoint_directory
        if self.format_type:
            savepoint["formatType"] = self.format_type
        spec: dict[str, Any] = {"jobReference": {"kind": self.kind, "name": self.name}, "savepoint": savepoint}
        if self.backoff_limit is not None:
            spec["backoffLimit"] = self.backoff_limit
        return {
            "apiVersion": "flink.apache.org/v1beta1",
            "kind": "FlinkStateSnapshot",
            "metadata": {"name": name, "namespace": namespace},
            "spec": spec,
        }


class FlinkDeleteJobOperator(FlinkLifecycleOperator):
    """
    Delete a FlinkDeployment or FlinkSessionJob and wait until it is gone.

    The Flink operator's finalizer stops the job first (with a savepoint when configured), so the wait can
    take a while. A resource already gone is not an error. See :class:`FlinkLifecycleOperator`.
    """

    def execute(self, context: Context) -> dict[str, Any]:
        namespace = self.hook.resolve_namespace()
        if not self.hook.delete_resource(self.kind, self.name, namespace):
            self.log.info("%s %s/%s was already gone.", self.kind, namespace, self.name)
            return self._result(None)
        if self.wait_for_completion and not self.hook.wait_until_deleted(
            self.kind, self.name, namespace, timeout=self.timeout, interval=min(2.0, self.poll_interval)
        ):
            raise FlinkJobTimeout(
                f"{self.kind} {namespace}/{self.name} is still there {self.timeout}s after its deletion: is the "
                "Flink Kubernetes Operator running? Its finalizer keeps the resource until it stopped the job."
            )
        self.log.info("%s %s/%s deleted.", self.kind, namespace, self.name)
        return self._result(None)
