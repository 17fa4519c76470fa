"""
The emulator's HTTP layer (aiohttp): routing like the API server's request resolver, faults,
watch streams, the service proxy, pod logs, and the ``/_emulator/`` admin endpoints.

Reading order: :func:`parse_path` (which resource a URL names), :meth:`ApiServer.handle`
(faults, dispatch, recording), then one method per verb.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import aiohttp
import yaml
from aiohttp import web
from multidict import CIMultiDict

from airflow_provider_flink.testing.kube_emulator.faults import (
    Fault,
    FaultTable,
    RequestRecord,
    default_message,
    reason_for,
)
from airflow_provider_flink.testing.kube_emulator.patching import APPLY_PATCH
from airflow_provider_flink.testing.kube_emulator.resources import (
    VERSION_DOC,
    ApiError,
    ResourceType,
    api_group_doc,
    api_group_list_doc,
    api_versions_doc,
    bad_request,
    method_not_allowed,
    resource_list_doc,
    resource_not_found,
)
from airflow_provider_flink.testing.kube_emulator.selectors import FieldSelector, LabelSelector
from airflow_provider_flink.testing.kube_emulator.store import (
    DeleteOptions,
    Event,
    Expired,
    Store,
    Watcher,
    WriteOptions,
)

log = logging.getLogger(__name__)

ADMIN_PREFIX = "/_emulator/"
JSON = "application/json"
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "content-encoding",
    "authorization",
    "accept-encoding",
}
DEFAULT_WATCH_TIMEOUT = 1800.0


@dataclass(frozen=True)
class ResourcePath:
    """What a ``/api`` or ``/apis`` URL names (the API server's RequestInfo)."""

    group: str
    version: str
    plural: str
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None
    subpath: str = ""


def parse_path(path: str) -> ResourcePath | None:
    """
    Resolve a resource URL; None when it is not one (discovery and unknown paths).

    ``/api/v1/namespaces/{ns}/{plural}/{name}/{subresource}/{subpath...}`` and
    ``/apis/{group}/{version}/...``; without ``namespaces/{ns}`` a URL is cluster-wide.
    """
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 3 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 4 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace = None
    if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in ("status", "finalize"):
        namespace, rest = rest[1], rest[2:]
    plural = rest[0]
    name = rest[1] if len(rest) > 1 else None
    subresource = rest[2] if len(rest) > 2 else None
    subpath = "/".join(rest[3:]) + ("/" if path.endswith("/") and len(rest) > 3 else "")
    return ResourcePath(group, version, plural, namespace, name, subresource, subpath)


_TRUE = ("1", "t", "T", "TRUE", "true", "True")  # what Go's strconv.ParseBool accepts as true


def query_flag(query: Mapping[str, str], name: str) -> bool:
    return query.get(name) in _TRUE


def kube_verb(method: str, resource: ResourcePath | None, query: Mapping[str, str]) -> str:
    """GET, LIST or WATCH for a GET; otherwise the HTTP method."""
    if method != "GET" or resource is None or resource.subresource:
        return method
    if query_flag(query, "watch"):
        return "WATCH"
    return "LIST" if resource.name is None else "GET"


def json_response(body: Any, status: int = 200, warnings: list[str] | None = None) -> web.Response:
    headers: CIMultiDict[str] = CIMultiDict()
    for warning in warnings or ():
        headers.add("Warning", f"299 - {json.dumps(warning)}")
    data = json.dumps(body, separators=(",", ":")).encode()
    return web.Response(body=data, status=status, content_type=JSON, headers=headers)


def error_response(error: ApiError) -> web.Response:
    response = json_response(error.status(), error.code)
    response.headers.update(error.headers)
    return response


class _ConnectionDropped(Exception):
    """The connection was closed on purpose (fault); nothing more may be written."""


class ApiServer:
    """
    The aiohttp application serving the Kubernetes API from a :class:`Store`.

    :param store: the object store.
    :param faults: the active faults.
    :param bookmark_interval: seconds between BOOKMARK events on watches that allow them.
    """

    def __init__(self, store: Store, faults: FaultTable, *, bookmark_interval: float = 3.0) -> None:
        self.store = store
        self.faults = faults
        self.bookmark_interval = bookmark_interval
        self.requests: list[RequestRecord] = []
        self.proxies: dict[tuple[str, str, str], str] = {}
        self.pod_logs: dict[tuple[str, str, str | None], str] = {}
        self._session: aiohttp.ClientSession | None = None
        self._closing = False

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        app.on_cleanup.append(self._close_session)
        return app

    async def _close_session(self, _: web.Application) -> None:
        if self._session is not None:
            await self._session.close()

    def close_watches(self) -> None:
        self._closing = True
        self.store.close_watchers()

    # ----------------------------------------------------------------- entry point
    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.path.startswith(ADMIN_PREFIX):
            return await self.admin(request)
        resource = parse_path(request.path)
        verb = kube_verb(request.method, resource, request.query)
        status = 0
        try:
            fault = self.faults.take(request.method, verb, request.path)
            if fault is not None:
                await self._apply_fault(request, fault)
            response = await self.dispatch(request, resource, verb, fault)
            status = response.status
            return response
        except ApiError as error:
            status = error.code
            return error_response(error)
        except _ConnectionDropped:
            raise asyncio.CancelledError() from None
        except Exception:
            log.exception("kube emulator: unhandled error on %s %s", request.method, request.path_qs)
            status = 500
            return error_response(ApiError(500, "InternalError", "Internal error occurred: emulator bug"))
        finally:
            self.requests.append(
                RequestRecord(
                    verb=verb,
                    path=request.path,
                    query=dict(request.query),
                    status=status,
                    method=request.method,
                    content_type=request.headers.get("Content-Type", ""),
                )
            )

    async def _apply_fault(self, request: web.Request, fault: Fault) -> None:
        if fault.latency:
            await asyncio.sleep(fault.latency)
        if fault.drop_connection:
            if request.transport is not None:
                request.transport.abort()
            raise _ConnectionDropped()
        if fault.status:
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = str(int(fault.retry_after) if fault.retry_after >= 1 else 1)
            details = {"retryAfterSeconds": int(fault.retry_after)} if fault.retry_after else {}
            raise ApiError(
                fault.status,
                reason_for(fault.status),
                fault.message or default_message(fault.status),
                details,
                headers,
            )

    async def dispatch(
        self, request: web.Request, resource: ResourcePath | None, verb: str, fault: Fault | None
    ) -> web.StreamResponse:
        if resource is None:
            return self.discovery(request)
        rt = self.store.resolve(resource.group, resource.version, resource.plural)
        if resource.namespace is not None and not rt.namespaced:
            raise resource_not_found()
        if rt.namespaced and resource.name is not None and resource.namespace is None:
            raise resource_not_found()
        if resource.subresource == "proxy" and rt.key == ("", "services"):
            return await self.proxy(request, resource)
        if resource.subresource == "log" and rt.key == ("", "pods") and request.method == "GET":
            return self.pod_log(request, rt, resource)
        if resource.subresource not in (None, "status") or (resource.subresource and not rt.status_subresource):
            raise resource_not_found()
        if resource.subresource == "status" and request.method not in ("GET", "PUT", "PATCH"):
            raise method_not_allowed(request.method)
        namespace = resource.namespace or ""
        if verb == "WATCH":
            return await self.watch(request, rt, resource, fault)
        if verb == "LIST":
            return self.serve_list(request, rt, resource)
        if verb == "GET":
            return json_response(self.store.get(rt, namespace, resource.name or ""))
        if request.method == "POST" and resource.name is None:
            obj, warnings = self.store.create(rt, namespace, await self._body(request), self._write_options(request))
            return json_response(obj, 201, warnings)
        if request.method == "PUT" and resource.name is not None:
            options = self._write_options(request)
            obj, warnings = self.store.update(
                rt, namespace, resource.name, await self._body(request), options, resource.subresource
            )
            return json_response(obj, 200, warnings)
        if request.method == "PATCH" and resource.name is not None:
            content_type = request.headers.get("Content-Type", "")
            obj, warnings, created = self.store.patch(
                rt, namespace, resource.name, content_type, await self._body(request, content_type),
                self._write_options(request), resource.subresource,
            )  # fmt: skip
            return json_response(obj, 201 if created else 200, warnings)
        if request.method == "DELETE":
            delete_options = await self._delete_options(request)
            if resource.name is None:
                labels = LabelSelector.parse(request.query.get("labelSelector"))
                fields = FieldSelector.parse(request.query.get("fieldSelector"), rt)
                deleted = self.store.delete_collection(rt, resource.namespace, labels, fields, delete_options)
                return json_response(deleted)
            return json_response(self.store.delete(rt, namespace, resource.name, delete_options))
        raise method_not_allowed(request.method)

    # ----------------------------------------------------------------- request decoding
    @staticmethod
    async def _body(request: web.Request, content_type: str = JSON) -> Any:
        raw = await request.read()
        if not raw:
            raise bad_request("the body of the request was empty")
        try:
            if content_type.startswith(APPLY_PATCH):
                return yaml.safe_load(raw)
            return json.loads(raw)
        except (ValueError, yaml.YAMLError) as exc:
            raise bad_request(f"error decoding body: {exc}") from None

    @staticmethod
    def _write_options(request: web.Request) -> WriteOptions:
        validation = request.query.get("fieldValidation") or "Warn"
        if validation not in ("Strict", "Warn", "Ignore"):
            raise bad_request(
                f'fieldValidation: Unsupported value: "{validation}": supported values: "Ignore", "Strict", "Warn"'
            )
        return WriteOptions(
            dry_run=request.query.get("dryRun") == "All",
            field_validation=validation,
            field_manager=request.query.get("fieldManager"),
        )

    @staticmethod
    async def _delete_options(request: web.Request) -> DeleteOptions:
        body: dict[str, Any] = {}
        raw = await request.read()
        if raw:
            try:
                body = json.loads(raw) or {}
            except ValueError:
                raise bad_request("error decoding DeleteOptions") from None
        policy = request.query.get("propagationPolicy") or body.get("propagationPolicy")
        if policy is None and body.get("orphanDependents") is not None:
            policy = "Orphan" if body["orphanDependents"] else "Background"
        dry_run = request.query.get("dryRun") == "All" or "All" in (body.get("dryRun") or [])
        return DeleteOptions(policy, body.get("preconditions") or {}, dry_run)

    # ----------------------------------------------------------------- discovery
    def discovery(self, request: web.Request) -> web.Response:
        if request.method != "GET":
            raise method_not_allowed(request.method)
        parts = [p for p in request.path.split("/") if p]
        types = self.store.types()
        groups: dict[str, list[str]] = {}
        for rt in types:
            if rt.group and rt.version not in groups.setdefault(rt.group, []):
                groups[rt.group].append(rt.version)
        if parts == ["version"]:
            return json_response(VERSION_DOC)
        if parts == ["api"]:
            return json_response(api_versions_doc(request.host))
        if parts == ["api", "v1"]:
            return json_response(resource_list_doc("v1", [t for t in types if not t.group]))
        if parts == ["apis"]:
            return json_response(api_group_list_doc(groups))
        if len(parts) == 2 and parts[0] == "apis" and parts[1] in groups:
            return json_response(api_group_doc(parts[1], groups[parts[1]]))
        if len(parts) == 3 and parts[0] == "apis" and parts[2] in groups.get(parts[1], ()):
            group_version = f"{parts[1]}/{parts[2]}"
            return json_response(resource_list_doc(group_version, [t for t in types if t.api_version == group_version]))
        log.warning("kube emulator: no route for %s %s", request.method, request.path_qs)
        raise resource_not_found()

    # ----------------------------------------------------------------- list and watch
    def serve_list(self, request: web.Request, rt: ResourceType, resource: ResourcePath) -> web.Response:
        query = request.query
        labels = LabelSelector.parse(query.get("labelSelector"))
        fields = FieldSelector.parse(query.get("fieldSelector"), rt)
        limit = int(query["limit"]) if query.get("limit", "").isdigit() else None
        body = self.store.list_collection(rt, resource.namespace, labels, fields, limit or None, query.get("continue"))
        return json_response(body)

    async def watch(
        self, request: web.Request, rt: ResourceType, resource: ResourcePath, fault: Fault | None
    ) -> web.StreamResponse:
        query = request.query
        labels = LabelSelector.parse(query.get("labelSelector"))
        field_text = query.get("fieldSelector")
        if resource.name is not None:
            field_text = ",".join(filter(None, [field_text, f"metadata.name={resource.name}"]))
        fields = FieldSelector.parse(field_text, rt)
        timeout = float(query["timeoutSeconds"]) if query.get("timeoutSeconds") else DEFAULT_WATCH_TIMEOUT
        bookmarks = query_flag(query, "allowWatchBookmarks")
        initial_events = query_flag(query, "sendInitialEvents")
        rv = None if initial_events else query.get("resourceVersion")
        response = web.StreamResponse(status=200, headers={"Content-Type": JSON})
        response.enable_chunked_encoding()
        try:
            backlog, watcher = self.store.watch(rt, resource.namespace, labels, fields, rv)
        except Expired as expired:
            await response.prepare(request)
            line = json.dumps({"type": "ERROR", "object": expired.status()}, separators=(",", ":"))
            await response.write(line.encode() + b"\n")
            await response.write_eof()
            return response
        stream = _WatchStream(request, response, rt, self.store, fault.cut_watch_after_events if fault else None)
        try:
            await response.prepare(request)
            await stream.send([event.encode(event_type) for event_type, event in backlog])
            if initial_events and bookmarks:
                await stream.send_bookmark({"k8s.io/initial-events-end": "true"})
            await self._stream_events(stream, watcher, timeout, bookmarks)
            await response.write_eof()
        except (ConnectionResetError, _ConnectionDropped):
            pass
        finally:
            self.store.unwatch(rt, watcher)
        return response

    async def _stream_events(self, stream: _WatchStream, watcher: Watcher, timeout: float, bookmarks: bool) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        next_bookmark = loop.time() + self.bookmark_interval
        while True:
            now = loop.time()
            # Wake up at least every few seconds to notice a client that went away without a word.
            wake = min(deadline, next_bookmark if bookmarks else now + 5.0, now + 5.0)
            batch = await watcher.next_batch(wake - now)
            lines = [item[1].encode(item[0]) for item in batch if item is not None]
            await stream.send(lines)
            if None in batch or self._closing:
                return
            if not lines and stream.closed():
                return
            # Everything committed so far has just been sent: the current version is a safe bookmark.
            if bookmarks and loop.time() >= next_bookmark:
                await stream.send_bookmark()
                next_bookmark = loop.time() + self.bookmark_interval
            if loop.time() >= deadline:
                break
        if bookmarks:
            await stream.send_bookmark()

    # ----------------------------------------------------------------- pods/log and services/proxy
    def pod_log(self, request: web.Request, rt: ResourceType, resource: ResourcePath) -> web.Response:
        pod = self.store.get(rt, resource.namespace or "", resource.name or "")
        containers = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
        container = request.query.get("container")
        if container and containers and container not in containers:
            raise bad_request(f"container {container} is not valid for pod {resource.name}")
        if not container and len(containers) > 1:
            choices = " ".join(str(c) for c in containers)
            raise bad_request(f"a container name must be specified for pod {resource.name}, choose one of: [{choices}]")
        key = (resource.namespace or "", resource.name or "")
        text = self.pod_logs.get((*key, container), self.pod_logs.get((*key, None), ""))
        tail = request.query.get("tailLines")
        if tail is not None and tail.isdigit():
            lines = text.splitlines(keepends=True)
            text = "".join(lines[-int(tail) :]) if int(tail) else ""
        data = text.encode()
        limit = request.query.get("limitBytes")
        if limit is not None and limit.isdigit():
            data = data[: int(limit)]
        return web.Response(body=data, content_type="text/plain", charset="utf-8")

    async def proxy(self, request: web.Request, resource: ResourcePath) -> web.StreamResponse:
        namespace = resource.namespace or ""
        scheme_name_port = (resource.name or "").split(":")
        if scheme_name_port[0] in ("http", "https") and len(scheme_name_port) > 1:
            scheme_name_port = scheme_name_port[1:]
        service_name = scheme_name_port[0]
        port = scheme_name_port[1] if len(scheme_name_port) > 1 else ""
        rt = self.store.resolve("", "v1", "services")
        service = self.store.get(rt, namespace, service_name)
        upstream = self._upstream(namespace, service_name, port, service)
        if upstream is None:
            raise ApiError(503, "ServiceUnavailable", f'no endpoints available for service "{resource.name}"', {})
        target = upstream.rstrip("/") + "/" + resource.subpath
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60), auto_decompress=True)
        try:
            async with self._session.request(
                request.method, target, params=request.query, headers=headers, data=await request.read(),
                allow_redirects=False,
            ) as upstream_response:  # fmt: skip
                body = await upstream_response.read()
                out_headers = {k: v for k, v in upstream_response.headers.items() if k.lower() not in _HOP_BY_HOP}
                return web.Response(body=body, status=upstream_response.status, headers=out_headers)
        except aiohttp.ClientError as exc:
            raise ApiError(503, "ServiceUnavailable", f"error trying to reach service: {exc}", {}) from None

    def _upstream(self, namespace: str, service: str, port: str, obj: Mapping[str, Any]) -> str | None:
        registered = {p: url for (ns, svc, p), url in self.proxies.items() if (ns, svc) == (namespace, service)}
        if not registered:
            return None
        if not port:
            return registered.get("") or next(iter(registered.values()))
        if port in registered:
            return registered[port]
        # A port named in the URL may be registered by number, or the other way round.
        for spec_port in (obj.get("spec") or {}).get("ports") or []:
            names = {str(spec_port.get("name", "")), str(spec_port.get("port", ""))}
            if port in names:
                for alias in names:
                    if alias in registered:
                        return registered[alias]
        return None

    # ----------------------------------------------------------------- admin
    async def admin(self, request: web.Request) -> web.Response:
        parts = request.path[len(ADMIN_PREFIX) :].strip("/").split("/")
        method = request.method
        try:
            if parts == ["faults"] and method == "POST":
                fault = self.faults.add(Fault.from_dict(await request.json()))
                return json_response(fault.to_dict(), 201)
            if parts == ["faults"] and method == "DELETE":
                self.faults.clear()
                return json_response({})
            if parts == ["faults"] and method == "GET":
                return json_response([f.to_dict() for f in self.faults.list()])
            if parts == ["proxies"] and method == "POST":
                data = await request.json()
                key = (data["namespace"], data["service"], str(data.get("port", "")))
                self.proxies[key] = data["upstream_url"]
                return json_response(data, 201)
            if len(parts) == 3 and parts[0] == "logs" and method == "PUT":
                container = request.query.get("container")
                self.pod_logs[(parts[1], parts[2], container)] = await request.text()
                return json_response({})
            if parts == ["requests"] and method == "GET":
                return json_response([asdict(r) for r in self.requests])
            if parts == ["requests"] and method == "DELETE":
                self.requests.clear()
                return json_response({})
        except (ValueError, KeyError, TypeError) as exc:
            return error_response(bad_request(f"invalid admin request: {exc}"))
        return error_response(resource_not_found())


