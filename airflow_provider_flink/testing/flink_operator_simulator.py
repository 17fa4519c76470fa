"""
A stand-in for the Apache Flink Kubernetes Operator 1.15, for tests without a cluster.

The simulator talks to any Kubernetes API server through the official ``kubernetes`` client (the
in-repo emulator, or a real cluster where the real operator is not installed). It watches
FlinkDeployment, FlinkSessionJob and FlinkStateSnapshot objects and writes their status the way the
real operator does, one reconciliation per step, so code that waits on a status can be tested
against real-shaped documents: ``lifecycleState``, ``jobManagerDeploymentStatus``, ``jobStatus``,
``reconciliationStatus`` (``lastReconciledSpec`` as the operator's JSON string), ``observedGeneration``,
``clusterInfo``, ``conditions`` and ``error`` (the operator's exception JSON). It also creates the
JobManager pod, Kubernetes events and FlinkStateSnapshot objects, adds and removes the finalizer, and,
when the server is the in-repo emulator, sets the JobManager pod's log.

The behaviour of one object is chosen by the annotation ``flink-simulator/scenario``:

* ``batch-success``: the job runs for a few steps, then FINISHED (the JobManager stays READY, as with
  the operator's ``execution.shutdown-on-application-finish=false``). Default when
  ``spec.flinkConfiguration["execution.runtime-mode"]`` is ``BATCH``.
* ``batch-failure``: the job runs, then FAILED: lifecycle FAILED, ``status.error`` holds the job's
  exception, a Warning event with reason ``Error`` names it, the JobManager log ends with it.
* ``streaming``: the job runs forever. Default otherwise.
* ``jm-error``: the JobManager image cannot be pulled: ``jobManagerDeploymentStatus`` ERROR, the job
  stays RECONCILING, the error is a ``DeploymentFailedException`` with reason ``ImagePullBackOff``.
* ``reconciling``: the JobManager becomes READY but its REST API never answers: the job stays
  RECONCILING.

Optional annotations: ``flink-simulator/step-seconds`` (pacing of that object),
``flink-simulator/failure-message`` (the job's exception, e.g. ``java.io.IOException: disk full``, or
the image pull message for ``jm-error``) and ``flink-simulator/running-steps`` (how many steps a batch
job runs, 3 by default).

What the operator does and this simulator reproduces, read from the operator's source at tag
``release-1.15.0``:

* The first reconciliation comes one step after creation (status absent until then). It adds the
  finalizer, writes the default status (lifecycle CREATED, JobManager MISSING), then the status it
  records before deploying (reconciliation UPGRADING, the spec with ``job.state: suspended``), then
  the deployed status: reconciliation DEPLOYED, JobManager DEPLOYING, job RECONCILING with a new
  random 32-hex job id, lifecycle DEPLOYED. The JobManager then goes DEPLOYED_NOT_READY and READY;
  the job is first seen CREATED, then RUNNING (the spec is marked stable: lifecycle STABLE).
* A spec change (generation bump) is noticed one step later, so ``observedGeneration`` lags for at
  least a step. The running job is stopped (stop-with-savepoint in ``savepoint`` upgrade mode, cancel
  otherwise); its state becomes FINISHED; reconciliation and lifecycle become UPGRADING with
  ``observedGeneration`` caught up. One step later the new spec is deployed with a new job id. A
  ``restartNonce`` change re-runs a finished job the same way.
* ``spec.job.state: suspended`` stops the job the same way and records the suspended spec as
  deployed: job FINISHED, lifecycle SUSPENDED. The JobManager is deleted (MISSING) in ``stateless``
  and ``last-state`` mode; in ``savepoint`` mode, and for a job that had already ended, the operator
  leaves the terminated cluster running (READY) until the next deployment. Resuming deploys a new job
  from the upgrade savepoint in ``savepoint`` mode.
* ``savepointTriggerNonce``: with FlinkStateSnapshot resources enabled (the operator's default) a
  FlinkStateSnapshot ``<name>-savepoint-manual-<millis>`` is created and completes (TRIGGER_PENDING,
  IN_PROGRESS, COMPLETED with ``status.path``). With
  ``kubernetes.operator.snapshot.resource.enabled: "false"`` in ``flinkConfiguration`` the deprecated
  ``jobStatus.savepointInfo`` is used instead: ``triggerId`` while in progress, then
  ``lastSavepoint{timeStamp, location, triggerType, formatType, triggerNonce}`` and
  ``savepointHistory``. Upgrade savepoints are recorded the same way (snapshot with
  ``alreadyExists: true``, or ``savepointInfo`` with triggerType UPGRADE) and in
  ``jobStatus.upgradeSavepointPath``.
* Deletion: lifecycle DELETING for one step, then the JobManager is removed and the finalizer with
  it, so the object goes away.
* A FlinkSessionJob waits, with the default status (lifecycle CREATED) and no error, until the session
  FlinkDeployment named in ``spec.deploymentName`` exists and is READY: the operator reports nothing
  else in that case. A session job has no JobManager status; suspending it clears its job id.

Simplifications: every spec change goes through the two-step upgrade above (the operator sometimes
does it in one reconciliation, or waits for an upgradeable state); ``last-state`` upgrades cancel the
job without a savepoint; rollbacks, autoscaling, HA metadata, TaskManager pods and the JobManager
shutdown TTL are not simulated; ``resource_metadata`` in ``lastReconciledSpec`` holds ``apiVersion``
and ``firstDeployment`` only, as in 1.15 (the ``metadata.generation`` of older releases is gone).

Run it in another process with
``python -m airflow_provider_flink.testing.flink_operator_simulator --kubeconfig PATH``.
"""

from __future__ import annotations

import argparse
import copy
import functools
import hashlib
import json
import logging
import math
import re
import secrets
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.watch.watch import iter_resp_lines

log = logging.getLogger(__name__)

GROUP = "flink.apache.org"
VERSION = "v1beta1"
API_VERSION = f"{GROUP}/{VERSION}"

KIND_DEPLOYMENT = "FlinkDeployment"
KIND_SESSION_JOB = "FlinkSessionJob"
KIND_SNAPSHOT = "FlinkStateSnapshot"
PLURALS = {
    KIND_DEPLOYMENT: "flinkdeployments",
    KIND_SESSION_JOB: "flinksessionjobs",
    KIND_SNAPSHOT: "flinkstatesnapshots",
}
FINALIZERS = {kind: f"{plural}.{GROUP}/finalizer" for kind, plural in PLURALS.items()}

ANNOTATION_SCENARIO = "flink-simulator/scenario"
ANNOTATION_STEP_SECONDS = "flink-simulator/step-seconds"
ANNOTATION_FAILURE_MESSAGE = "flink-simulator/failure-message"
ANNOTATION_RUNNING_STEPS = "flink-simulator/running-steps"

SCENARIO_BATCH_SUCCESS = "batch-success"
SCENARIO_BATCH_FAILURE = "batch-failure"
SCENARIO_STREAMING = "streaming"
SCENARIO_JM_ERROR = "jm-error"
SCENARIO_RECONCILING = "reconciling"
SCENARIOS = (
    SCENARIO_BATCH_SUCCESS,
    SCENARIO_BATCH_FAILURE,
    SCENARIO_STREAMING,
    SCENARIO_JM_ERROR,
    SCENARIO_RECONCILING,
)

DEFAULT_RUNNING_STEPS = 3
DEFAULT_FAILURE_MESSAGE = "java.lang.IllegalStateException: Simulated failure of the Flink job"
DEFAULT_SAVEPOINT_DIR = "file:///flink-data/savepoints"
DEFAULT_CHECKPOINT_DIR = "file:///flink-data/checkpoints"
MAIN_CONTAINER = "flink-main-container"
LABEL_SNAPSHOT_TRIGGER_TYPE = "snapshot.trigger-type"

# jobManagerDeploymentStatus values
JM_READY = "READY"
JM_DEPLOYED_NOT_READY = "DEPLOYED_NOT_READY"
JM_DEPLOYING = "DEPLOYING"
JM_MISSING = "MISSING"
JM_ERROR = "ERROR"

# Flink job states
JOB_CREATED = "CREATED"
JOB_RUNNING = "RUNNING"
JOB_FAILED = "FAILED"
JOB_FINISHED = "FINISHED"
JOB_CANCELED = "CANCELED"
JOB_RECONCILING = "RECONCILING"
TERMINAL_JOB_STATES = frozenset({JOB_FAILED, JOB_FINISHED, JOB_CANCELED})

# reconciliationStatus.state values
RECON_DEPLOYED = "DEPLOYED"
RECON_UPGRADING = "UPGRADING"

# Messages the operator uses (the CommonStatus constants that turn an error into lifecycle FAILED).
_FAILED_LIFECYCLE_MARKERS = (
    "Manual restore required.",
    "It is possible that the job has finished or terminally failed, or the configmaps have been deleted.",
    "HA metadata is not available",
)

# Exception class names as they appear in status.error.
EXC_SERIALIZED_THROWABLE = "org.apache.flink.util.SerializedThrowable"
EXC_DEPLOYMENT_FAILED = "org.apache.flink.kubernetes.operator.exception.DeploymentFailedException"
EXC_VALIDATION = "org.apache.flink.kubernetes.operator.exception.ValidationException"
JOB_RECOVERY_SUPPRESSED = "Recovery is suppressed by NoRestartBackoffTimeStrategy"

# Patch versions reported as clusterInfo["flink-version"], by spec.flinkVersion.
_FLINK_VERSIONS = {
    "v1_13": "1.13.6",
    "v1_14": "1.14.6",
    "v1_15": "1.15.4",
    "v1_16": "1.16.3",
    "v1_17": "1.17.2",
    "v1_18": "1.18.1",
    "v1_19": "1.19.3",
    "v1_20": "1.20.3",
    "v2_0": "2.0.1",
    "v2_1": "2.1.1",
    "v2_2": "2.2.0",
}

# Defaults of the operator's JobSpec, in its field order: lastReconciledSpec carries all of them.
_JOB_SPEC_DEFAULTS: tuple[tuple[str, Any], ...] = (
    ("jarURI", None),
    ("parallelism", 0),
    ("entryClass", None),
    ("args", []),
    ("state", "running"),
    ("savepointTriggerNonce", None),
    ("initialSavepointPath", None),
    ("checkpointTriggerNonce", None),
    ("upgradeMode", "stateless"),
    ("allowNonRestoredState", None),
    ("savepointRedeployNonce", None),
    ("autoscalerResetNonce", None),
)
# JobSpec fields annotated @SpecDiff(DiffType.IGNORE): changing them upgrades nothing.
_IGNORED_JOB_FIELDS = frozenset(
    {
        "savepointTriggerNonce",
        "initialSavepointPath",
        "checkpointTriggerNonce",
        "upgradeMode",
        "allowNonRestoredState",
        "autoscalerResetNonce",
    }
)

