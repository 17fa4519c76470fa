"""
The Role printed in README.md, proven on the real control plane (kube-apiserver with RBAC).

Every operation of the provider runs as a ServiceAccount bound to exactly that Role, with a token from the
TokenRequest API: the FlinkDeployment, FlinkSessionJob and day-2 operators, the sensor, the trigger, the
failure diagnosis (pods, pod logs, events), native submission by the real Flink CLI and the native cleanup.
The API server's audit log records each request the identity made; the test compares what was used with
what the Role grants, so a permission nothing uses is found. Then each permission is taken away in turn:
the operation that needs it must fail with an error naming the resource and verb (the README's 403
troubleshooting row), or, where the provider has a documented fallback, go on without it.

No kubelet runs here: native JobManager pods stay Pending, so native clusters are submitted, found not to
start, and cleaned up (the process kubelet issue runs them for real).
"""

from __future__ import annotations

import copy
import itertools
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from airflow_support import new_dag, run_dag
from realstack.backends import (
    PROVIDER_SERVICE_ACCOUNT,
    prepare_namespace,
    provider_user,
    readme_role,
    service_account_token,
)

from airflow_provider_flink.operators.flink_deployment import FlinkDeploymentOperator, FlinkSessionJobOperator
from airflow_provider_flink.operators.flink_lifecycle import (
    FlinkDeleteJobOperator,
    FlinkResumeJobOperator,
    FlinkSavepointOperator,
    FlinkSuspendJobOperator,
)
from airflow_provider_flink.operators.flink_native import FlinkNativeSubmitOperator
from airflow_provider_flink.sensors.flink import FlinkJobSensor
from airflow_provider_flink.testing.flink_operator_simulator import FlinkOperatorSimulator

pytestmark = pytest.mark.realstack

