"""Fixtures for the hook tests: a Kubernetes API emulator and a ``kubernetes`` connection to it."""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest
from kubernetes import client as k8s

from airflow_provider_flink.hooks.kubernetes import FlinkKubernetesHook
from airflow_provider_flink.hooks.retry import RetryPolicy

if TYPE_CHECKING:
    from airflow_provider_flink.testing.kube_emulator import KubeEmulator

CONN_ID = "flink_hook_test_k8s"
NAMESPACE = "flink-jobs"

# Short waits so the tests are quick, yet the waits are real decisions of the policy.
FAST_RETRIES = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05, max_total=30.0, jitter=0.0)


class SleepRecorder:
    """An injectable sleep that records each wait instead of waiting (unless told to really wait)."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.really_sleep = False

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.really_sleep:
            import time

            time.sleep(seconds)


class AsyncSleepRecorder:
    """The async counterpart of :class:`SleepRecorder`."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def kube_conn(kube_backend: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """A ``kubernetes`` connection, kubeconfig inline, defined in the environment: the emulator, or on the real
    control plane the ServiceAccount bound to the README's Role."""
    conn = {
        "conn_type": "kubernetes",
        "extra": {"kube_config": json.dumps(kube_backend.provider_kubeconfig()), "namespace": NAMESPACE},
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(conn))
    return CONN_ID


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def fast_retries() -> RetryPolicy:
    return FAST_RETRIES


@pytest.fixture
def make_hook(kube_conn: str, sleeps: SleepRecorder) -> Callable[..., FlinkKubernetesHook]:
    """Factory of hooks on the emulator's connection with quick retries; keyword arguments override."""

    def make(**overrides: Any) -> FlinkKubernetesHook:
        kwargs: dict[str, Any] = {
            "kubernetes_conn_id": kube_conn,
            "retry_policy": FAST_RETRIES,
            "request_timeout": (2.0, 5.0),
            "sleep": sleeps,
            **overrides,
        }
        return FlinkKubernetesHook(**kwargs)

    return make


@pytest.fixture
def hook(make_hook: Callable[..., FlinkKubernetesHook]) -> FlinkKubernetesHook:
    return make_hook()


def _flink_deployment(name: str = "wordcount", **spec_overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "image": "flink:1.20",
        "flinkVersion": "v1_20",
        "serviceAccount": "flink",
        "flinkConfiguration": {"taskmanager.numberOfTaskSlots": "1"},
        "jobManager": {"resource": {"cpu": 0.5, "memory": "1024m"}},
        "taskManager": {"resource": {"cpu": 0.5, "memory": "1024m"}},
        "job": {
            "jarURI": "local:///opt/flink/examples/streaming/WordCount.jar",
            "parallelism": 1,
            "upgradeMode": "stateless",
        },
    }
    spec.update(spec_overrides)
    return {
        "apiVersion": "flink.apache.org/v1beta1",
        "kind": "FlinkDeployment",
        "metadata": {"name": name, "labels": {"airflow.apache.org/dag_id": "etl"}},
        "spec": spec,
    }


@pytest.fixture
def flink_deployment() -> Callable[..., dict[str, Any]]:
    """Factory of minimal valid FlinkDeployment bodies: ``flink_deployment(name, **spec_overrides)``."""
    return _flink_deployment


@pytest.fixture
def async_sleeps() -> AsyncSleepRecorder:
    return AsyncSleepRecorder()


class AnswerDroppingProxy:
    """
    A TCP relay in front of the emulator that lets requests through but swallows the answer to the
    first ``count`` requests of one HTTP method and resets the client's connection instead.

    This is the failure a client cannot tell apart from a lost request: the server did the work,
    the answer never arrived. (The emulator's own faults fail before the request is handled.)
    """

    def __init__(self, upstream_port: int, method: str, count: int = 1) -> None:
        self.upstream_port = upstream_port
        self.method = method.encode() + b" "
        self.remaining = count
        self.dropped = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            state = {"drop_answer": False}
            threading.Thread(target=self._requests, args=(client, upstream, state), daemon=True).start()
            threading.Thread(target=self._answers, args=(upstream, client, state), daemon=True).start()

    def _requests(self, client: socket.socket, upstream: socket.socket, state: dict[str, bool]) -> None:
        try:
            while data := client.recv(65536):
                # HTTP/1.1 requests on one connection are sequential, so a request starts a read.
                if data.startswith(self.method):
                    with self._lock:
                        if self.remaining > 0:
                            self.remaining -= 1
                            state["drop_answer"] = True
                upstream.sendall(data)
        except OSError:
            pass
        finally:
            upstream.close()

    def _answers(self, upstream: socket.socket, client: socket.socket, state: dict[str, bool]) -> None:
        try:
            while data := upstream.recv(65536):
                if state["drop_answer"]:
                    self.dropped += 1
                    # Reset rather than close, as a crashed middlebox would; shutdown() also wakes
                    # the other relay thread blocked reading from the client.
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    client.shutdown(socket.SHUT_RDWR)
                    break
                client.sendall(data)
        except OSError:
            pass
        finally:
            client.close()

    def close(self) -> None:
        self._listener.close()


@pytest.fixture
def answer_dropping_proxy(emulator: KubeEmulator) -> Iterator[Callable[..., AnswerDroppingProxy]]:
    """Factory: ``answer_dropping_proxy("POST", count=1)`` gives a relay in front of the emulator."""
    proxies: list[AnswerDroppingProxy] = []

    def make(method: str, count: int = 1) -> AnswerDroppingProxy:
        proxy = AnswerDroppingProxy(emulator.port, method, count)
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        proxy.close()


class _FakeFlinkRest(BaseHTTPRequestHandler):
    """A tiny stand-in for a JobManager's REST endpoint."""

    seen: list[tuple[str, str]] = []

    def _answer(self, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.seen.append(("GET", self.path))
        if self.path.startswith("/v1/jobs/overview"):
            self._answer(200, {"jobs": [{"jid": "abc", "name": "wc", "state": "RUNNING"}]})
        else:
            self._answer(404, {"errors": [f"Not found: {self.path}"]})

    def do_PATCH(self) -> None:
        self.seen.append(("PATCH", self.path))
        self._answer(202, {})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        payload = json.loads(self.rfile.read(length) or b"{}")
        self.seen.append(("POST", self.path))
        self._answer(202, {"request-id": "trigger-1", "echo": payload})

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def flink_rest(hook: FlinkKubernetesHook, emulator: KubeEmulator) -> Iterator[list[tuple[str, str]]]:
    """A fake Flink REST endpoint behind Service ``wc-rest`` (port ``rest``); yields the requests it saw."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeFlinkRest)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    _FakeFlinkRest.seen = []
    k8s.CoreV1Api(hook.api_client).create_namespaced_service(
        NAMESPACE,
        {
            "metadata": {"name": "wc-rest", "labels": {"app": "wc"}},
            "spec": {"selector": {"app": "wc"}, "ports": [{"name": "rest", "port": 8081}]},
        },
    )
    emulator.register_service_proxy(NAMESPACE, "wc-rest", "rest", f"http://127.0.0.1:{server.server_port}")
    try:
        yield _FakeFlinkRest.seen
    finally:
        server.shutdown()
        server.server_close()