_CONNECT_TIMEOUT = 3.0
_READ_TIMEOUT = 10.0
_WATCH_SECONDS = 5
_RESYNC_SECONDS = 30.0


# ---------------------------------------------------------------------------------------------
# Pure helpers: the shapes the operator writes
# ---------------------------------------------------------------------------------------------


def now_millis() -> int:
    """Milliseconds since the epoch, the unit of the operator's timestamps."""
    return int(time.time() * 1000)


def iso_now() -> str:
    """The current time as Java's ``Instant.toString()`` writes it."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_job_id() -> str:
    """A random Flink JobID as 32 lowercase hex characters, like ``JobID.generate().toHexString()``."""
    return uuid.uuid4().hex


def java_string_hash(text: str) -> int:
    """Java's ``String.hashCode()`` as an unsigned 32-bit value (the operator names events with it)."""
    encoded = text.encode("utf-16-be")
    value = 0
    for index in range(0, len(encoded), 2):
        value = (31 * value + int.from_bytes(encoded[index : index + 2], "big")) & 0xFFFFFFFF
    return value


def event_name(component: str, reason: str, key: str, event_type: str, kind: str, name: str, uid: str) -> str:
    """The name the operator's EventUtils gives an event, so repeats bump one event's count."""
    digest = java_string_hash(reason + key + event_type + kind + name + uid) & 0x7FFFFFFF
    return f"{component}.{digest}"


def strip_none(value: Any) -> Any:
    """Drop None values from mappings, as the API server prunes nulls from a structural schema."""
    if isinstance(value, dict):
        return {k: strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_none(v) for v in value]
    return value


def flink_config_value(spec: dict[str, Any], key: str) -> Any:
    """A flinkConfiguration entry, written flat (``"a.b": v``) or nested (``a: {b: v}``)."""
    conf = spec.get("flinkConfiguration") or {}
    if key in conf:
        return conf[key]
    node: Any = conf
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def scenario_for(obj: dict[str, Any]) -> str:
    """The scenario a custom resource asked for, or the default for its runtime mode."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    requested = annotations.get(ANNOTATION_SCENARIO)
    if requested in SCENARIOS:
        return str(requested)
    if requested:
        log.warning("Unknown %s %r, using the default", ANNOTATION_SCENARIO, requested)
    mode = str(flink_config_value(obj.get("spec") or {}, "execution.runtime-mode") or "").upper()
    return SCENARIO_BATCH_SUCCESS if mode == "BATCH" else SCENARIO_STREAMING


def _normalize_resource(resource: dict[str, Any] | None) -> dict[str, Any] | None:
    if resource is None:
        return None
    cpu = resource.get("cpu")
    return {
        "cpu": float(cpu) if cpu is not None else None,
        "memory": resource.get("memory"),
        "ephemeralStorage": resource.get("ephemeralStorage"),
    }


def normalize_spec(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    """
    The spec as the operator serializes it into ``lastReconciledSpec``.

    Every field of its Java classes is present, with nulls and defaults, in the Java field order.
    """
    job = spec.get("job")
    normalized: dict[str, Any] = {
        "job": None
        if job is None
        else {
            key: copy.deepcopy(job[key]) if job.get(key) is not None else copy.deepcopy(default)
            for key, default in _JOB_SPEC_DEFAULTS
        },
        "restartNonce": spec.get("restartNonce"),
        "flinkConfiguration": copy.deepcopy(spec.get("flinkConfiguration") or {}),
    }
    if kind == KIND_SESSION_JOB:
        normalized["deploymentName"] = spec.get("deploymentName")
        return normalized
    job_manager = spec.get("jobManager")
    task_manager = spec.get("taskManager")
    normalized.update(
        {
            "image": spec.get("image"),
            "imagePullPolicy": spec.get("imagePullPolicy"),
            "serviceAccount": spec.get("serviceAccount"),
            "flinkVersion": spec.get("flinkVersion"),
            "ingress": copy.deepcopy(spec.get("ingress")),
            "podTemplate": copy.deepcopy(spec.get("podTemplate")),
            "jobManager": None
            if job_manager is None
            else {
                "resource": _normalize_resource(job_manager.get("resource")),
                "replicas": job_manager.get("replicas", 1),
                "podTemplate": copy.deepcopy(job_manager.get("podTemplate")),
            },
            "taskManager": None
            if task_manager is None
            else {
                "resource": _normalize_resource(task_manager.get("resource")),
                "replicas": task_manager.get("replicas"),
                "podTemplate": copy.deepcopy(task_manager.get("podTemplate")),
            },
            "logConfiguration": copy.deepcopy(spec.get("logConfiguration")),
            "mode": spec.get("mode"),
        }
    )
    return normalized


def spec_with_meta(spec: dict[str, Any], api_version: str, first_deployment: bool) -> str:
    """The ``lastReconciledSpec`` string: Jackson's compact JSON of the spec and its metadata."""
    wrapper = {
        "spec": spec,
        "resource_metadata": {"apiVersion": api_version, "firstDeployment": first_deployment},
    }
    return json.dumps(wrapper, separators=(",", ":"))


def parse_spec_with_meta(text: str | None) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Split a ``lastReconciledSpec`` string into the spec and its ``resource_metadata``."""
    if not text:
        return None, {}
    wrapper = json.loads(text)
    if "resource_metadata" not in wrapper:
        # The format of operator releases before 1.3: the spec itself, with its apiVersion.
        wrapper.pop("apiVersion", None)
        return wrapper, {}
    return wrapper.get("spec"), wrapper.get("resource_metadata") or {}


def _flatten(mapping: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{path}."))
        else:
            flat[path] = value
    return flat


def _diff_view(spec: dict[str, Any], new_spec: dict[str, Any]) -> dict[str, Any]:
    view = copy.deepcopy(spec)
    if isinstance(view.get("job"), dict):
        for key in _IGNORED_JOB_FIELDS:
            view["job"].pop(key, None)
        # savepointRedeployNonce is onNullIgnore: clearing it is no change.
        if (new_spec.get("job") or {}).get("savepointRedeployNonce") is None:
            view["job"].pop("savepointRedeployNonce", None)
    if new_spec.get("restartNonce") is None:
        view.pop("restartNonce", None)
    # Operator settings in flinkConfiguration are reloaded without a redeployment.
    view["flinkConfiguration"] = {
        key: value
        for key, value in _flatten(view.get("flinkConfiguration") or {}).items()
        if not key.startswith("kubernetes.operator.")
    }
    return view


def spec_diff(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """The changes between two normalized specs that make the operator redeploy, as (path, old, new)."""
    diffs: list[tuple[str, Any, Any]] = []

    def walk(path: str, before: Any, after: Any) -> None:
        if isinstance(before, dict) and isinstance(after, dict):
            for key in dict.fromkeys([*before, *after]):
                walk(f"{path}.{key}" if path else str(key), before.get(key), after.get(key))
        elif before != after:
            diffs.append((path, before, after))

    walk("", _diff_view(old, new), _diff_view(new, new))
    return diffs


def spec_change_message(kind: str, diffs: list[tuple[str, Any, Any]]) -> str:
    """The message of the operator's SpecChanged event."""
    changes = ", ".join(f"{path} : {json.dumps(old)} -> {json.dumps(new)}" for path, old, new in diffs)
    spec_class = "FlinkSessionJobSpec" if kind == KIND_SESSION_JOB else "FlinkDeploymentSpec"
    return f"UPGRADE change(s) detected (Diff: {spec_class}[{changes}]), starting reconciliation."


def flink_resource_exception(
    exception_type: str,
    message: str,
    additional_metadata: dict[str, Any] | None = None,
    causes: Iterable[tuple[str, str]] = (),
) -> str:
    """``status.error``: the JSON of the operator's FlinkResourceException (nulls left out)."""
    document = {
        "type": exception_type,
        "message": message,
        "additionalMetadata": additional_metadata or {},
        "throwableList": [
            {"type": cause_type, "message": cause_message, "additionalMetadata": {}}
            for cause_type, cause_message in causes
        ],
    }
    return json.dumps(document, separators=(",", ":"))


def split_exception(text: str) -> tuple[str, str]:
    """Split ``"java.io.IOException: disk full"`` into class and message; plain text is a RuntimeException."""
    match = re.match(r"^((?:[A-Za-z_$][\w$]*\.)+[A-Z][\w$]*)(?::\s*(.*))?$", text.strip(), re.DOTALL)
    if match:
        return match.group(1), match.group(2) or ""
    return "java.lang.RuntimeException", text


def lifecycle_state(status: dict[str, Any], is_deployment: bool) -> str:
    """``status.lifecycleState`` as the operator's ``CommonStatus.getLifecycleState()`` derives it."""
    current = status.get("lifecycleState")
    if current in ("DELETING", "DELETED"):
        return str(current)
    reconciliation = status.get("reconciliationStatus") or {}
    error = status.get("error")
    last_reconciled = reconciliation.get("lastReconciledSpec")
    if last_reconciled is None:
        return "FAILED" if error else "CREATED"
    state = reconciliation.get("state", RECON_UPGRADING)
    if state == RECON_UPGRADING:
        return "UPGRADING"
    if state == "ROLLING_BACK":
        return "ROLLING_BACK"
    spec, _ = parse_spec_with_meta(last_reconciled)
    if spec and isinstance(spec.get("job"), dict) and spec["job"].get("state") == "suspended":
        return "SUSPENDED"
    if (status.get("jobStatus") or {}).get("state") == JOB_FAILED:
        return "FAILED"
    if (
        is_deployment
        and status.get("jobManagerDeploymentStatus") in (JM_MISSING, JM_ERROR)
        and error
        and any(marker in error for marker in _FAILED_LIFECYCLE_MARKERS)
    ):
        return "FAILED"
    if state == "ROLLED_BACK":
        return "ROLLED_BACK"
    if last_reconciled == reconciliation.get("lastStableSpec"):
        return "STABLE"
    return "DEPLOYED"


def default_status(kind: str) -> dict[str, Any]:
    """The status a freshly constructed operator status object serializes to."""
    job_status = {
        "savepointInfo": {"savepointHistory": [], "lastPeriodicSavepointTimestamp": 0},
        "checkpointInfo": {"lastPeriodicCheckpointTimestamp": 0},
    }
    status: dict[str, Any] = {
        "jobStatus": job_status,
        "lifecycleState": "CREATED",
        "reconciliationStatus": {"reconciliationTimestamp": 0, "state": RECON_UPGRADING},
    }
    if kind == KIND_DEPLOYMENT:
        status.update({"clusterInfo": {}, "jobManagerDeploymentStatus": JM_MISSING, "conditions": []})
    return status


