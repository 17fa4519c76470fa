"""
Run a ``flink run --target kubernetes-application`` command: on the worker, or in a short-lived pod.

Both submitters take the argv from :func:`~airflow_provider_flink.native.command.build_flink_run_argv`,
run it without a shell, stream its output into the task log with secrets masked, and turn a non-zero exit
or a hung command into an error quoting the (masked) end of the output.

* :class:`LocalFlinkSubmitter` runs the Flink CLI installed on the worker, with a private copy of its
  configuration folder, log folder and temp folder, so concurrent tasks never share files.
* :class:`PodFlinkSubmitter` runs the same argv with ``/opt/flink/bin/flink`` in a pod of the job's own
  Flink image (``restartPolicy: Never``), reads its log and exit code, and deletes it. The pod reaches the
  API server with its service account, which needs the rights Flink's client needs (create Deployments,
  Services and ConfigMaps in the namespace).

:func:`cli_kube_access` gives the local CLI the Kubernetes access of the task's connection.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowException

from airflow_provider_flink.native.command import mask_argv, sensitive_values

if TYPE_CHECKING:
    from airflow_provider_flink.hooks.kubernetes import FlinkKubernetesHook

#: Where the official Flink images keep the CLI.
POD_FLINK_BINARY = "/opt/flink/bin/flink"
#: Container name of the submitter pod.
SUBMITTER_CONTAINER = "flink-submit"
#: Label marking the submitter pod (value ``submitter``), and the label naming its cluster.
ROLE_LABEL = "airflow-provider-flink/role"
CLUSTER_ID_LABEL = "airflow-provider-flink/cluster-id"
#: Lines of output quoted in the error of a failed submission.
ERROR_TAIL_LINES = 40
#: Pod waiting reasons that end a submission at once.
_FATAL_POD_REASONS = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "ErrImageNeverPull",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)
_IMAGE_VERSION_RE = re.compile(r":(\d+\.\d+(?:\.\d+)?)(?:[-_@].*)?$")


class FlinkSubmitError(AirflowException):
    """``flink run`` failed: non-zero exit, not startable, or its pod failed. The message quotes the output."""


class FlinkSubmitTimeout(FlinkSubmitError):
    """``flink run`` did not finish within the submit timeout and was killed."""


# ----------------------------------------------------------------------------------------------------
# Masking
# ----------------------------------------------------------------------------------------------------


class SecretMasker:
    """
    Hide secret values in lines of output, and register them with Airflow's own secrets masker.

    Airflow's masker hides registered values in the task log; replacing them here as well keeps them out of
    error messages and of any handler the masker does not cover.

    :param argv: The command; the values of its sensitive ``-D`` options are secrets.
    :param extra: Further secret values.
    """

    def __init__(self, argv: Sequence[str], extra: Sequence[str] = ()) -> None:
        self.secrets = sorted({s for s in [*sensitive_values(argv), *extra] if s}, key=len, reverse=True)
        try:
            from airflow.providers.common.compat.sdk import mask_secret
        except ImportError:  # pragma: no cover - every supported Airflow has it
            return
        for secret in self.secrets:
            mask_secret(secret)

    def line(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def argv(self, argv: Sequence[str]) -> list[str]:
        return mask_argv(argv, self.secrets)


@dataclass(frozen=True)
class SubmitResult:
    """
    The end of a successful ``flink run``.

    :param exit_code: 0.
    :param output_tail: The last lines of its output, masked.
    """

    exit_code: int
    output_tail: list[str]


def _failure_text(what: str, tail: Sequence[str]) -> str:
    quoted = "\n".join(tail[-ERROR_TAIL_LINES:]) if tail else "(no output)"
    return f"{what}. Last lines of its output:\n{quoted}"


# ----------------------------------------------------------------------------------------------------
# Kubernetes access for the local CLI
# ----------------------------------------------------------------------------------------------------


def connection_extra(hook: FlinkKubernetesHook, name: str) -> Any:
    """
    Read a ``kubernetes`` connection extra, also under its old ``extra__kubernetes__`` prefix.

    :param hook: The hook whose connection is read (no connection id: nothing).
    :param name: Extra name without prefix.
    """
    extras = hook.conn_extras if hook.conn_id else {}
    if name in extras:
        return extras[name] if extras[name] not in ("", None) else None
    value = extras.get(f"extra__kubernetes__{name}")
    return value if value not in ("", None) else None


def _parse_kubeconfig(value: Any) -> dict[str, Any]:
    # The connection form stores YAML or JSON text (YAML reads both), the API a dict.
    import yaml

    loaded = dict(value) if isinstance(value, Mapping) else yaml.safe_load(value)
    if not isinstance(loaded, dict):
        raise AirflowException("The connection's kube_config extra is not a kubeconfig mapping.")
    return loaded


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


@dataclass(frozen=True)
class CliKubeAccess:
    """
    How the Flink CLI reaches the API server, as ``-D`` options.

    :param config_file: ``kubernetes.config.file``, or ``None`` (fabric8's default: ``KUBECONFIG`` or
        ``~/.kube/config``, else the pod's service account).
    :param context: ``kubernetes.context``, or ``None`` (the kubeconfig's current context).
    :param in_cluster: The CLI runs with the pod's service account.
    :param temporary: ``config_file`` is a private copy that is removed afterwards.
    """

    config_file: str | None
    context: str | None
    in_cluster: bool
    temporary: bool = False


@contextlib.contextmanager
def cli_kube_access(hook: FlinkKubernetesHook, work_dir: str | os.PathLike[str]) -> Iterator[CliKubeAccess]:
    """
    Give the Flink CLI the same Kubernetes access as the hook's connection, for the duration of the block.

    Same precedence as the hook (arguments over connection extras): ``in_cluster`` (no file: Flink's
    fabric8 client uses the pod's service account), a kubeconfig path (``config_file`` or the
    ``kube_config_path`` extra: passed as is), an inline kubeconfig (the ``kube_config`` extra) or a
    ``config_dict`` (written to a private file, mode 0600, in ``work_dir``, removed when the block ends even
    on error), else nothing (fabric8 reads ``KUBECONFIG`` / ``~/.kube/config`` itself). The context is the
    hook's ``cluster_context`` or the ``cluster_context`` extra.

    :param hook: The task's hook.
    :param work_dir: A private folder for the temporary kubeconfig.
    """
    in_cluster = hook.in_cluster if hook.in_cluster is not None else _truthy(connection_extra(hook, "in_cluster"))
    context = hook.cluster_context or connection_extra(hook, "cluster_context")
    path = hook.config_file or connection_extra(hook, "kube_config_path")
    inline = connection_extra(hook, "kube_config")
    document: dict[str, Any] | None = None
    if not in_cluster and not path:
        if hook.config_dict:
            document = dict(hook.config_dict)
        elif inline:
            document = _parse_kubeconfig(inline)
    if in_cluster:
        yield CliKubeAccess(None, context, True)
        return
    if document is None:
        yield CliKubeAccess(os.path.expanduser(path) if path else None, context, False)
        return
    import yaml

    target = os.path.join(os.fspath(work_dir), "kubeconfig")
    # O_EXCL and 0600 from the start: the credentials are never readable by others, not even briefly.
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as handle:
            yaml.safe_dump(document, handle)
        yield CliKubeAccess(target, context, False, temporary=True)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(target)


# ----------------------------------------------------------------------------------------------------
# Finding the CLI and its version
# ----------------------------------------------------------------------------------------------------


def find_flink_binary(flink_home: str | None = None) -> str:
    """
    Return the ``flink`` executable to run: ``<flink_home>/bin/flink`` when ``flink_home`` is given, else
    ``flink`` on ``PATH``, else ``$FLINK_HOME/bin/flink``.

    :param flink_home: A Flink distribution's root folder (argument or connection extra).
    :raises FlinkSubmitError: If none is found, or ``flink_home`` has none (another Flink is never used instead).
    """
    candidates: list[tuple[str, str]] = []
    if flink_home:
        binary = os.path.join(os.path.expanduser(flink_home), "bin", "flink")
        if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
            # Never another Flink than the one asked for (it may be another version, with other options).
            raise FlinkSubmitError(
                f"flink_home={flink_home!r} has no executable bin/flink: point it at the root of a Flink 1.17+ "
                "distribution (e.g. the pyflink folder of `pip install apache-flink`)."
            )
        return binary
    on_path = shutil.which("flink")
    if on_path:
        candidates.append((on_path, "PATH"))
    if os.environ.get("FLINK_HOME"):
        candidates.append((os.path.join(os.environ["FLINK_HOME"], "bin", "flink"), "FLINK_HOME"))
    for candidate, _ in candidates:
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise FlinkSubmitError(
        "No Flink CLI found: set flink_home (operator argument or connection extra flink_home), put `flink` "
        "on PATH, or set FLINK_HOME; or use submitter='pod' to run the CLI in the job's image."
    )


def flink_home_of(binary: str) -> Path | None:
    """The distribution root of a ``bin/flink`` (symlinks resolved), or ``None`` if it is not laid out so."""
    home = Path(os.path.realpath(binary)).parent.parent
    return home if (home / "conf").is_dir() else None


_VERSION_CACHE: dict[tuple[str, float], str] = {}


def cached_flink_version(binary: str, env: Mapping[str, str] | None, timeout: float = 60) -> str:
    """
    :func:`~airflow_provider_flink.native.command.detect_flink_version`, remembered per binary in this process.

    :param binary: The ``flink`` executable.
    :param env: Its environment.
    :param timeout: Seconds for ``flink --version``.
    """
    from airflow_provider_flink.native.command import detect_flink_version

    key = (os.path.realpath(binary), os.path.getmtime(binary))
    if key not in _VERSION_CACHE:
        _VERSION_CACHE[key] = detect_flink_version(binary, env=env, timeout=timeout)
    return _VERSION_CACHE[key]


def flink_version_from_image(image: str) -> str | None:
    """
    Read a Flink version from an image tag such as ``flink:2.3.0-java17`` or ``repo/flink:1.20``.

    :param image: Image reference.
    :return: ``"2.3.0"``, ``"1.20"``..., or ``None`` when the tag does not start with a version.
    """
    match = _IMAGE_VERSION_RE.search(image.split("@", 1)[0])
    return match.group(1) if match else None


# ----------------------------------------------------------------------------------------------------
# Local submitter
# ----------------------------------------------------------------------------------------------------


class LocalFlinkSubmitter:
    """
    Run ``flink run`` on the worker, streaming its output into the task log.

    The process gets its own session (so a kill reaches the JVM the ``flink`` script starts), a private
    ``FLINK_CONF_DIR`` (a copy of the distribution's ``conf``), ``FLINK_LOG_DIR`` and ``java.io.tmpdir`` in
    ``work_dir``, and no stdin.

    :param work_dir: A private folder for configuration, logs and temp files (the caller removes it).
    :param env: Extra environment variables (e.g. ``JAVA_HOME``, ``JVM_ARGS``, ``HADOOP_CONF_DIR``).
    :param timeout: Seconds after which a command still running is killed.
    :param log: Receives each output line, masked.
    """

    def __init__(
        self,
        *,
        work_dir: str | os.PathLike[str],
        env: Mapping[str, str] | None = None,
        timeout: float = 300.0,
        log: Callable[[str], None] = print,
    ) -> None:
        self.work_dir = Path(work_dir)
        self.extra_env = dict(env or {})
        self.timeout = timeout
        self.log = log
        self._process: subprocess.Popen[str] | None = None

    def environment(self, binary: str) -> dict[str, str]:
        """The command's environment: the worker's, the extra variables, and the private folders."""
        env = {**os.environ, **self.extra_env}
        home = flink_home_of(binary)
        conf_dir = self.work_dir / "conf"
        if home is not None and not conf_dir.exists():
            shutil.copytree(home / "conf", conf_dir)
        if conf_dir.exists():
            env["FLINK_CONF_DIR"] = str(conf_dir)
        for folder in ("log", "tmp"):
            (self.work_dir / folder).mkdir(exist_ok=True)
        env["FLINK_LOG_DIR"] = str(self.work_dir / "log")
        env["JVM_ARGS"] = f"{env.get('JVM_ARGS', '')} -Djava.io.tmpdir={self.work_dir / 'tmp'}".strip()
        return env

    def run(self, argv: Sequence[str], masker: SecretMasker) -> SubmitResult:
        """
        Run ``argv`` until it exits; raise if it fails or outlives the timeout.

        :param argv: The command (its first item is the ``flink`` executable).
        :param masker: Hides secrets in the logged command and output.
        :raises FlinkSubmitError: On a non-zero exit (the message quotes the masked output tail).
        :raises FlinkSubmitTimeout: When the command was killed after ``timeout`` seconds.
        """
        env = self.environment(argv[0])
        self.log(f"Running: {' '.join(masker.argv(argv))}")
        tail: deque[str] = deque(maxlen=ERROR_TAIL_LINES)
        lines: queue.Queue[str | None] = queue.Queue()
        try:
            process = subprocess.Popen(
                list(argv),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                encoding="utf-8",
                errors="replace",
                start_new_session=True,
            )
        except OSError as error:
            raise FlinkSubmitError(f"Could not start {argv[0]}: {error}") from error
        self._process = process
        reader = threading.Thread(target=_pump, args=(process, lines), name="flink-cli-output", daemon=True)
        reader.start()
        deadline = time.monotonic() + self.timeout
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.kill()
                    self._drain(lines, tail, masker)
                    raise FlinkSubmitTimeout(
                        _failure_text(
                            f"flink run did not finish within {self.timeout:g} s and was killed (pid {process.pid}); "
                            "raise submit_timeout if the API server or the image registry is slow",
                            list(tail),
                        )
                    )
                try:
                    line = lines.get(timeout=min(remaining, 1.0))
                except queue.Empty:
                    continue
                if line is None:
                    break
                self._emit(line, tail, masker)
            code = process.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.kill()
            raise FlinkSubmitTimeout(
                _failure_text(f"flink run did not exit within {self.timeout:g} s and was killed", list(tail))
            ) from None
        except BaseException:
            # Airflow's execution_timeout or a SIGTERM interrupts the wait: the CLI must not outlive the task.
            self.kill()
            raise
        finally:
            self._process = None
        if code != 0:
            raise FlinkSubmitError(_failure_text(f"flink run exited with code {code}", list(tail)))
        return SubmitResult(code, list(tail))

    def _emit(self, line: str, tail: deque[str], masker: SecretMasker) -> None:
        masked = masker.line(line.rstrip("\n"))
        tail.append(masked)
        self.log(masked)

    def _drain(self, lines: queue.Queue[str | None], tail: deque[str], masker: SecretMasker) -> None:
        while True:
            try:
                line = lines.get_nowait()
            except queue.Empty:
                return
            if line is None:
                return
            self._emit(line, tail, masker)

    def kill(self) -> None:
        """Stop the running command and every process it started (SIGTERM, then SIGKILL after 5 s)."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, sig)
            try:
                process.wait(timeout=grace)
                return
            except subprocess.TimeoutExpired:
                continue


def _pump(process: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
    assert process.stdout is not None
    try:
        for line in process.stdout:
            lines.put(line)
    finally:
        lines.put(None)


# ----------------------------------------------------------------------------------------------------
# Pod submitter
# ----------------------------------------------------------------------------------------------------


class PodFlinkSubmitter:
    """
    Run ``flink run`` in a short-lived pod of the job's Flink image.

    The pod is named ``<cluster-id>-submit`` so that a retry or a restarted worker finds the one a previous
    try started: a pod still running is waited for (never a second submission), a finished one is replaced.
    It is deleted when the submission ends, fails, times out, or the task is killed.

    Note: the command, including every ``-D`` value, is part of the pod's spec, as it is of the
    ``flink-config-<cluster-id>`` ConfigMap Flink writes anyway; keep credentials in Kubernetes Secrets
    referenced from a pod template rather than in ``flink_conf``.

    :param hook: The task's hook.
    :param namespace: Namespace of the pod (the cluster's).
    :param cluster_id: The cluster id (names the pod).
    :param image: Image with the Flink CLI at ``/opt/flink/bin/flink``.
    :param service_account: Service account of the pod: it must be allowed to create Deployments, Services
        and ConfigMaps (and to create pods, for TaskManagers) in the namespace.
    :param image_pull_policy: The pod's image pull policy.
    :param image_pull_secrets: Secrets to pull the image.
    :param labels: Labels tying the pod to the task instance.
    :param annotations: Annotations of the pod.
    :param env: Environment variables of the container.
    :param timeout: Seconds the pod may take from creation to its end.
    :param poll_interval: Seconds between looks at the pod.
    :param log: Receives each output line, masked.
    """

    def __init__(
        self,
        hook: FlinkKubernetesHook,
        *,
        namespace: str,
        cluster_id: str,
        image: str,
        service_account: str | None = None,
        image_pull_policy: str | None = None,
        image_pull_secrets: Sequence[str] = (),
        labels: Mapping[str, str] | None = None,
        annotations: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 300.0,
        poll_interval: float = 2.0,
        log: Callable[[str], None] = print,
    ) -> None:
        self.hook = hook
        self.namespace = namespace
        self.cluster_id = cluster_id
        self.pod_name = f"{cluster_id}-submit"
        self.image = image
        self.service_account = service_account
        self.image_pull_policy = image_pull_policy
        self.image_pull_secrets = list(image_pull_secrets)
        self.labels = dict(labels or {})
        self.annotations = dict(annotations or {})
        self.env = dict(env or {})
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.log = log

    @staticmethod
    def pod_argv(argv: Sequence[str]) -> list[str]:
        """The command inside the image: the same argv with the image's ``flink``."""
        return [POD_FLINK_BINARY, *argv[1:]]

    def pod_body(self, argv: Sequence[str]) -> dict[str, Any]:
        """The submitter pod for ``argv``."""
        container: dict[str, Any] = {
            "name": SUBMITTER_CONTAINER,
            "image": self.image,
            "command": self.pod_argv(argv),
        }
        if self.image_pull_policy:
            container["imagePullPolicy"] = self.image_pull_policy
        if self.env:
            container["env"] = [{"name": key, "value": value} for key, value in self.env.items()]
        spec: dict[str, Any] = {
            "restartPolicy": "Never",
            "containers": [container],
            # Kubernetes ends the pod even if this worker is gone.
            "activeDeadlineSeconds": max(1, int(self.timeout)),
        }
        if self.service_account:
            spec["serviceAccountName"] = self.service_account
        if self.image_pull_secrets:
            spec["imagePullSecrets"] = [{"name": name} for name in self.image_pull_secrets]
        labels = {**self.labels, ROLE_LABEL: "submitter", CLUSTER_ID_LABEL: self.cluster_id}
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": self.pod_name,
                "namespace": self.namespace,
                "labels": labels,
                "annotations": self.annotations,
            },
            "spec": spec,
        }

    def run(self, argv: Sequence[str], masker: SecretMasker) -> SubmitResult:
        """
        Start the pod (or wait for the one a previous try started), wait for its end, read its log, delete it.

        :raises FlinkSubmitError: The pod failed, cannot start, or its command exited non-zero.
        :raises FlinkSubmitTimeout: The pod did not finish within ``timeout`` seconds.
        """
        self.log(f"Running in pod {self.namespace}/{self.pod_name}: {' '.join(masker.argv(self.pod_argv(argv)))}")
        try:
            self._start(argv)
            pod = self._wait()
            lines = self._log_lines(masker)
            for line in lines:
                self.log(line)
            code, reason = _exit_code(pod)
            if code != 0:
                what = f"flink run in pod {self.namespace}/{self.pod_name} exited with code {code}"
                raise FlinkSubmitError(_failure_text(what + (f" ({reason})" if reason else ""), lines))
            return SubmitResult(0, lines[-ERROR_TAIL_LINES:])
        finally:
            self.delete()

    def _start(self, argv: Sequence[str]) -> None:
        existing = self.hook.get_pod(self.pod_name, self.namespace)
        if existing is not None:
            if not _labels_contain(existing, self.labels):
                raise FlinkSubmitError(
                    f"Pod {self.namespace}/{self.pod_name} exists and was not started by this task instance: "
                    "delete it, or choose another cluster_id."
                )
            if (existing.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                self.log(f"Replacing the finished submitter pod {self.namespace}/{self.pod_name} of an earlier try.")
                self.delete()
                self._wait_gone()
            else:
                self.log(
                    f"Submitter pod {self.namespace}/{self.pod_name} of an earlier try still runs: waiting for it."
                )
                return
        self.hook.create_pod(self.pod_body(argv), self.namespace)

    def _wait(self) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while True:
            pod = self.hook.get_pod(self.pod_name, self.namespace)
            if pod is None:
                raise FlinkSubmitError(
                    f"Submitter pod {self.namespace}/{self.pod_name} disappeared before it finished "
                    "(deleted by someone else, or evicted)."
                )
            status = pod.get("status") or {}
            if status.get("phase") in ("Succeeded", "Failed") or _exit_code(pod)[0] is not None:
                return pod
            for container in status.get("containerStatuses") or []:
                waiting = (container.get("state") or {}).get("waiting") or {}
                if waiting.get("reason") in _FATAL_POD_REASONS:
                    raise FlinkSubmitError(
                        f"Submitter pod {self.namespace}/{self.pod_name} cannot start: {waiting['reason']}: "
                        f"{waiting.get('message') or ''} (image {self.image})."
                    )
            if time.monotonic() >= deadline:
                raise FlinkSubmitTimeout(
                    f"Submitter pod {self.namespace}/{self.pod_name} did not finish within {self.timeout:g} s "
                    f"(phase {status.get('phase') or 'unknown'}); deleting it."
                )
            time.sleep(self.poll_interval)

    def _wait_gone(self) -> None:
        deadline = time.monotonic() + 60
        while self.hook.get_pod(self.pod_name, self.namespace) is not None:
            if time.monotonic() >= deadline:
                raise FlinkSubmitError(f"Pod {self.namespace}/{self.pod_name} of an earlier try is not going away.")
            time.sleep(self.poll_interval)

    def _log_lines(self, masker: SecretMasker) -> list[str]:
        try:
            text = self.hook.read_pod_log(
                self.pod_name, self.namespace, container=SUBMITTER_CONTAINER, tail_lines=None, limit_bytes=1024 * 1024
            )
        except Exception as error:
            return [f"(could not read the log of pod {self.namespace}/{self.pod_name}: {error})"]
        return [masker.line(line) for line in text.splitlines()]

    def delete(self) -> None:
        """Delete the submitter pod now (no grace period: its command is abandoned); say so if that fails."""
        try:
            self.hook.delete_pod(self.pod_name, self.namespace, grace_period_seconds=0)
        except Exception as error:
            self.log(f"Could not delete submitter pod {self.namespace}/{self.pod_name}: {error}. Delete it by hand.")

    def kill(self) -> None:
        """Stop the submission (the task is being killed)."""
        self.delete()


def _exit_code(pod: Mapping[str, Any]) -> tuple[int | None, str | None]:
    for container in (pod.get("status") or {}).get("containerStatuses") or []:
        if container.get("name") not in (SUBMITTER_CONTAINER, None):
            continue
        terminated = (container.get("state") or {}).get("terminated")
        if terminated:
            return int(terminated.get("exitCode", 1)), terminated.get("reason")
    status = pod.get("status") or {}
    if status.get("phase") == "Failed":
        return 1, status.get("reason") or status.get("message") or "Failed"
    if status.get("phase") == "Succeeded":
        return 0, None
    return None, None


def _labels_contain(obj: Mapping[str, Any], wanted: Mapping[str, str]) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return all(labels.get(key) == value for key, value in wanted.items())


@contextlib.contextmanager
def private_work_dir(base: str | None = None) -> Iterator[str]:
    """A folder only this process can read (mode 0700), removed with everything in it at the end."""
    folder = tempfile.mkdtemp(prefix="airflow-flink-submit-", dir=base)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
