"""FlinkKubernetesHook against the Kubernetes API emulator, through the official kubernetes client."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from kubernetes import client as k8s

from airflow_provider_flink.exceptions import (
    FlinkApiUnavailable,
    FlinkConflictError,
    FlinkInvalidResource,
    FlinkPermissionDenied,
    FlinkResourceNotFound,
    FlinkRestError,
)
from airflow_provider_flink.hooks.kubernetes import FlinkKubernetesHook
from airflow_provider_flink.hooks.retry import RetryPolicy

if TYPE_CHECKING:
    from airflow_provider_flink.testing.kube_emulator import KubeEmulator

NAMESPACE = "flink-jobs"  # the kube_conn fixture's namespace extra
MakeHook = Callable[..., FlinkKubernetesHook]

FD_PATH = f"/apis/flink.apache.org/v1beta1/namespaces/{NAMESPACE}/flinkdeployments"
Body = Callable[..., dict[str, Any]]


def _requests(emulator: KubeEmulator, verb: str, path_prefix: str = FD_PATH) -> list[Any]:
    return [r for r in emulator.requests if r.verb == verb and r.path.startswith(path_prefix)]


def _wait_until(condition: Callable[[], bool], deadline_seconds: float = 10.0) -> None:
    deadline = time.monotonic() + deadline_seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        time.sleep(0.02)


# -- connection and namespace -----------------------------------------------------------------


def test_constructing_the_hook_looks_nothing_up() -> None:
    hook = FlinkKubernetesHook(kubernetes_conn_id="no_such_connection_anywhere")

    assert hook.namespace is None
    assert "api_client" not in hook.__dict__


def test_namespace_comes_from_argument_then_hook_then_connection_then_default(
    kube_conn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from_conn = FlinkKubernetesHook(kubernetes_conn_id=kube_conn)
    from_hook = FlinkKubernetesHook(kubernetes_conn_id=kube_conn, namespace="hook-ns")
    monkeypatch.setenv("AIRFLOW_CONN_BARE_K8S", json.dumps({"conn_type": "kubernetes", "extra": {}}))
    bare = FlinkKubernetesHook(kubernetes_conn_id="bare_k8s")

    assert from_conn.resolve_namespace() == NAMESPACE
    assert from_conn.resolve_namespace("call-ns") == "call-ns"
    assert from_hook.resolve_namespace() == "hook-ns"
    assert bare.resolve_namespace() == "default"


# -- CRUD and apply ---------------------------------------------------------------------------


def test_created_deployment_is_read_back_with_its_spec(hook: FlinkKubernetesHook, flink_deployment: Body) -> None:
    created = hook.create_resource(flink_deployment("wordcount"))

    read = hook.get_resource("FlinkDeployment", "wordcount")

    assert read is not None
    assert read["metadata"]["uid"] == created["metadata"]["uid"]
    assert read["metadata"]["namespace"] == NAMESPACE
    assert read["spec"]["job"]["parallelism"] == 1


def test_missing_resource_reads_as_none_and_deletes_as_false(hook: FlinkKubernetesHook) -> None:
    assert hook.get_resource("flinkdeployments", "ghost") is None
    assert hook.delete_resource("FlinkSessionJob", "ghost") is False
    with pytest.raises(FlinkResourceNotFound, match=f"FlinkDeployment {NAMESPACE}/ghost"):
        hook.get_status("FlinkDeployment", "ghost")


def test_create_of_an_existing_name_raises_conflict_naming_it(
    hook: FlinkKubernetesHook, flink_deployment: Body
) -> None:
    hook.create_resource(flink_deployment("twice"))

    with pytest.raises(FlinkConflictError) as raised:
        hook.create_resource(flink_deployment("twice"))

    assert raised.value.status == 409
    assert f"FlinkDeployment {NAMESPACE}/twice" in str(raised.value)
    assert "already exists" in str(raised.value)


def test_apply_creates_an_absent_resource(hook: FlinkKubernetesHook, flink_deployment: Body) -> None:
    obj, outcome = hook.apply_resource(flink_deployment("fresh"))

    assert outcome == "created"
    assert obj["metadata"]["name"] == "fresh"


def test_apply_of_an_identical_resource_sends_no_write(
    hook: FlinkKubernetesHook, emulator: KubeEmulator, flink_deployment: Body
) -> None:
    hook.create_resource(flink_deployment("same"))
    writes_before = len([r for r in emulator.requests if r.method in ("POST", "PUT", "PATCH")])

    obj, outcome = hook.apply_resource(flink_deployment("same"))

    assert outcome == "unchanged"
    assert obj["metadata"]["name"] == "same"
    assert len([r for r in emulator.requests if r.method in ("POST", "PUT", "PATCH")]) == writes_before


def test_apply_updates_a_changed_spec_and_keeps_labels_set_by_others(
    hook: FlinkKubernetesHook, emulator: KubeEmulator, flink_deployment: Body
) -> None:
    hook.create_resource(flink_deployment("grow"))
    hook.patch_resource("FlinkDeployment", "grow", {"metadata": {"labels": {"team": "data"}}})
    desired = flink_deployment("grow", job={"jarURI": "local:///job.jar", "parallelism": 4, "upgradeMode": "stateless"})

    obj, outcome = hook.apply_resource(desired)

    assert outcome == "updated"
    assert obj["spec"]["job"]["parallelism"] == 4
    assert obj["metadata"]["labels"] == {"airflow.apache.org/dag_id": "etl", "team": "data"}
    assert obj["metadata"]["generation"] == 2
    assert len(_requests(emulator, "PUT")) == 1


class _RacedHook(FlinkKubernetesHook):
    """A hook whose every read is followed by someone else's write, so its next write is stale."""

    def __init__(self, rival: FlinkKubernetesHook, races: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rival = rival
        self.races = races

    def get_resource(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        obj = super().get_resource(kind, name, namespace)
        if obj is not None and self.races > 0:
            self.races -= 1
            self.rival.patch_resource(kind, name, {"metadata": {"annotations": {"rival": str(self.races)}}})
        return obj


def test_apply_rereads_and_retries_after_a_stale_write_conflict(
    hook: FlinkKubernetesHook, kube_conn: str, emulator: KubeEmulator, flink_deployment: Body
) -> None:
    hook.create_resource(flink_deployment("raced"))
    raced = _RacedHook(rival=hook, races=1, kubernetes_conn_id=kube_conn)
    desired = flink_deployment(
        "raced", job={"jarURI": "local:///job.jar", "parallelism": 3, "upgradeMode": "stateless"}
    )

    obj, outcome = raced.apply_resource(desired)

    assert outcome == "updated"
    assert obj["spec"]["job"]["parallelism"] == 3
    assert obj["metadata"]["annotations"]["rival"] == "0"
    assert [r.status for r in _requests(emulator, "PUT")] == [409, 200]


def test_apply_gives_up_when_the_resource_keeps_changing(
    hook: FlinkKubernetesHook, kube_conn: str, emulator: KubeEmulator, flink_deployment: Body
) -> None:
    hook.create_resource(flink_deployment("busy"))
    raced = _RacedHook(rival=hook, races=100, kubernetes_conn_id=kube_conn, conflict_retries=2)
    desired = flink_deployment("busy", job={"jarURI": "local:///job.jar", "parallelism": 3, "upgradeMode": "stateless"})

    with pytest.raises(FlinkConflictError, match=f"FlinkDeployment {NAMESPACE}/busy.*kept changing"):
        raced.apply_resource(desired)

    assert len(_requests(emulator, "PUT")) == 3


def test_patch_sends_a_json_merge_patch(
    hook: FlinkKubernetesHook, emulator: KubeEmulator, flink_deployment: Body
) -> None:
    hook.create_resource(flink_deployment("patched"))

    obj = hook.patch_resource(
        "FlinkDeployment", "patched", {"spec": {"job": {"state": "suspended"}, "flinkConfiguration": None}}
    )

    assert obj["spec"]["job"]["state"] == "suspended"
    assert obj["spec"]["job"]["jarURI"]  # merged, not replaced
    assert "flinkConfiguration" not in obj["spec"]
    assert _requests(emulator, "PATCH")[-1].content_type.startswith("application/merge-patch+json")


def test_list_filters_by_label_selector(hook: FlinkKubernetesHook, flink_deployment: Body) -> None:
    mine = flink_deployment("mine")
    mine["metadata"]["labels"]["task_id"] = "run"
    hook.create_resource(mine)
    hook.create_resource(flink_deployment("theirs"))

    listed = hook.list_resources("FlinkDeployment", label_selector="task_id=run")

    assert [item["metadata"]["name"] for item in listed] == ["mine"]


def test_delete_removes_the_resource_once(
    hook: FlinkKubernetesHook, emulator: KubeEmulator, flink_deployment: Body
) -> None:
    hook.create_resource(flink_deployment("doomed"))

    first = hook.delete_resource("FlinkDeployment", "doomed", propagation="Background")
    _wait_until(lambda: hook.get_resource("FlinkDeployment", "doomed") is None)
    second = hook.delete_resource("FlinkDeployment", "doomed")

    assert (first, second) == (True, False)
    assert _requests(emulator, "DELETE")[0].status == 200


def test_get_status_returns_the_status_subresource_content(
    hook: FlinkKubernetesHook, emulator: KubeEmulator, flink_deployment: Body
) -> None:
    hook.create_resource(flink_deployment("observed"))
    status = {"jobStatus": {"state": "RUNNING"}, "lifecycleState": "STABLE"}
    k8s.CustomObjectsApi(hook.api_client).patch_namespaced_custom_object_status(
        "flink.apache.org", "v1beta1", NAMESPACE, "flinkdeployments", "observed", {"status": status}
    )

    assert hook.get_status("FlinkDeployment", "observed") == status


# -- errors -----------------------------------------------------------------------------------


def test_rejected_spec_names_object_status_and_server_message(
    hook: FlinkKubernetesHook, emulator: KubeEmulator, flink_deployment: Body
) -> None:
    bad = flink_deployment("bad", job={"jarURI": "local:///job.jar", "upgradeMode": "sometimes"})

    with pytest.raises(FlinkInvalidResource) as raised:
        hook.create_resource(bad)

    message = str(raised.value)
    assert f"FlinkDeployment {NAMESPACE}/bad" in message
    assert "HTTP 422" in message
    assert "spec.job.upgradeMode" in message
    assert raised.value.server_message and "sometimes" in raised.value.server_message
    assert len(_requests(emulator, "POST")) == 1


def test_forbidden_create_names_object_status_message_and_the_permission_to_grant(
    hook: FlinkKubernetesHook, emulator: KubeEmulator, flink_deployment: Body
) -> None:
    from airflow_provider_flink.testing.kube_emulator import Fault

    denial = (
        'flinkdeployments.flink.apache.org is forbidden: User "system:serviceaccount:airflow:worker" '
        'cannot create resource "flinkdeployments" in API group "flink.apache.org" '
        'in the namespace "flink-jobs"'
    )
    emulator.add_fault(Fault(verb="POST", path_regex="flinkdeployments", status=403, message=denial))

    with pytest.raises(FlinkPermissionDenied) as raised:
        hook.create_resource(flink_deployment("denied"))

    message = str(raised.value)
    assert f"FlinkDeployment {NAMESPACE}/denied" in message
    assert "HTTP 403" in message
    assert denial in message
    assert "'create' on flinkdeployments.flink.apache.org" in message
    assert len(_requests(emulator, "POST")) == 1


# -- transient failures -----------------------------------------------------------------------


def test_burst_of_503_is_retried_with_growing_waits_until_success(
    hook: FlinkKubernetesHook, emulator: KubeEmulator, sleeps: Any, flink_deployment: Body
) -> None:
    from airflow_provider_flink.testing.kube_emulator import Fault

    hook.create_resource(flink_deployment("flaky"))
    emulator.add_fault(Fault(verb="GET", path_regex="flinkdeployments/flaky", status=503, count=3))

    obj = hook.get_resource("FlinkDeployment", "flaky")

    assert obj is not None
    assert sleeps.waits == [0.01, 0.02, 0.04]
    assert [r.status for r in _requests(emulator, "GET", f"{FD_PATH}/flaky")] == [503, 503, 503, 200]


def test_throttling_waits_at_least_the_retry_after_the_server_asked_for(
    hook: FlinkKubernetesHook, emulator: KubeEmulator, sleeps: Any
) -> None:
    from airflow_provider_flink.testing.kube_emulator import Fault

    emulator.add_fault(Fault(verb="LIST", path_regex="flinkdeployments", status=429, retry_after=2.0))

    listed = hook.list_resources("FlinkDeployment")

    assert listed == []
    assert len(sleeps.waits) == 1
    assert sleeps.waits[0] >= 2.0


def test_dropped_connection_is_retried(
    hook: FlinkKubernetesHook, emulator: KubeEmulator, sleeps: Any, flink_deployment: Body
) -> None:
    from airflow_provider_flink.testing.kube_emulator import Fault

    hook.create_resource(flink_deployment("dropped"))
    emulator.add_fault(Fault(verb="GET", path_regex="flinkdeployments/dropped", drop_connection=True, count=2))

    obj = hook.get_resource("FlinkDeployment", "dropped")

    assert obj is not None and obj["metadata"]["name"] == "dropped"
    assert len(sleeps.waits) == 2


def test_persistent_500_gives_up_after_the_bounded_attempts_with_a_clear_error(
    hook: FlinkKubernetesHook, emulator: KubeEmulator
) -> None:
    attempts = hook.retry_policy.max_attempts
    from airflow_provider_flink.testing.kube_emulator import Fault

    emulator.add_fault(
        Fault(
            verb="GET",
            path_regex="flinkdeployments/sick",
            status=500,
            count=None,
            message="etcdserver: leader changed",
        )
    )

    with pytest.raises(FlinkApiUnavailable) as raised:
        hook.get_resource("FlinkDeployment", "sick")

    message = str(raised.value)
    assert f"FlinkDeployment {NAMESPACE}/sick" in message
    assert "HTTP 500" in message
    assert "etcdserver: leader changed" in message
    assert f"gave up after {attempts} attempts" in message
    assert len(_requests(emulator, "GET", f"{FD_PATH}/sick")) == attempts


def test_answer_slower_than_the_request_timeout_is_retried(
    make_hook: MakeHook, emulator: KubeEmulator, sleeps: Any, flink_deployment: Body
) -> None:
    from airflow_provider_flink.testing.kube_emulator import Fault

    hook = make_hook(request_timeout=(2.0, 0.3))
    hook.create_resource(flink_deployment("slow"))
    emulator.add_fault(Fault(verb="GET", path_regex="flinkdeployments/slow", latency=1.0))

    obj = hook.get_resource("FlinkDeployment", "slow")

    assert obj is not None and obj["metadata"]["name"] == "slow"
    assert len(sleeps.waits) == 1


def test_unreachable_api_server_gives_up_with_a_clear_error(fast_retries: RetryPolicy) -> None:
    unreachable = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:9"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u", "namespace": "ns"}}],
        "current-context": "x",
    }
    hook = FlinkKubernetesHook(
        kubernetes_conn_id=None, config_dict=unreachable, retry_policy=fast_retries, sleep=lambda _: None
    )

    with pytest.raises(FlinkApiUnavailable, match="FlinkDeployment default/any: no HTTP answer.*gave up after"):
        hook.get_resource("FlinkDeployment", "any")