def with_defaults(kind: str, status: dict[str, Any] | None) -> dict[str, Any]:
    """A deep copy of a status with the operator's defaults filled in where absent."""
    merged = default_status(kind)
    for key, value in (status or {}).items():
        if key in ("jobStatus", "reconciliationStatus") and isinstance(value, dict):
            merged[key].update(copy.deepcopy(value))
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def savepoint_location(directory: str, job_id: str | None) -> str:
    """A savepoint path like Flink writes: ``<dir>/savepoint-<6 hex of the job id>-<12 hex>``."""
    return f"{directory.rstrip('/')}/savepoint-{(job_id or new_job_id())[:6]}-{secrets.token_hex(6)}"


def savepoint_directory(spec: dict[str, Any]) -> str:
    """The savepoint directory of a job's Flink configuration (old and new option names)."""
    for key in ("execution.checkpointing.savepoint-dir", "state.savepoints.dir"):
        value = flink_config_value(spec, key)
        if value:
            return str(value)
    return DEFAULT_SAVEPOINT_DIR


def checkpoint_directory(spec: dict[str, Any]) -> str:
    """The checkpoint directory of a job's Flink configuration (old and new option names)."""
    for key in ("execution.checkpointing.dir", "state.checkpoints.dir"):
        value = flink_config_value(spec, key)
        if value:
            return str(value)
    return DEFAULT_CHECKPOINT_DIR


def snapshot_resources_enabled(spec: dict[str, Any]) -> bool:
    """Whether savepoints go to FlinkStateSnapshot objects (the 1.15 default) or to savepointInfo."""
    value = flink_config_value(spec, "kubernetes.operator.snapshot.resource.enabled")
    return str(value).lower() != "false" if value is not None else True


