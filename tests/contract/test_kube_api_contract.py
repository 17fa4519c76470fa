"""
What the provider relies on from a Kubernetes API server, written once and run against every backend
(the in-repo emulator and the real kube-apiserver + kube-controller-manager), through the official
``kubernetes`` client.

Where the emulator knowingly differs, its package docstring says so and the test names the
difference; everything else must hold on both.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

GROUP, VERSION = "flink.apache.org", "v1beta1"

BODIES: dict[str, dict[str, Any]] = {
    "flinkdeployments": {
        "kind": "FlinkDeployment",
        "spec": {
            "image": "flink:2.2",
            "flinkVersion": "v2_2",
            "serviceAccount": "flink",
            "jobManager": {"resource": {"memory": "1024m", "cpu": 1}},
            "taskManager": {"resource": {"memory": "1024m", "cpu": 1}},
            "job": {"jarURI": "local:///opt/flink/examples/streaming/WordCount.jar", "upgradeMode": "stateless"},
        },
    },
    "flinksessionjobs": {
        "kind": "FlinkSessionJob",
        "spec": {"deploymentName": "session", "job": {"jarURI": "https://example.invalid/job.jar"}},
    },
    "flinkstatesnapshots": {
        "kind": "FlinkStateSnapshot",
        "spec": {"savepoint": {"disposeOnDelete": True}, "jobReference": {"kind": "FlinkDeployment", "name": "x"}},
    },
}


def body(plural: str, name: str, **labels: str) -> dict[str, Any]:
    obj = json.loads(json.dumps(BODIES[plural]))
    obj["apiVersion"] = f"{GROUP}/{VERSION}"
    obj["metadata"] = {"name": name, "labels": labels}
    return obj


@pytest.fixture
def api(kube_backend: Any) -> Iterator[client.ApiClient]:
    api_client = config.new_client_from_config_dict(kube_backend.admin_kubeconfig())
    try:
        yield api_client
    finally:
        api_client.close()


@pytest.fixture
def ns(kube_backend: Any) -> str:
    return str(kube_backend.namespace)


@pytest.fixture
def crs(api: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api)


def create(crs: client.CustomObjectsApi, ns: str, plural: str, name: str, **labels: str) -> dict[str, Any]:
    return crs.create_namespaced_custom_object(GROUP, VERSION, ns, plural, body(plural, name, **labels))


def get(crs: client.CustomObjectsApi, ns: str, name: str, plural: str = "flinkdeployments") -> dict[str, Any]:
    return crs.get_namespaced_custom_object(GROUP, VERSION, ns, plural, name)


def gone(read: Callable[[], Any]) -> bool:
    try:
        read()
    except ApiException as err:
        if err.status == 404:
            return True
        raise
    return False


def eventually(predicate: Callable[[], bool], timeout: float = 30, what: str = "condition") -> None:
    """Garbage collection and finalizer removal happen a moment later on a real cluster."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {timeout}s")
        time.sleep(0.1)


def raw_call(
    api: client.ApiClient, method: str, path: str, payload: Any, content_type: str = "application/json"
) -> Any:
    """One request through the client with a chosen content type; the raw response (status, headers, data)."""
    return api.call_api(
        path,
        method,
        header_params={"Content-Type": content_type, "Accept": "application/json"},
        body=payload,
        auth_settings=["BearerToken"],
        _preload_content=False,
        _return_http_data_only=True,
    )


def api_error(call: Callable[[], Any]) -> tuple[int, dict[str, Any]]:
    with pytest.raises(ApiException) as info:
        call()
    try:
        status = json.loads(info.value.body)
    except (TypeError, ValueError):
        status = {"message": info.value.body}
    return int(info.value.status), status


# ------------------------------------------------------------------------------------------ CRUD