# -- create is never repeated blindly -----------------------------------------------------------


def test_create_whose_answer_was_lost_after_the_server_stored_it_is_not_repeated(
    make_hook: MakeHook, emulator: KubeEmulator, answer_dropping_proxy: Any, flink_deployment: Body
) -> None:
    proxy = answer_dropping_proxy("POST", count=1)
    kubeconfig = emulator.kubeconfig_dict()
    kubeconfig["clusters"][0]["cluster"]["server"] = f"http://127.0.0.1:{proxy.port}"
    hook = make_hook(kubernetes_conn_id=None, config_dict=kubeconfig, namespace=NAMESPACE)

    obj = hook.create_resource(flink_deployment("lost"))

    assert proxy.dropped == 1
    assert obj["metadata"]["name"] == "lost"
    assert [r.status for r in _requests(emulator, "POST")] == [201]
    assert [r.status for r in _requests(emulator, "GET", f"{FD_PATH}/lost")] == [200]


def test_create_failing_with_500_before_storing_is_retried_after_checking(
    hook: FlinkKubernetesHook, emulator: KubeEmulator, flink_deployment: Body
) -> None:
    from airflow_provider_flink.testing.kube_emulator import Fault

    emulator.add_fault(Fault(verb="POST", path_regex="flinkdeployments", status=500))

    obj = hook.create_resource(flink_deployment("second-try"))

    assert obj["metadata"]["name"] == "second-try"
    assert [r.status for r in _requests(emulator, "POST")] == [500, 201]
    assert [r.status for r in _requests(emulator, "GET", f"{FD_PATH}/second-try")] == [404]