def _memory_bytes(text: Any) -> int:
    """Bytes of a Flink memory size such as ``2048m`` or ``2g`` (0 when unreadable)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", str(text or ""), re.IGNORECASE)
    if not match:
        return 0
    power = " kmgt".index(match.group(2).lower() or " ")
    return int(float(match.group(1)) * 1024**power)


def task_manager_count(spec: dict[str, Any]) -> int:
    """TaskManagers of an application: the explicit replicas, else parallelism over slots."""
    replicas = (spec.get("taskManager") or {}).get("replicas")
    if replicas:
        return int(replicas)
    parallelism = int((spec.get("job") or {}).get("parallelism") or 1)
    slots = int(flink_config_value(spec, "taskmanager.numberOfTaskSlots") or 1)
    return max(1, math.ceil(parallelism / max(1, slots)))


def cluster_info(spec: dict[str, Any]) -> dict[str, str]:
    """``status.clusterInfo`` of a READY cluster: version, revision, total CPU and memory."""
    job_manager = spec.get("jobManager") or {}
    task_manager = spec.get("taskManager") or {}
    jm_resource = job_manager.get("resource") or {}
    tm_resource = task_manager.get("resource") or {}
    tms = task_manager_count(spec) if spec.get("job") else int(task_manager.get("replicas") or 0)
    jm_replicas = int(job_manager.get("replicas") or 1)
    cpu = float(jm_resource.get("cpu") or 1) * jm_replicas + float(tm_resource.get("cpu") or 1) * tms
    memory = _memory_bytes(jm_resource.get("memory")) * jm_replicas + _memory_bytes(tm_resource.get("memory")) * tms
    version = _FLINK_VERSIONS.get(str(spec.get("flinkVersion")), "1.20.3")
    revision = hashlib.sha1(version.encode()).hexdigest()[:7]
    return {
        "flink-revision": f"{revision} @ 2025-01-01T00:00:00+01:00",
        "flink-version": version,
        "total-cpu": str(cpu),
        "total-memory": str(memory),
    }


# ---------------------------------------------------------------------------------------------
# The simulator
# ---------------------------------------------------------------------------------------------


class _Abort(Exception):
    """This reconciliation step cannot go on (a write failed); the next step starts over."""


@dataclass
class _Entry:
    """One watched custom resource: its latest copy and when it is next reconciled."""

    obj: dict[str, Any]
    due: float
    generation: Any
    deleting: bool


@dataclass
class _ObjectState:
    """What the simulator remembers about one custom resource beyond its status (by uid)."""

    cluster_counter: int = 0
    checkpoint_counter: int = 0
    pod_name: str | None = None
    pushed_pod: tuple[str | None, str | None] = (None, None)
    pushed_log: tuple[str | None, str] = (None, "")
    deployed_at: dict[str, int] = field(default_factory=dict)
    restore_path: dict[str, str | None] = field(default_factory=dict)
    log_times: dict[str, str] = field(default_factory=dict)


@dataclass
class _Step:
    """The working state of one reconciliation of one custom resource."""

    kind: str
    obj: dict[str, Any]
    status: dict[str, Any]
    state: _ObjectState
    scenario: str
    step_seconds: float
    events: list[tuple[str, str, str, str, str | None, bool]] = field(default_factory=list)
    after_commit: list[Callable[[], None]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.obj["metadata"]["name"])

    @property
    def namespace(self) -> str:
        return str(self.obj["metadata"].get("namespace") or "default")

    @property
    def spec(self) -> dict[str, Any]:
        return self.obj.get("spec") or {}

    @property
    def job_status(self) -> dict[str, Any]:
        return self.status.setdefault("jobStatus", {})

    @property
    def reconciliation(self) -> dict[str, Any]:
        return self.status.setdefault("reconciliationStatus", {})

    def event(
        self,
        event_type: str,
        reason: str,
        component: str,
        message: str,
        message_key: str | None = None,
        once: bool = False,
    ) -> None:
        """Queue an event; it is emitted only once the status it belongs to is written."""
        self.events.append((event_type, reason, component, message, message_key, once))


class FlinkOperatorSimulator:
    """
    Reconcile Flink custom resources like the Flink Kubernetes Operator 1.15, for tests.

    It watches the API server from background threads (re-listing after a 410 or a cut watch, and
    every 30 seconds), retries failed requests on the next step and never stops on an API error.

    :param kubeconfig: path of a kubeconfig file, or a kubeconfig as a dict.
    :param namespace: the namespace to watch; None watches every namespace.
    :param step_seconds: pacing of one reconciliation step; an object's annotation
        ``flink-simulator/step-seconds`` overrides it.
    """

    def __init__(
        self, kubeconfig: str | dict[str, Any], namespace: str | None = None, step_seconds: float = 0.2
    ) -> None:
        if step_seconds <= 0:
            raise ValueError("step_seconds must be positive")
        self.kubeconfig = kubeconfig
        self.namespace = namespace
        self.step_seconds = step_seconds
        self._stop = threading.Event()
        self._lock = threading.Condition()
        self._cache: dict[tuple[str, str, str], _Entry] = {}
        self._states: dict[str, _ObjectState] = {}
        self._threads: list[threading.Thread] = []
        self._watches: set[Any] = set()
        self._synced: dict[str, threading.Event] = {kind: threading.Event() for kind in PLURALS}
        self._logs_supported: bool | None = None
        self._lowercase_event_names = False
        self._api_client: Any = None
        self._custom: Any = None
        self._core: Any = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> FlinkOperatorSimulator:
        """Start watching and reconciling in background threads; waits briefly for the first listing."""
        if self._threads:
            return self
        self._stop.clear()
        self._api_client = self._new_api_client()
        self._custom = k8s_client.CustomObjectsApi(self._api_client)
        self._core = k8s_client.CoreV1Api(self._api_client)
        for kind in PLURALS:
            thread = threading.Thread(
                target=self._informer, args=(kind,), name=f"flink-sim-watch-{PLURALS[kind]}", daemon=True
            )
            self._threads.append(thread)
        self._threads.append(threading.Thread(target=self._reconcile_loop, name="flink-sim-reconcile", daemon=True))
        for thread in self._threads:
            thread.start()
        deadline = time.monotonic() + 5
        for synced in self._synced.values():
            synced.wait(max(0.0, deadline - time.monotonic()))
        log.info("Flink operator simulator started (namespace %s)", self.namespace or "<all>")
        return self

    def stop(self) -> None:
        """Stop the background threads; a watch blocked on the network is abandoned after a while."""
        self._stop.set()
        with self._lock:
            self._lock.notify_all()
            watches = list(self._watches)
        for response in watches:
            # urllib3 2.3+ can unblock a read in progress; older versions wait for the watch timeout.
            shutdown = getattr(response, "shutdown", None)
            if shutdown is not None:
                try:
                    shutdown()
                except Exception:
                    log.debug("Could not shut a watch down", exc_info=True)
        for thread in self._threads:
            thread.join(timeout=_WATCH_SECONDS + _CONNECT_TIMEOUT + 2)
        self._threads = []
        for synced in self._synced.values():
            synced.clear()
        if self._api_client is not None:
            self._api_client.close()
            self._api_client = None

    def __enter__(self) -> FlinkOperatorSimulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _new_api_client(self) -> Any:
        if isinstance(self.kubeconfig, dict):
            return k8s_config.new_client_from_config_dict(copy.deepcopy(self.kubeconfig))
        return k8s_config.new_client_from_config(config_file=self.kubeconfig)

    # -- watching ------------------------------------------------------------------------------

    def _list_call(self, api: Any, kind: str, **kwargs: Any) -> Any:
        if self.namespace:
            return api.list_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURALS[kind], **kwargs)
        return api.list_cluster_custom_object(GROUP, VERSION, PLURALS[kind], **kwargs)

    def _informer(self, kind: str) -> None:
        """List, then watch one kind; relist after a 410, an error, or every resync period."""
        api_client = self._new_api_client()
        api = k8s_client.CustomObjectsApi(api_client)
        resource_version: str | None = None
        listed_at = 0.0
        backoff = 0.1
        try:
            while not self._stop.is_set():
                try:
                    if resource_version is None or time.monotonic() - listed_at > _RESYNC_SECONDS:
                        listing = self._list_call(api, kind, _request_timeout=(_CONNECT_TIMEOUT, _READ_TIMEOUT))
                        resource_version = str((listing.get("metadata") or {}).get("resourceVersion") or "") or None
                        self._replace_all(kind, listing.get("items") or [])
                        listed_at = time.monotonic()
                        self._synced[kind].set()
                        if resource_version is None:
                            # A server without list resourceVersions: poll.
                            self._stop.wait(self.step_seconds)
                            continue
                    resource_version = self._watch(api, kind, resource_version)
                    backoff = 0.1
                except Exception as exc:
                    if self._stop.is_set():
                        break
                    log.debug("Watching %s failed, relisting: %s", PLURALS[kind], exc)
                    resource_version = None
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, 2.0)
        finally:
            api_client.close()

    def _watch(self, api: Any, kind: str, resource_version: str) -> str | None:
        """Follow one watch request; returns where to resume, or None to relist (410 Gone)."""
        response = self._list_call(
            api,
            kind,
            watch=True,
            resource_version=resource_version,
            allow_watch_bookmarks=True,
            timeout_seconds=_WATCH_SECONDS,
            _preload_content=False,
            _request_timeout=(_CONNECT_TIMEOUT, _WATCH_SECONDS + 5),
        )
        with self._lock:
            self._watches.add(response)
        try:
            for line in iter_resp_lines(response):
                if self._stop.is_set():
                    break
                if not line:
                    continue
                event = json.loads(line)
                event_type = event.get("type")
                obj = event.get("object") or {}
                if event_type == "ERROR":
                    if obj.get("code") == 410:
                        return None
                    raise RuntimeError(f"watch error: {obj.get('message')}")
                resource_version = str((obj.get("metadata") or {}).get("resourceVersion") or resource_version)
                if event_type == "BOOKMARK":
                    continue
                self._on_event(kind, str(event_type), obj)
        finally:
            with self._lock:
                self._watches.discard(response)
            response.close()
            response.release_conn()
        return resource_version

    def _replace_all(self, kind: str, items: list[dict[str, Any]]) -> None:
        seen = set()
        for item in items:
            seen.add(self._key(kind, item))
            self._on_event(kind, "MODIFIED", item)
        with self._lock:
            for key in [key for key in self._cache if key[0] == kind and key not in seen]:
                del self._cache[key]

    @staticmethod
    def _key(kind: str, obj: dict[str, Any]) -> tuple[str, str, str]:
        meta = obj.get("metadata") or {}
        return kind, str(meta.get("namespace") or "default"), str(meta.get("name"))

    def _object_step(self, obj: dict[str, Any]) -> float:
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        try:
            value = float(annotations.get(ANNOTATION_STEP_SECONDS, self.step_seconds))
        except (TypeError, ValueError):
            return self.step_seconds
        return value if value > 0 else self.step_seconds

    @staticmethod
    def _is_newer(candidate: dict[str, Any], current: dict[str, Any]) -> bool:
        new_rv = (candidate.get("metadata") or {}).get("resourceVersion")
        old_rv = (current.get("metadata") or {}).get("resourceVersion")
        try:
            return int(str(new_rv)) >= int(str(old_rv))
        except ValueError:
            return True

    def _on_event(self, kind: str, event_type: str, obj: dict[str, Any]) -> None:
        key = self._key(kind, obj)
        meta = obj.get("metadata") or {}
        with self._lock:
            if event_type == "DELETED":
                self._cache.pop(key, None)
                return
            entry = self._cache.get(key)
            now = time.monotonic()
            step = self._object_step(obj)
            generation = meta.get("generation")
            deleting = bool(meta.get("deletionTimestamp"))
            if entry is None or (entry.obj.get("metadata") or {}).get("uid") != meta.get("uid"):
                # The operator's first reconciliation is not instant: status stays absent for a step.
                self._cache[key] = _Entry(copy.deepcopy(obj), now + step, generation, deleting)
            elif self._is_newer(obj, entry.obj):
                entry.obj = copy.deepcopy(obj)
                if generation != entry.generation or (deleting and not entry.deleting):
                    # A spec change or a deletion is acted on a step later: observedGeneration lags.
                    entry.due = max(entry.due, now + step)
                    entry.generation = generation
                    entry.deleting = deleting
            self._lock.notify_all()

    def _remember(self, kind: str, obj: dict[str, Any]) -> None:
        """Keep the copy a write returned, so the next step starts from it."""
        key = self._key(kind, obj)
        with self._lock:
            entry = self._cache.get(key)
            if entry is not None and self._is_newer(obj, entry.obj):
                entry.obj = copy.deepcopy(obj)

    def _lookup(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self._cache.get((kind, namespace, name))
            return copy.deepcopy(entry.obj) if entry is not None else None

    # -- the reconcile loop --------------------------------------------------------------------

    def _reconcile_loop(self) -> None:
        order = {KIND_DEPLOYMENT: 0, KIND_SESSION_JOB: 1, KIND_SNAPSHOT: 2}
        while not self._stop.is_set():
            with self._lock:
                now = time.monotonic()
                due = []
                for key, entry in self._cache.items():
                    if entry.due <= now:
                        entry.due = now + self._object_step(entry.obj)
                        due.append((key, copy.deepcopy(entry.obj)))
            due.sort(key=lambda item: order[item[0][0]])
            for (kind, _, _), obj in due:
                if self._stop.is_set():
                    return
                try:
                    self._reconcile(kind, obj)
                except _Abort as exc:
                    log.debug("Step of %s %s aborted: %s", kind, obj["metadata"].get("name"), exc)
                except Exception:
                    log.warning("Step of %s %s failed", kind, obj["metadata"].get("name"), exc_info=True)
            self._forget_deleted()
            with self._lock:
                next_due = min((entry.due for entry in self._cache.values()), default=time.monotonic() + 1)
                self._lock.wait(timeout=min(1.0, max(0.01, next_due - time.monotonic())))

    def _forget_deleted(self) -> None:
        with self._lock:
            live = {(entry.obj.get("metadata") or {}).get("uid") for entry in self._cache.values()}
        for uid in [uid for uid in self._states if uid not in live]:
            del self._states[uid]

    def _reconcile(self, kind: str, obj: dict[str, Any]) -> None:
        uid = str(obj["metadata"].get("uid"))
        state = self._states.setdefault(uid, _ObjectState())
        scenario = scenario_for(obj)
        if kind == KIND_SESSION_JOB and scenario == SCENARIO_JM_ERROR:
            # A session job has no JobManager of its own to fail.
            scenario = SCENARIO_STREAMING
        step = _Step(
            kind=kind,
            obj=obj,
            status=with_defaults(kind, obj.get("status")) if kind != KIND_SNAPSHOT else {},
            state=state,
            scenario=scenario,
            step_seconds=self._object_step(obj),
        )
        if kind == KIND_DEPLOYMENT:
            self._reconcile_deployment(step)
        elif kind == KIND_SESSION_JOB:
            self._reconcile_session_job(step)
        else:
            self._reconcile_snapshot(step)

    # -- FlinkDeployment -----------------------------------------------------------------------

    def _reconcile_deployment(self, step: _Step) -> None:
        if step.obj["metadata"].get("deletionTimestamp"):
            self._cleanup(step)
            return
        self._ensure_finalizer(step)
        _, meta = parse_spec_with_meta(step.reconciliation.get("lastReconciledSpec"))
        if step.reconciliation.get("lastReconciledSpec") is None or (
            step.reconciliation.get("state") == RECON_UPGRADING and meta.get("firstDeployment")
        ):
            # Before the first deployment, or the first deployment was never recorded as done.
            self._first_deployment(step)
        else:
            if not self._observe_deployment(step):
                self._reconcile_spec(step)
            self._set_conditions(step)
            self._commit(step)
        self._sync_jobmanager_pod(step)

    def _first_deployment(self, step: _Step) -> None:
        """Record, deploy and record as deployed, with the status writes the operator makes."""
        reconciliation = step.reconciliation
        reconciliation.pop("lastReconciledSpec", None)
        reconciliation["state"] = RECON_UPGRADING
        job = step.spec.get("job")
        # The operator writes the status once after observing, before it reconciles.
        self._commit(step)
        if job is not None and job.get("state") == "suspended":
            return
        desired = normalize_spec(step.kind, step.spec)
        initial_savepoint = (job or {}).get("initialSavepointPath")
        if desired["job"] is not None:
            desired["job"]["upgradeMode"] = "savepoint" if initial_savepoint else "stateless"
            if initial_savepoint:
                step.job_status["upgradeSavepointPath"] = initial_savepoint
        self._record_spec(step, desired, "suspended", upgrading=True)
        self._commit(step)
        self._deploy(step, initial_savepoint)
        self._record_spec(step, desired, (job or {}).get("state", "running"), upgrading=False)
        if step.kind == KIND_DEPLOYMENT:
            self._set_conditions(step)
        self._commit(step)

    def _observe_deployment(self, step: _Step) -> bool:
        """The operator's observer; True when it failed in a way that skips the reconciliation."""
        status = step.status
        if step.reconciliation.get("state") == RECON_UPGRADING:
            return False
        last_spec, _ = parse_spec_with_meta(step.reconciliation.get("lastReconciledSpec"))
        last_job = (last_spec or {}).get("job")
        jm_status = status.get("jobManagerDeploymentStatus", JM_MISSING)
        if jm_status != JM_READY:
            suspended = (
                jm_status == JM_MISSING
                and (step.spec.get("job") or {}).get("state") == "suspended"
                and (last_job or {}).get("state") == "suspended"
            )
            if suspended:
                return False
            if jm_status == JM_DEPLOYED_NOT_READY:
                status["jobManagerDeploymentStatus"] = jm_status = JM_READY
            elif step.scenario == SCENARIO_JM_ERROR and jm_status in (JM_DEPLOYING, JM_ERROR):
                step.job_status["state"] = JOB_RECONCILING
                if jm_status == JM_ERROR:
                    return False
                self._jobmanager_failed(step)
                return True
            elif jm_status in (JM_DEPLOYING, JM_ERROR):
                status["jobManagerDeploymentStatus"] = JM_DEPLOYED_NOT_READY
            elif last_job is not None and step.job_status.get("state") not in TERMINAL_JOB_STATES:
                step.job_status["state"] = JOB_RECONCILING
        if jm_status == JM_READY:
            if last_job is not None:
                if last_job.get("state") != "suspended":
                    self._observe_job(step)
                    self._observe_pending_savepoint(step)
            elif step.reconciliation.get("state") == RECON_DEPLOYED:
                # A session cluster that answers REST calls is stable.
                step.reconciliation["lastStableSpec"] = step.reconciliation.get("lastReconciledSpec")
            status.setdefault("clusterInfo", {}).update(cluster_info(step.spec))
        if (
            status.get("jobManagerDeploymentStatus") != JM_ERROR
            and step.job_status.get("state") != JOB_FAILED
            and step.reconciliation.get("lastStableSpec") is not None
            and step.reconciliation.get("lastStableSpec") == step.reconciliation.get("lastReconciledSpec")
        ):
            status.pop("error", None)
        return False

    def _jobmanager_failed(self, step: _Step) -> None:
        """The JobManager container cannot start: the operator's DeploymentFailedException."""
        annotations = step.obj["metadata"].get("annotations") or {}
        image = step.spec.get("image") or "flink"
        waiting_message = annotations.get(ANNOTATION_FAILURE_MESSAGE) or f'Back-off pulling image "{image}"'
        message = f"[{MAIN_CONTAINER}] {waiting_message}"
        step.status["jobManagerDeploymentStatus"] = JM_ERROR
        step.status["error"] = flink_resource_exception(EXC_DEPLOYMENT_FAILED, message, {"reason": "ImagePullBackOff"})
        step.event("Warning", "ImagePullBackOff", "JobManagerDeployment", message)

    def _observe_job(self, step: _Step) -> None:
        """What the operator reads from the JobManager's REST API, by scenario."""
        job_status = step.job_status
        previous = job_status.get("state")
        if step.scenario == SCENARIO_RECONCILING:
            # The REST API does not answer: the operator keeps (or falls back to) RECONCILING.
            if previous == JOB_RUNNING:
                job_status["state"] = JOB_RECONCILING
            return
        new_state = previous
        if previous in (None, JOB_RECONCILING):
            new_state = JOB_CREATED
        elif previous in (JOB_CREATED, "INITIALIZING"):
            new_state = JOB_RUNNING
        elif previous == JOB_RUNNING and step.scenario in (SCENARIO_BATCH_SUCCESS, SCENARIO_BATCH_FAILURE):
            running_for = (now_millis() - int(job_status.get("updateTime") or 0)) / 1000.0
            if running_for >= self._running_steps(step) * step.step_seconds - 1e-3:
                new_state = JOB_FINISHED if step.scenario == SCENARIO_BATCH_SUCCESS else JOB_FAILED
        job_id = str(job_status.get("jobId") or "")
        job_status["jobName"] = self._job_name(step)
        job_status["startTime"] = str(step.state.deployed_at.get(job_id) or job_status.get("startTime") or now_millis())
        if new_state != previous:
            job_status["state"] = new_state
            job_status["updateTime"] = str(now_millis())
            if new_state == JOB_FAILED:
                self._record_job_failure(step)
            message = (
                f"Job status changed to {new_state}"
                if previous is None
                else f"Job status changed from {previous} to {new_state}"
            )
            step.event("Normal", "JobStatusChanged", "Job", message)
        self._check_stable(step)

    def _record_job_failure(self, step: _Step) -> None:
        cause_type, cause_message = self._failure(step)
        step.status["error"] = flink_resource_exception(
            EXC_SERIALIZED_THROWABLE,
            JOB_RECOVERY_SUPPRESSED,
            causes=[(EXC_SERIALIZED_THROWABLE, cause_message)],
        )
        step.event("Warning", "Error", "Job", f"{JOB_RECOVERY_SUPPRESSED} -> {cause_message or cause_type}")

    @staticmethod
    def _failure(step: _Step) -> tuple[str, str]:
        annotations = step.obj["metadata"].get("annotations") or {}
        return split_exception(annotations.get(ANNOTATION_FAILURE_MESSAGE) or DEFAULT_FAILURE_MESSAGE)

    @staticmethod
    def _running_steps(step: _Step) -> int:
        annotations = step.obj["metadata"].get("annotations") or {}
        try:
            return max(0, int(annotations.get(ANNOTATION_RUNNING_STEPS, DEFAULT_RUNNING_STEPS)))
        except (TypeError, ValueError):
            return DEFAULT_RUNNING_STEPS

    @staticmethod
    def _job_name(step: _Step) -> str:
        configured = flink_config_value(step.spec, "pipeline.name")
        if configured:
            return str(configured)
        entry_class = (step.spec.get("job") or {}).get("entryClass")
        if entry_class and entry_class != "org.apache.flink.client.python.PythonDriver":
            return str(entry_class).rsplit(".", 1)[-1]
        return "Flink Streaming Job"

    @staticmethod
    def _check_stable(step: _Step) -> None:
        """The operator marks the reconciled spec stable once the job runs, or finished on its own."""
        reconciliation = step.reconciliation
        if reconciliation.get("state") != RECON_DEPLOYED:
            return
        job_state = step.job_status.get("state")
        last_spec, _ = parse_spec_with_meta(reconciliation.get("lastReconciledSpec"))
        reconciled_job_state = ((last_spec or {}).get("job") or {}).get("state")
        if job_state == JOB_RUNNING or (job_state == JOB_FINISHED and reconciled_job_state == "running"):
            reconciliation["lastStableSpec"] = reconciliation.get("lastReconciledSpec")

    def _observe_pending_savepoint(self, step: _Step) -> None:
        """Complete a savepoint triggered through the deprecated savepointInfo."""
        info = step.job_status.setdefault("savepointInfo", {})
        if not info.get("triggerId") or step.job_status.get("state") != JOB_RUNNING:
            return
        location = savepoint_location(savepoint_directory(step.spec), step.job_status.get("jobId"))
        trigger_type = info.get("triggerType") or "MANUAL"
        nonce = (step.spec.get("job") or {}).get("savepointTriggerNonce") if trigger_type == "MANUAL" else None
        savepoint = {
            "timeStamp": info.get("triggerTimestamp") or now_millis(),
            "location": location,
            "triggerType": trigger_type,
            "formatType": info.get("formatType") or "CANONICAL",
            "triggerNonce": nonce,
        }
        if trigger_type == "MANUAL":
            self._record_trigger_nonce(step, nonce)
        self._update_last_savepoint(step, savepoint)

    @staticmethod
    def _update_last_savepoint(step: _Step, savepoint: dict[str, Any]) -> None:
        info = step.job_status.setdefault("savepointInfo", {})
        last = info.get("lastSavepoint")
        if last is None or last.get("location") != savepoint["location"]:
            info["lastSavepoint"] = savepoint
            info.setdefault("savepointHistory", []).append(savepoint)
        for key in ("triggerId", "triggerTimestamp", "triggerType", "formatType"):
            info.pop(key, None)

    def _record_trigger_nonce(self, step: _Step, nonce: Any) -> None:
        """Record a handled savepointTriggerNonce in lastReconciledSpec, as the operator does."""
        last_spec, meta = parse_spec_with_meta(step.reconciliation.get("lastReconciledSpec"))
        if last_spec is None or last_spec.get("job") is None:
            return
        last_spec["job"]["savepointTriggerNonce"] = nonce
        self._write_reconciled_spec(step, last_spec, bool(meta.get("firstDeployment")))
        step.reconciliation["reconciliationTimestamp"] = now_millis()

    def _reconcile_spec(self, step: _Step) -> None:
        """The operator's reconciler after the first deployment: upgrades, suspends, savepoints."""
        reconciliation = step.reconciliation
        last_spec, meta = parse_spec_with_meta(reconciliation.get("lastReconciledSpec"))
        assert last_spec is not None
        desired = normalize_spec(step.kind, step.spec)
        diffs = spec_diff(last_spec, desired)
        if diffs or reconciliation.get("state") == RECON_UPGRADING:
            if diffs:
                generation = step.obj["metadata"].get("generation")
                step.event(
                    "Normal",
                    "SpecChanged",
                    "JobManagerDeployment",
                    spec_change_message(step.kind, diffs),
                    message_key=f"SpecChange: {generation}",
                    once=True,
                )
            if desired.get("job") is None:
                self._reconcile_session_cluster_change(step, desired)
            else:
                self._reconcile_job_change(step, last_spec, desired)
            return
        # Nothing to redeploy: the operator records the generation it has seen.
        self._write_reconciled_spec(step, last_spec, self._first_deployment_flag(step, meta))
        self._trigger_savepoint_if_needed(step, last_spec)

    def _reconcile_session_cluster_change(self, step: _Step, desired: dict[str, Any]) -> None:
        if step.reconciliation.get("state") != RECON_UPGRADING:
            self._delete_cluster(step)
            self._record_spec(step, desired, None, upgrading=True)
            return
        self._deploy(step, None)
        self._record_spec(step, desired, None, upgrading=False)

    def _reconcile_job_change(self, step: _Step, last_spec: dict[str, Any], desired: dict[str, Any]) -> None:
        current_state = last_spec["job"].get("state", "running")
        desired_state = desired["job"].get("state", "running")
        if current_state == "running":
            self._stop_job(step, desired["job"].get("upgradeMode", "stateless"))
            # Running to running is an upgrade: recorded now, deployed on the next step.
            self._record_spec(step, desired, "suspended", upgrading=desired_state == "running")
            return
        if desired_state == "running":
            if desired["job"].get("upgradeMode") != "stateless":
                desired["job"]["upgradeMode"] = last_spec["job"].get("upgradeMode", "stateless")
            self._record_spec(step, desired, "suspended", upgrading=True)
            self._commit(step)
            savepoint = None
            if desired["job"]["upgradeMode"] == "savepoint":
                savepoint = step.job_status.get("upgradeSavepointPath") or (
                    (step.job_status.get("savepointInfo") or {}).get("lastSavepoint") or {}
                ).get("location")
            self._deploy(step, savepoint)
            self._record_spec(step, desired, "running", upgrading=False)
        # A change while suspended waits for the resume: the operator records nothing.

    def _stop_job(self, step: _Step, upgrade_mode: str) -> None:
        """Stop the job for an upgrade or a suspend; a job that already ended is left as it is."""
        job_state = step.job_status.get("state")
        if job_state not in TERMINAL_JOB_STATES:
            step.event("Normal", "Suspended", "JobManagerDeployment", "Suspending existing deployment.")
            if upgrade_mode == "savepoint" and job_state == JOB_RUNNING:
                # Stop-with-savepoint: the application cluster itself stays up until redeployed.
                location = savepoint_location(
                    savepoint_directory(self._job_config_spec(step)), step.job_status.get("jobId")
                )
                self._record_upgrade_savepoint(step, location)
            else:
                # Stateless (and, here, last-state) suspends cancel the job and delete the cluster.
                self._delete_cluster(step)
        if step.kind == KIND_SESSION_JOB:
            # The operator forgets a session job's id once it is cancelled.
            step.job_status.pop("jobId", None)
        step.job_status["state"] = JOB_FINISHED

    def _record_upgrade_savepoint(self, step: _Step, location: str) -> None:
        step.job_status["upgradeSavepointPath"] = location
        if snapshot_resources_enabled(self._job_config_spec(step)):
            self._create_snapshot_later(step, "UPGRADE", location)
        else:
            self._update_last_savepoint(
                step,
                {
                    "timeStamp": now_millis(),
                    "location": location,
                    "triggerType": "UPGRADE",
                    "formatType": "CANONICAL",
                    "triggerNonce": None,
                },
            )

    def _job_config_spec(self, step: _Step) -> dict[str, Any]:
        """The spec whose flinkConfiguration applies to a job (a session job adds its cluster's)."""
        if step.kind != KIND_SESSION_JOB:
            return step.spec
        session = self._lookup(KIND_DEPLOYMENT, step.namespace, str(step.spec.get("deploymentName"))) or {}
        merged = dict(_flatten((session.get("spec") or {}).get("flinkConfiguration") or {}))
        merged.update(_flatten(step.spec.get("flinkConfiguration") or {}))
        return {"flinkConfiguration": merged}

    def _trigger_savepoint_if_needed(self, step: _Step, last_spec: dict[str, Any]) -> None:
        if step.job_status.get("state") != JOB_RUNNING:
            return
        nonce = (step.spec.get("job") or {}).get("savepointTriggerNonce")
        info = step.job_status.setdefault("savepointInfo", {})
        if nonce is None or nonce == (last_spec.get("job") or {}).get("savepointTriggerNonce") or info.get("triggerId"):
            return
        config_spec = self._job_config_spec(step)
        if snapshot_resources_enabled(config_spec):
            self._create_snapshot_later(step, "MANUAL", savepoint_directory(config_spec))
            self._record_trigger_nonce(step, nonce)
        else:
            info.update(
                {
                    "triggerId": secrets.token_hex(16),
                    "triggerTimestamp": now_millis(),
                    "triggerType": "MANUAL",
                    "formatType": "CANONICAL",
                }
            )

    def _create_snapshot_later(self, step: _Step, trigger_type: str, path: str) -> None:
        """Create a FlinkStateSnapshot once the status that refers to it is written."""
        name = f"{step.name}-savepoint-{trigger_type.lower()}-{now_millis()}"
        body = {
            "apiVersion": API_VERSION,
            "kind": KIND_SNAPSHOT,
            "metadata": {
                "name": name,
                "namespace": step.namespace,
                "labels": {LABEL_SNAPSHOT_TRIGGER_TYPE: trigger_type},
            },
            "spec": {
                "jobReference": {"kind": step.kind, "name": step.name},
                "savepoint": {
                    "path": path,
                    "formatType": "CANONICAL",
                    "disposeOnDelete": False,
                    "alreadyExists": trigger_type == "UPGRADE",
                },
            },
        }

        def create() -> None:
            self._retry(
                lambda: self._custom.create_namespaced_custom_object(
                    GROUP,
                    VERSION,
                    step.namespace,
                    PLURALS[KIND_SNAPSHOT],
                    body,
                    _request_timeout=(_CONNECT_TIMEOUT, _READ_TIMEOUT),
                ),
                ok_statuses=(409,),
            )

        step.after_commit.append(create)

    def _record_spec(self, step: _Step, desired: dict[str, Any], job_state: str | None, upgrading: bool) -> None:
        """The operator's ``updateStatusForSpecReconciliation``: record a spec as being or been deployed."""
        status = step.status
        reconciliation = step.reconciliation
        status.pop("error", None)
        reconciliation["reconciliationTimestamp"] = now_millis()
        reconciliation["state"] = RECON_UPGRADING if upgrading else RECON_DEPLOYED
        recorded = copy.deepcopy(desired)
        if recorded.get("job") is not None:
            recorded["job"]["state"] = job_state
            last_spec, _ = parse_spec_with_meta(reconciliation.get("lastReconciledSpec"))
            if last_spec is not None and last_spec.get("job") is not None:
                # Snapshot triggers are kept, so a trigger that arrives during an upgrade is not lost.
                recorded["job"]["savepointTriggerNonce"] = last_spec["job"].get("savepointTriggerNonce")
                recorded["job"]["checkpointTriggerNonce"] = last_spec["job"].get("checkpointTriggerNonce")
            if step.kind == KIND_DEPLOYMENT:
                status["taskManager"] = (
                    {
                        "labelSelector": f"component=taskmanager,app={step.name}",
                        "replicas": task_manager_count(step.spec),
                    }
                    if job_state == "running"
                    else {"labelSelector": "", "replicas": 0}
                )
        first = self._first_deployment_flag(step, None)
        self._write_reconciled_spec(step, recorded, first)
        if (step.spec.get("job") or {}).get("state") == "suspended":
            # A job suspended by the user is stable by definition.
            reconciliation["lastStableSpec"] = reconciliation["lastReconciledSpec"]

    def _first_deployment_flag(self, step: _Step, meta: dict[str, Any] | None) -> bool:
        """``ReconciliationMetadata.from``: first deployment until the first deployment is done."""
        reconciliation = step.reconciliation
        if reconciliation.get("lastReconciledSpec") is None:
            return True
        if meta is None:
            _, meta = parse_spec_with_meta(reconciliation.get("lastReconciledSpec"))
        return reconciliation.get("state") == RECON_DEPLOYED and bool(meta.get("firstDeployment"))

    def _write_reconciled_spec(self, step: _Step, spec: dict[str, Any], first_deployment: bool) -> None:
        api_version = str(step.obj.get("apiVersion") or API_VERSION)
        step.reconciliation["lastReconciledSpec"] = spec_with_meta(spec, api_version, first_deployment)
        step.status["observedGeneration"] = step.obj["metadata"].get("generation")

    def _deploy(self, step: _Step, savepoint: str | None) -> None:
        """Submit the cluster (and, for an application, its job) as the operator does."""
        if step.kind == KIND_SESSION_JOB:
            step.event("Normal", "Submit", "Job", "Starting deployment")
            job_id = new_job_id()
            step.job_status["jobId"] = job_id
            step.job_status["state"] = JOB_RECONCILING
            step.state.deployed_at[job_id] = now_millis()
            step.state.restore_path[job_id] = savepoint
            return
        if step.status.get("jobManagerDeploymentStatus", JM_MISSING) != JM_MISSING:
            # The terminated application's cluster is deleted before the new one is submitted.
            self._delete_cluster(step)
        self._new_jobmanager_pod_name(step)
        step.event("Normal", "Submit", "JobManagerDeployment", "Starting deployment")
        step.status["jobManagerDeploymentStatus"] = JM_DEPLOYING
        if step.spec.get("job") is not None:
            job_id = new_job_id()
            step.job_status["jobId"] = job_id
            step.job_status["state"] = JOB_RECONCILING
            step.state.deployed_at[job_id] = now_millis()
            step.state.restore_path[job_id] = savepoint

    @staticmethod
    def _new_jobmanager_pod_name(step: _Step) -> None:
        """Name the next JobManager pod like a Deployment's pod: ``<name>-<template hash>-<suffix>``."""
        step.state.cluster_counter += 1
        seed = f"{step.obj['metadata'].get('uid')}/{step.state.cluster_counter}"
        digest = hashlib.sha1(seed.encode()).hexdigest()
        step.state.pod_name = f"{step.name}-{digest[:10]}-{digest[10:15]}"

    def _delete_cluster(self, step: _Step) -> None:
        if step.kind != KIND_DEPLOYMENT:
            return
        step.status["jobManagerDeploymentStatus"] = JM_MISSING
        if step.spec.get("job") is not None and step.job_status.get("state") not in TERMINAL_JOB_STATES:
            step.job_status["state"] = JOB_FINISHED
        step.state.pod_name = None

    def _set_conditions(self, step: _Step) -> None:
        """``status.conditions``: the single Running condition of the operator's FlinkDeploymentStatus."""
        status = step.status
        last_spec, _ = parse_spec_with_meta(step.reconciliation.get("lastReconciledSpec"))
        if last_spec is None:
            status["conditions"] = []
            return
        if last_spec.get("job") is not None:
            job_state = step.job_status.get("state")
            if job_state is None:
                return
            condition = {
                "type": "Running",
                "status": "True" if job_state == JOB_RUNNING else "False",
                "reason": job_state.capitalize(),
                "message": f"Job status {job_state}",
            }
        else:
            jm_status = status.get("jobManagerDeploymentStatus", JM_MISSING)
            reason, message = {
                JM_READY: ("JobManagerReady", "JobManager is running and ready to receive REST API calls"),
                JM_DEPLOYED_NOT_READY: (
                    "DeployedNotReady",
                    "JobManager is running but not yet ready to receive REST API calls",
                ),
                JM_DEPLOYING: ("JobManagerIsDeploying", "JobManager process is starting up"),
                JM_MISSING: ("JobManagerDeploymentMissing", "JobManager deployment not found"),
                JM_ERROR: ("Error", "JobManager deployment failed"),
            }[jm_status]
            condition = {
                "type": "Running",
                "status": "True" if jm_status == JM_READY else "False",
                "reason": reason,
                "message": message,
            }
        previous = next((c for c in status.get("conditions") or [] if c.get("type") == "Running"), None)
        if previous is not None and previous.get("status") == condition["status"]:
            condition["lastTransitionTime"] = previous.get("lastTransitionTime")
        else:
            condition["lastTransitionTime"] = iso_now()
        status["conditions"] = [condition]

    # -- FlinkSessionJob -----------------------------------------------------------------------

    def _reconcile_session_job(self, step: _Step) -> None:
        if step.obj["metadata"].get("deletionTimestamp"):
            self._cleanup(step)
            return
        self._ensure_finalizer(step)
        session = self._lookup(KIND_DEPLOYMENT, step.namespace, str(step.spec.get("deploymentName")))
        if session is not None and (session.get("spec") or {}).get("job") is not None:
            message = "Can not submit session job to application cluster"
            if step.status.get("error") is None or message not in step.status["error"]:
                step.status["error"] = flink_resource_exception(EXC_VALIDATION, message)
                step.event("Warning", "ValidationError", "Operator", message)
            self._commit(step)
            return
        ready = (
            session is not None
            and not (session.get("metadata") or {}).get("deletionTimestamp")
            and (session.get("status") or {}).get("jobManagerDeploymentStatus") == JM_READY
        )
        reconciliation = step.reconciliation
        _, meta = parse_spec_with_meta(reconciliation.get("lastReconciledSpec"))
        first = reconciliation.get("lastReconciledSpec") is None or (
            reconciliation.get("state") == RECON_UPGRADING and meta.get("firstDeployment")
        )
        if not ready:
            # The operator neither observes nor reconciles a job whose session cluster is not READY.
            self._commit(step)
            return
        if first:
            self._first_deployment(step)
            return
        last_spec, _ = parse_spec_with_meta(reconciliation.get("lastReconciledSpec"))
        observable = (
            reconciliation.get("state") != RECON_UPGRADING
            and ((last_spec or {}).get("job") or {}).get("state") != "suspended"
            and step.job_status.get("jobId")
        )
        if observable:
            self._observe_job(step)
            self._observe_pending_savepoint(step)
        self._reconcile_spec(step)
        self._commit(step)

    # -- FlinkStateSnapshot --------------------------------------------------------------------

    def _reconcile_snapshot(self, step: _Step) -> None:
        meta = step.obj["metadata"]
        if meta.get("deletionTimestamp"):
            self._remove_finalizer(step)
            return
        self._ensure_finalizer(step)
        current = step.obj.get("status")
        if not current:
            step.status = {"state": "TRIGGER_PENDING", "failures": 0}
            self._commit(step)
            return
        status = step.status = copy.deepcopy(current)
        spec = step.spec
        reference = spec.get("jobReference") or {}
        target_kind = str(reference.get("kind") or KIND_DEPLOYMENT)
        target = self._lookup(target_kind, step.namespace, str(reference.get("name")))
        savepoint = spec.get("savepoint")
        state = status.get("state", "TRIGGER_PENDING")
        if state == "TRIGGER_PENDING":
            if savepoint is not None and savepoint.get("alreadyExists"):
                now = iso_now()
                status.update(state="COMPLETED", path=savepoint.get("path"), resultTimestamp=now, triggerTimestamp=now)
                status.pop("error", None)
            elif target is None:
                message = f"Target for snapshot {step.namespace}/{reference.get('name')} was not found"
                if status.get("error") != message:
                    status["error"] = message
                    step.event("Warning", "ValidationError", "Operator", message)
            elif not self._target_running(target):
                self._abandon_snapshot(step, reference)
            else:
                status.update(state="IN_PROGRESS", triggerId=secrets.token_hex(16), triggerTimestamp=iso_now())
                status.pop("error", None)
        elif state == "IN_PROGRESS":
            if target is None or not self._target_running(target):
                self._abandon_snapshot(step, reference)
            else:
                job_id = ((target.get("status") or {}).get("jobStatus") or {}).get("jobId")
                if savepoint is not None:
                    directory = savepoint.get("path") or savepoint_directory(target.get("spec") or {})
                    path = savepoint_location(directory, job_id)
                else:
                    step.state.checkpoint_counter += 1
                    checkpoint_id = step.state.checkpoint_counter
                    directory = checkpoint_directory(target.get("spec") or {}).rstrip("/")
                    path = f"{directory}/{job_id}/chk-{checkpoint_id}"
                status.update(state="COMPLETED", path=path, resultTimestamp=iso_now())
                status.pop("error", None)
        self._commit(step)

    @staticmethod
    def _target_running(target: dict[str, Any]) -> bool:
        return ((target.get("status") or {}).get("jobStatus") or {}).get("state") == JOB_RUNNING

    def _abandon_snapshot(self, step: _Step, reference: dict[str, Any]) -> None:
        message = (
            f"Secondary resource JobReference(kind={reference.get('kind')}, name={reference.get('name')}) "
            f"for savepoint {step.name} is not running"
        )
        step.status.update(state="ABANDONED", error=message, resultTimestamp=iso_now())
        step.status.pop("path", None)
        step.event("Warning", "SnapshotAbandoned", "Snapshot", message)

    # -- deletion and finalizers ---------------------------------------------------------------

    def _cleanup(self, step: _Step) -> None:
        """Deletion: lifecycle DELETING for a step, then the cluster and the finalizer go."""
        finalizer = FINALIZERS[step.kind]
        if finalizer not in (step.obj["metadata"].get("finalizers") or []):
            return
        if step.status.get("lifecycleState") != "DELETING":
            noun = "FlinkSessionJob" if step.kind == KIND_SESSION_JOB else "FlinkDeployment"
            step.event("Normal", "Cleanup", "Operator", f"Cleaning up {noun}")
            step.status["lifecycleState"] = "DELETING"
            self._commit(step)
            return
        if step.kind == KIND_DEPLOYMENT:
            self._delete_jobmanager_pods(step, keep=None)
        self._remove_finalizer(step)

    def _ensure_finalizer(self, step: _Step) -> None:
        finalizer = FINALIZERS[step.kind]
        finalizers = step.obj["metadata"].get("finalizers") or []
        if finalizer in finalizers:
            return
        self._update_metadata(step, lambda obj: obj["metadata"].setdefault("finalizers", []).append(finalizer))

    def _remove_finalizer(self, step: _Step) -> None:
        finalizer = FINALIZERS[step.kind]
        if finalizer not in (step.obj["metadata"].get("finalizers") or []):
            return

        def remove(obj: dict[str, Any]) -> None:
            obj["metadata"]["finalizers"] = [f for f in obj["metadata"].get("finalizers") or [] if f != finalizer]

        self._update_metadata(step, remove)

    def _update_metadata(self, step: _Step, change: Callable[[dict[str, Any]], None]) -> None:
        """Change the object's metadata with a resourceVersion-guarded replace, re-reading on 409."""
        obj = copy.deepcopy(step.obj)
        for _ in range(3):
            change(obj)
            try:
                updated = self._custom.replace_namespaced_custom_object(
                    GROUP,
                    VERSION,
                    step.namespace,
                    PLURALS[step.kind],
                    step.name,
                    obj,
                    _request_timeout=(_CONNECT_TIMEOUT, _READ_TIMEOUT),
                )
            except ApiException as exc:
                if exc.status == 409:
                    latest = self._get(step.kind, step.namespace, step.name)
                    if latest is None:
                        raise _Abort("object is gone") from exc
                    obj = latest
                    continue
                raise _Abort(f"metadata update failed: {exc.status}") from exc
            except Exception as exc:
                raise _Abort(f"metadata update failed: {exc}") from exc
            if isinstance(updated, dict) and updated.get("metadata"):
                step.obj = updated
                self._remember(step.kind, updated)
            return
        raise _Abort("metadata update kept conflicting")

    def _get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            result = self._custom.get_namespaced_custom_object(
                GROUP,
                VERSION,
                namespace,
                PLURALS[kind],
                name,
                _request_timeout=(_CONNECT_TIMEOUT, _READ_TIMEOUT),
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise _Abort(f"read failed: {exc.status}") from exc
        except Exception as exc:
            raise _Abort(f"read failed: {exc}") from exc
        self._remember(kind, result)
        return dict(result)

    # -- writing status, events, pods ----------------------------------------------------------

    def _commit(self, step: _Step) -> None:
        """
        Write the working status through the status subresource, then emit the queued events.

        A 409 is handled like the operator's StatusRecorder: when only the spec or metadata changed
        meanwhile, the status is written again on the latest resourceVersion; when someone else
        changed the status, this step is abandoned.
        """
        status = strip_none(copy.deepcopy(step.status))
        if step.kind != KIND_SNAPSHOT:
            status["lifecycleState"] = lifecycle_state(status, step.kind == KIND_DEPLOYMENT)
        base_status = step.obj.get("status")
        if status != base_status:
            body = copy.deepcopy(step.obj)
            body["status"] = status
            for _ in range(3):
                try:
                    updated = self._custom.replace_namespaced_custom_object_status(
                        GROUP,
                        VERSION,
                        step.namespace,
                        PLURALS[step.kind],
                        step.name,
                        body,
                        _request_timeout=(_CONNECT_TIMEOUT, _READ_TIMEOUT),
                    )
                    break
                except ApiException as exc:
                    if exc.status != 409:
                        raise _Abort(f"status write failed: {exc.status}") from exc
                    latest = self._get(step.kind, step.namespace, step.name)
                    if latest is None or latest.get("status") != base_status:
                        raise _Abort("status changed meanwhile") from exc
                    body = copy.deepcopy(latest)
                    body["status"] = status
                except Exception as exc:
                    raise _Abort(f"status write failed: {exc}") from exc
            else:
                raise _Abort("status write kept conflicting")
            step.obj = updated
            self._remember(step.kind, updated)
            step.status = copy.deepcopy(updated.get("status") or status)
        events, step.events = step.events, []
        actions, step.after_commit = step.after_commit, []
        for event in events:
            self._emit_event(step, *event)
        for action in actions:
            try:
                action()
            except Exception:
                log.warning("Follow-up of %s %s failed", step.kind, step.name, exc_info=True)

    def _retry(self, call: Callable[[], Any], ok_statuses: tuple[int, ...] = ()) -> Any:
        """Run an API call, retrying briefly on transient errors; returns None for ``ok_statuses``."""
        for attempt in range(4):
            try:
                return call()
            except ApiException as exc:
                if exc.status in ok_statuses:
                    return None
                if exc.status not in (0, 429, 500, 502, 503, 504) or attempt == 3:
                    raise
            except Exception:
                if attempt == 3:
                    raise
            self._stop.wait(0.05 * 2**attempt)
        return None

    def _emit_event(
        self,
        step: _Step,
        event_type: str,
        reason: str,
        component: str,
        message: str,
        message_key: str | None,
        once: bool,
    ) -> None:
        """Create a core v1 Event about the object, or bump the count of the same earlier event."""
        meta = step.obj["metadata"]
        name = event_name(
            component, reason, message_key or message, event_type, step.kind, step.name, str(meta.get("uid"))
        )
        if self._lowercase_event_names:
            name = name.lower()
        now = iso_now()
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": step.namespace},
            "involvedObject": {
                "apiVersion": str(step.obj.get("apiVersion") or API_VERSION),
                "kind": step.kind,
                "name": step.name,
                "namespace": step.namespace,
                "uid": meta.get("uid"),
                "resourceVersion": meta.get("resourceVersion"),
            },
            "type": event_type,
            "reason": reason,
            "message": message,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "source": {"component": component},
        }
        timeout = (_CONNECT_TIMEOUT, _READ_TIMEOUT)
        try:
            try:
                self._retry(lambda: self._core.create_namespaced_event(step.namespace, body, _request_timeout=timeout))
                return
            except ApiException as exc:
                if exc.status == 422 and not self._lowercase_event_names:
                    # The real API server does not validate the names of core/v1 Events (the
                    # operator's "Job.123" works there); a stricter server gets them in lowercase.
                    self._lowercase_event_names = True
                    self._emit_event(step, event_type, reason, component, message, message_key, once)
                    return
                if exc.status != 409:
                    raise
            if once:
                return
            response = self._retry(
                lambda: self._core.read_namespaced_event(
                    name, step.namespace, _preload_content=False, _request_timeout=timeout
                )
            )
            existing = json.loads(response.data)
            existing["count"] = int(existing.get("count") or 1) + 1
            existing["lastTimestamp"] = now
            existing["message"] = message
            self._retry(
                lambda: self._core.replace_namespaced_event(name, step.namespace, existing, _request_timeout=timeout)
            )
        except Exception:
            log.warning("Could not record event %s %s on %s %s", reason, message, step.kind, step.name, exc_info=True)

    def _sync_jobmanager_pod(self, step: _Step) -> None:
        """Make the JobManager pod, its status and its log match the committed status."""
        if step.kind != KIND_DEPLOYMENT or step.obj["metadata"].get("deletionTimestamp"):
            return
        jm_status = (step.obj.get("status") or {}).get("jobManagerDeploymentStatus", JM_MISSING)
        phase = {
            JM_MISSING: None,
            JM_DEPLOYING: "creating",
            JM_DEPLOYED_NOT_READY: "starting",
            JM_READY: "ready",
            JM_ERROR: "image-error",
        }.get(jm_status)
        if step.scenario == SCENARIO_JM_ERROR and phase == "creating":
            phase = "image-error"
        state = step.state
        if phase is not None and state.pod_name is None:
            # Restarted simulator or a cluster left over: give the running cluster a pod again.
            self._new_jobmanager_pod_name(step)
        try:
            if (state.pod_name, phase) != state.pushed_pod:
                self._delete_jobmanager_pods(step, keep=state.pod_name if phase else None)
                if phase is not None:
                    self._ensure_pod(step, phase)
                state.pushed_pod = (state.pod_name, phase)
            if phase in ("starting", "ready"):
                self._push_log(step)
        except Exception:
            log.warning("Could not update the JobManager pod of %s", step.name, exc_info=True)

    def _delete_jobmanager_pods(self, step: _Step, keep: str | None) -> None:
        timeout = (_CONNECT_TIMEOUT, _READ_TIMEOUT)
        pods = self._retry(
            lambda: self._core.list_namespaced_pod(
                step.namespace,
                label_selector=f"app={step.name},component=jobmanager",
                _request_timeout=timeout,
            )
        )
        names = [pod.metadata.name for pod in (pods.items if pods is not None else [])]
        for name in names:
            if name != keep:
                self._retry(
                    functools.partial(self._core.delete_namespaced_pod, name, step.namespace, _request_timeout=timeout),
                    ok_statuses=(404,),
                )

    def _ensure_pod(self, step: _Step, phase: str) -> None:
        assert step.state.pod_name is not None
        meta = step.obj["metadata"]
        image = step.spec.get("image") or "flink"
        pod_hash = step.state.pod_name.rsplit("-", 2)[-2]
        application = step.spec.get("job") is not None
        body = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": step.state.pod_name,
                "namespace": step.namespace,
                "labels": {
                    "app": step.name,
                    "component": "jobmanager",
                    "type": "flink-native-kubernetes",
                    "pod-template-hash": pod_hash,
                },
                "ownerReferences": [
                    {
                        "apiVersion": str(step.obj.get("apiVersion") or API_VERSION),
                        "kind": KIND_DEPLOYMENT,
                        "name": step.name,
                        "uid": meta.get("uid"),
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "spec": {
                "serviceAccountName": step.spec.get("serviceAccount") or "default",
                "restartPolicy": "Always",
                # On a real cluster the pod is never scheduled, so no Flink container really starts
                # and the status written here is the only one it gets.
                "schedulingGates": [{"name": "flink-simulator/never-schedule"}],
                "containers": [
                    {
                        "name": MAIN_CONTAINER,
                        "image": image,
                        "imagePullPolicy": step.spec.get("imagePullPolicy") or "IfNotPresent",
                        "args": [
                            "kubernetes-jobmanager.sh",
                            "kubernetes-application" if application else "kubernetes-session",
                        ],
                        "ports": [
                            {"name": "rest", "containerPort": 8081, "protocol": "TCP"},
                            {"name": "jobmanager-rpc", "containerPort": 6123, "protocol": "TCP"},
                            {"name": "blobserver", "containerPort": 6124, "protocol": "TCP"},
                        ],
                    }
                ],
            },
        }
        timeout = (_CONNECT_TIMEOUT, _READ_TIMEOUT)
        self._retry(
            lambda: self._core.create_namespaced_pod(step.namespace, body, _request_timeout=timeout),
            ok_statuses=(409,),
        )
        self._retry(
            lambda: self._core.patch_namespaced_pod_status(
                step.state.pod_name,
                step.namespace,
                {"status": self._pod_status(step, phase, image)},
                _content_type="application/merge-patch+json",
                _request_timeout=timeout,
            )
        )

    @staticmethod
    def _pod_status(step: _Step, phase: str, image: str) -> dict[str, Any]:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        container: dict[str, Any] = {
            "name": MAIN_CONTAINER,
            "image": image,
            "imageID": "",
            "restartCount": 0,
            "ready": phase == "ready",
            "started": phase in ("starting", "ready"),
        }
        conditions = [{"type": "PodScheduled", "status": "True", "lastTransitionTime": now}]
        if phase == "creating":
            container["state"] = {"waiting": {"reason": "ContainerCreating"}}
        elif phase == "image-error":
            annotations = step.obj["metadata"].get("annotations") or {}
            message = annotations.get(ANNOTATION_FAILURE_MESSAGE) or f'Back-off pulling image "{image}"'
            container["state"] = {"waiting": {"reason": "ImagePullBackOff", "message": message}}
        else:
            container["state"] = {"running": {"startedAt": now}}
            container["imageID"] = f"docker.io/library/{image}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"
            ready = "True" if phase == "ready" else "False"
            conditions += [
                {"type": "Initialized", "status": "True", "lastTransitionTime": now},
                {"type": "ContainersReady", "status": ready, "lastTransitionTime": now},
                {"type": "Ready", "status": ready, "lastTransitionTime": now},
            ]
        pod_status: dict[str, Any] = {
            "phase": "Pending" if phase in ("creating", "image-error") else "Running",
            "conditions": conditions,
            "containerStatuses": [container],
            "hostIP": "10.0.0.10",
            "startTime": now,
        }
        if pod_status["phase"] == "Running":
            pod_status["podIP"] = f"10.244.0.{int(hashlib.sha1(step.name.encode()).hexdigest()[:2], 16) % 250 + 2}"
        return pod_status

    def _push_log(self, step: _Step) -> None:
        """Give the JobManager pod a Flink-like log through the emulator, when the server is one."""
        if self._logs_supported is False or step.state.pod_name is None:
            return
        text = self._render_log(step)
        if (step.state.pod_name, text) == step.state.pushed_log:
            return
        path = f"/_emulator/logs/{step.namespace}/{step.state.pod_name}"
        try:
            self._api_client.call_api(
                path,
                "PUT",
                header_params={"Content-Type": "text/plain"},
                body=text,
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=(_CONNECT_TIMEOUT, _READ_TIMEOUT),
            )
        except ApiException as exc:
            if exc.status in (401, 403, 404, 405):
                log.info("The API server keeps no pod logs for us (%s): not an emulator", exc.status)
                self._logs_supported = False
                return
            raise
        self._logs_supported = True
        step.state.pushed_log = (step.state.pod_name, text)

    def _log_time(self, step: _Step, key: str) -> str:
        if key not in step.state.log_times:
            moment = datetime.now(UTC)
            step.state.log_times[key] = moment.strftime("%Y-%m-%d %H:%M:%S,") + f"{moment.microsecond // 1000:03d}"
        return step.state.log_times[key]

    def _render_log(self, step: _Step) -> str:
        """A JobManager log with the lines a reader looks for, ending with the exception on failure."""
        status = step.obj.get("status") or {}
        job_status = status.get("jobStatus") or {}
        version = _FLINK_VERSIONS.get(str(step.spec.get("flinkVersion")), "1.20.3")
        pod = step.state.pod_name or ""
        revision = cluster_info(step.spec)["flink-revision"]
        application = step.spec.get("job") is not None
        entrypoint = "KubernetesApplicationClusterEntrypoint" if application else "KubernetesSessionClusterEntrypoint"

        def line(key: str, logger: str, text: str, level: str = "INFO") -> str:
            return f"{self._log_time(step, f'{pod}/{key}')} {level:<5} {logger:<60} [] - {text}"

        lines = [
            line("start0", "org.apache.flink.runtime.entrypoint.ClusterEntrypoint", "-" * 80),
            line(
                "start1",
                "org.apache.flink.runtime.entrypoint.ClusterEntrypoint",
                f" Starting {entrypoint} (Version: {version}, Scala: 2.12, Rev:{revision})",
            ),
            line("start2", "org.apache.flink.runtime.entrypoint.ClusterEntrypoint", "-" * 80),
            line(
                "rest",
                "org.apache.flink.runtime.webmonitor.WebMonitorEndpoint",
                f"Web frontend listening at http://{step.name}-rest.{step.namespace}:8081.",
            ),
        ]
        job_id = job_status.get("jobId")
        state = job_status.get("state")
        if not application or not job_id or state in (None, JOB_RECONCILING):
            return "\n".join(lines) + "\n"
        name = job_status.get("jobName") or self._job_name(step)
        graph = "org.apache.flink.runtime.executiongraph.ExecutionGraph"
        restore = step.state.restore_path.get(job_id)
        lines.append(
            line(
                f"{job_id}/submit",
                "org.apache.flink.runtime.dispatcher.StandaloneDispatcher",
                f"Received JobGraph submission '{name}' ({job_id}).",
            )
        )
        if restore:
            lines.append(
                line(
                    f"{job_id}/restore",
                    "org.apache.flink.runtime.checkpoint.CheckpointCoordinator",
                    f"Starting job {job_id} from savepoint {restore} ()",
                )
            )
        lines.append(
            line(
                f"{job_id}/created",
                graph,
                f"Job {name} ({job_id}) switched from state INITIALIZING to CREATED.",
            )
        )
        if state == JOB_CREATED:
            return "\n".join(lines) + "\n"
        lines.append(line(f"{job_id}/running", graph, f"Job {name} ({job_id}) switched from state CREATED to RUNNING."))
        if state == JOB_FINISHED:
            lines.append(
                line(
                    f"{job_id}/finished",
                    graph,
                    f"Job {name} ({job_id}) switched from state RUNNING to FINISHED.",
                )
            )
            lines.append(
                line(
                    f"{job_id}/terminal",
                    "org.apache.flink.runtime.dispatcher.StandaloneDispatcher",
                    f"Job {job_id} reached terminal state FINISHED.",
                )
            )
        elif state == JOB_FAILED:
            cause_type, cause_message = self._failure(step)
            trace = "\n".join(
                [
                    f"org.apache.flink.runtime.JobException: {JOB_RECOVERY_SUPPRESSED}",
                    "\tat org.apache.flink.runtime.executiongraph.failover.ExecutionFailureHandler"
                    f".handleFailure(ExecutionFailureHandler.java:219) ~[flink-dist-{version}.jar:{version}]",
                    "\tat org.apache.flink.runtime.scheduler.DefaultScheduler"
                    f".recordTaskFailure(DefaultScheduler.java:288) ~[flink-dist-{version}.jar:{version}]",
                    f"Caused by: {cause_type}: {cause_message}" if cause_message else f"Caused by: {cause_type}",
                    "\tat org.apache.flink.streaming.api.operators.StreamMap.processElement(StreamMap.java:38) ~[?:?]",
                    "\tat org.apache.flink.streaming.runtime.tasks.StreamTask.invoke(StreamTask.java:831) ~[?:?]",
                ]
            )
            lines.append(
                line(
                    f"{job_id}/failing",
                    graph,
                    f"Job {name} ({job_id}) switched from state RUNNING to FAILING.",
                )
            )
            lines.append(trace)
            lines.append(
                line(f"{job_id}/failed", graph, f"Job {name} ({job_id}) switched from state FAILING to FAILED.")
            )
            lines.append(trace)
        return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the simulator until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_flink.testing.flink_operator_simulator",
        description="Reconcile Flink custom resources like the Flink Kubernetes Operator 1.15, for tests.",
    )
    parser.add_argument("--kubeconfig", required=True, help="kubeconfig file of the API server")
    parser.add_argument("--namespace", default=None, help="namespace to watch (default: all)")
    parser.add_argument("--step-seconds", type=float, default=0.2, help="pacing of one reconciliation step")
    parser.add_argument("--log-level", default="INFO", help="Python logging level")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stopping = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with FlinkOperatorSimulator(args.kubeconfig, namespace=args.namespace, step_seconds=args.step_seconds):
        while not stopping.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
