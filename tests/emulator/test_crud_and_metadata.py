"""CRUD, discovery, metadata, selectors, patch formats, finalizers and cascading deletion."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes_asyncio import client as async_client
from kubernetes_asyncio import config as async_config

from airflow_provider_flink.testing.kube_emulator import KubeEmulator

FLINK = ("flink.apache.org", "v1beta1")
NS = "default"


def flink_deployment(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "flink.apache.org/v1beta1",
        "kind": "FlinkDeployment",
        "metadata": {"name": name},
        "spec": {"image": "flink:2.3", "job": {"jarURI": "local:///opt/flink/job.jar", **spec}},
    }


def create_fd(api: client.ApiClient, name: str, **spec: Any) -> dict[str, Any]:
    return client.CustomObjectsApi(api).create_namespaced_custom_object(
        *FLINK, NS, "flinkdeployments", flink_deployment(name, **spec)
    )


def configmap(name: str, labels: dict[str, str] | None = None, **extra_meta: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels or {}, **extra_meta}, "data": {"k": "v"}}


def deployment(name: str, replicas: int = 1) -> dict[str, Any]:
    labels = {"app": name}
    template = {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "main", "image": "flink:2.3"}]}}
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels}, "template": template},
    }


def raw_call(api: client.ApiClient, method: str, path: str, body: Any = None, content_type: str = "application/json"):
    """Send a request the typed APIs cannot express; returns (status, parsed body, headers)."""
    try:
        # Without preloading, call_api hands back the raw urllib3 response.
        response = api.call_api(
            path, method, header_params={"Content-Type": content_type, "Accept": "application/json"},
            body=body, _preload_content=False,
        )  # fmt: skip
        return response.status, json.loads(response.data or b"{}"), response.headers
    except ApiException as exc:
        return exc.status, json.loads(exc.body), exc.headers


# ---------------------------------------------------------------------------------------------- CRUD

KINDS = [
    ("v1", "Pod", {"spec": {"containers": [{"name": "main", "image": "busybox"}]}},
     {"spec": {"activeDeadlineSeconds": 5}}),
    ("v1", "Service", {"spec": {"ports": [{"port": 80}]}}, {"metadata": {"labels": {"x": "y"}}}),
    ("v1", "ConfigMap", {"data": {"a": "1"}}, {"data": {"b": "2"}}),
    ("v1", "Secret", {"stringData": {"a": "1"}}, {"metadata": {"labels": {"x": "y"}}}),
    ("v1", "Event", {"reason": "Started", "involvedObject": {"name": "p"}}, {"reason": "Killed"}),
    ("v1", "ServiceAccount", {}, {"metadata": {"labels": {"x": "y"}}}),
    ("apps/v1", "Deployment", {"spec": {"replicas": 1}}, {"spec": {"replicas": 2}}),
    ("apps/v1", "ReplicaSet", {"spec": {"replicas": 1}}, {"spec": {"replicas": 2}}),
    ("batch/v1", "Job", {"spec": {"backoffLimit": 1}}, {"spec": {"backoffLimit": 2}}),
    ("flink.apache.org/v1beta1", "FlinkDeployment", {"spec": {"image": "flink:2.3"}}, {"spec": {"image": "flink:2"}}),
    ("flink.apache.org/v1beta1", "FlinkSessionJob", {"spec": {"deploymentName": "s"}},
     {"spec": {"deploymentName": "t"}}),
    ("flink.apache.org/v1beta1", "FlinkStateSnapshot", {"spec": {"backoffLimit": 1}}, {"spec": {"backoffLimit": 2}}),
]  # fmt: skip


@pytest.mark.parametrize(("api_version", "kind", "body", "patch"), KINDS, ids=[k[1] for k in KINDS])
def test_crud_roundtrip_through_discovery_for_every_supported_kind(
    kube_api_client: client.ApiClient, tmp_path: Any, api_version: str, kind: str, body: dict, patch: dict
) -> None:
    dynamic = DynamicClient(kube_api_client, cache_file=str(tmp_path / "discovery.json"))
    resource = dynamic.resources.get(api_version=api_version, kind=kind)
    manifest = {"apiVersion": api_version, "kind": kind, "metadata": {"name": "obj1"}, **body}

    created = resource.create(body=manifest, namespace=NS)
    fetched = resource.get(name="obj1", namespace=NS)
    listed = resource.get(namespace=NS)
    patched = resource.patch(body=patch, name="obj1", namespace=NS, content_type="application/merge-patch+json")
    replaced_body = patched.to_dict()
    replaced_body["metadata"].setdefault("annotations", {})["replaced"] = "yes"
    replaced = resource.replace(body=replaced_body, namespace=NS)
    resource.delete(name="obj1", namespace=NS)

    assert created.metadata.uid == fetched.metadata.uid
    assert [item.metadata.name for item in listed.items] == ["obj1"]
    assert int(patched.metadata.resourceVersion) > int(created.metadata.resourceVersion)
    assert replaced.metadata.annotations["replaced"] == "yes"
    with pytest.raises(ApiException) as missing:
        resource.get(name="obj1", namespace=NS)
    assert missing.value.status == 404


def test_unknown_plural_answers_404_status_like_the_api_server(kube_api_client: client.ApiClient) -> None:
    status, body, _ = raw_call(kube_api_client, "GET", "/apis/flink.apache.org/v1beta1/namespaces/default/flinkjobs")

    assert status == 404
    assert body["kind"] == "Status"
    assert body["reason"] == "NotFound"
    assert body["message"] == "the server could not find the requested resource"


def test_missing_object_answers_not_found_naming_resource_and_name(kube_api_client: client.ApiClient) -> None:
    with pytest.raises(ApiException) as error:
        client.CustomObjectsApi(kube_api_client).get_namespaced_custom_object(*FLINK, NS, "flinkdeployments", "nope")

    body = json.loads(error.value.body)
    assert error.value.status == 404
    assert body["message"] == 'flinkdeployments.flink.apache.org "nope" not found'
    assert body["details"] == {"name": "nope", "group": "flink.apache.org", "kind": "flinkdeployments"}


def test_cluster_wide_list_returns_objects_of_all_namespaces(kube_api_client: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(kube_api_client)
    for namespace in ("team-a", "team-b"):
        custom.create_namespaced_custom_object(*FLINK, namespace, "flinkdeployments", flink_deployment("job"))

    listed = custom.list_cluster_custom_object(*FLINK, "flinkdeployments")

    assert sorted(i["metadata"]["namespace"] for i in listed["items"]) == ["team-a", "team-b"]


def test_namespaces_exist_implicitly(kube_api_client: client.ApiClient) -> None:
    core = client.CoreV1Api(kube_api_client)
    core.create_namespaced_config_map("fresh", configmap("c"))

    namespaces = [n.metadata.name for n in core.list_namespace().items]

    assert "fresh" in namespaces
    assert core.read_namespace("fresh").status.phase == "Active"


def test_discovery_lists_flink_resources_with_status_subresource(kube_api_client: client.ApiClient) -> None:
    resources = client.CustomObjectsApi(kube_api_client).get_api_resources("flink.apache.org", "v1beta1")

    names = {r.name for r in resources.resources}
    assert {"flinkdeployments", "flinkdeployments/status", "flinksessionjobs", "flinkstatesnapshots"} <= names


def test_list_pages_with_limit_and_continue(kube_api_client: client.ApiClient) -> None:
    core = client.CoreV1Api(kube_api_client)
    for index in range(5):
        core.create_namespaced_config_map(NS, configmap(f"c{index}"))

    first = core.list_namespaced_config_map(NS, limit=2)
    second = core.list_namespaced_config_map(NS, limit=2, _continue=first.metadata._continue)
    third = core.list_namespaced_config_map(NS, limit=2, _continue=second.metadata._continue)

    names = [i.metadata.name for page in (first, second, third) for i in page.items]
    assert names == ["c0", "c1", "c2", "c3", "c4"]
    assert third.metadata._continue is None


# ---------------------------------------------------------------------------------------------- metadata


def test_create_sets_uid_creation_timestamp_resource_version_and_generation(kube_api_client: client.ApiClient) -> None:
    created = create_fd(kube_api_client, "meta")

    meta = created["metadata"]
    assert meta["uid"] and meta["creationTimestamp"].endswith("Z")
    assert int(meta["resourceVersion"]) > 0
    assert meta["generation"] == 1


def test_resource_versions_grow_across_kinds(kube_api_client: client.ApiClient) -> None:
    core = client.CoreV1Api(kube_api_client)

    first = core.create_namespaced_config_map(NS, configmap("a")).metadata.resource_version
    second = create_fd(kube_api_client, "b")["metadata"]["resourceVersion"]
    third = core.patch_namespaced_config_map("a", NS, {"data": {"x": "y"}}).metadata.resource_version

    assert int(first) < int(second) < int(third)


def test_replace_with_stale_resource_version_conflicts_with_api_server_message(
    kube_api_client: client.ApiClient,
) -> None:
    custom = client.CustomObjectsApi(kube_api_client)
    stale = create_fd(kube_api_client, "x")
    custom.patch_namespaced_custom_object(*FLINK, NS, "flinkdeployments", "x", {"spec": {"image": "flink:2"}})

    with pytest.raises(ApiException) as error:
        custom.replace_namespaced_custom_object(*FLINK, NS, "flinkdeployments", "x", stale)

    assert error.value.status == 409
    assert json.loads(error.value.body)["message"] == (
        'Operation cannot be fulfilled on flinkdeployments.flink.apache.org "x": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )


def test_patch_carrying_stale_resource_version_conflicts(kube_api_client: client.ApiClient) -> None:
    core = client.CoreV1Api(kube_api_client)
    stale = core.create_namespaced_config_map(NS, configmap("c")).metadata.resource_version
    core.patch_namespaced_config_map("c", NS, {"data": {"a": "b"}})

    with pytest.raises(ApiException) as error:
        core.patch_namespaced_config_map("c", NS, {"metadata": {"resourceVersion": stale}, "data": {"a": "c"}})

    assert error.value.status == 409
    assert json.loads(error.value.body)["reason"] == "Conflict"


def test_duplicate_create_answers_already_exists(kube_api_client: client.ApiClient) -> None:
    create_fd(kube_api_client, "dup")

    with pytest.raises(ApiException) as error:
        create_fd(kube_api_client, "dup")

    body = json.loads(error.value.body)
    assert (error.value.status, body["reason"]) == (409, "AlreadyExists")
    assert body["message"] == 'flinkdeployments.flink.apache.org "dup" already exists'


def test_generate_name_creates_distinct_names_with_the_prefix(kube_api_client: client.ApiClient) -> None:
    core = client.CoreV1Api(kube_api_client)

    names = {
        core.create_namespaced_config_map(NS, {"metadata": {"generateName": "job-"}}).metadata.name for _ in range(3)
    }

    assert len(names) == 3
    assert all(n.startswith("job-") and len(n) == len("job-") + 5 for n in names)


def test_generation_grows_on_spec_changes_only(kube_api_client: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(kube_api_client)
    create_fd(kube_api_client, "gen")

    labelled = custom.patch_namespaced_custom_object(
        *FLINK, NS, "flinkdeployments", "gen", {"metadata": {"labels": {"a": "b"}}}
    )
    with_status = custom.patch_namespaced_custom_object_status(
        *FLINK, NS, "flinkdeployments", "gen", {"status": {"lifecycleState": "STABLE"}}
    )
    respecced = custom.patch_namespaced_custom_object(
        *FLINK, NS, "flinkdeployments", "gen", {"spec": {"job": {"parallelism": 4}}}
    )

    assert [labelled["metadata"]["generation"], with_status["metadata"]["generation"]] == [1, 1]
    assert respecced["metadata"]["generation"] == 2


def test_deployment_generation_grows_on_template_change(kube_api_client: client.ApiClient) -> None:
    apps = client.AppsV1Api(kube_api_client)
    apps.create_namespaced_deployment(NS, deployment("d"))

    updated = apps.patch_namespaced_deployment("d", NS, {"spec": {"replicas": 3}})

    assert updated.metadata.generation == 2


def test_identical_update_keeps_resource_version(kube_api_client: client.ApiClient) -> None:
    core = client.CoreV1Api(kube_api_client)
    created = core.create_namespaced_config_map(NS, configmap("same"))

    unchanged = core.patch_namespaced_config_map("same", NS, {"data": {"k": "v"}})

    assert unchanged.metadata.resource_version == created.metadata.resource_version


def test_dry_run_validates_without_storing(kube_api_client: client.ApiClient, emulator: KubeEmulator) -> None:
    core = client.CoreV1Api(kube_api_client)

    answered = core.create_namespaced_config_map(NS, configmap("dry"), dry_run="All")

    assert answered.metadata.name == "dry"
    assert emulator.get_object("", "v1", "configmaps", NS, "dry") is None


# ---------------------------------------------------------------------------------------------- selectors

SELECTOR_CASES = [
    ("app=flink", {"a", "b"}),
    ("app==flink,tier=jm", {"a"}),
    ("app!=flink", {"c", "d"}),
    ("tier in (jm,tm)", {"a", "b"}),
    ("tier notin (jm)", {"b", "c", "d"}),
    ("tier", {"a", "b"}),
    ("!tier", {"c", "d"}),
    ("app in (flink,other),!tier", {"c"}),
    ("app=flink,!tier", set()),
    ("app=other,tier notin (x)", {"c"}),
]


@pytest.mark.parametrize(("selector", "expected"), SELECTOR_CASES)
def test_label_selectors_match_like_the_api_server(
    kube_api_client: client.ApiClient, selector: str, expected: set[str]
) -> None:
    core = client.CoreV1Api(kube_api_client)
    labels = {"a": {"app": "flink", "tier": "jm"}, "b": {"app": "flink", "tier": "tm"}, "c": {"app": "other"}, "d": {}}
    for name, value in labels.items():
        core.create_namespaced_config_map(NS, configmap(name, value))

    found = {c.metadata.name for c in core.list_namespaced_config_map(NS, label_selector=selector).items}

    assert found == expected


def test_malformed_label_selector_is_a_bad_request(kube_api_client: client.ApiClient) -> None:
    with pytest.raises(ApiException) as error:
        client.CoreV1Api(kube_api_client).list_namespaced_config_map(NS, label_selector="a in (b")

    assert error.value.status == 400


def test_field_selectors_on_name_namespace_and_event_involved_object(kube_api_client: client.ApiClient) -> None:
    core = client.CoreV1Api(kube_api_client)
    for name, involved in (("e1", "job-a"), ("e2", "job-b")):
        event = {"metadata": {"name": name}, "involvedObject": {"name": involved, "kind": "FlinkDeployment"}}
        core.create_namespaced_event(NS, event)

    by_involved = core.list_namespaced_event(
        NS, field_selector="involvedObject.name=job-b,involvedObject.kind=FlinkDeployment"
    )
    by_name = core.list_event_for_all_namespaces(field_selector="metadata.name!=e2,metadata.namespace=default")

    assert [e.metadata.name for e in by_involved.items] == ["e2"]
    assert [e.metadata.name for e in by_name.items] == ["e1"]


def test_field_selector_on_an_unsupported_field_is_refused(kube_api_client: client.ApiClient) -> None:
    with pytest.raises(ApiException) as error:
        client.CustomObjectsApi(kube_api_client).list_namespaced_custom_object(
            *FLINK, NS, "flinkdeployments", field_selector="spec.image=flink"
        )

    assert error.value.status == 400
    assert json.loads(error.value.body)["message"] == "field label not supported: spec.image"


# ---------------------------------------------------------------------------------------------- patch formats


def test_custom_object_patch_with_a_dict_is_sent_and_applied_as_merge_patch(
    kube_api_client: client.ApiClient, emulator: KubeEmulator
) -> None:
    create_fd(kube_api_client, "mp", args=["a", "b"])

    patched = client.CustomObjectsApi(kube_api_client).patch_namespaced_custom_object(
        *FLINK, NS, "flinkdeployments", "mp", {"spec": {"image": None, "job": {"args": ["c"]}}}
    )

    assert "image" not in patched["spec"]
    assert patched["spec"]["job"]["args"] == ["c"]
    assert emulator.requests[-1].content_type == "application/merge-patch+json"


def test_json_patch_applies_operations_in_order(kube_api_client: client.ApiClient) -> None:
    create_fd(kube_api_client, "jp", args=["a"])
    operations = [
        {"op": "test", "path": "/spec/job/args/0", "value": "a"},
        {"op": "add", "path": "/spec/job/args/-", "value": "b"},
        {"op": "replace", "path": "/spec/image", "value": "flink:2"},
        {"op": "remove", "path": "/spec/job/jarURI"},
    ]

    # The sync client sends custom-object patches as merge patches unless told otherwise.
    patched = client.CustomObjectsApi(kube_api_client).patch_namespaced_custom_object(
        *FLINK, NS, "flinkdeployments", "jp", operations, _content_type="application/json-patch+json"
    )

    assert patched["spec"] == {"image": "flink:2", "job": {"args": ["a", "b"]}}


def test_failing_json_patch_test_operation_is_unprocessable(kube_api_client: client.ApiClient) -> None:
    create_fd(kube_api_client, "jpt")

    status, body, _ = raw_call(
        kube_api_client, "PATCH", "/apis/flink.apache.org/v1beta1/namespaces/default/flinkdeployments/jpt",
        [{"op": "test", "path": "/spec/image", "value": "other"}], "application/json-patch+json",
    )  # fmt: skip

    assert status == 422
    assert "test failed" in body["message"]


def test_kubernetes_asyncio_dict_patch_of_a_custom_object_is_refused_as_a_bad_json_patch(
    emulator: KubeEmulator, kube_api_client: client.ApiClient
) -> None:
    # kubernetes_asyncio labels a dict body for custom objects as a JSON patch; the API server refuses it.
    create_fd(kube_api_client, "jpo")

    async def patch_with_a_dict() -> ApiException:
        async with await async_config.new_client_from_config_dict(emulator.kubeconfig_dict()) as api:
            try:
                await async_client.CustomObjectsApi(api).patch_namespaced_custom_object(
                    *FLINK, NS, "flinkdeployments", "jpo", {"spec": {"image": "x"}}
                )
            except async_client.ApiException as exc:
                return exc
        raise AssertionError("the patch was accepted")

    error = asyncio.run(patch_with_a_dict())

    assert error.status == 400
    assert "cannot unmarshal object" in json.loads(error.body)["message"]
    assert emulator.requests[-1].content_type == "application/json-patch+json"


def test_strategic_merge_patch_merges_containers_by_name(kube_api_client: client.ApiClient) -> None:
    core = client.CoreV1Api(kube_api_client)
    containers = [{"name": "main", "image": "a"}, {"name": "side", "image": "b"}]
    core.create_namespaced_pod(NS, {"metadata": {"name": "p"}, "spec": {"containers": containers}})

    patched = core.patch_namespaced_pod("p", NS, {"spec": {"containers": [{"name": "side", "image": "c"}]}})

    assert [(c.name, c.image) for c in patched.spec.containers] == [("main", "a"), ("side", "c")]


def test_strategic_merge_patch_on_a_custom_resource_is_unsupported_media_type(
    kube_api_client: client.ApiClient,
) -> None:
    create_fd(kube_api_client, "smp")

    status, body, _ = raw_call(
        kube_api_client, "PATCH", "/apis/flink.apache.org/v1beta1/namespaces/default/flinkdeployments/smp",
        {"spec": {"image": "x"}}, "application/strategic-merge-patch+json",
    )  # fmt: skip

    assert status == 415
    assert body["reason"] == "UnsupportedMediaType"


def test_server_side_apply_creates_then_updates(kube_api_client: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(kube_api_client)

    def apply(image: str) -> dict[str, Any]:
        body = flink_deployment("applied")
        body["spec"]["image"] = image
        return custom.patch_namespaced_custom_object(
            *FLINK, NS, "flinkdeployments", "applied", body,
            field_manager="airflow", _content_type="application/apply-patch+yaml",
        )  # fmt: skip

    apply("flink:2.2")  # 201 Created: the client only deserializes 200 answers of a patch
    created = custom.get_namespaced_custom_object(*FLINK, NS, "flinkdeployments", "applied")
    updated = apply("flink:2.3")

    assert created["spec"]["image"] == "flink:2.2"
    assert (updated["spec"]["image"], updated["metadata"]["generation"]) == ("flink:2.3", 2)


def test_server_side_apply_needs_a_field_manager(kube_api_client: client.ApiClient) -> None:
    status, body, _ = raw_call(
        kube_api_client, "PATCH", "/apis/flink.apache.org/v1beta1/namespaces/default/flinkdeployments/x",
        flink_deployment("x"), "application/apply-patch+yaml",
    )  # fmt: skip

    assert status == 422
    assert "fieldManager: Required value" in body["message"]


# ---------------------------------------------------------------------------------------------- status subresource


def test_main_resource_writes_ignore_status(kube_api_client: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(kube_api_client)
    created = create_fd(kube_api_client, "st")
    created["status"] = {"lifecycleState": "STABLE"}

    replaced = custom.replace_namespaced_custom_object(*FLINK, NS, "flinkdeployments", "st", created)
    patched = custom.patch_namespaced_custom_object(
        *FLINK, NS, "flinkdeployments", "st", {"status": {"lifecycleState": "FAILED"}}
    )

    assert "status" not in replaced
    assert "status" not in patched


def test_status_writes_change_only_status(kube_api_client: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(kube_api_client)
    created = create_fd(kube_api_client, "st2")
    created["spec"]["image"] = "changed"
    created["status"] = {"jobStatus": {"state": "RUNNING"}}

    replaced = custom.replace_namespaced_custom_object_status(*FLINK, NS, "flinkdeployments", "st2", created)

    assert replaced["status"] == {"jobStatus": {"state": "RUNNING"}}
    assert replaced["spec"]["image"] == "flink:2.3"
    assert replaced["metadata"]["generation"] == 1


def test_create_drops_status_of_kinds_with_a_status_subresource(kube_api_client: client.ApiClient) -> None:
    manifest = flink_deployment("st3")
    manifest["status"] = {"lifecycleState": "STABLE"}

    created = client.CustomObjectsApi(kube_api_client).create_namespaced_custom_object(
        *FLINK, NS, "flinkdeployments", manifest
    )

    assert "status" not in created


def test_pod_status_is_written_through_the_status_subresource(kube_api_client: client.ApiClient) -> None:
    core = client.CoreV1Api(kube_api_client)
    core.create_namespaced_pod(NS, {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i"}]}})

    pending = core.read_namespaced_pod("p", NS).status.phase
    core.patch_namespaced_pod_status("p", NS, {"status": {"phase": "Running"}})

    assert pending == "Pending"
    assert core.read_namespaced_pod("p", NS).status.phase == "Running"


# ---------------------------------------------------------------------------------------------- finalizers


def test_finalizer_keeps_object_until_the_last_finalizer_is_removed(kube_api_client: client.ApiClient) -> None:
    core = client.CoreV1Api(kube_api_client)
    core.create_namespaced_config_map(NS, configmap("f", finalizers=["a/x", "b/y"]))

    core.delete_namespaced_config_map("f", NS)
    deleting = core.read_namespaced_config_map("f", NS)
    # metadata.finalizers merges as a set under a strategic merge patch: remove by JSON patch.
    core.patch_namespaced_config_map("f", NS, [{"op": "remove", "path": "/metadata/finalizers/0"}])
    still_there = core.read_namespaced_config_map("f", NS)
    core.patch_namespaced_config_map("f", NS, {"metadata": {"finalizers": None}})

    assert deleting.metadata.deletion_timestamp is not None
    assert still_there.metadata.finalizers == ["b/y"]
    with pytest.raises(ApiException) as gone:
        core.read_namespaced_config_map("f", NS)
    assert gone.value.status == 404


def test_new_finalizers_cannot_be_added_to_a_deleting_object(kube_api_client: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(kube_api_client)
    manifest = flink_deployment("fin")
    manifest["metadata"]["finalizers"] = ["flinkdeployments.flink.apache.org/finalizer"]
    custom.create_namespaced_custom_object(*FLINK, NS, "flinkdeployments", manifest)
    custom.delete_namespaced_custom_object(*FLINK, NS, "flinkdeployments", "fin")

    with pytest.raises(ApiException) as error:
        custom.patch_namespaced_custom_object(
            *FLINK, NS, "flinkdeployments", "fin",
            {"metadata": {"finalizers": ["flinkdeployments.flink.apache.org/finalizer", "other/x"]}},
        )  # fmt: skip

    assert error.value.status == 422
    assert "no new finalizers can be added if the object is being deleted" in json.loads(error.value.body)["message"]


# ---------------------------------------------------------------------------------------------- ownerReferences


def make_owned_family(kube_api_client: client.ApiClient) -> str:
    """A Deployment owning a Service, a ConfigMap and a Pod; returns the Deployment's uid."""
    apps, core = client.AppsV1Api(kube_api_client), client.CoreV1Api(kube_api_client)
    owner = apps.create_namespaced_deployment(NS, deployment("owner"))
    ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "owner", "uid": owner.metadata.uid,
           "controller": True, "blockOwnerDeletion": True}  # fmt: skip
    core.create_namespaced_service(NS, {"metadata": {"name": "svc", "ownerReferences": [ref]}})
    core.create_namespaced_config_map(NS, configmap("cfg", ownerReferences=[ref]))
    pod_spec = {"containers": [{"name": "c", "image": "i"}]}
    core.create_namespaced_pod(NS, {"metadata": {"name": "pod", "ownerReferences": [ref]}, "spec": pod_spec})
    core.create_namespaced_config_map(NS, configmap("unrelated"))
    return owner.metadata.uid