class _WatchStream:
    """Writes the events of one watch response; cuts it abruptly when a fault says so."""

    def __init__(
        self,
        request: web.Request,
        response: web.StreamResponse,
        rt: ResourceType,
        store: Store,
        cut_after: int | None,
    ) -> None:
        self.request = request
        self.response = response
        self.rt = rt
        self.store = store
        self.cut_after = cut_after
        self.sent = 0

    def closed(self) -> bool:
        transport = self.request.transport
        return transport is None or transport.is_closing()

    async def send(self, lines: list[bytes]) -> None:
        """Write event lines (one write for all of them, unless a fault counts them)."""
        if not lines:
            return
        if self.cut_after is None:
            await self.response.write(b"".join(lines))
            self.sent += len(lines)
            return
        for line in lines:
            if self.sent >= self.cut_after:
                self._cut()
            await self.response.write(line)
            self.sent += 1
            if self.sent >= self.cut_after:
                # Let the events reach the client before the connection goes.
                await asyncio.sleep(0.05)
                self._cut()

    async def send_bookmark(self, annotations: dict[str, str] | None = None) -> None:
        metadata: dict[str, Any] = {
            "resourceVersion": str(self.store.resource_version),
            "creationTimestamp": None,
        }
        if annotations:
            metadata["annotations"] = annotations
        obj = {"kind": self.rt.kind, "apiVersion": self.rt.api_version, "metadata": metadata}
        await self.send([Event("BOOKMARK", obj, None, self.store.resource_version).encode("BOOKMARK")])

    def _cut(self) -> None:
        if self.request.transport is not None:
            self.request.transport.abort()
        raise _ConnectionDropped()
