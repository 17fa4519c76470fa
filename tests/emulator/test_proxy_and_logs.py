"""The services/proxy subresource (to a real local HTTP server) and the pods/log subresource."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from airflow_provider_flink.testing.kube_emulator import KubeEmulator

NS = "default"


class _Echo(BaseHTTPRequestHandler):
    """Answers every request with what it received, as JSON (like a tiny Flink REST stand-in)."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        payload = json.dumps({"method": self.command, "path": self.path, "body": body}).encode()
        self.send_response(202 if self.command == "PATCH" else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def upstream() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def rest_service(api: client.ApiClient, name: str = "wc-rest") -> None:
    ports = [{"name": "rest", "port": 8081}]
    client.CoreV1Api(api).create_namespaced_service(NS, {"metadata": {"name": name}, "spec": {"ports": ports}})


def proxy_call(api: client.ApiClient, method: str, name: str, path: str, body: Any = None, **query: str):
    """Call services/{name}/proxy/{path}; returns (status, parsed body)."""
    try:
        # Without preloading, call_api hands back the raw urllib3 response.
        response = api.call_api(
            f"/api/v1/namespaces/{NS}/services/{name}/proxy/{path}", method,
            query_params=list(query.items()), body=body, header_params={"Content-Type": "application/json"},
            _preload_content=False,
        )  # fmt: skip
        return response.status, json.loads(response.data)
    except ApiException as exc:
        return exc.status, json.loads(exc.body)


def test_proxy_forwards_get_with_path_and_query_to_the_registered_upstream(
    kube_api_client: client.ApiClient, emulator: KubeEmulator, upstream: str
) -> None:
    rest_service(kube_api_client)
    emulator.register_service_proxy(NS, "wc-rest", "rest", upstream)

    answer = client.CoreV1Api(kube_api_client).connect_get_namespaced_service_proxy_with_path(
        "wc-rest:rest", NS, "v1/jobs/overview", _preload_content=False
    )

    assert json.loads(answer.data) == {"method": "GET", "path": "/v1/jobs/overview", "body": ""}


def test_proxy_forwards_method_body_query_and_upstream_status(
    kube_api_client: client.ApiClient, emulator: KubeEmulator, upstream: str
) -> None:
    rest_service(kube_api_client)
    emulator.register_service_proxy(NS, "wc-rest", 8081, upstream)

    status, answer = proxy_call(kube_api_client, "PATCH", "wc-rest:rest", "jobs/abc", {"x": 1}, mode="cancel")

    assert status == 202
    assert answer == {"method": "PATCH", "path": "/jobs/abc?mode=cancel", "body": '{"x": 1}'}


@pytest.mark.parametrize("name", ["wc-rest", "wc-rest:8081", "http:wc-rest:rest"])
def test_proxy_accepts_every_service_name_form(
    kube_api_client: client.ApiClient, emulator: KubeEmulator, upstream: str, name: str
) -> None:
    rest_service(kube_api_client)
    emulator.register_service_proxy(NS, "wc-rest", "rest", upstream)

    status, answer = proxy_call(kube_api_client, "GET", name, "config")

    assert (status, answer["path"]) == (200, "/config")


def test_proxy_to_a_missing_service_is_not_found(kube_api_client: client.ApiClient, emulator: KubeEmulator) -> None:
    status, body = proxy_call(kube_api_client, "GET", "absent:rest", "config")

    assert (status, body["message"]) == (404, 'services "absent" not found')


def test_proxy_to_a_service_without_upstream_is_unavailable(kube_api_client: client.ApiClient) -> None:
    rest_service(kube_api_client)

    status, body = proxy_call(kube_api_client, "GET", "wc-rest:rest", "config")

    assert (status, body["message"]) == (503, 'no endpoints available for service "wc-rest:rest"')


def test_proxy_to_an_upstream_that_refuses_connections_is_unavailable(
    kube_api_client: client.ApiClient, emulator: KubeEmulator
) -> None:
    rest_service(kube_api_client)
    emulator.register_service_proxy(NS, "wc-rest", "rest", "http://127.0.0.1:9")

    status, body = proxy_call(kube_api_client, "GET", "wc-rest:rest", "config")

    assert status == 503
    assert body["message"].startswith("error trying to reach service")


def test_proxies_can_be_registered_over_http(
    kube_api_client: client.ApiClient, emulator: KubeEmulator, upstream: str
) -> None:
    rest_service(kube_api_client)
    registration = {"namespace": NS, "service": "wc-rest", "port": "rest", "upstream_url": upstream}
    client.ApiClient.call_api(kube_api_client, "/_emulator/proxies", "POST", body=registration, _preload_content=False)

    status, _ = proxy_call(kube_api_client, "GET", "wc-rest:rest", "config")

    assert status == 200


def make_pod(api: client.ApiClient, name: str = "jm", containers: tuple[str, ...] = ("flink-main-container",)) -> None:
    spec = {"containers": [{"name": c, "image": "flink:2.3"} for c in containers]}
    client.CoreV1Api(api).create_namespaced_pod(NS, {"metadata": {"name": name}, "spec": spec})


def read_log(api: client.ApiClient, pod: str, **kwargs: Any) -> str:
    # kubernetes 36 returns str(bytes) ("b'...'") for non-JSON text unless the body is read raw.
    response = client.CoreV1Api(api).read_namespaced_pod_log(pod, NS, _preload_content=False, **kwargs)
    return response.data.decode()


def test_pod_log_returns_the_text_set_for_the_pod(kube_api_client: client.ApiClient, emulator: KubeEmulator) -> None:
    make_pod(kube_api_client)
    emulator.set_pod_log(NS, "jm", "line 1\nline 2\nline 3\n")

    text = read_log(kube_api_client, "jm")

    assert text == "line 1\nline 2\nline 3\n"


def test_pod_log_honours_tail_lines_and_limit_bytes(kube_api_client: client.ApiClient, emulator: KubeEmulator) -> None:
    make_pod(kube_api_client)
    emulator.set_pod_log(NS, "jm", "line 1\nline 2\nline 3\n")

    tail = read_log(kube_api_client, "jm", tail_lines=2)
    limited = read_log(kube_api_client, "jm", limit_bytes=4)

    assert (tail, limited) == ("line 2\nline 3\n", "line")


def test_pod_log_picks_the_named_container(kube_api_client: client.ApiClient, emulator: KubeEmulator) -> None:
    make_pod(kube_api_client, containers=("flink-main-container", "sidecar"))
    emulator.set_pod_log(NS, "jm", "main output", container="flink-main-container")
    emulator.set_pod_log(NS, "jm", "sidecar output", container="sidecar")

    text = read_log(kube_api_client, "jm", container="sidecar")

    assert text == "sidecar output"


def test_pod_log_of_a_multi_container_pod_needs_a_container(kube_api_client: client.ApiClient) -> None:
    make_pod(kube_api_client, containers=("a", "b"))

    with pytest.raises(ApiException) as error:
        client.CoreV1Api(kube_api_client).read_namespaced_pod_log("jm", NS)

    assert error.value.status == 400
    assert "a container name must be specified for pod jm" in json.loads(error.value.body)["message"]


def test_pod_log_of_a_missing_pod_is_not_found(kube_api_client: client.ApiClient) -> None:
    with pytest.raises(ApiException) as error:
        client.CoreV1Api(kube_api_client).read_namespaced_pod_log("absent", NS)

    assert error.value.status == 404


def test_pod_log_can_be_set_over_http(kube_api_client: client.ApiClient, emulator: KubeEmulator) -> None:
    make_pod(kube_api_client)
    request = urllib.request.Request(f"{emulator.url}/_emulator/logs/{NS}/jm", data=b"from http", method="PUT")
    urllib.request.urlopen(request).close()

    text = read_log(kube_api_client, "jm")

    assert text == "from http"