@pytest.mark.parametrize("plural", sorted(BODIES))
def test_custom_resource_crud_round_trip(crs: client.CustomObjectsApi, ns: str, plural: str) -> None:
    created = create(crs, ns, plural, "crud")
    meta = created["metadata"]
    assert meta["generation"] == 1 and meta["uid"] and meta["resourceVersion"] and meta["creationTimestamp"]
    assert meta["namespace"] == ns

    read = crs.get_namespaced_custom_object(GROUP, VERSION, ns, plural, "crud")
    listed = crs.list_namespaced_custom_object(GROUP, VERSION, ns, plural)
    assert read == created
    assert [item["metadata"]["name"] for item in listed["items"]] == ["crud"]
    assert int(listed["metadata"]["resourceVersion"]) >= int(meta["resourceVersion"])

    read["metadata"]["labels"] = {"changed": "yes"}
    replaced = crs.replace_namespaced_custom_object(GROUP, VERSION, ns, plural, "crud", read)
    assert replaced["metadata"]["labels"] == {"changed": "yes"}
    assert int(replaced["metadata"]["resourceVersion"]) > int(meta["resourceVersion"])

    status, answer = api_error(lambda: create(crs, ns, plural, "crud"))
    assert (status, answer["reason"]) == (409, "AlreadyExists")

    crs.delete_namespaced_custom_object(GROUP, VERSION, ns, plural, "crud")
    assert gone(lambda: crs.get_namespaced_custom_object(GROUP, VERSION, ns, plural, "crud"))
    status, answer = api_error(lambda: crs.delete_namespaced_custom_object(GROUP, VERSION, ns, plural, "crud"))
    assert (status, answer["reason"]) == (404, "NotFound")


def test_generate_name_gives_a_unique_name(crs: client.CustomObjectsApi, ns: str) -> None:
    obj = body("flinkdeployments", "")
    obj["metadata"] = {"generateName": "gen-"}

    first = crs.create_namespaced_custom_object(GROUP, VERSION, ns, "flinkdeployments", obj)
    second = crs.create_namespaced_custom_object(GROUP, VERSION, ns, "flinkdeployments", obj)

    assert first["metadata"]["name"].startswith("gen-") and second["metadata"]["name"].startswith("gen-")
    assert first["metadata"]["name"] != second["metadata"]["name"]


# ------------------------------------------------------------------- status subresource, generation


def test_spec_change_bumps_generation_and_metadata_or_status_change_does_not(
    crs: client.CustomObjectsApi, ns: str
) -> None:
    create(crs, ns, "flinkdeployments", "gen")

    crs.patch_namespaced_custom_object(
        GROUP, VERSION, ns, "flinkdeployments", "gen", {"metadata": {"labels": {"a": "b"}}}
    )
    after_label = get(crs, ns, "gen")
    crs.patch_namespaced_custom_object_status(
        GROUP, VERSION, ns, "flinkdeployments", "gen", {"status": {"lifecycleState": "DEPLOYED"}}
    )
    after_status = get(crs, ns, "gen")
    crs.patch_namespaced_custom_object(GROUP, VERSION, ns, "flinkdeployments", "gen", {"spec": {"image": "flink:2.1"}})
    after_spec = get(crs, ns, "gen")

    assert after_label["metadata"]["generation"] == 1
    assert after_status["metadata"]["generation"] == 1
    assert after_spec["metadata"]["generation"] == 2


def test_main_resource_ignores_status_and_status_subresource_ignores_spec(
    crs: client.CustomObjectsApi, ns: str
) -> None:
    obj = body("flinkdeployments", "sub")
    obj["status"] = {"lifecycleState": "STABLE"}
    created = crs.create_namespaced_custom_object(GROUP, VERSION, ns, "flinkdeployments", obj)
    assert "status" not in created or not created["status"]

    created["status"] = {"lifecycleState": "DEPLOYED"}
    created["spec"]["image"] = "flink:2.1"
    via_status = crs.replace_namespaced_custom_object_status(GROUP, VERSION, ns, "flinkdeployments", "sub", created)

    assert via_status["status"] == {"lifecycleState": "DEPLOYED"}
    assert via_status["spec"]["image"] == "flink:2.2"
    assert via_status["metadata"]["generation"] == 1


# ------------------------------------------------------------------------ conflicts and patches


def test_update_with_a_stale_resource_version_is_a_409_conflict(crs: client.CustomObjectsApi, ns: str) -> None:
    stale = create(crs, ns, "flinkdeployments", "conflict")
    crs.patch_namespaced_custom_object(
        GROUP, VERSION, ns, "flinkdeployments", "conflict", {"metadata": {"labels": {"x": "1"}}}
    )

    stale["spec"]["image"] = "flink:2.1"
    status, answer = api_error(
        lambda: crs.replace_namespaced_custom_object(GROUP, VERSION, ns, "flinkdeployments", "conflict", stale)
    )

    assert (status, answer["reason"]) == (409, "Conflict")
    assert "the object has been modified" in answer["message"]


