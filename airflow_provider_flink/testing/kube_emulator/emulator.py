"""The :class:`KubeEmulator` handle: runs the API server on its own thread and event loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import os
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

import yaml
from aiohttp import web

from airflow_provider_flink.testing.kube_emulator.faults import Fault, FaultTable, RequestRecord
from airflow_provider_flink.testing.kube_emulator.server import ApiServer
from airflow_provider_flink.testing.kube_emulator.store import Store

T = TypeVar("T")


class KubeEmulator:
    """
    An in-memory Kubernetes API server for tests, served over plain HTTP on 127.0.0.1.

    It behaves like the real API server wherever a client depends on it: CRUD of any registered
    kind (core, apps, batch, the Flink CRDs), the three patch formats, resourceVersion and
    optimistic concurrency, generation, finalizers, ownerReferences with cascading deletion,
    the status subresource, watches with bookmarks and 410 Expired, schema validation of custom
    resources, the service proxy and pod logs. Faults (latency, errors, dropped connections,
    cut watches) can be injected per verb and path.

    :param host: address to listen on.
    :param port: port (0 picks a free one).
    :param event_history: watch events retained per resource type; older resourceVersions get 410.
    :param bookmark_interval: seconds between BOOKMARK events on watches that allow them.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        event_history: int = 1000,
        bookmark_interval: float = 3.0,
    ) -> None:
        self.host = host
        self.port = port
        self.event_history = event_history
        self.bookmark_interval = bookmark_interval
        self._faults = FaultTable()
        self._server: ApiServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> KubeEmulator:
        """Start serving in a background thread; returns self once the port is open."""
        if self._thread is not None:
            return self
        started: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._run, args=(started,), name="kube-emulator", daemon=True)
        self._thread.start()
        started.result(timeout=30)
        return self

    def _run(self, started: concurrent.futures.Future[None]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:
            if not started.done():
                started.set_exception(exc)
            return
        started.set_result(None)
        loop.run_forever()
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        store = Store(event_history=self.event_history, schedule=loop.call_soon)
        self._server = ApiServer(store, self._faults, bookmark_interval=self.bookmark_interval)
        self._runner = web.AppRunner(
            self._server.app(), access_log=None, handler_cancellation=True, shutdown_timeout=2.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        server: Any = site._server
        self.port = server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        """Close every watch, stop serving and join the thread."""
        if self._thread is None or self._loop is None:
            return
        loop = self._loop

        async def shutdown() -> None:
            assert self._server is not None and self._runner is not None
            self._server.close_watches()
            await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(timeout=30)
        self._thread = None
        self._loop = None

    def __enter__(self) -> KubeEmulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the server's loop (the store is only touched there) and return its result."""
        if self._loop is None:
            raise RuntimeError("the KubeEmulator is not started")

        async def run() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=30)

    @property
    def _api(self) -> ApiServer:
        if self._server is None:
            raise RuntimeError("the KubeEmulator is not started")
        return self._server

    # ----------------------------------------------------------------- connection
    @property
    def url(self) -> str:
        """Base URL of the API server, e.g. ``http://127.0.0.1:40123``."""
        return f"http://{self.host}:{self.port}"

    def kubeconfig_dict(self, namespace: str = "default", context: str = "emulator") -> dict[str, Any]:
        """
        A kubeconfig pointing at the emulator (plain HTTP, no credentials needed).

        :param namespace: the context's default namespace.
        :param context: the name of the context (also of the cluster and user entries).
        """
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": context, "cluster": {"server": self.url}}],
            "users": [{"name": context, "user": {}}],
            "contexts": [{"name": context, "context": {"cluster": context, "user": context, "namespace": namespace}}],
            "current-context": context,
            "preferences": {},
        }

    def write_kubeconfig(self, path: str | os.PathLike[str], namespace: str = "default") -> str:
        """Write :meth:`kubeconfig_dict` as YAML to ``path``; returns the path."""
        with open(path, "w") as handle:
            yaml.safe_dump(self.kubeconfig_dict(namespace=namespace), handle)
        return os.fspath(path)

    # ----------------------------------------------------------------- faults and records
    def add_fault(self, fault: Fault) -> Fault:
        """Inject a fault into the matching requests; returns it (``hits`` counts its uses)."""
        return self._faults.add(fault)

    def clear_faults(self) -> None:
        self._faults.clear()

    @property
    def faults(self) -> list[Fault]:
        return self._faults.list()

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request served so far (a snapshot), in order of completion."""
        return list(self._api.requests)

    def clear_requests(self) -> None:
        self._api.requests.clear()

    # ----------------------------------------------------------------- proxy and logs
    def register_service_proxy(self, namespace: str, service: str, port: int | str, upstream_url: str) -> None:
        """
        Forward ``services/{service}:{port}/proxy/...`` to ``upstream_url`` (e.g. a local Flink REST API).

        :param port: port number or name, as the Service declares it; both spellings are resolved.
        """
        self._api.proxies[(namespace, service, str(port))] = upstream_url

    def set_pod_log(self, namespace: str, pod: str, text: str, container: str | None = None) -> None:
        """Set what ``pods/{pod}/log`` returns (for one container, or for all)."""
        self._api.pod_logs[(namespace, pod, container)] = text

    # ----------------------------------------------------------------- direct store access
    def get_object(self, group: str, version: str, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        """Read an object straight from the store (``""`` group for core); None when absent."""

        def read() -> dict[str, Any] | None:
            store = self._api.store
            obj = store.find(store.resolve(group, version, plural), namespace, name)
            return copy.deepcopy(obj) if obj is not None else None

        return self._call(read)

    def list_objects(self, group: str, version: str, plural: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """All stored objects of a kind (in one namespace, or all), ordered by namespace and name."""

        def read() -> list[dict[str, Any]]:
            store = self._api.store
            return copy.deepcopy(list(store.objects(store.resolve(group, version, plural), namespace)))

        return self._call(read)

    def compact(self) -> int:
        """Compact the event history at the current resourceVersion (older watches then get 410 Expired)."""
        return self._call(lambda: self._api.store.compact())

    @property
    def resource_version(self) -> str:
        """The current (latest) resourceVersion."""
        return self._call(lambda: str(self._api.store.resource_version))
