"""
Build the ``flink run`` argv of a native Kubernetes application-mode job, and name its cluster.

Everything here is a plain function over plain data, except :func:`detect_flink_version`, which runs
``flink --version``. The facts below were checked against the Flink 1.16.3, 1.17.2, 1.19.3, 1.20.3,
2.0.0 and 2.3.0 distributions (their ``flink-dist`` jars, and Flink's own classes run on test input):

* CLI form: Flink 1.17 to 1.20 deploy an application cluster only through ``flink run-application``
  (1.20's ``flink run --target kubernetes-application local:///job.jar`` fails with "JAR file does not
  exist"); Flink 2.0 removed ``run-application`` ("is not a valid action") and ``flink run`` deploys
  application targets.
* Option names: Flink 1.17 (FLINK-29372) renamed every option whose key was a dotted prefix of another
  key, e.g. ``kubernetes.container.image`` to ``kubernetes.container.image.ref`` and
  ``kubernetes.jobmanager.cpu`` to ``kubernetes.jobmanager.cpu.amount``; the old keys stay accepted as
  deprecated (still in 2.3). So every supported version knows the current names, and only the current
  names are emitted. ``kubernetes.container.image.pull-secrets``, ``kubernetes.service-account`` and the
  other typed options kept their names from 1.17 to 2.3.
* Configuration file: the client writes every ``-D`` option, the main class and the program arguments
  (``$internal.application.program-args``) into the ``flink-config-<cluster-id>`` ConfigMap the
  JobManager reads. Up to Flink 1.18 that is a line-based ``flink-conf.yaml``: ``#`` starts a comment
  (the value is cut there, and for program arguments every later argument is lost), a line break ends
  the entry, surrounding spaces are trimmed and an empty value disappears. Flink 1.19+ writes a standard
  YAML ``config.yaml``, which keeps all of these, but nests keys, so a key that is a dotted prefix of
  another key makes the client fail (ClassCastException while writing the ConfigMap).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

__all__ = [
    "CLUSTER_ID_MAX_LENGTH",
    "DEPRECATED_OPTION_KEYS",
    "MIN_FLINK_VERSION",
    "FlinkVersion",
    "FlinkVersionDetectionError",
    "NativeJobSpec",
    "NativeSpecError",
    "build_dynamic_properties",
    "build_flink_run_argv",
    "derive_cluster_id",
    "detect_flink_version",
    "is_sensitive_key",
    "mask_argv",
    "parse_flink_version",
    "run_action",
    "sensitive_values",
    "validate_cluster_id",
]

TARGET = "kubernetes-application"
CLUSTER_ID_MAX_LENGTH = 45  # Flink's Constants.MAXIMUM_CHARACTERS_OF_CLUSTER_ID
MIN_FLINK_VERSION = (1, 17)
MASK = "***"


class NativeSpecError(ValueError):
    """A native application-mode job is described wrongly; the message names the field and the fix."""


class FlinkVersionDetectionError(RuntimeError):
    """``flink --version`` could not be run or did not print a version."""


# ----------------------------------------------------------------------------------------------------
# Flink versions
# ----------------------------------------------------------------------------------------------------

_VERSION_RE = re.compile(r"v?(\d+)[._](\d+)(?:[._](\d+))?(?:-[0-9A-Za-z][0-9A-Za-z.]*)?", re.IGNORECASE)


class FlinkVersion(NamedTuple):
    """
    A Flink release as numbers.

    Compare ``version[:2]`` with a ``(major, minor)`` tuple: ``patch`` is None when the text had none.
    """

    major: int
    minor: int
    patch: int | None = None

    @classmethod
    def parse(cls, version: str) -> FlinkVersion:
        """
        Read a Flink version as users and tools write it.

        Accepts ``"2.3.0"``, ``"1.20"``, ``"v1_20"`` (the operator CRD's spelling) and a build suffix such
        as ``"2.1-SNAPSHOT"`` (what ``flink --version`` prints for a snapshot build).

        :param version: The version text.
        :raises NativeSpecError: For anything else.
        """
        if not isinstance(version, str):
            raise NativeSpecError(f"Flink version must be a string like '2.3.0', got {type(version).__name__}.")
        match = _VERSION_RE.fullmatch(version.strip())
        if match is None:
            raise NativeSpecError(
                f"Flink version {version!r} is not understood: expected a version like '2.3.0', '1.20' or 'v1_20'."
            )
        major, minor, patch = match.groups()
        return cls(int(major), int(minor), int(patch) if patch is not None else None)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}" + (f".{self.patch}" if self.patch is not None else "")


def _supported_version(flink_version: str) -> FlinkVersion:
    version = FlinkVersion.parse(flink_version)
    if version[:2] < MIN_FLINK_VERSION:
        raise NativeSpecError(
            f"Flink {flink_version} is not supported for native application mode: use Flink 1.17 or newer "
            "(1.17 renamed the Kubernetes options this provider sets, e.g. kubernetes.container.image.ref)."
        )
    return version


def _legacy_flink_conf(version: FlinkVersion) -> bool:
    # Flink 1.19 made config.yaml (standard YAML) the default; before it the ConfigMap is a flink-conf.yaml.
    return version[:2] < (1, 19)


def run_action(flink_version: str) -> str:
    """
    Return the ``flink`` action that deploys an application cluster for this Flink version.

    :param flink_version: Version of the Flink client that will run the command.
    :raises NativeSpecError: If the version is not understood or older than 1.17.
    """
    version = _supported_version(flink_version)
    return "run-application" if version.major < 2 else "run"


_VERSION_LINE_RE = re.compile(r"Version:\s*([^\s,]+)")


def parse_flink_version(output: str) -> str:
    """
    Read the version from the output of ``flink --version`` ("Version: 2.3.0, Commit ID: c0f8d1a").

    :param output: What the command printed (stdout and stderr together are fine).
    :return: The version as printed, e.g. ``"2.3.0"``.
    :raises NativeSpecError: If no understandable version is in the output.
    """
    match = _VERSION_LINE_RE.search(output or "")
    if match is None:
        raise NativeSpecError(f"No 'Version:' in the output of flink --version: {_tail(output)!r}.")
    version = match.group(1)
    FlinkVersion.parse(version)
    return version


def detect_flink_version(flink_binary: str = "flink", env: Mapping[str, str] | None = None, timeout: float = 60) -> str:
    """
    Run ``<flink_binary> --version`` and return the version it prints, e.g. ``"2.3.0"``.

    The only function of this module that does I/O. The command starts a JVM (about 2 s).

    :param flink_binary: Path of ``bin/flink`` (or a name on ``PATH``).
    :param env: Environment of the command (e.g. with ``JAVA_HOME``, ``FLINK_CONF_DIR``); ``None`` inherits.
    :param timeout: Seconds to wait for the command.
    :raises FlinkVersionDetectionError: If the command cannot run, fails, times out or prints no version.
    """
    import subprocess

    argv = [flink_binary, "--version"]
    try:
        completed = subprocess.run(
            argv,
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except OSError as error:
        raise FlinkVersionDetectionError(
            f"Could not run '{flink_binary} --version': {error}. Point the Flink binary at "
            "<FLINK_HOME>/bin/flink of a Flink 1.17+ distribution."
        ) from error
    except subprocess.TimeoutExpired as error:
        raise FlinkVersionDetectionError(
            f"'{flink_binary} --version' did not finish within {timeout} s: is Java installed and the "
            "machine not overloaded?"
        ) from error
    output = (completed.stdout or "") + (completed.stderr or "")
    if completed.returncode != 0:
        raise FlinkVersionDetectionError(
            f"'{flink_binary} --version' exited with code {completed.returncode}: {_tail(output)!r}."
        )
    try:
        return parse_flink_version(output)
    except NativeSpecError as error:
        raise FlinkVersionDetectionError(f"'{flink_binary} --version': {error}") from error


def _tail(text: str | None, limit: int = 500) -> str:
    text = (text or "").strip()
    return text if len(text) <= limit else "..." + text[-limit:]


# ----------------------------------------------------------------------------------------------------
# Cluster ids
# ----------------------------------------------------------------------------------------------------

_CLUSTER_ID_RE = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_HASH_LENGTH = 10  # 40 bits: ids of coexisting runs of one task practically never collide
_MIN_CLUSTER_ID_LENGTH = _HASH_LENGTH + 6  # room for "flink-" or a short readable prefix


def validate_cluster_id(cluster_id: str) -> None:
    """
    Check a Flink cluster id (``kubernetes.cluster-id``): lowercase letters, digits and ``-``, starting
    with a letter, ending with a letter or digit, at most 45 characters.

    Flink names the JobManager Deployment, its Services and ConfigMaps after the id, so it must stay
    a valid Kubernetes name once suffixes like ``-taskmanager-1-1`` are added.

    :param cluster_id: The id to check.
    :raises NativeSpecError: Saying what is wrong.
    """
    if not isinstance(cluster_id, str):
        raise NativeSpecError(f"Cluster id must be a string, got {type(cluster_id).__name__}.")
    if _CLUSTER_ID_RE.fullmatch(cluster_id) and len(cluster_id) <= CLUSTER_ID_MAX_LENGTH:
        return
    problems = []
    if not cluster_id:
        problems.append("is empty")
    if len(cluster_id) > CLUSTER_ID_MAX_LENGTH:
        problems.append(f"is {len(cluster_id)} characters long, more than {CLUSTER_ID_MAX_LENGTH}")
    if any("A" <= c <= "Z" for c in cluster_id):
        problems.append("contains uppercase letters")
    bad = sorted({c for c in cluster_id if not ("a" <= c <= "z" or "A" <= c <= "Z" or "0" <= c <= "9" or c == "-")})
    if bad:
        problems.append("contains " + ", ".join(repr(c) for c in bad))
    if cluster_id and not ("a" <= cluster_id[0] <= "z"):
        problems.append(f"starts with {cluster_id[0]!r} instead of a lowercase letter")
    if cluster_id and cluster_id[-1] == "-":
        problems.append("ends with '-'")
    raise NativeSpecError(
        f"Cluster id {cluster_id!r} " + ", ".join(problems) + ": a Flink cluster id must match "
        f"[a-z]([-a-z0-9]*[a-z0-9])? and have at most {CLUSTER_ID_MAX_LENGTH} characters."
    )


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _fit_prefix(dag: str, task: str, budget: int) -> str:
    # Share the room fairly so a long dag_id cannot push the task_id out entirely.
    if not dag or not task:
        return (dag or task)[:budget].strip("-")
    if len(dag) + 1 + len(task) <= budget:
        return f"{dag}-{task}"
    room = budget - 1
    half = room // 2
    if len(dag) <= half:
        task = task[: room - len(dag)]
    elif len(task) <= room - half:
        dag = dag[: room - len(task)]
    else:
        dag, task = dag[:half], task[: room - half]
    return "-".join(part for part in (dag.strip("-"), task.strip("-")) if part)


def derive_cluster_id(
    dag_id: str, task_id: str, run_id: str, map_index: int = -1, *, max_len: int = CLUSTER_ID_MAX_LENGTH
) -> str:
    """
    Name the Flink cluster of one task instance: ``<dag>-<task>-<hash>``, a valid cluster id.

    The same (dag_id, task_id, run_id, map_index) always gives the same id, so a retry of the task finds
    (and reattaches to) the cluster its previous try started; another run or another mapped instance gets
    another id. The readable part is shortened to fit; the hash is 10 hex digits of SHA-256.

    :param dag_id: The DAG's id.
    :param task_id: The task's id (a task group prefix is fine).
    :param run_id: The DAG run's id.
    :param map_index: The mapped instance's index, -1 when the task is not mapped.
    :param max_len: Longest id wanted, 16 to 45 (Flink's limit).
    :raises NativeSpecError: If ``max_len`` is out of range.
    """
    for name, text in (("dag_id", dag_id), ("task_id", task_id), ("run_id", run_id)):
        if not isinstance(text, str):
            raise NativeSpecError(f"{name} must be a string, got {type(text).__name__}.")
    if isinstance(map_index, bool) or not isinstance(map_index, int):
        raise NativeSpecError(f"map_index must be an integer, got {type(map_index).__name__}.")
    if isinstance(max_len, bool) or not isinstance(max_len, int):
        raise NativeSpecError(f"max_len must be an integer, got {type(max_len).__name__}.")
    if not _MIN_CLUSTER_ID_LENGTH <= max_len <= CLUSTER_ID_MAX_LENGTH:
        raise NativeSpecError(
            f"max_len must be between {_MIN_CLUSTER_ID_LENGTH} and {CLUSTER_ID_MAX_LENGTH}, got {max_len}."
        )
    identity = json.dumps([dag_id, task_id, run_id, map_index], ensure_ascii=False)
    digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:_HASH_LENGTH]
    budget = max_len - _HASH_LENGTH - 1
    prefix = _fit_prefix(_slug(dag_id), _slug(task_id), budget)
    if not prefix or not ("a" <= prefix[0] <= "z"):
        prefix = f"flink-{prefix}" if prefix else "flink"
        prefix = prefix[:budget].rstrip("-")
    cluster_id = f"{prefix}-{digest}"
    validate_cluster_id(cluster_id)
    return cluster_id


# ----------------------------------------------------------------------------------------------------
# The job description
# ----------------------------------------------------------------------------------------------------

# Typed option -> current key. Every key exists under this name from Flink 1.17 to 2.3.
_TYPED_KEYS: dict[str, str] = {
    "cluster_id": "kubernetes.cluster-id",
    "namespace": "kubernetes.namespace",
    "image": "kubernetes.container.image.ref",
    "image_pull_policy": "kubernetes.container.image.pull-policy",
    "image_pull_secrets": "kubernetes.container.image.pull-secrets",
    "service_account": "kubernetes.service-account",
    "jobmanager_cpu": "kubernetes.jobmanager.cpu.amount",
    "jobmanager_memory": "jobmanager.memory.process.size",
    "taskmanager_cpu": "kubernetes.taskmanager.cpu.amount",
    "taskmanager_memory": "taskmanager.memory.process.size",
    "task_slots": "taskmanager.numberOfTaskSlots",
    "pod_template_file": "kubernetes.pod-template-file.default",
    "jobmanager_pod_template_file": "kubernetes.pod-template-file.jobmanager",
    "taskmanager_pod_template_file": "kubernetes.pod-template-file.taskmanager",
    "rest_service_exposed_type": "kubernetes.rest-service.exposed.type",
    "kubeconfig_path": "kubernetes.config.file",
    "kube_context": "kubernetes.context",
    "shutdown_on_application_finish": "execution.shutdown-on-application-finish",
}

# Deprecated key -> current key: the renames of FLINK-29372 (Flink 1.17), read from the 1.17.2 jar's
# withDeprecatedKeys. The old keys are dotted prefixes of other options, which the standard YAML
# config.yaml of Flink 1.19+ cannot hold, so flink_conf entries under an old name are sent under the new one.
DEPRECATED_OPTION_KEYS: dict[str, str] = {
    "kubernetes.container.image": "kubernetes.container.image.ref",
    "kubernetes.jobmanager.cpu": "kubernetes.jobmanager.cpu.amount",
    "kubernetes.taskmanager.cpu": "kubernetes.taskmanager.cpu.amount",
    "kubernetes.pod-template-file": "kubernetes.pod-template-file.default",
    "high-availability": "high-availability.type",
    "state.backend": "state.backend.type",
    "restart-strategy": "restart-strategy.type",
    "env.java.opts": "env.java.opts.all",
    "execution.buffer-timeout": "execution.buffer-timeout.interval",
    "execution.checkpointing.unaligned": "execution.checkpointing.unaligned.enabled",
}

# Keys the CLI sets from its own flags: flink_conf may use them only when the flag's field is unset.
_FLAG_KEYS: dict[str, str] = {
    "parallelism.default": "parallelism",
    "execution.savepoint.path": "savepoint_path",  # the 1.x name, still accepted by 2.x
    "execution.state-recovery.path": "savepoint_path",  # 2.x
    "execution.savepoint.ignore-unclaimed-state": "allow_non_restored_state",
    "execution.state-recovery.ignore-unclaimed-state": "allow_non_restored_state",
    "python.files": "py_files",
    "python.archives": "py_archives",
    "python.requirements": "py_requirements",
    "python.client.executable": "py_client_executable",
    "python.executable": "py_executable",
}

_KEY_OWNERS: dict[str, str] = {key: name for name, key in _TYPED_KEYS.items()} | _FLAG_KEYS

_OPTION_KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]*(\.[A-Za-z0-9_\-]+)*")
_DNS_LABEL_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
# Flink's MemorySize units (MemorySize.MemoryUnit), case-insensitive; Kubernetes' "Gi" is not one.
_MEMORY_RE = re.compile(r"\d+\s*(b|bytes|k|kb|kibibytes|m|mb|mebibytes|g|gb|gibibytes|t|tb|tebibytes)?", re.IGNORECASE)
_PY_MODULE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_URI_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://\S")
_PULL_POLICIES = ("Always", "IfNotPresent", "Never")
_EXPOSED_TYPES = ("ClusterIP", "NodePort", "LoadBalancer", "Headless_ClusterIP")

ConfValue = str | int | float | bool


@dataclass(frozen=True, kw_only=True)
class NativeJobSpec:
    """
    One Flink job to run in its own application cluster on Kubernetes (Flink's native mode).

    Fields left ``None`` keep Flink's (or the client configuration's) default. Structural mistakes are
    reported when the spec is built; version-dependent ones by :func:`build_flink_run_argv`.

    :param cluster_id: ``kubernetes.cluster-id``: names the JobManager Deployment, Services and ConfigMaps.
    :param image: ``kubernetes.container.image.ref``: image of JobManager and TaskManagers, with the job.
    :param namespace: ``kubernetes.namespace``.
    :param image_pull_policy: ``kubernetes.container.image.pull-policy``: Always, IfNotPresent or Never.
    :param image_pull_secrets: ``kubernetes.container.image.pull-secrets``: names of Secrets.
    :param service_account: ``kubernetes.service-account`` (JobManager and TaskManagers).
    :param jobmanager_cpu: ``kubernetes.jobmanager.cpu.amount``.
    :param jobmanager_memory: ``jobmanager.memory.process.size``, Flink syntax such as ``"2048m"``.
    :param taskmanager_cpu: ``kubernetes.taskmanager.cpu.amount``.
    :param taskmanager_memory: ``taskmanager.memory.process.size``.
    :param task_slots: ``taskmanager.numberOfTaskSlots``.
    :param pod_template_file: ``kubernetes.pod-template-file.default``: a file on the machine running the CLI.
    :param jobmanager_pod_template_file: ``kubernetes.pod-template-file.jobmanager``.
    :param taskmanager_pod_template_file: ``kubernetes.pod-template-file.taskmanager``.
    :param rest_service_exposed_type: ``kubernetes.rest-service.exposed.type``: ClusterIP, NodePort,
        LoadBalancer or Headless_ClusterIP.
    :param kubeconfig_path: ``kubernetes.config.file``.
    :param kube_context: ``kubernetes.context``.
    :param shutdown_on_application_finish: ``execution.shutdown-on-application-finish``. False by default so
        the JobManager outlives the job and its REST API can still tell how the job ended (Flink's own
        default, true, deletes the cluster and with it the result); the caller then deletes the cluster.
    :param flink_conf: Any other Flink option, sent as ``-D<key>=<value>``. An option that a field above
        sets is an error unless the values agree; a deprecated key is sent under its current name.
    :param jar: Job jar URI: ``local:///opt/flink/usrlib/job.jar`` (inside the image) or a remote URI.
    :param entry_class: Main class of a jar job (``-c``), when the jar's manifest names none.
    :param program_args: Arguments of the job's main, passed on verbatim.
    :param parallelism: Default parallelism (``-p``).
    :param savepoint_path: Savepoint or checkpoint to start from (``-s``).
    :param allow_non_restored_state: Skip state the job no longer has an operator for (``-n``).
    :param py_file: Python entry script (``-py``), a path ending in ``.py``.
    :param py_module: Python entry module (``-pym``). Flink's help says to use it with ``-pyfs``, but the CLI
        does not require it: a module already installed in the image works without.
    :param py_files: Python files, zips, wheels or directories for the PYTHONPATH (``-pyfs``).
    :param py_requirements: requirements.txt, optionally ``#<cached dir>`` (``-pyreq``).
    :param py_archives: Archives to extract for the Python workers, optionally ``#<dir name>`` (``-pyarch``).
    :param py_client_executable: Python interpreter that runs the entry script (``-pyclientexec``).
    :param py_executable: Python interpreter of the Python UDF workers (``-pyexec``).
    """

    cluster_id: str
    image: str
    namespace: str | None = None
    image_pull_policy: str | None = None
    image_pull_secrets: Sequence[str] = ()
    service_account: str | None = None
    jobmanager_cpu: float | None = None
    jobmanager_memory: str | None = None
    taskmanager_cpu: float | None = None
    taskmanager_memory: str | None = None
    task_slots: int | None = None
    pod_template_file: str | None = None
    jobmanager_pod_template_file: str | None = None
    taskmanager_pod_template_file: str | None = None
    rest_service_exposed_type: str | None = None
    kubeconfig_path: str | None = None
    kube_context: str | None = None
    shutdown_on_application_finish: bool = False
    flink_conf: Mapping[str, ConfValue] = field(default_factory=dict)
    jar: str | None = None
    entry_class: str | None = None
    program_args: Sequence[str] = ()
    parallelism: int | None = None
    savepoint_path: str | None = None
    allow_non_restored_state: bool = False
    py_file: str | None = None
    py_module: str | None = None
    py_files: Sequence[str] = ()
    py_requirements: str | None = None
    py_archives: Sequence[str] = ()
    py_client_executable: str | None = None
    py_executable: str | None = None

    def __post_init__(self) -> None:
        validate_cluster_id(self.cluster_id)
        _check_text("image", self.image, required=True, no_space=True)
        _check_pattern("namespace", self.namespace, _DNS_LABEL_RE, 63, "a Kubernetes namespace name")
        _check_choice("image_pull_policy", self.image_pull_policy, _PULL_POLICIES)
        for i, secret in enumerate(_check_list("image_pull_secrets", self.image_pull_secrets)):
            _check_pattern(f"image_pull_secrets[{i}]", secret, _DNS_SUBDOMAIN_RE, 253, "a Secret name")
        _check_pattern("service_account", self.service_account, _DNS_SUBDOMAIN_RE, 253, "a ServiceAccount name")
        _check_cpu("jobmanager_cpu", self.jobmanager_cpu)
        _check_cpu("taskmanager_cpu", self.taskmanager_cpu)
        _check_memory("jobmanager_memory", self.jobmanager_memory)
        _check_memory("taskmanager_memory", self.taskmanager_memory)
        _check_positive_int("task_slots", self.task_slots)
        _check_positive_int("parallelism", self.parallelism)
        for name in ("pod_template_file", "jobmanager_pod_template_file", "taskmanager_pod_template_file"):
            _check_text(name, getattr(self, name))
        _check_text("kubeconfig_path", self.kubeconfig_path)
        _check_text("kube_context", self.kube_context)
        _check_choice("rest_service_exposed_type", self.rest_service_exposed_type, _EXPOSED_TYPES)
        _check_bool("shutdown_on_application_finish", self.shutdown_on_application_finish)
        _check_bool("allow_non_restored_state", self.allow_non_restored_state)
        if not isinstance(self.flink_conf, Mapping):
            raise NativeSpecError(f"flink_conf must be a mapping, got {type(self.flink_conf).__name__}.")
        self._check_program()

    def _check_program(self) -> None:
        entries = [name for name in ("jar", "py_file", "py_module") if getattr(self, name) is not None]
        if not entries:
            raise NativeSpecError("NativeJobSpec needs a program: set exactly one of jar, py_file or py_module.")
        if len(entries) > 1:
            raise NativeSpecError(
                f"NativeJobSpec sets {' and '.join(entries)}: set exactly one of jar, py_file or py_module."
            )
        if self.jar is not None:
            _check_text("jar", self.jar, required=True, no_space=True)
            if not _URI_SCHEME_RE.match(self.jar):
                raise NativeSpecError(
                    f"jar {self.jar!r} is not a URI: use local:///path/job.jar for a jar inside the image, "
                    "or a remote URI such as s3://bucket/job.jar."
                )
            _check_text("entry_class", self.entry_class, no_space=True)
        elif self.entry_class is not None:
            raise NativeSpecError(
                "entry_class is for jar jobs: a Python job's main class is Flink's PythonDriver, chosen by "
                "the CLI from py_file or py_module."
            )
        if self.py_file is not None:
            _check_text("py_file", self.py_file, required=True)
            if not self.py_file.endswith(".py"):
                # PythonDriverOptionsParserFactory refuses any other -py value.
                raise NativeSpecError(f"py_file must end with '.py' (Flink's rule for -py), got {self.py_file!r}.")
        if self.py_module is not None and not (
            isinstance(self.py_module, str) and _PY_MODULE_RE.fullmatch(self.py_module)
        ):
            raise NativeSpecError(f"py_module must be a dotted Python module name, got {self.py_module!r}.")
        for name in ("py_files", "py_archives"):
            for i, item in enumerate(_check_list(name, getattr(self, name))):
                _check_text(f"{name}[{i}]", item, required=True)
                if "," in item:
                    flag = "-pyfs" if name == "py_files" else "-pyarch"
                    raise NativeSpecError(
                        f"{name}[{i}] {item!r} contains ',', which Flink uses to separate the entries of "
                        f"{flag}: give each entry as its own list item."
                    )
        for name in ("py_requirements", "py_client_executable", "py_executable", "savepoint_path"):
            _check_text(name, getattr(self, name))
        for i, arg in enumerate(_check_list("program_args", self.program_args)):
            if not isinstance(arg, str):
                raise NativeSpecError(f"program_args[{i}] must be a string, got {type(arg).__name__}.")
        if self.allow_non_restored_state and self.savepoint_path is None:
            raise NativeSpecError("allow_non_restored_state only applies when starting from a savepoint_path.")

    @property
    def is_python(self) -> bool:
        """Whether the job's entry point is Python (``py_file`` or ``py_module``)."""
        return self.jar is None


def _check_text(name: str, value: object, *, required: bool = False, no_space: bool = False) -> None:
    if value is None and not required:
        return
    if not isinstance(value, str):
        raise NativeSpecError(f"{name} must be a string, got {type(value).__name__}.")
    if not value.strip():
        raise NativeSpecError(f"{name} is empty.")
    if no_space and any(c.isspace() for c in value):
        raise NativeSpecError(f"{name} {value!r} contains whitespace.")


def _check_pattern(name: str, value: object, pattern: re.Pattern[str], max_len: int, what: str) -> None:
    if value is None:
        return
    _check_text(name, value)
    assert isinstance(value, str)
    if len(value) > max_len or not pattern.fullmatch(value):
        raise NativeSpecError(
            f"{name} {value!r} is not {what}: lowercase letters, digits and '-' (and '.' between parts "
            f"where Kubernetes allows it), starting and ending with a letter or digit, at most {max_len} "
            "characters."
        )


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value is not None and value not in choices:
        raise NativeSpecError(f"{name} must be one of {', '.join(choices)}, got {value!r}.")


def _check_list(name: str, value: object) -> Sequence[str]:
    # A lone string is a sequence too, and would be spread into characters.
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise NativeSpecError(f"{name} must be a list of strings, got {type(value).__name__}: {value!r}.")
    return value


def _check_cpu(name: str, value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise NativeSpecError(f"{name} must be a number of CPUs such as 0.5 or 2, got {value!r}.")
    if not math.isfinite(value) or value <= 0:
        raise NativeSpecError(f"{name} must be a positive number of CPUs, got {value!r}.")


def _check_memory(name: str, value: object) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not _MEMORY_RE.fullmatch(value.strip()):
        raise NativeSpecError(
            f"{name} must be a Flink memory size such as '2048m' or '2g' (units b, k/kb, m/mb, g/gb, t/tb; "
            f"Kubernetes units like 'Gi' are not understood by Flink), got {value!r}."
        )


def _check_positive_int(name: str, value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise NativeSpecError(f"{name} must be a positive integer, got {value!r}.")


def _check_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise NativeSpecError(f"{name} must be True or False, got {value!r}.")


# ----------------------------------------------------------------------------------------------------
# -D options and the argv
# ----------------------------------------------------------------------------------------------------


def _render(value: ConfValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"  # Java's spelling
    if isinstance(value, float):
        return repr(value)  # shortest exact form, which Java's Double.parseDouble reads back
    return str(value)


def _same_value(left: str, right: str) -> bool:
    if left == right or (left.lower() in ("true", "false") and left.lower() == right.lower()):
        return True
    try:
        return float(left) == float(right)
    except ValueError:
        return False


def _typed_values(spec: NativeJobSpec) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, key in _TYPED_KEYS.items():
        value = getattr(spec, name)
        if name == "image_pull_secrets":
            # A list option: Flink splits the value at ';' (secret names cannot contain one).
            value = ";".join(value) or None
        if value is not None:
            values[key] = _render(value)
    return values


def _flag_value(spec: NativeJobSpec, name: str) -> str | None:
    value = getattr(spec, name)
    if name == "allow_non_restored_state":
        return "true" if value else None
    if name in ("py_files", "py_archives"):
        return ",".join(value) or None
    return None if value is None else _render(value)


def _check_key(key: object) -> str:
    if not isinstance(key, str):
        raise NativeSpecError(f"flink_conf key {key!r} must be a string, got {type(key).__name__}.")
    if key.startswith("$"):
        raise NativeSpecError(f"flink_conf key {key!r} is internal to Flink and set by the CLI itself.")
    if len(key) > 200 or not _OPTION_KEY_RE.fullmatch(key):
        raise NativeSpecError(
            f"flink_conf key {key!r} is not a Flink option key: letters, digits, '_' and '-' in parts joined "
            "by '.', such as 'state.checkpoints.dir'."
        )
    return key


def _check_value(what: str, value: str, *, legacy: FlinkVersion | None, program_arg: bool = False) -> None:
    """
    Refuse a value that would not reach the JobManager intact.

    :param legacy: The Flink version when it writes a line-based flink-conf.yaml (before 1.19), else None.
    :param program_arg: Program arguments may span lines where config.yaml carries them (a YAML list).
    """
    if "\x00" in value:
        raise NativeSpecError(f"{what} contains a NUL character, which no command line can carry.")
    if (not program_arg or legacy is not None) and ("\n" in value or "\r" in value):
        where = (
            f"Flink {legacy} writes it to a line-based flink-conf.yaml, where a line break ends the entry"
            if legacy is not None
            else "no Flink option takes a multi-line value, and Flink before 1.19 would cut it there"
        )
        raise NativeSpecError(f"{what} contains a line break: {where}.")
    if not program_arg:
        control = sorted({c for c in value if unicodedata.category(c) == "Cc" and c != "\t"})
        if control:
            raise NativeSpecError(f"{what} contains the control character(s) {', '.join(map(repr, control))}.")
    if legacy is None:
        return
    prefix = f"{what} {value!r}"
    why = f"Flink {legacy} passes it to the JobManager in a flink-conf.yaml"
    if "#" in value:
        lost = " and every argument after it is lost" if program_arg else ""
        raise NativeSpecError(
            f"{prefix} contains '#': {why}, where '#' starts a comment, so the value would be cut "
            f"there{lost}. Flink 1.19+ (config.yaml) keeps it."
        )
    if value != value.strip():
        raise NativeSpecError(f"{prefix} starts or ends with whitespace, which {why} trims away.")
    if not value and not program_arg:
        raise NativeSpecError(f"{what} is empty: {why}, which drops empty values; leave the option out.")


def build_dynamic_properties(spec: NativeJobSpec, *, flink_version: str) -> dict[str, str]:
    """
    Return the ``-D`` options of the job, key to value, in the order they are passed.

    Typed fields first (current option names), then ``flink_conf``: its deprecated keys are renamed to
    the current ones, entries equal to a field's value are dropped, and different ones are an error.

    :param spec: The job.
    :param flink_version: Version of the Flink client that will run the command.
    :raises NativeSpecError: For a conflict, a bad key or a value that would not reach Flink intact.
    """
    version = _supported_version(flink_version)
    legacy = version if _legacy_flink_conf(version) else None
    properties = _typed_values(spec)
    origin = {key: f"{name} ({key})" for name, key in _TYPED_KEYS.items() if key in properties}
    for raw_key, raw_value in spec.flink_conf.items():
        given = _check_key(raw_key)
        if raw_value is None or not isinstance(raw_value, str | int | float | bool):
            raise NativeSpecError(
                f"flink_conf[{given!r}] must be a string, number or boolean, got {type(raw_value).__name__}: "
                "write lists as 'a;b' and maps as 'k1:v1,k2:v2', as Flink's own configuration does."
            )
        value = _render(raw_value)
        key = DEPRECATED_OPTION_KEYS.get(given, given)
        label = f"flink_conf[{given!r}]" + (f" (deprecated name of {key})" if key != given else "")
        if key == "execution.target":
            if value != TARGET:
                raise NativeSpecError(f"{label} is {value!r}, but this command always deploys to {TARGET}.")
            continue
        owner = _KEY_OWNERS.get(key)
        if owner is not None and owner in _FLAG_KEYS.values():
            flag = _flag_value(spec, owner)
            if flag is not None:
                if _same_value(flag, value):
                    continue
                raise NativeSpecError(f"{label} = {value!r} conflicts with {owner} = {flag!r}: set only {owner}.")
        if key in properties:
            if _same_value(properties[key], value):
                continue
            fix = "keep one of them" if origin[key].startswith("flink_conf") else f"set only {owner}"
            raise NativeSpecError(f"{label} = {value!r} conflicts with {origin[key]} = {properties[key]!r}: {fix}.")
        properties[key] = value
        origin[key] = label
    for key, value in properties.items():
        _check_value(origin[key], value, legacy=legacy)
    if legacy is None:
        _check_no_nested_keys(properties, origin)
    return properties


def _check_no_nested_keys(properties: Mapping[str, str], origin: Mapping[str, str]) -> None:
    for key in properties:
        parts = key.split(".")
        for end in range(1, len(parts)):
            parent = ".".join(parts[:end])
            if parent in properties:
                raise NativeSpecError(
                    f"{origin[parent]} and {origin[key]} cannot both be set: Flink 1.19+ writes options as "
                    f"nested YAML, where {parent!r} cannot hold both a value and the option {key!r}. "
                    "Use the current name of the shorter option (Flink renamed most of them in 1.17)."
                )


def build_flink_run_argv(spec: NativeJobSpec, *, flink_version: str, flink_binary: str = "flink") -> list[str]:
    """
    Build the command that deploys ``spec`` as a Flink application cluster on Kubernetes.

    ``flink run-application --target kubernetes-application ...`` for Flink 1.17 to 1.20,
    ``flink run --target kubernetes-application ...`` for Flink 2.x. An argv list, for a process started
    without a shell. Program arguments follow the jar (or the Python entry point) verbatim.

    :param spec: The job.
    :param flink_version: Version of the Flink client, e.g. from :func:`detect_flink_version`.
    :param flink_binary: Path of ``bin/flink``.
    :raises NativeSpecError: If the version is unsupported or the spec cannot be passed to it intact.
    """
    _check_text("flink_binary", flink_binary, required=True)
    version = _supported_version(flink_version)
    legacy = version if _legacy_flink_conf(version) else None
    argv = [flink_binary, run_action(flink_version), "--target", TARGET]
    argv += [f"-D{key}={value}" for key, value in build_dynamic_properties(spec, flink_version=flink_version).items()]

    # Every value below also lands in the JobManager's configuration (savepoint path, main class, python.*
    # options, pipeline jar, program arguments), so it must survive the configuration file too.
    def option(flag: str, what: str, value: str | None) -> list[str]:
        if value is None:
            return []
        _check_value(what, value, legacy=legacy)
        return [flag, value]

    argv += option("-s", "savepoint_path", spec.savepoint_path)
    argv += ["-n"] if spec.allow_non_restored_state else []
    argv += option("-c", "entry_class", spec.entry_class)
    argv += option("-p", "parallelism", None if spec.parallelism is None else str(spec.parallelism))
    argv += option("-pyfs", "py_files", ",".join(spec.py_files) or None)
    argv += option("-pyarch", "py_archives", ",".join(spec.py_archives) or None)
    argv += option("-pyreq", "py_requirements", spec.py_requirements)
    argv += option("-pyclientexec", "py_client_executable", spec.py_client_executable)
    argv += option("-pyexec", "py_executable", spec.py_executable)
    args = list(spec.program_args)
    for i, arg in enumerate(args):
        _check_value(f"program_args[{i}]", arg, legacy=legacy, program_arg=True)
    if spec.jar is not None:
        _check_value("jar", spec.jar, legacy=legacy)
        # After the jar the CLI stops reading options: every later item reaches main() unchanged.
        return argv + [spec.jar] + args
    entry = option("-py", "py_file", spec.py_file) or option("-pym", "py_module", spec.py_module)
    if not args:
        return argv + entry
    # Nothing positional ends the CLI's option parsing for a Python job, so a first argument such as
    # "-p" would be taken as Flink's own; and Flink's PythonDriver parses the arguments again on the
    # JobManager. The first "--" is consumed by the CLI, the second by the PythonDriver.
    return argv + entry + ["--", "--"] + args


# ----------------------------------------------------------------------------------------------------
# Secrets in logs
# ----------------------------------------------------------------------------------------------------

# Flink's GlobalConfiguration.SENSITIVE_KEYS (2.3.0), plus "key" and "credential" for options such as
# s3.access-key or a connector's credentials: masking a harmless value only costs readability.
_SENSITIVE_KEY_PARTS = (
    "password",
    "secret",
    "token",
    "apikey",
    "api-key",
    "auth-params",
    "service-key",
    "basic-auth",
    "jaas.config",
    "http-headers",
    "fs.azure.account.key",
    "key",
    "credential",
)


def is_sensitive_key(key: str) -> bool:
    """
    Tell whether a Flink option's value should be hidden in logs (e.g. ``s3.secret-key``).

    :param key: Option key, any case.
    """
    lowered = key.lower()
    return any(part in lowered for part in _SENSITIVE_KEY_PARTS)


def _split_dynamic(item: str) -> tuple[str, str] | None:
    if not item.startswith("-D") or "=" not in item:
        return None
    key, value = item[2:].split("=", 1)
    return key, value


def sensitive_values(argv: Sequence[str]) -> list[str]:
    """
    Return the values of the sensitive ``-D`` options in ``argv``.

    Register each with Airflow's secrets masker (``mask_secret``) before running the command, so they are
    also hidden if the CLI prints them back (in an error, or the effective configuration at debug level).

    :param argv: A command from :func:`build_flink_run_argv`.
    """
    values = []
    for item in argv:
        parsed = _split_dynamic(item)
        if parsed and parsed[1] and is_sensitive_key(parsed[0]):
            values.append(parsed[1])
    return values


def mask_argv(argv: Sequence[str], secrets: Sequence[str] = ()) -> list[str]:
    """
    Return a copy of ``argv`` fit for a log: values of sensitive ``-D`` options become ``***``, and so does
    every occurrence of the given ``secrets`` in any item (e.g. a password passed as a program argument).

    :param argv: A command from :func:`build_flink_run_argv`.
    :param secrets: Further values to hide wherever they appear.
    """
    hidden = sorted({s for s in secrets if s}, key=len, reverse=True)
    masked = []
    for item in argv:
        parsed = _split_dynamic(item)
        if parsed and parsed[1] and is_sensitive_key(parsed[0]):
            item = f"-D{parsed[0]}={MASK}"
        for secret in hidden:
            item = item.replace(secret, MASK)
        masked.append(item)
    return masked