def test_update_of_a_custom_resource_without_resource_version_is_refused(crs: client.CustomObjectsApi, ns: str) -> None:
    obj = create(crs, ns, "flinkdeployments", "no-rv")
    del obj["metadata"]["resourceVersion"]

    status, answer = api_error(
        lambda: crs.replace_namespaced_custom_object(GROUP, VERSION, ns, "flinkdeployments", "no-rv", obj)
    )

    assert (status, answer["reason"]) == (422, "Invalid")
    assert answer["message"] == (
        'flinkdeployments.flink.apache.org "no-rv" is invalid: '
        "metadata.resourceVersion: Invalid value: 0: must be specified for an update"
    )
    assert [c["field"] for c in answer["details"]["causes"]] == ["metadata.resourceVersion"]


def test_merge_patch_and_json_patch_on_a_custom_resource(
    api: client.ApiClient, ns: str, crs: client.CustomObjectsApi
) -> None:
    create(crs, ns, "flinkdeployments", "patch")
    path = f"/apis/{GROUP}/{VERSION}/namespaces/{ns}/flinkdeployments/patch"

    def patch(content_type: str, patch_body: Any) -> dict[str, Any]:
        return json.loads(raw_call(api, "PATCH", path, patch_body, content_type).data)

    merged = patch("application/merge-patch+json", {"spec": {"job": {"parallelism": 3}, "image": None}})
    assert merged["spec"]["job"]["parallelism"] == 3 and "image" not in merged["spec"]
    assert merged["spec"]["job"]["upgradeMode"] == "stateless"

    patched = patch(
        "application/json-patch+json",
        [
            {"op": "replace", "path": "/spec/job/parallelism", "value": 4},
            {"op": "add", "path": "/spec/image", "value": "flink:2.1"},
        ],
    )
    assert patched["spec"]["job"]["parallelism"] == 4 and patched["spec"]["image"] == "flink:2.1"

    with pytest.raises(ApiException) as failed_test:
        patch("application/json-patch+json", [{"op": "test", "path": "/spec/image", "value": "other"}])
    assert failed_test.value.status == 422

    with pytest.raises(ApiException) as strategic:
        patch("application/strategic-merge-patch+json", {"spec": {"image": "flink:2.0"}})
    assert strategic.value.status == 415


# ------------------------------------------------------------------------------ list and watch


def watch_events(crs: client.CustomObjectsApi, ns: str, seconds: int = 2, **kwargs: Any) -> list[tuple[str, str]]:
    """(type, name) of each event of a FlinkDeployment watch, until the server ends it."""
    seen = []
    stream = watch.Watch().stream(
        crs.list_namespaced_custom_object, GROUP, VERSION, ns, "flinkdeployments", timeout_seconds=seconds, **kwargs
    )
    for event in stream:
        seen.append((event["type"], event["raw_object"]["metadata"].get("name", "")))
    return seen


def test_watch_from_a_list_resource_version_resumes_with_later_changes_in_order(
    crs: client.CustomObjectsApi, ns: str
) -> None:
    create(crs, ns, "flinkdeployments", "a")
    list_rv = crs.list_namespaced_custom_object(GROUP, VERSION, ns, "flinkdeployments")["metadata"]["resourceVersion"]
    crs.patch_namespaced_custom_object_status(
        GROUP, VERSION, ns, "flinkdeployments", "a", {"status": {"lifecycleState": "DEPLOYED"}}
    )
    create(crs, ns, "flinkdeployments", "b")
    crs.delete_namespaced_custom_object(GROUP, VERSION, ns, "flinkdeployments", "a")

    seen = watch_events(crs, ns, resource_version=list_rv)

    assert seen == [("MODIFIED", "a"), ("ADDED", "b"), ("DELETED", "a")]


def test_watch_without_resource_version_starts_with_every_existing_object(
    crs: client.CustomObjectsApi, ns: str
) -> None:
    create(crs, ns, "flinkdeployments", "one")
    create(crs, ns, "flinkdeployments", "two")

    seen = watch_events(crs, ns)

    assert sorted(seen) == [("ADDED", "one"), ("ADDED", "two")]