def test_create_with_dropped_connection_before_storing_is_retried_after_checking(
    hook: FlinkKubernetesHook, emulator: KubeEmulator, flink_deployment: Body
) -> None:
    from airflow_provider_flink.testing.kube_emulator import Fault

    emulator.add_fault(Fault(verb="POST", path_regex="flinkdeployments", drop_connection=True))

    obj = hook.create_resource(flink_deployment("redialled"))

    assert obj["metadata"]["name"] == "redialled"
    assert [r.status for r in _requests(emulator, "POST")] == [0, 201]


def test_create_after_ambiguous_failure_refuses_someone_elses_object(
    hook: FlinkKubernetesHook, emulator: KubeEmulator, flink_deployment: Body
) -> None:
    from airflow_provider_flink.testing.kube_emulator import Fault

    hook.create_resource(flink_deployment("taken", image="someone/else:1"))
    emulator.add_fault(Fault(verb="POST", path_regex="flinkdeployments", status=503))

    with pytest.raises(FlinkConflictError, match=f"FlinkDeployment {NAMESPACE}/taken.*different spec"):
        hook.create_resource(flink_deployment("taken"))

    assert [r.status for r in _requests(emulator, "POST")] == [201, 503]


# -- Flink REST through the service proxy ------------------------------------------------------


