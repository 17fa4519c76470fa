"""Validation of writes: CRD schemas, unknown fields, object names and labels."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from airflow_provider_flink.testing.kube_emulator import KubeEmulator

FLINK = ("flink.apache.org", "v1beta1")
NS = "default"
FD_PATH = "/apis/flink.apache.org/v1beta1/namespaces/default/flinkdeployments"


def flink_deployment(name: str, job: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "flink.apache.org/v1beta1",
        "kind": "FlinkDeployment",
        "metadata": {"name": name},
        "spec": {"image": "flink:2.3", "job": {"jarURI": "local:///job.jar", **(job or {})}, **spec},
    }


def create_fd(api: client.ApiClient, body: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return client.CustomObjectsApi(api).create_namespaced_custom_object(*FLINK, NS, "flinkdeployments", body, **kwargs)


def status_of(error: pytest.ExceptionInfo[ApiException]) -> dict[str, Any]:
    return json.loads(error.value.body)


def test_enum_violation_is_invalid_with_the_api_server_message(kube_api_client: client.ApiClient) -> None:
    with pytest.raises(ApiException) as error:
        create_fd(kube_api_client, flink_deployment("bad", job={"upgradeMode": "foo"}))

    body = status_of(error)
    assert (error.value.status, body["reason"]) == (422, "Invalid")
    assert body["message"] == (
        'FlinkDeployment.flink.apache.org "bad" is invalid: spec.job.upgradeMode: Unsupported value: "foo": '
        'supported values: "last-state", "savepoint", "stateless"'
    )
    assert body["details"]["causes"] == [
        {
            "reason": "FieldValueNotSupported",
            "message": 'Unsupported value: "foo": supported values: "last-state", "savepoint", "stateless"',
            "field": "spec.job.upgradeMode",
        }
    ]


def test_every_violation_is_listed_as_a_cause(kube_api_client: client.ApiClient) -> None:
    body = flink_deployment("bad", job={"parallelism": "two", "state": "paused"}, flinkVersion="v9")

    with pytest.raises(ApiException) as error:
        create_fd(kube_api_client, body)

    causes = {(c["field"], c["reason"]) for c in status_of(error)["details"]["causes"]}
    assert causes == {
        ("spec.job.parallelism", "FieldValueTypeInvalid"),
        ("spec.job.state", "FieldValueNotSupported"),
        ("spec.flinkVersion", "FieldValueNotSupported"),
    }


def test_invalid_object_is_not_stored(kube_api_client: client.ApiClient, emulator: KubeEmulator) -> None:
    with pytest.raises(ApiException):
        create_fd(kube_api_client, flink_deployment("bad", job={"upgradeMode": "foo"}))

    assert emulator.get_object(*FLINK, "flinkdeployments", NS, "bad") is None


def test_replace_is_validated(kube_api_client: client.ApiClient) -> None:
    created = create_fd(kube_api_client, flink_deployment("fd"))
    created["spec"]["jobManager"] = {"replicas": "one"}

    with pytest.raises(ApiException) as error:
        client.CustomObjectsApi(kube_api_client).replace_namespaced_custom_object(
            *FLINK, NS, "flinkdeployments", "fd", created
        )

    assert error.value.status == 422
    assert status_of(error)["details"]["causes"][0]["field"] == "spec.jobManager.replicas"


def test_patch_result_is_validated_and_the_stored_object_kept(
    kube_api_client: client.ApiClient, emulator: KubeEmulator
) -> None:
    create_fd(kube_api_client, flink_deployment("fd"))

    with pytest.raises(ApiException) as error:
        client.CustomObjectsApi(kube_api_client).patch_namespaced_custom_object(
            *FLINK, NS, "flinkdeployments", "fd", {"spec": {"job": {"state": "paused"}}}
        )

    assert error.value.status == 422
    stored = emulator.get_object(*FLINK, "flinkdeployments", NS, "fd")
    assert stored is not None and "state" not in stored["spec"]["job"]


def test_status_writes_are_validated_against_the_status_schema(kube_api_client: client.ApiClient) -> None:
    create_fd(kube_api_client, flink_deployment("fd"))

    with pytest.raises(ApiException) as error:
        client.CustomObjectsApi(kube_api_client).patch_namespaced_custom_object_status(
            *FLINK, NS, "flinkdeployments", "fd", {"status": {"jobManagerDeploymentStatus": "SLEEPING"}}
        )

    assert error.value.status == 422
    assert status_of(error)["details"]["causes"][0]["field"] == "status.jobManagerDeploymentStatus"


def test_unknown_fields_are_pruned_with_a_warning_by_default(kube_api_client: client.ApiClient) -> None:
    body = flink_deployment("fd", job={"bogus": 1}, podTemplate={"spec": {"containers": [{"name": "c", "x": 1}]}})

    created, _, headers = client.CustomObjectsApi(kube_api_client).create_namespaced_custom_object_with_http_info(
        *FLINK, NS, "flinkdeployments", body
    )

    assert "bogus" not in created["spec"]["job"]
    assert created["spec"]["podTemplate"]["spec"]["containers"] == [{"name": "c"}]
    assert headers["Warning"] == (
        '299 - "unknown field \\"spec.job.bogus\\"", 299 - "unknown field \\"spec.podTemplate.spec.containers[0].x\\""'
    )


def test_unknown_fields_below_preserve_unknown_fields_are_kept(kube_api_client: client.ApiClient) -> None:
    configuration = {"taskmanager.numberOfTaskSlots": "2", "nested": {"any": ["thing"]}}

    created = create_fd(kube_api_client, flink_deployment("fd", flinkConfiguration=configuration))

    assert created["spec"]["flinkConfiguration"] == configuration


def test_strict_field_validation_refuses_unknown_fields_on_create(kube_api_client: client.ApiClient) -> None:
    with pytest.raises(ApiException) as error:
        create_fd(kube_api_client, flink_deployment("fd", job={"bogus": 1}), field_validation="Strict")

    assert error.value.status == 400
    assert status_of(error)["message"] == (
        'FlinkDeployment in version "v1beta1" cannot be handled as a FlinkDeployment: '
        'strict decoding error: unknown field "spec.job.bogus"'
    )


def test_strict_field_validation_refuses_unknown_fields_on_patch(kube_api_client: client.ApiClient) -> None:
    create_fd(kube_api_client, flink_deployment("fd"))

    with pytest.raises(ApiException) as error:
        client.CustomObjectsApi(kube_api_client).patch_namespaced_custom_object(
            *FLINK, NS, "flinkdeployments", "fd", {"spec": {"bogus": 1}}, field_validation="Strict"
        )

    assert error.value.status == 422
    assert 'strict decoding error: unknown field "spec.bogus"' in status_of(error)["message"]


@pytest.mark.parametrize("name", ["Upper", "under_score", "-leading", "a" * 254])
def test_custom_resource_names_must_be_rfc1123_subdomains(kube_api_client: client.ApiClient, name: str) -> None:
    with pytest.raises(ApiException) as error:
        create_fd(kube_api_client, flink_deployment(name))

    assert error.value.status == 422
    assert status_of(error)["details"]["causes"][0]["field"] == "metadata.name"


def test_dotted_names_are_valid_subdomains(kube_api_client: client.ApiClient) -> None:
    created = create_fd(kube_api_client, flink_deployment("job.v2"))

    assert created["metadata"]["name"] == "job.v2"


def test_service_names_must_be_dns1035_labels(kube_api_client: client.ApiClient) -> None:
    with pytest.raises(ApiException) as error:
        client.CoreV1Api(kube_api_client).create_namespaced_service(NS, {"metadata": {"name": "1-rest"}})

    assert error.value.status == 422
    assert "DNS-1035 label" in status_of(error)["message"]


def test_missing_name_is_required(kube_api_client: client.ApiClient) -> None:
    with pytest.raises(ApiException) as error:
        client.CoreV1Api(kube_api_client).create_namespaced_config_map(NS, {"metadata": {}})

    assert status_of(error)["details"]["causes"][0] == {
        "reason": "FieldValueRequired",
        "message": "Required value: name or generateName is required",
        "field": "metadata.name",
    }


@pytest.mark.parametrize(
    "labels", [{"app": "has space"}, {"app": "x" * 64}, {"bad key!": "v"}, {"a/b/c": "v"}, {"app": "-dash"}]
)
def test_invalid_labels_are_refused(kube_api_client: client.ApiClient, labels: dict[str, str]) -> None:
    with pytest.raises(ApiException) as error:
        client.CoreV1Api(kube_api_client).create_namespaced_config_map(
            NS, {"metadata": {"name": "c", "labels": labels}}
        )

    assert error.value.status == 422
    assert status_of(error)["details"]["causes"][0]["field"] == "metadata.labels"


def test_body_of_another_kind_is_a_bad_request(kube_api_client: client.ApiClient) -> None:
    body = flink_deployment("fd")
    body["kind"] = "FlinkSessionJob"

    with pytest.raises(ApiException) as error:
        create_fd(kube_api_client, body)

    assert error.value.status == 400


def test_namespace_mismatch_between_body_and_url_is_a_bad_request(kube_api_client: client.ApiClient) -> None:
    body = flink_deployment("fd")
    body["metadata"]["namespace"] = "elsewhere"

    with pytest.raises(ApiException) as error:
        create_fd(kube_api_client, body)

    assert status_of(error)["message"] == (
        "the namespace of the provided object does not match the namespace sent on the request"
    )