def remaining(emulator: KubeEmulator) -> set[str]:
    kinds = (("apps", "v1", "deployments"), ("", "v1", "services"), ("", "v1", "configmaps"), ("", "v1", "pods"))
    return {o["metadata"]["name"] for kind in kinds for o in emulator.list_objects(*kind, namespace=NS)}


@pytest.mark.parametrize("policy", ["Foreground", "Background", None])
def test_deleting_an_owner_cascades_to_its_dependents(
    kube_api_client: client.ApiClient, emulator: KubeEmulator, policy: str | None
) -> None:
    make_owned_family(kube_api_client)

    client.AppsV1Api(kube_api_client).delete_namespaced_deployment("owner", NS, propagation_policy=policy)

    assert remaining(emulator) == {"unrelated"}


def test_foreground_deletion_keeps_the_owner_until_dependents_are_gone(
    kube_api_client: client.ApiClient, emulator: KubeEmulator
) -> None:
    core = client.CoreV1Api(kube_api_client)
    make_owned_family(kube_api_client)
    core.patch_namespaced_config_map("cfg", NS, {"metadata": {"finalizers": ["hold/it"]}})

    client.AppsV1Api(kube_api_client).delete_namespaced_deployment("owner", NS, propagation_policy="Foreground")
    while_blocked = remaining(emulator)
    core.patch_namespaced_config_map("cfg", NS, {"metadata": {"finalizers": None}})

    assert while_blocked == {"owner", "cfg", "unrelated"}
    assert remaining(emulator) == {"unrelated"}


def test_orphan_deletion_keeps_dependents_without_the_owner_reference(
    kube_api_client: client.ApiClient, emulator: KubeEmulator
) -> None:
    make_owned_family(kube_api_client)

    client.AppsV1Api(kube_api_client).delete_namespaced_deployment("owner", NS, propagation_policy="Orphan")

    assert remaining(emulator) == {"svc", "cfg", "pod", "unrelated"}
    assert client.CoreV1Api(kube_api_client).read_namespaced_service("svc", NS).metadata.owner_references is None


def test_objects_whose_owner_does_not_exist_are_garbage_collected(
    kube_api_client: client.ApiClient, emulator: KubeEmulator
) -> None:
    ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "ghost", "uid": "00000000-dead"}

    client.CoreV1Api(kube_api_client).create_namespaced_config_map(NS, configmap("orphan", ownerReferences=[ref]))

    assert emulator.get_object("", "v1", "configmaps", NS, "orphan") is None