def test_flink_rest_reaches_the_cluster_through_the_service_proxy(
    hook: FlinkKubernetesHook, emulator: KubeEmulator, flink_rest: list[tuple[str, str]]
) -> None:
    overview = hook.flink_rest("GET", "wc", "/v1/jobs/overview")

    assert overview == {"jobs": [{"jid": "abc", "name": "wc", "state": "RUNNING"}]}
    assert flink_rest == [("GET", "/v1/jobs/overview")]
    assert any(
        r.path == f"/api/v1/namespaces/{NAMESPACE}/services/wc-rest:rest/proxy/v1/jobs/overview"
        for r in emulator.requests
    )


def test_flink_rest_sends_method_query_and_body(hook: FlinkKubernetesHook, flink_rest: list[tuple[str, str]]) -> None:
    hook.flink_rest("PATCH", "wc-rest", "jobs/abc", params={"mode": "cancel"})
    answer = hook.flink_rest("POST", "wc", "/jobs/abc/stop", body={"drain": False})

    assert answer == {"request-id": "trigger-1", "echo": {"drain": False}}
    assert flink_rest == [("PATCH", "/jobs/abc?mode=cancel"), ("POST", "/jobs/abc/stop")]


def test_flink_rest_error_carries_flinks_message(hook: FlinkKubernetesHook, flink_rest: list[tuple[str, str]]) -> None:
    with pytest.raises(FlinkRestError) as raised:
        hook.flink_rest("GET", "wc", "/jobs/nope")

    assert raised.value.status == 404
    assert "Not found: /jobs/nope" in str(raised.value)
    assert f"Service {NAMESPACE}/wc-rest" in str(raised.value)


