"""Fault injection: error statuses, Retry-After, latency, dropped connections, cut watches, admin API."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
import urllib3
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from airflow_provider_flink.testing.kube_emulator import Fault, KubeEmulator

NS = "default"


def configmap(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "data": {"k": "v"}}


def admin(emulator: KubeEmulator, method: str, path: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(emulator.url + "/_emulator/" + path, data=data, method=method)
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read() or b"null")


def test_fault_fails_the_next_matching_requests_then_stops(
    kube_api_client: client.ApiClient, emulator: KubeEmulator
) -> None:
    core = client.CoreV1Api(kube_api_client)
    core.create_namespaced_config_map(NS, configmap("a"))
    emulator.add_fault(Fault(verb="GET", path_regex=r"/configmaps/a$", status=503, count=2))

    failures = []
    for _ in range(2):
        with pytest.raises(ApiException) as error:
            core.read_namespaced_config_map("a", NS)
        failures.append((error.value.status, json.loads(error.value.body)["reason"]))
    recovered = core.read_namespaced_config_map("a", NS)

    assert failures == [(503, "ServiceUnavailable")] * 2
    assert recovered.metadata.name == "a"


def test_fault_matches_only_its_verb_and_path(kube_api_client: client.ApiClient, emulator: KubeEmulator) -> None:
    core = client.CoreV1Api(kube_api_client)
    emulator.add_fault(Fault(verb="POST", path_regex=r"/secrets", status=500))

    core.create_namespaced_config_map(NS, configmap("a"))
    core.list_namespaced_secret(NS)
    with pytest.raises(ApiException) as error:
        core.create_namespaced_secret(NS, configmap("s"))

    assert error.value.status == 500


def test_list_and_watch_verbs_distinguish_kinds_of_get(
    kube_api_client: client.ApiClient, emulator: KubeEmulator
) -> None:
    core = client.CoreV1Api(kube_api_client)
    core.create_namespaced_config_map(NS, configmap("a"))
    emulator.add_fault(Fault(verb="LIST", status=500, count=None))

    read = core.read_namespaced_config_map("a", NS)
    with pytest.raises(ApiException) as error:
        core.list_namespaced_config_map(NS)

    assert read.metadata.name == "a"
    assert error.value.status == 500
    assert [r.verb for r in emulator.requests[-2:]] == ["GET", "LIST"]


def no_retry_client(emulator: KubeEmulator) -> client.ApiClient:
    """A client whose urllib3 pool does not retry (by default it honours Retry-After on 429 and 503)."""
    configuration = client.Configuration()
    configuration.host = emulator.url
    configuration.retries = False
    return client.ApiClient(configuration)


def test_too_many_requests_carries_retry_after(emulator: KubeEmulator) -> None:
    emulator.add_fault(Fault(status=429, retry_after=7, message="slow down"))

    with no_retry_client(emulator) as api, pytest.raises(ApiException) as error:
        client.CoreV1Api(api).list_namespaced_pod(NS)

    body = json.loads(error.value.body)
    assert error.value.status == 429
    assert error.value.headers["Retry-After"] == "7"
    assert (body["reason"], body["message"], body["details"]["retryAfterSeconds"]) == (
        "TooManyRequests",
        "slow down",
        7,
    )


def test_latency_longer_than_the_client_timeout_times_the_request_out(emulator: KubeEmulator) -> None:
    emulator.add_fault(Fault(verb="GET", latency=1.0))

    with no_retry_client(emulator) as api, pytest.raises(urllib3.exceptions.ReadTimeoutError):
        client.CoreV1Api(api).list_namespaced_pod(NS, _request_timeout=0.2)


def test_dropped_connection_gives_the_client_a_protocol_error(emulator: KubeEmulator) -> None:
    emulator.add_fault(Fault(verb="GET", path_regex="/pods", drop_connection=True))

    with no_retry_client(emulator) as api, pytest.raises(urllib3.exceptions.ProtocolError):
        client.CoreV1Api(api).list_namespaced_pod(NS)

    assert emulator.requests[-1].status == 0


def test_dropped_connection_is_retried_by_urllib3_by_default(
    kube_api_client: client.ApiClient, emulator: KubeEmulator
) -> None:
    fault = emulator.add_fault(Fault(verb="GET", path_regex="/pods", drop_connection=True, count=1))

    pods = client.CoreV1Api(kube_api_client).list_namespaced_pod(NS)

    assert pods.items == []
    assert fault.hits == 1
    assert [r.status for r in emulator.requests[-2:]] == [0, 200]


def test_watch_is_cut_mid_stream_after_n_events(kube_api_client: client.ApiClient, emulator: KubeEmulator) -> None:
    core = client.CoreV1Api(kube_api_client)
    for name in ("a", "b", "c", "d"):
        core.create_namespaced_config_map(NS, configmap(name))
    emulator.add_fault(Fault(verb="WATCH", cut_watch_after_events=2))
    received = []

    with pytest.raises(urllib3.exceptions.ProtocolError):
        for event in watch.Watch().stream(core.list_namespaced_config_map, NS, timeout_seconds=5):
            received.append(event["object"].metadata.name)

    assert received == ["a", "b"]


def test_faults_never_apply_to_admin_paths(emulator: KubeEmulator) -> None:
    emulator.add_fault(Fault(status=500, count=None))

    recorded = admin(emulator, "GET", "requests")

    assert recorded == []


def test_faults_can_be_added_and_cleared_over_http(kube_api_client: client.ApiClient, emulator: KubeEmulator) -> None:
    core = client.CoreV1Api(kube_api_client)
    admin(emulator, "POST", "faults", {"verb": "LIST", "path_regex": "/services", "status": 503, "count": None})

    with pytest.raises(ApiException) as error:
        core.list_namespaced_service(NS)
    admin(emulator, "DELETE", "faults")
    services = core.list_namespaced_service(NS)

    assert error.value.status == 503
    assert services.items == []


def test_requests_are_recorded_with_verb_query_and_status(emulator: KubeEmulator) -> None:
    api = config.new_client_from_config_dict(emulator.kubeconfig_dict())
    core = client.CoreV1Api(api)
    core.list_namespaced_pod(NS, label_selector="app=x")
    with pytest.raises(ApiException):
        core.read_namespaced_pod("missing", NS)
    api.close()

    recorded = admin(emulator, "GET", "requests")

    assert [(r["verb"], r["path"], r["query"], r["status"]) for r in recorded] == [
        ("LIST", "/api/v1/namespaces/default/pods", {"labelSelector": "app=x"}, 200),
        ("GET", "/api/v1/namespaces/default/pods/missing", {}, 404),
    ]


def test_fault_with_skip_lets_the_first_matching_requests_through(emulator, kube_api_client):
    kube_api_client.configuration.retries = False
    core = client.CoreV1Api(kube_api_client)
    core.create_namespaced_config_map("default", {"metadata": {"name": "cm"}, "data": {}})
    emulator.add_fault(Fault(verb="GET", path_regex=r"/configmaps/cm$", status=503, count=1, skip=2))

    core.read_namespaced_config_map("cm", "default")
    core.read_namespaced_config_map("cm", "default")
    with pytest.raises(ApiException) as failure:
        core.read_namespaced_config_map("cm", "default")

    assert failure.value.status == 503
    assert core.read_namespaced_config_map("cm", "default").metadata.name == "cm"
