"""The operator that runs a Flink job in its own native Kubernetes application cluster (``flink run``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowTaskTimeout,
    BaseOperator,
    conf,
)

from airflow_provider_flink.links.flink import FLINK_UI_URL_XCOM_KEY, FlinkWebUILink, render_flink_ui_url
from airflow_provider_flink.operators._connection import FlinkConnectionMixin
from airflow_provider_flink.state.waiting import WAIT_TARGETS, WaitEvent, check_seconds

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_flink.native.command import NativeJobSpec
    from airflow_provider_flink.native.submit import LocalFlinkSubmitter, PodFlinkSubmitter, SecretMasker
    from airflow_provider_flink.state.verdict import JobVerdict
    from airflow_provider_flink.triggers.flink import FlinkJobTrigger

SUBMITTER_CHOICES = ("local", "pod")
CLEANUP_CHOICES = ("always", "keep_on_failure", "never")
#: Lines of JobManager log quoted in the task log when a job fails.
FAILURE_LOG_LINES = 100
#: Connection extras (of the ``kubernetes`` connection) read for defaults; the operator's arguments win.
EXTRA_FLINK_HOME = "flink_home"
EXTRA_IMAGE = "flink_image"
EXTRA_SERVICE_ACCOUNT = "flink_service_account"
EXTRA_IMAGE_PULL_SECRETS = "flink_image_pull_secrets"
EXTRA_FLINK_CONF = "flink_conf"
EXTRA_UI_URL_TEMPLATE = "flink_ui_url_template"


class FlinkNativeSubmitOperator(FlinkConnectionMixin, BaseOperator):
    """
    Run a Flink job in its own application cluster on Kubernetes (Flink's native mode), wait for it, clean up.

    No Flink Kubernetes Operator needed: the task runs ``flink run --target kubernetes-application`` (on the
    worker, or in a short-lived pod of the job's image), which creates the JobManager Deployment
    ``<cluster_id>``; then it waits on the job through Flink's REST API, read via the Kubernetes API server's
    service proxy (only the ``services/proxy`` permission, no network path to the cluster), and deletes the
    cluster. The cluster id is derived from the task instance unless given, so a retry or a restarted worker
    finds the cluster its previous try started and reattaches instead of submitting twice; a job that a
    previous try saw fail or be cancelled is submitted again.

    The JobManager is kept after the job ends (``execution.shutdown-on-application-finish=false``), so its REST
    API can tell how the job ended; the operator deletes the cluster afterwards according to ``cleanup``.

    Connection extras of the ``kubernetes`` connection used as defaults: ``flink_image``,
    ``flink_service_account``, ``flink_image_pull_secrets`` (list, or names separated by commas),
    ``flink_conf`` (dict of Flink options, under the operator's ``flink_conf``), ``flink_home`` (Flink
    distribution for the local CLI) and ``flink_ui_url_template``.

    :param jar_uri: Job jar: ``local:///opt/flink/usrlib/job.jar`` (in the image) or a remote URI.
    :param entry_class: Main class (``-c``), when the jar's manifest names none.
    :param args: Arguments of the job's ``main``.
    :param python_file: A PyFlink entry script in the image (``-py``), instead of ``jar_uri``.
    :param python_module: A PyFlink entry module (``-pym``), instead of ``jar_uri``.
    :param python_files: Python files for the PYTHONPATH (``-pyfs``).
    :param python_requirements: requirements.txt for the Python workers (``-pyreq``).
    :param python_archives: Archives for the Python workers (``-pyarch``).
    :param python_client_executable: Interpreter running the entry script (``-pyclientexec``).
    :param python_executable: Interpreter of the Python UDF workers (``-pyexec``).
    :param parallelism: Default parallelism (``-p``).
    :param savepoint_path: Savepoint or checkpoint to start from (``-s``).
    :param allow_non_restored_state: Skip savepoint state without an operator (``-n``).
    :param cluster_id: ``kubernetes.cluster-id``. Default: ``<dag>-<task>-<hash>`` of (dag_id, task_id,
        run_id, map_index): the same on every try of one run, different between runs and mapped instances.
    :param namespace: Namespace of the cluster; default the connection's, else ``default``.
    :param image: Flink image with the job (``kubernetes.container.image.ref``); default extra ``flink_image``.
    :param image_pull_policy: ``Always``, ``IfNotPresent`` or ``Never``.
    :param image_pull_secrets: Secret names for pulling the image; default extra ``flink_image_pull_secrets``.
    :param service_account: Service account of JobManager and TaskManagers (it must be allowed to manage pods
        and ConfigMaps); default extra ``flink_service_account``.
    :param jobmanager_cpu: CPUs of the JobManager.
    :param jobmanager_memory: JobManager process memory, Flink syntax (``"1600m"``, ``"2g"``).
    :param taskmanager_cpu: CPUs of each TaskManager.
    :param taskmanager_memory: TaskManager process memory, Flink syntax.
    :param task_slots: Slots per TaskManager.
    :param pod_template_file: Pod template for JobManager and TaskManagers (a file where the CLI runs).
    :param jobmanager_pod_template_file: Pod template of the JobManager.
    :param taskmanager_pod_template_file: Pod template of the TaskManagers.
    :param rest_service_exposed_type: ``ClusterIP`` (default of Flink), ``NodePort``, ``LoadBalancer`` or
        ``Headless_ClusterIP``.
    :param flink_conf: Any other Flink option, passed as ``-Dkey=value``; merged over the extra ``flink_conf``.
        Values of sensitive keys (``password``, ``secret``, ``token``, ``key``...) are masked in logs.
    :param shutdown_on_application_finish: ``execution.shutdown-on-application-finish``. Keep ``False``: with
        ``True`` Flink deletes the cluster when the job ends, and with it the only record of how it ended.
    :param submitter: Where ``flink run`` runs: ``local`` (the worker's Flink CLI) or ``pod`` (a pod of the
        job's image, ``/opt/flink/bin/flink``, with ``submitter_service_account``).
    :param flink_home: Flink distribution for the local CLI; default extra ``flink_home``, else ``flink`` on
        ``PATH``, else ``$FLINK_HOME``.
    :param flink_version: Version of the Flink client, e.g. ``"1.20"`` or ``"2.3.0"``; default: asked from the
        local CLI (``flink --version``), or read from the image tag with ``submitter="pod"``.
    :param submit_timeout: Seconds ``flink run`` may take; a hung command (or pod) is killed.
    :param cli_env: Extra environment variables for the CLI (e.g. ``JAVA_HOME``, ``JVM_ARGS``).
    :param submitter_image: Image of the submitter pod; default ``image``.
    :param submitter_service_account: Service account of the submitter pod, allowed to create Deployments,
        Services and ConfigMaps; default ``service_account``.
    :param kubernetes_conn_id: The ``kubernetes`` connection (cncf-kubernetes connection type). The local CLI
        gets the same cluster access: a kubeconfig path as is, an inline kubeconfig as a private temporary
        file (0600, removed afterwards), in-cluster as the pod's service account.
    :param cluster_context: Kubeconfig context, overriding the connection's.
    :param config_file: Kubeconfig path, overriding the connection's.
    :param in_cluster: Use the worker pod's service account.
    :param wait_for: ``running`` (the job runs: streaming), ``finished`` (the job ended: batch), or ``none``
        (submit and return). Default: ``finished`` when ``execution.runtime-mode`` is ``BATCH``, else ``running``.
    :param deferrable: Wait in the triggerer instead of a worker slot. Default ``[operators] default_deferrable``.
    :param poll_interval: Seconds between looks at the job.
    :param startup_timeout: Seconds the job may take to start (submission, image pull, JobManager start,
        TaskManager slots).
    :param wait_timeout: Seconds the whole wait may take, or ``None``; ``execution_timeout`` also bounds it,
        deferred or not.
    :param cleanup: When to delete the cluster once the job ended or the wait failed: ``always`` (default),
        ``keep_on_failure`` (keep a failed cluster for debugging) or ``never``. A job still running when the
        task succeeds (``wait_for="running"``) is never deleted.
    :param flink_ui_url_template: URL of the Flink Web UI for the task's "Flink Web UI" link, with ``{namespace}``
        and ``{name}`` (the cluster id) placeholders; default extra ``flink_ui_url_template``.
    :param delete_timeout: Seconds to wait for a deleted cluster to be gone.
    """

    template_fields: Sequence[str] = (
        "jar_uri",
        "entry_class",
        "args",
        "python_file",
        "python_module",
        "savepoint_path",
        "cluster_id",
        "namespace",
        "image",
        "flink_conf",
        "flink_ui_url_template",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {"flink_conf": "json", "args": "json"}
    operator_extra_links = (FlinkWebUILink(),)
    ui_color = "#e6522c"

    def __init__(
        self,
        *,
        jar_uri: str | None = None,
        entry_class: str | None = None,
        args: Sequence[str] | None = None,
        python_file: str | None = None,
        python_module: str | None = None,
        python_files: Sequence[str] | None = None,
        python_requirements: str | None = None,
        python_archives: Sequence[str] | None = None,
        python_client_executable: str | None = None,
        python_executable: str | None = None,
        parallelism: int | None = None,
        savepoint_path: str | None = None,
        allow_non_restored_state: bool = False,
        cluster_id: str | None = None,
        namespace: str | None = None,
        image: str | None = None,
        image_pull_policy: str | None = None,
        image_pull_secrets: Sequence[str] | None = None,
        service_account: str | None = None,
        jobmanager_cpu: float | None = None,
        jobmanager_memory: str | None = None,
        taskmanager_cpu: float | None = None,
        taskmanager_memory: str | None = None,
        task_slots: int | None = None,
        pod_template_file: str | None = None,
        jobmanager_pod_template_file: str | None = None,
        taskmanager_pod_template_file: str | None = None,
        rest_service_exposed_type: str | None = None,
        flink_conf: Mapping[str, Any] | None = None,
        shutdown_on_application_finish: bool = False,
        submitter: str = "local",
        flink_home: str | None = None,
        flink_version: str | None = None,
        submit_timeout: float = 300.0,
        cli_env: Mapping[str, str] | None = None,
        submitter_image: str | None = None,
        submitter_service_account: str | None = None,
        kubernetes_conn_id: str = "kubernetes_default",
        cluster_context: str | None = None,
        config_file: str | None = None,
        in_cluster: bool | None = None,
        wait_for: str | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = 10.0,
        startup_timeout: float | None = 600.0,
        wait_timeout: float | None = None,
        cleanup: str = "always",
        flink_ui_url_template: str | None = None,
        delete_timeout: float = 300.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if submitter not in SUBMITTER_CHOICES:
            raise ValueError(f"submitter must be one of {', '.join(SUBMITTER_CHOICES)}, not {submitter!r}")
        if cleanup not in CLEANUP_CHOICES:
            raise ValueError(f"cleanup must be one of {', '.join(CLEANUP_CHOICES)}, not {cleanup!r}")
        if wait_for is not None and wait_for not in (*WAIT_TARGETS[:2], "none"):
            raise ValueError(f"wait_for must be 'running', 'finished' or 'none', not {wait_for!r}")
        check_seconds("poll_interval", poll_interval, positive=True)
        check_seconds("submit_timeout", submit_timeout, positive=True)
        check_seconds("startup_timeout", startup_timeout, optional=True)
        check_seconds("wait_timeout", wait_timeout, optional=True)
        check_seconds("delete_timeout", delete_timeout)
        self.jar_uri = jar_uri
        self.entry_class = entry_class
        self.args = args
        self.python_file = python_file
        self.python_module = python_module
        self.python_files = python_files
        self.python_requirements = python_requirements
        self.python_archives = python_archives
        self.python_client_executable = python_client_executable
        self.python_executable = python_executable
        self.parallelism = parallelism
        self.savepoint_path = savepoint_path
        self.allow_non_restored_state = allow_non_restored_state
        self.cluster_id = cluster_id
        self.namespace = namespace
        self.image = image
        self.image_pull_policy = image_pull_policy
        self.image_pull_secrets = image_pull_secrets
        self.service_account = service_account
        self.jobmanager_cpu = jobmanager_cpu
        self.jobmanager_memory = jobmanager_memory
        self.taskmanager_cpu = taskmanager_cpu
        self.taskmanager_memory = taskmanager_memory
        self.task_slots = task_slots
        self.pod_template_file = pod_template_file
        self.jobmanager_pod_template_file = jobmanager_pod_template_file
        self.taskmanager_pod_template_file = taskmanager_pod_template_file
        self.rest_service_exposed_type = rest_service_exposed_type
        self.flink_conf = flink_conf
        self.shutdown_on_application_finish = shutdown_on_application_finish
        self.submitter = submitter
        self.flink_home = flink_home
        self.flink_version = flink_version
        self.submit_timeout = submit_timeout
        self.cli_env = cli_env
        self.submitter_image = submitter_image
        self.submitter_service_account = submitter_service_account
        self.kubernetes_conn_id = kubernetes_conn_id
        self.cluster_context = cluster_context
        self.config_file = config_file
        self.in_cluster = in_cluster
        self.wait_for = wait_for
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.startup_timeout = startup_timeout
        self.wait_timeout = wait_timeout
        self.cleanup = cleanup
        self.flink_ui_url_template = flink_ui_url_template
        self.delete_timeout = delete_timeout
        # Set as soon as known, so on_kill knows what to stop and delete.
        self._cluster: tuple[str, str] | None = None
        self._running_submitter: LocalFlinkSubmitter | PodFlinkSubmitter | None = None

    # -- connection ------------------------------------------------------------------------------

    def _extra(self, name: str) -> Any:
        from airflow_provider_flink.native.submit import connection_extra

        return connection_extra(self.hook, name) if self.kubernetes_conn_id else None

    def _flink_conf(self) -> dict[str, Any]:
        """The operator's ``flink_conf`` over the connection's (a dict, or JSON text from the connection form)."""
        extra = self._extra(EXTRA_FLINK_CONF) or {}
        if isinstance(extra, str):
            import json

            try:
                extra = json.loads(extra)
            except ValueError as error:
                raise AirflowFailException(
                    f"The connection extra {EXTRA_FLINK_CONF} of {self.kubernetes_conn_id!r} is not valid JSON "
                    f'({error}): write it as an object of Flink options, e.g. {{"state.backend.type": "rocksdb"}}.'
                ) from error
        if not isinstance(extra, Mapping):
            raise AirflowFailException(
                f"The connection extra {EXTRA_FLINK_CONF} of {self.kubernetes_conn_id!r} must be an object of Flink "
                f"options, got {type(extra).__name__}."
            )
        given = self.flink_conf if self.flink_conf is not None else {}
        if not isinstance(given, Mapping):
            # The value is not quoted: a misplaced one may hold a secret.
            raise AirflowFailException(
                f"flink_conf must be a mapping of Flink options such as {{'state.backend.type': 'rocksdb'}}, got "
                f"{type(given).__name__}."
            )
        return {**extra, **given}

    # -- execute ---------------------------------------------------------------------------------

    def execute(self, context: Context) -> dict[str, Any]:
        started = time.time()
        ti = context["ti"]
        namespace = self.hook.resolve_namespace(self.namespace)
        cluster_id = self._cluster_id_for(ti)
        target = self._target()

        reattached = self._reattach(cluster_id, namespace, ti)
        self._cluster = (cluster_id, namespace)  # ours from here on: on_kill may delete it
        if not reattached:
            self._submit(cluster_id, namespace, ti)
        result = self._result(cluster_id, namespace, event=None)
        ti.xcom_push(key=FLINK_UI_URL_XCOM_KEY, value=result["flink_ui_url"])
        if target == "none":
            self.log.info(
                "Flink application cluster %s/%s submitted; not waiting (wait_for='none').", namespace, cluster_id
            )
            return result

        trigger = self._trigger(cluster_id, namespace, target, started)
        if self.deferrable:
            self.defer(
                trigger=trigger,
                method_name="execute_complete",
                # Backstop only: the trigger's own deadline includes execution_timeout and fires first,
                # so cleanup runs on the worker instead of the task dying mid-air.
                timeout=self.execution_timeout + timedelta(minutes=5) if self.execution_timeout else None,
            )
        from airflow_provider_flink.triggers.flink import first_event  # loads the trigger only to wait

        event = asyncio.run(first_event(trigger))
        return self.execute_complete(context, event)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Act on the end of the wait: return the result, or log the diagnosis, clean up and fail."""
        cluster_id, namespace = event["name"], event["namespace"]
        self._cluster = (cluster_id, namespace)
        wait_event = WaitEvent.from_dict(event)
        succeeded = wait_event.status == "success"
        if not succeeded:
            self._log_diagnostics(cluster_id, namespace)
        still_running = succeeded and wait_event.phase == "RUNNING"
        self._cleanup(cluster_id, namespace, failed=not succeeded, still_running=still_running)
        if succeeded:
            self.log.info("%s", wait_event.message)
            return self._result(cluster_id, namespace, event=wait_event)
        if wait_event.status == "timeout":
            raise AirflowTaskTimeout(wait_event.message)
        raise AirflowException(wait_event.message)

    # -- identity and target -----------------------------------------------------------------------

    def _cluster_id_for(self, ti: Any) -> str:
        from airflow_provider_flink.native.command import NativeSpecError, derive_cluster_id, validate_cluster_id

        try:
            # An empty id (e.g. a template that rendered to nothing) is an error, not a request for a derived one.
            if self.cluster_id is not None:
                validate_cluster_id(self.cluster_id)
                return self.cluster_id
            return derive_cluster_id(ti.dag_id, ti.task_id, ti.run_id, getattr(ti, "map_index", -1))
        except NativeSpecError as error:
            raise AirflowFailException(f"Invalid cluster id for task {ti.task_id}: {error}") from error

    def _target(self) -> str:
        if self.wait_for is not None:
            return self.wait_for
        mode = self._flink_conf().get("execution.runtime-mode")
        return "finished" if str(mode).upper() == "BATCH" else "running"

    def _labels(self, ti: Any) -> tuple[dict[str, str], dict[str, str]]:
        from airflow_provider_flink.specs import airflow_labels

        return airflow_labels(
            ti.dag_id, ti.task_id, ti.run_id, getattr(ti, "map_index", -1), getattr(ti, "try_number", None)
        )

    # -- reattach ----------------------------------------------------------------------------------

    def _reattach(self, cluster_id: str, namespace: str, ti: Any) -> bool:
        """
        Decide what to do with a cluster of this id that already exists; return whether to wait on it.

        Never a second submission for a live cluster: one still starting or running (a retry, a restarted
        worker) is reattached to, one that finished is reported. One whose job failed or was cancelled is
        deleted so the job runs again. One that belongs to another task instance fails the task.
        """
        from airflow_provider_flink.specs.labels import RUN_ID_KEY
        from airflow_provider_flink.state.verdict import JobPhase

        deployment = self.hook.get_deployment(cluster_id, namespace)
        if deployment is None:
            return False
        labels = (deployment.get("metadata") or {}).get("labels") or {}
        ours, _ = self._labels(ti)
        if RUN_ID_KEY in labels:
            if any(labels.get(key) != value for key, value in ours.items()):
                raise AirflowFailException(
                    f"Flink application cluster {namespace}/{cluster_id} exists and belongs to another task "
                    f"instance (dag_id={labels.get('airflow.apache.org/dag_id')}, "
                    f"task_id={labels.get('airflow.apache.org/task_id')}, run_id={labels.get(RUN_ID_KEY)}): "
                    "delete it, or leave cluster_id unset to get an id per task instance and run."
                )
        elif self.cluster_id:
            # A derived id names this task instance's run; a chosen one may name anybody's cluster.
            raise AirflowFailException(
                f"Deployment {namespace}/{cluster_id} exists but was not started by this task instance: delete "
                "it, or choose another cluster_id."
            )
        verdict = self._look(cluster_id, namespace)
        if verdict is not None and verdict.phase in (JobPhase.FAILED, JobPhase.CANCELED):
            self.log.info(
                "Flink application cluster %s/%s of an earlier try ended %s: deleting it to run the job again.",
                namespace,
                cluster_id,
                verdict.phase,
            )
            self._delete_cluster(cluster_id, namespace)
            return False
        if verdict is None:
            self.log.info(
                "Flink application cluster %s/%s is being deleted: waiting, then submitting.", namespace, cluster_id
            )
            self._wait_deleted(cluster_id, namespace)
            return False
        self.log.info(
            "Flink application cluster %s/%s exists for this task instance (%s): reattaching instead of "
            "submitting again.",
            namespace,
            cluster_id,
            verdict.message,
        )
        if RUN_ID_KEY not in labels:
            # The try that submitted it was lost before labelling it.
            self._mark_ours(cluster_id, namespace, ti)
        return True

    def _look(self, cluster_id: str, namespace: str) -> JobVerdict | None:
        """
        Judge the cluster's job once, riding out transient API failures as the wait does.

        Each look uses the native clusters' short retry policy, so a burst of failures can exhaust one look;
        like the trigger (``MAX_CONSECUTIVE_ERRORS``), several failed looks in a row are tolerated before giving
        up, so that a blip during a retry's reattach check does not fail the try and leave the cluster unwatched.
        """
        from airflow_provider_flink.exceptions import FlinkApiUnavailable
        from airflow_provider_flink.hooks.kubernetes import AsyncFlinkKubernetesHook
        from airflow_provider_flink.triggers.flink import (
            MAX_CONSECUTIVE_ERRORS,
            look_native_cluster,
            native_retry_policy,
        )

        async def look() -> JobVerdict | None:
            connection = self.hook.get_trigger_connection_kwargs()
            async with AsyncFlinkKubernetesHook(**connection, retry_policy=native_retry_policy()) as hook:
                for attempt in range(1, MAX_CONSECUTIVE_ERRORS + 1):
                    try:
                        return await look_native_cluster(hook, cluster_id, namespace)
                    except FlinkApiUnavailable as error:
                        if attempt == MAX_CONSECUTIVE_ERRORS:
                            raise
                        self.log.warning(
                            "Looking at Flink application cluster %s/%s failed (%d in a row): %s",
                            namespace,
                            cluster_id,
                            attempt,
                            error,
                        )
                        await asyncio.sleep(self.poll_interval)
            raise AssertionError("unreachable")  # the loop returns or raises

        return asyncio.run(look())

    # -- submitting --------------------------------------------------------------------------------

    def _submit(self, cluster_id: str, namespace: str, ti: Any) -> None:
        """Run ``flink run`` (locally or in a pod); a failure cleans up what it left per ``cleanup``, then fails."""
        from airflow_provider_flink.native.submit import FlinkSubmitError, private_work_dir

        labels, annotations = self._labels(ti)
        try:
            with private_work_dir() as work_dir:
                if self.submitter == "pod":
                    self._submit_in_pod(cluster_id, namespace, labels, annotations)
                else:
                    self._submit_locally(cluster_id, namespace, work_dir)
        except FlinkSubmitError as error:
            if self.hook.get_deployment(cluster_id, namespace) is not None:
                self._cleanup(cluster_id, namespace, failed=True, still_running=False)
            raise AirflowException(
                f"Submitting Flink application cluster {namespace}/{cluster_id} failed: {error}"
            ) from error
        finally:
            self._running_submitter = None
        self._mark_ours(cluster_id, namespace, ti)
        self.log.info("Flink application cluster %s/%s submitted.", namespace, cluster_id)

    def _mark_ours(self, cluster_id: str, namespace: str, ti: Any) -> None:
        """
        Label the JobManager Deployment as this task instance's, so a retry can tell it from somebody else's.

        If that fails, the cluster is kept when a retry will reattach to it (a try is left and the id is derived,
        so it names this task instance's run), else deleted.
        """
        from airflow_provider_flink.exceptions import FlinkResourceNotFound

        labels, annotations = self._labels(ti)
        keep_for_retry = not self.cluster_id and int(getattr(ti, "try_number", 1) or 1) <= int(self.retries or 0)
        patch = {"metadata": {"labels": labels, "annotations": annotations}}
        try:
            self.hook.patch_deployment(cluster_id, patch, namespace)
        except FlinkResourceNotFound:
            # Deleted right after its creation: the wait reports that, with its explanation.
            self.log.warning("Deployment %s/%s vanished right after flink run created it.", namespace, cluster_id)
        except Exception:
            if keep_for_retry:
                # Its id names this task instance's run: the retry finds it, reattaches and labels it.
                self.log.error(
                    "Could not label the JobManager Deployment %s/%s as this task's: the retry reattaches to it.",
                    namespace,
                    cluster_id,
                )
                raise
            # No retry left, or an id of the user's choosing that a retry could not tell from somebody else's:
            # nobody would ever wait on this cluster, so it does not stay.
            self.log.error(
                "Could not label the JobManager Deployment %s/%s as this task's: deleting the cluster.",
                namespace,
                cluster_id,
            )
            try:
                self.hook.delete_application_cluster(cluster_id, namespace)
            except Exception as error:
                self.log.error("Could not delete cluster %s/%s either: %s", namespace, cluster_id, error)
            raise

    def _submit_locally(self, cluster_id: str, namespace: str, work_dir: str) -> None:
        from airflow_provider_flink.native.command import FlinkVersionDetectionError
        from airflow_provider_flink.native.submit import (
            LocalFlinkSubmitter,
            cached_flink_version,
            cli_kube_access,
            find_flink_binary,
        )

        binary = find_flink_binary(self.flink_home or self._extra(EXTRA_FLINK_HOME))
        submitter = LocalFlinkSubmitter(
            work_dir=work_dir, env=self.cli_env, timeout=self.submit_timeout, log=self._log_cli_line
        )
        version = self.flink_version
        if not version:
            try:
                version = cached_flink_version(binary, submitter.environment(binary))
            except FlinkVersionDetectionError as error:
                raise AirflowException(f"{error} Or pass flink_version.") from error
            self.log.info("Flink CLI %s is version %s.", binary, version)
        with cli_kube_access(self.hook, work_dir) as access:
            spec = self._spec(cluster_id, namespace, kubeconfig_path=access.config_file, kube_context=access.context)
            argv = self._argv(spec, version, binary)
            self._running_submitter = submitter
            submitter.run(argv, self._masker(argv))

    def _submit_in_pod(
        self, cluster_id: str, namespace: str, labels: dict[str, str], annotations: dict[str, str]
    ) -> None:
        from airflow_provider_flink.native.submit import POD_FLINK_BINARY, PodFlinkSubmitter, flink_version_from_image

        spec = self._spec(cluster_id, namespace)
        version = self.flink_version or flink_version_from_image(self.submitter_image or spec.image)
        if not version:
            raise AirflowFailException(
                f"Cannot tell the Flink version of image {self.submitter_image or spec.image!r} from its tag: pass "
                "flink_version (e.g. '1.20' or '2.3.0')."
            )
        argv = self._argv(spec, version, POD_FLINK_BINARY)
        submitter = PodFlinkSubmitter(
            self.hook,
            namespace=namespace,
            cluster_id=cluster_id,
            image=self.submitter_image or spec.image,
            service_account=self.submitter_service_account or spec.service_account,
            image_pull_policy=spec.image_pull_policy,
            image_pull_secrets=spec.image_pull_secrets,
            labels=labels,
            annotations=annotations,
            env=self.cli_env,
            timeout=self.submit_timeout,
            poll_interval=min(2.0, self.poll_interval),
            log=self._log_cli_line,
        )
        self._running_submitter = submitter
        submitter.run(argv, self._masker(argv))

    def _spec(
        self, cluster_id: str, namespace: str, *, kubeconfig_path: str | None = None, kube_context: str | None = None
    ) -> NativeJobSpec:
        from airflow_provider_flink.native.command import NativeJobSpec, NativeSpecError

        image = self.image or self._extra(EXTRA_IMAGE)
        if not image:
            raise AirflowFailException(
                f"No Flink image for task {self.task_id}: pass image, or set the connection extra {EXTRA_IMAGE}."
            )
        secrets = self.image_pull_secrets
        if secrets is None:
            extra = self._extra(EXTRA_IMAGE_PULL_SECRETS) or ()
            secrets = [s.strip() for s in extra.split(",") if s.strip()] if isinstance(extra, str) else list(extra)
        try:
            return NativeJobSpec(
                cluster_id=cluster_id,
                image=image,
                namespace=namespace,
                image_pull_policy=self.image_pull_policy,
                image_pull_secrets=tuple(secrets),
                service_account=self.service_account or self._extra(EXTRA_SERVICE_ACCOUNT),
                jobmanager_cpu=self.jobmanager_cpu,
                jobmanager_memory=self.jobmanager_memory,
                taskmanager_cpu=self.taskmanager_cpu,
                taskmanager_memory=self.taskmanager_memory,
                task_slots=self.task_slots,
                pod_template_file=self.pod_template_file,
                jobmanager_pod_template_file=self.jobmanager_pod_template_file,
                taskmanager_pod_template_file=self.taskmanager_pod_template_file,
                rest_service_exposed_type=self.rest_service_exposed_type,
                kubeconfig_path=kubeconfig_path,
                kube_context=kube_context,
                shutdown_on_application_finish=self.shutdown_on_application_finish,
                flink_conf=self._flink_conf(),
                jar=self.jar_uri,
                entry_class=self.entry_class,
                program_args=tuple(self.args or ()),
                parallelism=self.parallelism,
                savepoint_path=self.savepoint_path,
                allow_non_restored_state=self.allow_non_restored_state,
                py_file=self.python_file,
                py_module=self.python_module,
                py_files=tuple(self.python_files or ()),
                py_requirements=self.python_requirements,
                py_archives=tuple(self.python_archives or ()),
                py_client_executable=self.python_client_executable,
                py_executable=self.python_executable,
            )
        except NativeSpecError as error:
            # Nothing to retry in a bad spec: fail without burning the task's retries.
            raise AirflowFailException(f"Invalid Flink job for task {self.task_id}: {error}") from error

    def _argv(self, spec: NativeJobSpec, version: str, binary: str) -> list[str]:
        from airflow_provider_flink.native.command import NativeSpecError, build_flink_run_argv

        try:
            return build_flink_run_argv(spec, flink_version=version, flink_binary=binary)
        except NativeSpecError as error:
            raise AirflowFailException(f"Invalid Flink job for task {self.task_id}: {error}") from error

    def _masker(self, argv: Sequence[str]) -> SecretMasker:
        from airflow_provider_flink.native.submit import SecretMasker

        return SecretMasker(argv)

    def _log_cli_line(self, line: str) -> None:
        self.log.info("flink: %s", line)

    # -- waiting -----------------------------------------------------------------------------------

    def _trigger(self, cluster_id: str, namespace: str, target: str, started: float) -> FlinkJobTrigger:
        from airflow_provider_flink.triggers.flink import NATIVE_KIND, FlinkJobTrigger

        deadlines = [started + self.wait_timeout] if self.wait_timeout else []
        if self.execution_timeout:
            deadlines.append(started + self.execution_timeout.total_seconds())
        return FlinkJobTrigger(
            kind=NATIVE_KIND,
            name=cluster_id,
            namespace=namespace,
            connection=self.hook.get_trigger_connection_kwargs(),
            target=target,
            poll_interval=self.poll_interval,
            startup_deadline=started + self.startup_timeout if self.startup_timeout else None,
            deadline=min(deadlines) if deadlines else None,
            on_kill_action="delete",
        )

    # -- after the wait ----------------------------------------------------------------------------

    def _log_diagnostics(self, cluster_id: str, namespace: str) -> None:
        """Quote the JobManager's log tail and the Warning events of its Deployment and pods into the task log."""
        for line in self.hook.failure_report("Deployment", cluster_id, namespace, log_lines=FAILURE_LOG_LINES):
            self.log.error("%s", line)
        try:
            # Image pulls, scheduling and crash loops are reported on the pod, not on the Deployment.
            for pod in self.hook.find_jobmanager_pods(cluster_id, namespace):
                name = pod["metadata"]["name"]
                events = self.hook.list_events(name, namespace, kind="Pod", warning_only=True)
                if events:
                    self.log.error("--- Warning events of Pod %s/%s ---", namespace, name)
                for event in events:
                    when = event.get("lastTimestamp") or event.get("eventTime") or ""
                    self.log.error("%s %s: %s", when, event.get("reason"), event.get("message"))
        except Exception as error:  # a diagnosis must not hide the failure it explains
            self.log.warning(
                "Could not read the events of the JobManager pods of %s/%s: %s", namespace, cluster_id, error
            )

    def _cleanup(self, cluster_id: str, namespace: str, *, failed: bool, still_running: bool) -> None:
        if still_running:
            self.log.info("Flink application cluster %s/%s keeps running its job.", namespace, cluster_id)
            return
        if self.cleanup == "never" or (failed and self.cleanup == "keep_on_failure"):
            self.log.info(
                "Keeping Flink application cluster %s/%s (cleanup=%s); delete deployment/%s when done.",
                namespace,
                cluster_id,
                self.cleanup,
                cluster_id,
            )
            return
        self.log.info("Deleting Flink application cluster %s/%s (cleanup=%s).", namespace, cluster_id, self.cleanup)
        self._delete_cluster(cluster_id, namespace)

    def _delete_cluster(self, cluster_id: str, namespace: str) -> None:
        self.hook.delete_application_cluster(cluster_id, namespace)
        self._wait_deleted(cluster_id, namespace)

    def _wait_deleted(self, cluster_id: str, namespace: str) -> None:
        deadline = time.monotonic() + self.delete_timeout
        while self.hook.get_deployment(cluster_id, namespace) is not None:
            if time.monotonic() >= deadline:
                self.log.warning(
                    "Deployment %s/%s is still there %ss after its deletion.",
                    namespace,
                    cluster_id,
                    self.delete_timeout,
                )
                return
            time.sleep(min(1.0, self.poll_interval))

    def _result(self, cluster_id: str, namespace: str, *, event: WaitEvent | None) -> dict[str, Any]:
        """The task's XCom: a small dict."""
        template = self.flink_ui_url_template or self._extra(EXTRA_UI_URL_TEMPLATE)
        return {
            "cluster_id": cluster_id,
            "namespace": namespace,
            "job_id": event.job_id if event else None,
            "state": event.phase if event else None,
            "flink_ui_url": render_flink_ui_url(template, name=cluster_id, namespace=namespace, cluster_id=cluster_id),
        }

    def on_kill(self) -> None:
        """Stop a running submission and delete the cluster when the task is killed."""
        running = self._running_submitter
        if running is not None:
            running.kill()
        if self._cluster is None:
            return
        cluster_id, namespace = self._cluster
        self.log.info("Task killed: deleting Flink application cluster %s/%s", namespace, cluster_id)
        try:
            self.hook.delete_application_cluster(cluster_id, namespace)
        except Exception as error:
            self.log.warning("Could not delete Flink application cluster %s/%s: %s", namespace, cluster_id, error)