def test_watch_with_bookmarks_sends_a_bookmark_carrying_a_resource_version(
    api: client.ApiClient, ns: str, crs: client.CustomObjectsApi
) -> None:
    """A real server sends its first bookmark about a minute into a watch (the emulator every 0.5 s here)."""
    create(crs, ns, "flinkdeployments", "marked")
    list_rv = crs.list_namespaced_custom_object(GROUP, VERSION, ns, "flinkdeployments")["metadata"]["resourceVersion"]

    bookmark = None
    watcher = watch.Watch()
    for event in watcher.stream(
        crs.list_namespaced_custom_object,
        GROUP,
        VERSION,
        ns,
        "flinkdeployments",
        resource_version=list_rv,
        allow_watch_bookmarks=True,
        timeout_seconds=75,
    ):
        if event["type"] == "BOOKMARK":
            bookmark = event["raw_object"]
            watcher.stop()

    assert bookmark is not None, "no BOOKMARK event before the server ended the watch"
    assert int(bookmark["metadata"]["resourceVersion"]) >= int(list_rv)
    assert bookmark["kind"] == "FlinkDeployment" and bookmark["apiVersion"] == f"{GROUP}/{VERSION}"


def test_watch_from_a_compacted_resource_version_is_410_gone(
    kube_backend: Any, crs: client.CustomObjectsApi, ns: str
) -> None:
    old_rv = create(crs, ns, "flinkdeployments", "old")["metadata"]["resourceVersion"]
    for i in range(3):
        crs.patch_namespaced_custom_object(
            GROUP, VERSION, ns, "flinkdeployments", "old", {"metadata": {"labels": {"i": str(i)}}}
        )
    kube_backend.compact()

    with pytest.raises(ApiException) as info:
        watch_events(crs, ns, resource_version=old_rv)

    assert info.value.status == 410


def test_label_selectors_select_like_the_api_server(crs: client.CustomObjectsApi, ns: str) -> None:
    create(crs, ns, "flinkdeployments", "blue", team="a", tier="batch")
    create(crs, ns, "flinkdeployments", "green", team="b", tier="stream")
    create(crs, ns, "flinkdeployments", "plain")

    def names(selector: str) -> list[str]:
        items = crs.list_namespaced_custom_object(GROUP, VERSION, ns, "flinkdeployments", label_selector=selector)
        return sorted(item["metadata"]["name"] for item in items["items"])

    assert names("team=a") == ["blue"]
    assert names("team!=a") == ["green", "plain"]
    assert names("team in (a,b)") == ["blue", "green"]
    assert names("team notin (a)") == ["green", "plain"]
    assert names("tier") == ["blue", "green"]
    assert names("!tier") == ["plain"]
    assert names("team=a,tier=stream") == []


def test_field_selectors_on_custom_resources_are_limited_to_name_and_namespace(
    crs: client.CustomObjectsApi, ns: str
) -> None:
    create(crs, ns, "flinkdeployments", "first")
    create(crs, ns, "flinkdeployments", "second")

    items = crs.list_namespaced_custom_object(
        GROUP, VERSION, ns, "flinkdeployments", field_selector="metadata.name=second"
    )
    status, answer = api_error(
        lambda: crs.list_namespaced_custom_object(
            GROUP, VERSION, ns, "flinkdeployments", field_selector="status.lifecycleState=STABLE"
        )
    )

    assert [i["metadata"]["name"] for i in items["items"]] == ["second"]
    assert (status, answer["reason"]) == (400, "BadRequest")
    assert answer["message"] == "field label not supported: status.lifecycleState"


# ------------------------------------------------------------------------- deletion and the GC