def test_flink_rest_post_is_not_repeated_after_an_ambiguous_failure(
    hook: FlinkKubernetesHook, emulator: KubeEmulator, flink_rest: list[tuple[str, str]]
) -> None:
    from airflow_provider_flink.testing.kube_emulator import Fault

    emulator.add_fault(Fault(verb="POST", path_regex="proxy/jobs/abc/stop", status=503))

    with pytest.raises(FlinkRestError, match="HTTP 503"):
        hook.flink_rest("POST", "wc", "/jobs/abc/stop", body={})

    assert [r.status for r in emulator.requests if r.path.endswith("/stop")] == [503]


# -- pods, logs, events -------------------------------------------------------------------------


def _pod(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {"containers": [{"name": "flink-main-container", "image": "flink:1.20"}]},
    }


def test_pod_log_is_bounded_in_lines_and_bytes(hook: FlinkKubernetesHook, emulator: KubeEmulator) -> None:
    k8s.CoreV1Api(hook.api_client).create_namespaced_pod(NAMESPACE, _pod("wc-jm", {"app": "wc"}))
    emulator.set_pod_log(NAMESPACE, "wc-jm", "".join(f"line {i:04d} of the jobmanager log\n" for i in range(1000)))

    tail = hook.read_pod_log("wc-jm", tail_lines=3)
    capped = hook.read_pod_log("wc-jm", tail_lines=None, limit_bytes=100)

    assert tail.splitlines() == [f"line {i:04d} of the jobmanager log" for i in (997, 998, 999)]
    assert len(capped.encode()) == 100
    assert capped.startswith("line 0000")