NATIVE_CLI_ENV = {"JVM_ARGS": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Dkubernetes.request.retry.backoffLimit=0"}
_namespaces = itertools.count(1)

Permission = tuple[str, str, str]  # (apiGroup, resource[/subresource], verb)


def granted(role: dict[str, Any]) -> set[Permission]:
    return {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def used(plane: Any, namespace: str, decision: str = "allow") -> set[Permission]:
    """What the provider's identity in ``namespace`` asked for and was allowed (or, with ``decision="forbid"``,
    refused), from the audit log."""
    seen = set()
    for event in plane.audit_events(provider_user(namespace)):
        ref = event.get("objectRef") or {}
        if not ref.get("resource") or event.get("annotations", {}).get("authorization.k8s.io/decision") != decision:
            continue
        resource = ref["resource"] + (f"/{ref['subresource']}" if ref.get("subresource") else "")
        seen.add((ref.get("apiGroup", ""), resource, event["verb"]))
    return seen


def without(role: dict[str, Any], permission: Permission) -> dict[str, Any]:
    """The Role with one (group, resource, verb) taken away."""
    group, resource, verb = permission
    reduced = copy.deepcopy(role)
    rules = []
    for rule in reduced["rules"]:
        if group in rule["apiGroups"] and resource in rule["resources"] and verb in rule["verbs"]:
            others = [r for r in rule["resources"] if r != resource]
            if others:
                rules.append({**rule, "resources": others})
            if len(rule["verbs"]) > 1:
                rules.append({**rule, "resources": [resource], "verbs": [v for v in rule["verbs"] if v != verb]})
        else:
            rules.append(rule)
    reduced["rules"] = rules
    return reduced


class Setting:
    """A fresh namespace on the real control plane with the provider's identity bound to ``role``."""

    def __init__(self, plane: Any, role: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
        self.plane = plane
        self.namespace = f"rbac-{next(_namespaces)}"
        prepare_namespace(plane, self.namespace, role=role)
        token = service_account_token(plane, self.namespace, PROVIDER_SERVICE_ACCOUNT)
        kubeconfig = plane.kubeconfig_dict(self.namespace, token=token, user=PROVIDER_SERVICE_ACCOUNT)
        extra = {"kube_config": json.dumps(kubeconfig), "namespace": self.namespace}
        monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", json.dumps({"conn_type": "kubernetes", "extra": extra}))

    def objects(self) -> dict[str, list[str]]:
        """Names of what is left in the namespace, by kind: top-level objects only (dependents, with an
        ownerReference, go with their owner), the ServiceAccount's own objects aside."""
        kinds = {
            "flinkdeployments": f"/apis/flink.apache.org/v1beta1/namespaces/{self.namespace}/flinkdeployments",
            "flinksessionjobs": f"/apis/flink.apache.org/v1beta1/namespaces/{self.namespace}/flinksessionjobs",
            "flinkstatesnapshots": f"/apis/flink.apache.org/v1beta1/namespaces/{self.namespace}/flinkstatesnapshots",
            "deployments": f"/apis/apps/v1/namespaces/{self.namespace}/deployments",
            "pods": f"/api/v1/namespaces/{self.namespace}/pods",
            "services": f"/api/v1/namespaces/{self.namespace}/services",
            "configmaps": f"/api/v1/namespaces/{self.namespace}/configmaps",
        }
        left = {}
        for kind, path in kinds.items():
            items = self.plane.request("GET", path)[1].get("items", [])
            names = [
                i["metadata"]["name"]
                for i in items
                if i["metadata"]["name"] != "kube-root-ca.crt" and not i["metadata"].get("ownerReferences")
            ]
            if names:
                left[kind] = names
        return left


@pytest.fixture
def simulated_operator(real_control_plane: Any) -> Iterator[FlinkOperatorSimulator]:
    """The simulated Flink operator as a controller of the real API server (admin rights, every namespace)."""
    with FlinkOperatorSimulator(real_control_plane.kubeconfig_dict(), step_seconds=0.15) as sim:
        yield sim


def _deployment(task_id: str, name: str, **kwargs: Any) -> FlinkDeploymentOperator:
    arguments: dict[str, Any] = {
        "name": name,
        "image": "flink:2.0",
        "flink_version": "v2_0",
        "jar_uri": "local:///opt/flink/examples/streaming/WordCount.jar",
        "poll_interval": 0.2,
        "startup_timeout": 60,
    }
    arguments.update(kwargs)
    return FlinkDeploymentOperator(task_id=task_id, **arguments)


def _native(task_id: str, **kwargs: Any) -> FlinkNativeSubmitOperator:
    arguments: dict[str, Any] = {
        "image": "flink:2.3.0-java17",
        "jar_uri": "local:///opt/flink/usrlib/testjobs.jar",
        "entry_class": "airflowtest.TestJobs",
        "args": ["bounded"],
        "flink_version": "2.3.0",
        "flink_home": os.environ.get("FLINK_HOME"),
        "cli_env": NATIVE_CLI_ENV,
        "wait_for": "finished",
        "poll_interval": 0.5,
        "startup_timeout": 8,
        "submit_timeout": 120,
        "cleanup": "always",
    }
    arguments.update(kwargs)
    return FlinkNativeSubmitOperator(task_id=task_id, **arguments)


KNOBS = {"poll_interval": 0.2, "timeout": 60}


def deployment_mode_dag() -> Any:
    """Every deployment-mode operation once: create, wait (sync and deferred), sense, savepoint, upgrade,
    suspend, resume, delete, a session job; and a failing batch job for the failure diagnosis."""
    streaming = {"annotations": {"flink-simulator/scenario": "streaming"}, "wait_for": "running",
                 "upgrade_mode": "savepoint"}  # fmt: skip
    with new_dag() as dag:
        deploy = _deployment("deploy", "stream", deferrable=True, **streaming)
        sense = FlinkJobSensor(task_id="sense", name="stream", target_state="running", poke_interval=0.2, timeout=60)
        savepoint = FlinkSavepointOperator(task_id="savepoint", name="stream", **KNOBS)
        upgrade = _deployment("upgrade", "stream", parallelism=2, **streaming)
        suspend = FlinkSuspendJobOperator(task_id="suspend", name="stream", **KNOBS)
        resume = FlinkResumeJobOperator(task_id="resume", name="stream", **KNOBS)
        delete = FlinkDeleteJobOperator(task_id="delete", name="stream", **KNOBS)
        session = _deployment("session", "session", jar_uri=None, session_cluster=True, wait_for="running",
                              delete_on="never")  # fmt: skip
        job = _session_job("job", wait_for="running")
        job_upgrade = _session_job("job_upgrade", wait_for="running", parallelism=2)
        job_suspend = FlinkSuspendJobOperator(
            task_id="job_suspend", name="session-job", kind="FlinkSessionJob", **KNOBS
        )
        job_delete = FlinkDeleteJobOperator(task_id="job_delete", name="session-job", kind="FlinkSessionJob", **KNOBS)
        _deployment(
            "failing", "failing", flink_configuration={"execution.runtime-mode": "BATCH"},
            annotations={"flink-simulator/scenario": "batch-failure"}, delete_on="always",
        )  # fmt: skip
        deploy >> sense >> savepoint >> upgrade >> suspend >> resume >> delete
        session >> job >> job_upgrade >> job_suspend >> job_delete
    return dag


def _session_job(task_id: str, **kwargs: Any) -> FlinkSessionJobOperator:
    arguments: dict[str, Any] = {
        "name": "session-job",
        "deployment_name": "session",
        "jar_uri": "local:///opt/flink/job.jar",
        "annotations": {"flink-simulator/scenario": "streaming"},
        "poll_interval": 0.2,
        "startup_timeout": 60,
    }
    arguments.update(kwargs)
    return FlinkSessionJobOperator(task_id=task_id, **arguments)


def native_mode_dag() -> Any:
    """Native submission by the real Flink CLI (local submitter) and by a submitter pod; neither JobManager can
    start without a kubelet, so both fail their startup timeout and are cleaned up."""
    with new_dag() as dag:
        _native("local")
        _native("pod", submitter="pod", submit_timeout=8)
    return dag


EXPECTED_DEPLOYMENT_MODE = {
    "deploy": "success", "sense": "success", "savepoint": "success", "upgrade": "success", "suspend": "success",
    "resume": "success", "delete": "success", "session": "success", "job": "success", "job_upgrade": "success",
    "job_suspend": "success", "job_delete": "success", "failing": "failed",
}  # fmt: skip

#: Permissions the provider's code uses on paths these runs cannot reach (each is tested on the emulator).
NOT_REACHED_HERE = {
    # FlinkSavepointOperator deletes a FAILED FlinkStateSnapshot before taking it again: the simulated
    # operator never fails a snapshot (tests/operators/test_lifecycle_operators.py covers the path).
    ("flink.apache.org", "flinkstatesnapshots", "delete"),
}


def test_every_operation_succeeds_as_the_readme_role_and_every_permission_is_used(
    real_control_plane: Any, simulated_operator: Any, monkeypatch: pytest.MonkeyPatch, capfd: Any
) -> None:
    role = readme_role()
    setting = Setting(real_control_plane, role, monkeypatch)

    deployment_states = run_dag(deployment_mode_dag())
    native_states = run_dag(native_mode_dag())
    logs = "".join(capfd.readouterr())

    assert deployment_states == EXPECTED_DEPLOYMENT_MODE
    assert native_states == {"local": "failed", "pod": "failed"}
    assert "forbidden" not in logs.lower(), logs[-4000:]
    unused = granted(role) - used(real_control_plane, setting.namespace)
    assert unused == NOT_REACHED_HERE, f"permissions of the README Role that no operation used: {sorted(unused)}"
    left = setting.objects()
    assert left.pop("flinkdeployments") == ["session"]  # delete_on="never"
    assert list(left) == ["flinkstatesnapshots"]  # savepoints are kept: they are the user's data


# ------------------------------------------------------------------------- one permission taken away


def streaming_then(task: Any) -> Any:
    """A running streaming FlinkDeployment, then ``task(dag)`` on it."""
    with new_dag() as dag:
        _deployment("deploy", "stream", annotations={"flink-simulator/scenario": "streaming"}, wait_for="running",
                    upgrade_mode="savepoint", delete_on="never") >> task()  # fmt: skip
    return dag


def batch(**kwargs: Any) -> Any:
    with new_dag() as dag:
        _deployment("deploy", "batch", flink_configuration={"execution.runtime-mode": "BATCH"},
                    annotations={"flink-simulator/scenario": "batch-success"}, **kwargs)  # fmt: skip
    return dag


def failing_batch() -> Any:
    with new_dag() as dag:
        _deployment("deploy", "failing", flink_configuration={"execution.runtime-mode": "BATCH"},
                    annotations={"flink-simulator/scenario": "batch-failure"}, delete_on="never")  # fmt: skip
    return dag


def session_then(task: Any | None = None) -> Any:
    """A session cluster and a streaming FlinkSessionJob in it, then ``task()`` on the job."""
    with new_dag() as dag:
        session = _deployment("session", "session", jar_uri=None, session_cluster=True, wait_for="running",
                              delete_on="never")  # fmt: skip
        job = _session_job("job", wait_for="running")
        session >> job
        if task is not None:
            job >> task()
    return dag


def native(submitter: str = "local") -> Any:
    with new_dag() as dag:
        _native("native", submitter=submitter, **({"submit_timeout": 8} if submitter == "pod" else {}))
    return dag


def _savepoint() -> Any:
    return FlinkSavepointOperator(task_id="act", name="stream", **KNOBS)


def _upgrade() -> Any:
    return _deployment("act", "stream", annotations={"flink-simulator/scenario": "streaming"}, wait_for="running",
                       upgrade_mode="savepoint", parallelism=2, delete_on="never")  # fmt: skip


def _suspend(kind: str = "FlinkDeployment", name: str = "stream") -> Any:
    return FlinkSuspendJobOperator(task_id="act", name=name, kind=kind, **KNOBS)


def _delete(kind: str = "FlinkDeployment", name: str = "stream") -> Any:
    return FlinkDeleteJobOperator(task_id="act", name=name, kind=kind, **KNOBS)


FD, SJ, SNAP = (("flink.apache.org", r) for r in ("flinkdeployments", "flinksessionjobs", "flinkstatesnapshots"))
DENIED, GOES_ON = "denied", "goes on"  # the run fails naming the permission / the provider falls back and succeeds

#: permission -> (the runs that need it first, what must happen without it)
CASES: dict[Permission, tuple[Any, str]] = {
    (*FD, "get"): (batch, DENIED),
    (*FD, "list"): (lambda: batch(deferrable=True), GOES_ON),
    (*FD, "watch"): (lambda: batch(deferrable=True), GOES_ON),
    (*FD, "create"): (batch, DENIED),
    (*FD, "update"): (lambda: streaming_then(_upgrade), DENIED),
    (*FD, "patch"): (lambda: streaming_then(_suspend), DENIED),
    (*FD, "delete"): (batch, DENIED),
    (*SJ, "get"): (session_then, DENIED),
    (*SJ, "list"): (session_then, GOES_ON),
    (*SJ, "watch"): (session_then, GOES_ON),
    (*SJ, "create"): (session_then, DENIED),
    (*SJ, "update"): (lambda: session_then(lambda: _session_job("act", wait_for="running", parallelism=2)), DENIED),
    (*SJ, "patch"): (lambda: session_then(lambda: _suspend("FlinkSessionJob", "session-job")), DENIED),
    (*SJ, "delete"): (lambda: session_then(lambda: _delete("FlinkSessionJob", "session-job")), DENIED),
    (*SNAP, "get"): (lambda: streaming_then(_savepoint), DENIED),
    (*SNAP, "list"): (lambda: streaming_then(_savepoint), GOES_ON),
    (*SNAP, "watch"): (lambda: streaming_then(_savepoint), GOES_ON),
    (*SNAP, "create"): (lambda: streaming_then(_savepoint), DENIED),
    ("apps", "deployments", "get"): (native, DENIED),
    ("apps", "deployments", "create"): (native, DENIED),
    ("apps", "deployments", "patch"): (native, DENIED),
    ("apps", "deployments", "delete"): (native, DENIED),
    ("", "pods", "get"): (lambda: native("pod"), DENIED),
    ("", "pods", "list"): (failing_batch, DENIED),
    ("", "pods", "create"): (lambda: native("pod"), DENIED),
    ("", "pods", "delete"): (lambda: native("pod"), DENIED),
    ("", "pods/log", "get"): (native, DENIED),  # the diagnosis reads the (Pending) JobManager pod's log
    ("", "services/proxy", "get"): (native, DENIED),
    ("", "events", "list"): (failing_batch, DENIED),
    ("", "services", "get"): (native, DENIED),
    ("", "services", "create"): (native, DENIED),
    ("", "configmaps", "list"): (native, DENIED),
    ("", "configmaps", "create"): (native, DENIED),
    ("", "configmaps", "delete"): (native, DENIED),
}


#: Permission -> the kind that stays because the provider may not delete it without that permission.
CANNOT_CLEAN_UP: dict[Permission, str] = {
    (*FD, "delete"): "flinkdeployments",
    ("apps", "deployments", "delete"): "deployments",
    ("", "pods", "delete"): "pods",  # the submitter pod
}


def test_every_permission_of_the_readme_role_has_a_removal_case() -> None:
    assert set(CASES) == granted(readme_role()) - NOT_REACHED_HERE


@pytest.mark.parametrize("permission", sorted(CASES), ids=lambda p: f"{p[1]}-{p[2]}")
def test_without_one_permission_the_operation_needing_it_says_which(
    real_control_plane: Any,
    simulated_operator: Any,
    monkeypatch: pytest.MonkeyPatch,
    capfd: Any,
    permission: Permission,
) -> None:
    group, resource, verb = permission
    runs, outcome = CASES[permission]
    setting = Setting(real_control_plane, without(readme_role(), permission), monkeypatch)

    states = run_dag(runs())
    logs = "".join(capfd.readouterr())

    denial = f'cannot {verb} resource "{resource}" in API group "{group}"'
    assert used(real_control_plane, setting.namespace, decision="forbid") == {permission}
    if outcome == GOES_ON:  # the watch was refused: the waits read their objects with GETs (triggerer log)
        assert set(states.values()) == {"success"}, states
    else:
        assert "failed" in states.values(), states
        assert denial in logs, f"no {denial!r} in the task logs:\n{logs[-3000:]}"
    left = setting.objects()
    kept = {"flinkdeployments": {"stream", "session", "failing"}, "flinksessionjobs": {"session-job"}}
    if permission in CANNOT_CLEAN_UP:  # what the missing permission keeps the provider from deleting (it says so)
        left.pop(CANNOT_CLEAN_UP[permission], None)
    for kind, names in left.items():
        assert kind in ("flinkdeployments", "flinksessionjobs", "flinkstatesnapshots"), f"{kind} {names} left behind"
        if kind != "flinkstatesnapshots":  # savepoints are the user's data: kept
            assert set(names) <= kept[kind], f"{kind} {names} left behind"