def test_finalizer_holds_a_deleted_object_until_it_is_removed(crs: client.CustomObjectsApi, ns: str) -> None:
    obj = body("flinkdeployments", "held")
    obj["metadata"]["finalizers"] = ["flinkdeployments.flink.apache.org/finalizer"]
    crs.create_namespaced_custom_object(GROUP, VERSION, ns, "flinkdeployments", obj)

    crs.delete_namespaced_custom_object(GROUP, VERSION, ns, "flinkdeployments", "held")
    held = get(crs, ns, "held")
    crs.patch_namespaced_custom_object(
        GROUP, VERSION, ns, "flinkdeployments", "held", {"metadata": {"finalizers": None}}
    )

    assert held["metadata"]["deletionTimestamp"]
    assert held["metadata"]["finalizers"] == ["flinkdeployments.flink.apache.org/finalizer"]
    eventually(lambda: gone(lambda: get(crs, ns, "held")), what="deletion after the finalizer was removed")


def owned_config_map(api: client.ApiClient, ns: str, owner: dict[str, Any], name: str) -> None:
    reference = {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "blockOwnerDeletion": True,
    }
    client.CoreV1Api(api).create_namespaced_config_map(
        ns, {"metadata": {"name": name, "ownerReferences": [reference]}, "data": {"k": "v"}}
    )


@pytest.mark.parametrize("policy", ["Background", "Foreground", "Orphan"])
def test_cascading_deletion_of_a_custom_resource_by_propagation_policy(
    api: client.ApiClient, crs: client.CustomObjectsApi, ns: str, policy: str
) -> None:
    owner = create(crs, ns, "flinkdeployments", "owner")
    owned_config_map(api, ns, owner, "dependent")
    core = client.CoreV1Api(api)

    crs.delete_namespaced_custom_object(
        GROUP, VERSION, ns, "flinkdeployments", "owner", body=client.V1DeleteOptions(propagation_policy=policy)
    )

    eventually(lambda: gone(lambda: get(crs, ns, "owner")), what="owner deleted")
    if policy == "Orphan":
        time.sleep(1)  # give a garbage collector the moment it would need to delete the dependent wrongly
        dependent = core.read_namespaced_config_map("dependent", ns)
        assert not dependent.metadata.owner_references
    else:
        eventually(lambda: gone(lambda: core.read_namespaced_config_map("dependent", ns)), what="dependent deleted")


def test_foreground_deletion_keeps_the_owner_until_its_dependents_are_gone(
    api: client.ApiClient, crs: client.CustomObjectsApi, ns: str
) -> None:
    owner = create(crs, ns, "flinkdeployments", "fg-owner")
    obj = body("flinkstatesnapshots", "fg-dependent")
    obj["metadata"]["finalizers"] = ["test/hold"]
    obj["metadata"]["ownerReferences"] = [
        {
            "apiVersion": owner["apiVersion"],
            "kind": owner["kind"],
            "name": "fg-owner",
            "uid": owner["metadata"]["uid"],
            "blockOwnerDeletion": True,
        }
    ]
    crs.create_namespaced_custom_object(GROUP, VERSION, ns, "flinkstatesnapshots", obj)

    crs.delete_namespaced_custom_object(
        GROUP, VERSION, ns, "flinkdeployments", "fg-owner", body=client.V1DeleteOptions(propagation_policy="Foreground")
    )
    eventually(
        lambda: bool(get(crs, ns, "fg-dependent", "flinkstatesnapshots")["metadata"].get("deletionTimestamp")),
        what="dependent marked for deletion",
    )
    waiting_owner = get(crs, ns, "fg-owner")
    crs.patch_namespaced_custom_object(
        GROUP, VERSION, ns, "flinkstatesnapshots", "fg-dependent", {"metadata": {"finalizers": None}}
    )

    assert waiting_owner["metadata"]["deletionTimestamp"]
    assert "foregroundDeletion" in waiting_owner["metadata"]["finalizers"]
    eventually(lambda: gone(lambda: get(crs, ns, "fg-owner")), what="owner deleted after its dependent")


# -------------------------------------------------------------------------- schema validation


def test_schema_error_is_422_invalid_naming_the_field(crs: client.CustomObjectsApi, ns: str) -> None:
    obj = body("flinkdeployments", "bad")
    obj["spec"]["job"]["upgradeMode"] = "sometimes"

    status, answer = api_error(lambda: crs.create_namespaced_custom_object(GROUP, VERSION, ns, "flinkdeployments", obj))

    assert (status, answer["reason"]) == (422, "Invalid")
    assert answer["details"]["kind"] == "FlinkDeployment" and answer["details"]["name"] == "bad"
    causes = answer["details"]["causes"]
    assert [c["field"] for c in causes] == ["spec.job.upgradeMode"]
    assert causes[0]["reason"] == "FieldValueNotSupported"
    assert 'Unsupported value: "sometimes"' in causes[0]["message"]
    assert answer["message"].startswith('FlinkDeployment.flink.apache.org "bad" is invalid: spec.job.upgradeMode')