def test_pod_log_of_json_lines_comes_back_verbatim(hook: FlinkKubernetesHook, emulator: KubeEmulator) -> None:
    k8s.CoreV1Api(hook.api_client).create_namespaced_pod(NAMESPACE, _pod("json-jm", {"app": "j"}))
    emulator.set_pod_log(NAMESPACE, "json-jm", '{"level": "ERROR", "message": "boom"}\n')

    assert hook.read_pod_log("json-jm") == '{"level": "ERROR", "message": "boom"}\n'


def test_jobmanager_pods_are_found_by_cluster_labels(hook: FlinkKubernetesHook) -> None:
    core = k8s.CoreV1Api(hook.api_client)
    core.create_namespaced_pod(NAMESPACE, _pod("wc-jm-1", {"app": "wc", "component": "jobmanager"}))
    core.create_namespaced_pod(NAMESPACE, _pod("wc-tm-1", {"app": "wc", "component": "taskmanager"}))
    core.create_namespaced_pod(NAMESPACE, _pod("other-jm", {"app": "other", "component": "jobmanager"}))

    pods = hook.find_jobmanager_pods("wc")

    assert [pod["metadata"]["name"] for pod in pods] == ["wc-jm-1"]


def test_events_are_selected_by_object_kind_and_type(hook: FlinkKubernetesHook, admin_api_client: Any) -> None:
    core = k8s.CoreV1Api(admin_api_client)  # the Flink operator writes events; the provider only reads them

    def event(name: str, obj: str, kind: str, event_type: str, reason: str) -> None:
        core.create_namespaced_event(
            NAMESPACE,
            {
                "metadata": {"name": name},
                "involvedObject": {"kind": kind, "name": obj, "namespace": NAMESPACE},
                "type": event_type,
                "reason": reason,
                "message": f"{reason} for {obj}",
            },
        )

    event("e1", "wordcount", "FlinkDeployment", "Normal", "Submit")
    event("e2", "wordcount", "FlinkDeployment", "Warning", "ClusterDeploymentException")
    event("e3", "wordcount", "Pod", "Warning", "BackOff")
    event("e4", "other", "FlinkDeployment", "Warning", "Error")

    all_about_it = hook.list_events("wordcount", kind="flinkdeployments")
    warnings = hook.list_events("wordcount", kind="FlinkDeployment", warning_only=True)

    assert sorted(e["reason"] for e in all_about_it) == ["ClusterDeploymentException", "Submit"]
    assert [e["reason"] for e in warnings] == ["ClusterDeploymentException"]