def test_flink_version_outside_the_crd_enum_is_refused(crs: client.CustomObjectsApi, ns: str) -> None:
    obj = body("flinkdeployments", "v23")
    obj["spec"]["flinkVersion"] = "v2_3"

    status, answer = api_error(lambda: crs.create_namespaced_custom_object(GROUP, VERSION, ns, "flinkdeployments", obj))

    assert status == 422
    assert [c["field"] for c in answer["details"]["causes"]] == ["spec.flinkVersion"]


def test_wrong_type_is_422_naming_the_field_and_type(crs: client.CustomObjectsApi, ns: str) -> None:
    obj = body("flinkdeployments", "typed")
    obj["spec"]["job"]["parallelism"] = "three"

    status, answer = api_error(lambda: crs.create_namespaced_custom_object(GROUP, VERSION, ns, "flinkdeployments", obj))

    assert status == 422
    cause = answer["details"]["causes"][0]
    assert (cause["field"], cause["reason"]) == ("spec.job.parallelism", "FieldValueTypeInvalid")
    assert 'Invalid value: "string": spec.job.parallelism in body must be of type integer: "string"' in cause["message"]


def test_unknown_fields_are_pruned_with_a_warning_by_default(api: client.ApiClient, ns: str) -> None:
    obj = body("flinkdeployments", "unknown")
    obj["spec"]["notAField"] = 1
    obj["spec"]["job"]["alsoUnknown"] = "x"

    answer = raw_call(api, "POST", f"/apis/{GROUP}/{VERSION}/namespaces/{ns}/flinkdeployments", obj)
    created = json.loads(answer.data)
    warnings = [
        w.replace('\\"', '"') for w in re.findall(r'299 - "((?:[^"\\]|\\.)*)"', answer.headers.get("Warning", ""))
    ]

    assert "notAField" not in created["spec"] and "alsoUnknown" not in created["spec"]["job"]
    assert sorted(warnings) == ['unknown field "spec.job.alsoUnknown"', 'unknown field "spec.notAField"']


def test_unknown_fields_under_strict_field_validation_are_refused(crs: client.CustomObjectsApi, ns: str) -> None:
    obj = body("flinkdeployments", "strict")
    obj["spec"]["notAField"] = 1

    status, answer = api_error(
        lambda: crs.create_namespaced_custom_object(
            GROUP, VERSION, ns, "flinkdeployments", obj, field_validation="Strict"
        )
    )

    assert (status, answer["reason"]) == (400, "BadRequest")
    assert 'strict decoding error: unknown field "spec.notAField"' in answer["message"]
    assert gone(lambda: get(crs, ns, "strict"))


# -------------------------------------------------------------------------------------- events


def test_events_are_listed_by_involved_object(api: client.ApiClient, ns: str, crs: client.CustomObjectsApi) -> None:
    owner = create(crs, ns, "flinkdeployments", "evented")
    core = client.CoreV1Api(api)
    for name, reason in (("evented", "JobStatusChanged"), ("other", "Unrelated")):
        core.create_namespaced_event(
            ns,
            {
                "metadata": {"generateName": f"{name}."},
                "involvedObject": {
                    "apiVersion": owner["apiVersion"],
                    "kind": "FlinkDeployment",
                    "name": name,
                    "namespace": ns,
                    "uid": owner["metadata"]["uid"],
                },
                "reason": reason,
                "message": f"{reason} happened",
                "type": "Normal",
                "firstTimestamp": "2026-12-03T10:00:00Z",
                "lastTimestamp": "2026-12-03T10:00:00Z",
                "count": 1,
                "source": {"component": "contract-test"},
            },
        )

    events = core.list_namespaced_event(
        ns, field_selector="involvedObject.kind=FlinkDeployment,involvedObject.name=evented"
    ).items

    assert [(e.reason, e.message) for e in events] == [("JobStatusChanged", "JobStatusChanged happened")]