# -- native application clusters -----------------------------------------------------------------


def test_delete_application_cluster_removes_deployment_dependents_and_ha_configmaps(
    hook: FlinkKubernetesHook, emulator: KubeEmulator
) -> None:
    apps, core = k8s.AppsV1Api(hook.api_client), k8s.CoreV1Api(hook.api_client)
    labels = {"app": "wc", "component": "jobmanager", "type": "flink-native-kubernetes"}
    deployment = apps.create_namespaced_deployment(
        NAMESPACE,
        {
            "metadata": {"name": "wc", "labels": labels},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "flink-main-container", "image": "flink:1.20"}]},
                },
            },
        },
    )
    owner = [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": "wc",
            "uid": deployment.metadata.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    core.create_namespaced_service(
        NAMESPACE,
        {
            "metadata": {"name": "wc-rest", "ownerReferences": owner},
            "spec": {"ports": [{"name": "rest", "port": 8081}]},
        },
    )
    core.create_namespaced_config_map(NAMESPACE, {"metadata": {"name": "flink-config-wc", "ownerReferences": owner}})
    ha_labels = {"app": "wc", "configmap-type": "high-availability", "type": "flink-native-kubernetes"}
    core.create_namespaced_config_map(NAMESPACE, {"metadata": {"name": "wc-cluster-config-map", "labels": ha_labels}})
    core.create_namespaced_config_map(
        NAMESPACE,
        {"metadata": {"name": "wc-00000000000000000000000000000000-config-map", "labels": ha_labels}},
    )
    other_ha = {**ha_labels, "app": "other"}
    core.create_namespaced_config_map(NAMESPACE, {"metadata": {"name": "other-cluster-config-map", "labels": other_ha}})

    deleted = hook.delete_application_cluster("wc")

    def gone(group: str, version: str, plural: str, name: str) -> bool:
        return emulator.get_object(group, version, plural, NAMESPACE, name) is None

    _wait_until(
        lambda: (
            gone("apps", "v1", "deployments", "wc")
            and gone("", "v1", "services", "wc-rest")
            and gone("", "v1", "configmaps", "flink-config-wc")
        )
    )
    assert deleted is True
    assert gone("", "v1", "configmaps", "wc-cluster-config-map")
    assert gone("", "v1", "configmaps", "wc-00000000000000000000000000000000-config-map")
    assert not gone("", "v1", "configmaps", "other-cluster-config-map")
    assert hook.delete_application_cluster("wc") is False


def test_retry_policy_is_configurable_per_hook(make_hook: MakeHook, emulator: KubeEmulator) -> None:
    from airflow_provider_flink.testing.kube_emulator import Fault

    emulator.add_fault(Fault(verb="GET", path_regex="flinkdeployments/x", status=503, count=None))
    hook = make_hook(retry_policy=RetryPolicy(max_attempts=2, base_delay=0.0))

    with pytest.raises(FlinkApiUnavailable, match="gave up after 2 attempts"):
        hook.get_resource("FlinkDeployment", "x")
