"""
Hooks talking to the Kubernetes API server about Flink: the Flink Kubernetes Operator's custom
resources, native application clusters, pod logs, events, and Flink REST through the service proxy.

:class:`FlinkKubernetesHook` (sync, for operators and sensors) and :class:`AsyncFlinkKubernetesHook`
(for triggers) build on cncf-kubernetes' hooks and its ``kubernetes`` connection type. Both send
every request through one path that sets a timeout, retries transient failures with the shared
:class:`~airflow_provider_flink.hooks.retry.RetryPolicy`, and turns failures into
:mod:`airflow_provider_flink.exceptions` errors naming the object, the HTTP status and the server's
message. Custom objects, pods and events are plain dicts (the API's JSON), the same in both hooks.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import json
import math
import os
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import parse_qsl, quote

import aiohttp
import urllib3.exceptions
import yaml
from airflow.exceptions import AirflowException
from airflow.providers.cncf.kubernetes.hooks.kubernetes import AsyncKubernetesHook, KubernetesHook
from airflow.providers.cncf.kubernetes.kube_client import _TimeoutAsyncK8sApiClient
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException as SyncApiException
from kubernetes_asyncio import client as async_client
from kubernetes_asyncio.client.exceptions import ApiException as AsyncApiException

from airflow_provider_flink.exceptions import (
    FlinkApiError,
    FlinkApiUnavailable,
    FlinkConflictError,
    FlinkKubernetesError,
    FlinkResourceNotFound,
    FlinkRestError,
    api_error,
)
from airflow_provider_flink.hooks.retry import (
    RetryExhausted,
    RetryPolicy,
    RetryState,
    Transience,
    acall_with_retries,
    call_with_retries,
    classify,
    http_status,
)

FLINK_API_GROUP = "flink.apache.org"
FLINK_API_VERSION = "v1beta1"
#: Kinds served by the Flink Kubernetes Operator, with their plurals.
FLINK_KINDS: dict[str, str] = {
    "FlinkDeployment": "flinkdeployments",
    "FlinkSessionJob": "flinksessionjobs",
    "FlinkStateSnapshot": "flinkstatesnapshots",
}
#: (connect, read) seconds for one request.
DEFAULT_REQUEST_TIMEOUT: tuple[float, float] = (5.0, 60.0)
#: Flink names the port of its ``<cluster-id>-rest`` Service ``rest``.
FLINK_REST_PORT_NAME = "rest"
#: Labels of the ConfigMaps Flink's Kubernetes HA services write (KubernetesUtils.getConfigMapLabels).
#: They are not owned by the JobManager Deployment, so deleting it leaves them behind.
HA_CONFIGMAP_TYPE_LABEL = "configmap-type"
HA_CONFIGMAP_TYPE_VALUE = "high-availability"

_RBAC_VERBS = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
_JSON = "application/json"
_MERGE_PATCH = "application/merge-patch+json"
_TEXT = "text/plain, */*"
# Seconds of extra read timeout on a watch beyond the server-side timeout it asked for.
_WATCH_READ_MARGIN = 30.0
_CLIENT_ERRORS: tuple[type[BaseException], ...] = (
    SyncApiException,
    AsyncApiException,
    urllib3.exceptions.HTTPError,
    aiohttp.ClientError,
    OSError,  # includes ConnectionError and TimeoutError (asyncio.TimeoutError on 3.11)
)


# ---------------------------------------------------------------------------------------------
# Pure helpers shared by both hooks: request descriptions, paths, comparisons, error translation
# ---------------------------------------------------------------------------------------------


def resolve_kind(kind: str) -> tuple[str, str]:
    """
    Return ``(Kind, plural)`` of a Flink custom resource named by kind or plural, in any case.

    :param kind: ``FlinkDeployment``, ``flinkdeployment`` or ``flinkdeployments`` (likewise the others).
    """
    key = kind.strip().lower()
    for canonical, plural in FLINK_KINDS.items():
        if key in (canonical.lower(), plural):
            return canonical, plural
    raise ValueError(f"Unknown Flink resource kind {kind!r}; expected one of {', '.join(FLINK_KINDS)}")


def rest_service_name(cluster_id_or_service: str) -> str:
    """
    Return ``service:port`` of a Flink cluster's REST endpoint for the service proxy.

    A cluster id ``wc`` gives ``wc-rest:rest``; a name already ending in ``-rest`` is taken as the
    Service itself, and ``name:port`` is used verbatim. (So a cluster id that itself ends in ``-rest``
    must be passed as its service name, ``<id>-rest``.)

    :param cluster_id_or_service: Cluster id (FlinkDeployment name or ``kubernetes.cluster-id``), or Service.
    """
    value = cluster_id_or_service.strip()
    if ":" in value:
        return value
    service = value if value.endswith("-rest") else f"{value}-rest"
    return f"{service}:{FLINK_REST_PORT_NAME}"


def _q(segment: str) -> str:
    return quote(segment, safe="")


def _custom_path(plural: str, namespace: str, name: str | None = None) -> str:
    path = f"/apis/{FLINK_API_GROUP}/{FLINK_API_VERSION}/namespaces/{_q(namespace)}/{plural}"
    return f"{path}/{_q(name)}" if name else path


def _core_path(resource: str, namespace: str, name: str | None = None, sub: str | None = None) -> str:
    path = f"/api/v1/namespaces/{_q(namespace)}/{resource}"
    if name:
        path += f"/{_q(name)}"
    if sub:
        path += f"/{sub}"
    return path


def _proxy_path(namespace: str, service_port: str, path: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    rest_path, _, query = path.lstrip("/").partition("?")
    proxy = f"/api/v1/namespaces/{_q(namespace)}/services/{quote(service_port, safe=':')}/proxy/"
    return proxy + quote(rest_path, safe="/"), tuple(parse_qsl(query, keep_blank_values=True))


def _delete_options(propagation: str | None) -> dict[str, Any]:
    options: dict[str, Any] = {"apiVersion": "v1", "kind": "DeleteOptions"}
    if propagation:
        options["propagationPolicy"] = propagation
    return options


def _loads(data: bytes) -> Any:
    return json.loads(data) if data and data.strip() else None


def _loads_or_text(data: bytes) -> Any:
    try:
        return _loads(data)
    except ValueError:
        return data.decode("utf-8", errors="replace")


def _labels(obj: dict[str, Any]) -> dict[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


def _annotations(obj: dict[str, Any]) -> dict[str, str]:
    return (obj.get("metadata") or {}).get("annotations") or {}


def _is_subset(wanted: dict[str, str], live: dict[str, str]) -> bool:
    return all(live.get(key) == value for key, value in wanted.items())


def needs_update(live: dict[str, Any], desired: dict[str, Any]) -> bool:
    """
    Tell whether ``live`` must be updated to match ``desired``.

    The spec is ours in full, so it must be equal; labels and annotations must merely contain the
    desired ones, because others (the operator, kubectl, policies) may add their own.

    :param live: The object as read from the API server.
    :param desired: The object as the caller wants it.
    """
    if "spec" in desired and live.get("spec") != desired.get("spec"):
        return True
    return not (_is_subset(_labels(desired), _labels(live)) and _is_subset(_annotations(desired), _annotations(live)))


def merged_for_update(live: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
    """
    Return the body to PUT: the live object carrying its resourceVersion, with the desired spec
    and the desired labels/annotations added to the live ones.

    :param live: The object as read from the API server.
    :param desired: The object as the caller wants it.
    """
    merged = copy.deepcopy(live)
    merged.pop("status", None)
    metadata = merged.setdefault("metadata", {})
    metadata.pop("managedFields", None)
    if "spec" in desired:
        merged["spec"] = copy.deepcopy(desired["spec"])
    if _labels(desired):
        metadata["labels"] = {**_labels(live), **_labels(desired)}
    if _annotations(desired):
        metadata["annotations"] = {**_annotations(live), **_annotations(desired)}
    return merged


def _same_content(live: dict[str, Any], desired: dict[str, Any]) -> bool:
    return not needs_update(live, desired)


def _creation_time(obj: dict[str, Any]) -> str:
    return (obj.get("metadata") or {}).get("creationTimestamp") or ""


def _event_time(event: dict[str, Any]) -> str:
    return (
        event.get("lastTimestamp")
        or event.get("eventTime")
        or event.get("firstTimestamp")
        or _creation_time(event)
        or ""
    )


def _event_field_selector(name: str, kind: str | None, warning_only: bool) -> str:
    selectors = [f"involvedObject.name={name}"]
    if kind:
        with contextlib.suppress(ValueError):  # else a built-in kind such as Pod or Deployment
            kind = resolve_kind(kind)[0]
        selectors.append(f"involvedObject.kind={kind}")
    if warning_only:
        selectors.append("type=Warning")
    return ",".join(selectors)


@dataclass(frozen=True)
class _Call:
    """One request, described well enough to send it (sync or async) and to explain its failure."""

    action: str
    kind: str
    namespace: str
    name: str | None
    method: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    body: Any = None
    content_type: str = _JSON
    accept: str = _JSON
    idempotent: bool = True
    verb: str | None = None
    rbac_resource: str | None = None
    error_class: type[FlinkApiError] | None = None

    def header_params(self) -> dict[str, str]:
        return {"Accept": self.accept, "Content-Type": self.content_type}


def _translate(call: _Call, error: BaseException, exhausted: RetryExhausted | None = None) -> FlinkApiError:
    status = http_status(error)
    note = None
    error_class = call.error_class
    if exhausted is not None:
        note = f"gave up after {exhausted.attempts} attempts in {exhausted.elapsed:.1f}s"
        error_class = error_class or FlinkApiUnavailable
    body = getattr(error, "body", None) if status else None
    return api_error(
        action=call.action,
        kind=call.kind,
        namespace=call.namespace,
        name=call.name,
        status=status,
        reason=getattr(error, "reason", None) if status else None,
        body=body,
        detail=None if status else f"{type(error).__name__}: {error}",
        note=note,
        verb=call.verb,
        rbac_resource=call.rbac_resource,
        error_class=error_class,
    )


def _custom_call(
    action: str,
    verb: str,
    kind: str,
    namespace: str,
    name: str | None,
    method: str,
    **kwargs: Any,
) -> _Call:
    canonical, plural = resolve_kind(kind)
    collection = method == "POST" or (name is None)
    return _Call(
        action=action,
        kind=canonical,
        namespace=namespace,
        name=name,
        method=method,
        path=_custom_path(plural, namespace, None if collection else name),
        verb=verb,
        rbac_resource=f"{plural}.{FLINK_API_GROUP}",
        **kwargs,
    )


def _get_call(kind: str, name: str, namespace: str) -> _Call:
    return _custom_call("read", "get", kind, namespace, name, "GET")


def _list_call(kind: str, namespace: str, label_selector: str | None) -> _Call:
    query = (("labelSelector", label_selector),) if label_selector else ()
    return _custom_call("list", "list", kind, namespace, None, "GET", query=query)


def _pods_call(cluster_id: str, namespace: str) -> _Call:
    return _Call(
        action=f"list JobManager pods of cluster {cluster_id} in",
        kind="Pod",
        namespace=namespace,
        name=None,
        method="GET",
        path=_core_path("pods", namespace),
        query=(("labelSelector", f"app={cluster_id},component=jobmanager"),),
        verb="list",
        rbac_resource="pods",
    )


def _log_call(
    name: str,
    namespace: str,
    container: str | None,
    tail_lines: int | None,
    limit_bytes: int | None,
    previous: bool,
) -> _Call:
    query: list[tuple[str, str]] = []
    if container:
        query.append(("container", container))
    if tail_lines is not None:
        query.append(("tailLines", str(tail_lines)))
    if limit_bytes is not None:
        query.append(("limitBytes", str(limit_bytes)))
    if previous:
        query.append(("previous", "true"))
    return _Call(
        action="read the log of",
        kind="Pod",
        namespace=namespace,
        name=name,
        method="GET",
        path=_core_path("pods", namespace, name, "log"),
        query=tuple(query),
        accept=_TEXT,
        verb="get",
        rbac_resource="pods/log",
    )


def _events_call(name: str, namespace: str, kind: str | None, warning_only: bool) -> _Call:
    return _Call(
        action=f"list events of {kind or 'object'} {name} in",
        kind="Event",
        namespace=namespace,
        name=None,
        method="GET",
        path=_core_path("events", namespace),
        query=(("fieldSelector", _event_field_selector(name, kind, warning_only)),),
        verb="list",
        rbac_resource="events",
    )


def _rest_call(
    method: str,
    cluster_id_or_service: str,
    path: str,
    namespace: str,
    body: Any,
    params: dict[str, Any] | None,
) -> _Call:
    method = method.upper()
    service_port = rest_service_name(cluster_id_or_service)
    proxy_path, path_query = _proxy_path(namespace, service_port, path)
    query = path_query + tuple((key, str(value)) for key, value in (params or {}).items())
    return _Call(
        action=f"call Flink REST {method} /{path.lstrip('/')} through",
        kind="Service",
        namespace=namespace,
        name=service_port.partition(":")[0],
        method=method,
        path=proxy_path,
        query=query,
        body=body,
        # A repeated POST could, e.g., trigger a second savepoint: only retry it when the
        # request surely never arrived.
        idempotent=method != "POST",
        verb=_RBAC_VERBS.get(method),
        rbac_resource="services/proxy",
        error_class=FlinkRestError,
    )


def _pods_sorted(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=_creation_time, reverse=True)


def _events_sorted(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=_event_time)


def _prepare_body(body: dict[str, Any], namespace: str) -> tuple[str, dict[str, Any]]:
    if not isinstance(body, dict) or not body.get("kind"):
        raise ValueError("The resource body must be a dict with 'kind' (e.g. FlinkDeployment)")
    kind = resolve_kind(body["kind"])[0]
    name = (body.get("metadata") or {}).get("name")
    if not name:
        # generateName cannot be checked after an ambiguous failure, so a create could be doubled.
        raise ValueError(f"The {kind} body needs metadata.name (generateName is not supported)")
    api_version = body.get("apiVersion") or f"{FLINK_API_GROUP}/{FLINK_API_VERSION}"
    if api_version.partition("/")[0] != FLINK_API_GROUP:
        raise ValueError(f"{kind} {name}: apiVersion {api_version!r} is not in group {FLINK_API_GROUP}")
    prepared = copy.deepcopy(body)
    prepared["kind"] = kind
    prepared["apiVersion"] = api_version
    prepared["metadata"]["namespace"] = namespace
    return kind, prepared


def _body_namespace(body: dict[str, Any]) -> str | None:
    return (body.get("metadata") or {}).get("namespace") if isinstance(body, dict) else None


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


# ---------------------------------------------------------------------------------------------
# Kubeconfig resolution for triggers
# ---------------------------------------------------------------------------------------------

# kubeconfig fields naming a file, and the field carrying the same content inline (base64).
_FILE_FIELDS = {
    "clusters": (("certificate-authority", "certificate-authority-data"),),
    "users": (("client-certificate", "client-certificate-data"), ("client-key", "client-key-data")),
}


def _inline_file_references(kubeconfig: dict[str, Any], base_dir: str | None) -> dict[str, Any]:
    """Replace certificate/key file paths by their content, since the triggerer may not have the files."""
    result = copy.deepcopy(kubeconfig)
    for section, pairs in _FILE_FIELDS.items():
        entry_key = section[:-1]  # clusters -> cluster, users -> user
        for entry in result.get(section) or []:
            settings = (entry or {}).get(entry_key) or {}
            for file_field, data_field in pairs:
                path = settings.get(file_field)
                if not path or settings.get(data_field):
                    continue
                full = os.path.join(base_dir, path) if base_dir and not os.path.isabs(path) else path
                full = os.path.expanduser(full)
                if os.path.isfile(full):
                    with open(full, "rb") as handle:
                        settings[data_field] = base64.b64encode(handle.read()).decode("ascii")
                    del settings[file_field]
    return result


def _check_kubeconfig_file(path: str, conn_id: str | None) -> str:
    """Return ``path`` expanded, or fail naming it: the client's own error names neither file nor connection."""
    expanded = os.path.expanduser(path)
    if not os.path.isfile(expanded):
        raise AirflowException(
            f"The kubeconfig file {path} (kube_config_path of connection {conn_id!r}, or the hook's config_file) "
            "does not exist on this machine: fix the path, or put the kubeconfig inline in the kube_config extra."
        )
    return expanded


def _read_kubeconfig_file(path: str) -> dict[str, Any]:
    path = os.path.expanduser(path)
    with open(path) as handle:
        loaded = yaml.safe_load(handle) or {}
    if not isinstance(loaded, dict):
        raise AirflowException(f"The kubeconfig {path} is not a mapping")
    return _inline_file_references(loaded, os.path.dirname(os.path.abspath(path)))


def _merge_kubeconfigs(configs: list[dict[str, Any]]) -> dict[str, Any]:
    """Merge kubeconfigs the way kubectl merges KUBECONFIG files: the first to define a name wins."""
    merged: dict[str, Any] = {}
    for config in configs:
        for key, value in config.items():
            if key in ("clusters", "contexts", "users"):
                known = {item.get("name") for item in merged.setdefault(key, [])}
                merged[key].extend(item for item in value or [] if item.get("name") not in known)
            elif key not in merged or not merged[key]:
                merged[key] = value
    return merged


def _read_default_kubeconfig() -> dict[str, Any] | None:
    env = os.environ.get("KUBECONFIG")
    candidates = [p for p in env.split(os.pathsep) if p] if env else ["~/.kube/config"]
    existing = [os.path.expanduser(p) for p in candidates if os.path.isfile(os.path.expanduser(p))]
    if not existing:
        return None
    return _merge_kubeconfigs([_read_kubeconfig_file(path) for path in existing])


def _in_cluster_environment() -> bool:
    from kubernetes.config import incluster_config

    return bool(
        os.environ.get(incluster_config.SERVICE_HOST_ENV_NAME)
        and os.environ.get(incluster_config.SERVICE_PORT_ENV_NAME)
        and os.path.isfile(incluster_config.SERVICE_TOKEN_FILENAME)
    )


def _parse_inline_kubeconfig(kube_config: Any) -> dict[str, Any]:
    if isinstance(kube_config, dict):
        return copy.deepcopy(kube_config)
    # YAML is a superset of JSON: one parser covers both forms the connection form accepts.
    loaded = yaml.safe_load(kube_config)
    if not isinstance(loaded, dict):
        raise AirflowException("The connection's kube_config extra is not a kubeconfig mapping")
    return loaded


# ---------------------------------------------------------------------------------------------
# Sync hook
# ---------------------------------------------------------------------------------------------


class FlinkKubernetesHook(KubernetesHook):
    """
    Manage Flink on Kubernetes: the operator's custom resources, native application clusters,
    pod logs, events and Flink REST through the API server's service proxy.

    Uses the ``kubernetes`` connection type of cncf-kubernetes (extras ``in_cluster``,
    ``kube_config_path``, ``kube_config``, ``cluster_context``, ``namespace``, ``disable_verify_ssl``).
    Nothing is loaded or contacted until the first call.

    :param conn_id: The Kubernetes connection id (alias of ``kubernetes_conn_id``).
    :param kubernetes_conn_id: The :ref:`kubernetes connection <howto/connection:kubernetes>`.
    :param client_configuration: Optional kubernetes client configuration to start from.
    :param cluster_context: Kubeconfig context to use, overriding the connection's.
    :param config_file: Path to a kubeconfig, overriding the connection's.
    :param config_dict: Kubeconfig as a dict.
    :param in_cluster: Use the pod's service account.
    :param disable_verify_ssl: Do not verify the API server's certificate.
    :param disable_tcp_keepalive: Do not enable TCP keepalive.
    :param namespace: Default namespace; else the connection's ``namespace`` extra; else ``default``.
    :param request_timeout: Timeout of each request: seconds, or (connect, read) seconds.
    :param retry_policy: How transient failures are retried; see :class:`RetryPolicy`.
    :param conflict_retries: How many times ``apply_resource`` re-reads after a 409 Conflict.
    :param sleep: Wait function used between retries (injectable for tests).
    """

    def __init__(
        self,
        conn_id: str | None = None,
        kubernetes_conn_id: str | None = KubernetesHook.default_conn_name,
        client_configuration: k8s_client.Configuration | None = None,
        cluster_context: str | None = None,
        config_file: str | None = None,
        config_dict: dict | None = None,
        in_cluster: bool | None = None,
        disable_verify_ssl: bool | None = None,
        disable_tcp_keepalive: bool | None = None,
        namespace: str | None = None,
        request_timeout: float | tuple[float, float] = DEFAULT_REQUEST_TIMEOUT,
        retry_policy: RetryPolicy | None = None,
        conflict_retries: int = 5,
        sleep: Callable[[float], Any] = time.sleep,
    ) -> None:
        super().__init__(
            conn_id=conn_id,
            kubernetes_conn_id=kubernetes_conn_id,
            client_configuration=client_configuration,
            cluster_context=cluster_context,
            config_file=config_file,
            config_dict=config_dict,
            in_cluster=in_cluster,
            disable_verify_ssl=disable_verify_ssl,
            disable_tcp_keepalive=disable_tcp_keepalive,
        )
        self.namespace = namespace
        self.request_timeout = request_timeout
        self.retry_policy = retry_policy or RetryPolicy()
        self.conflict_retries = conflict_retries
        self._sleep = sleep

    # -- connection -------------------------------------------------------------------------

    def get_conn(self) -> k8s_client.ApiClient:
        """
        Return a Kubernetes API client with a configuration of its own.

        The parent would otherwise load the kubeconfig into the process-wide default configuration,
        so two hooks with different connections would overwrite each other's cluster. urllib3's own
        retries are turned off: the hook's retry policy is the only one.
        """
        if self.client_configuration is None:
            configuration = k8s_client.Configuration()
            # The parent's explicit in-cluster branch ignores a passed configuration, so load it here.
            if self._coalesce_param(self.in_cluster, _as_bool(self._get_field("in_cluster"))):
                k8s_config.load_incluster_config(client_configuration=configuration)
        else:
            configuration = copy.deepcopy(self.client_configuration)
        if configuration.retries is None:
            configuration.retries = False
        self.client_configuration = configuration
        try:
            return super().get_conn()
        except k8s_config.ConfigException:
            kubeconfig_path = self._coalesce_param(self.config_file, self._get_field("kube_config_path"))
            if kubeconfig_path:
                _check_kubeconfig_file(kubeconfig_path, self.conn_id)
            raise

    def resolve_namespace(self, namespace: str | None = None) -> str:
        """
        Return the namespace to use: the argument, else the hook's, else the connection's, else ``default``.

        :param namespace: Namespace given to one call.
        """
        return namespace or self.namespace or self.get_namespace() or self.DEFAULT_NAMESPACE

    def get_trigger_connection_kwargs(self) -> dict[str, Any]:
        """
        Resolve the connection here, on the worker, into JSON-serializable kwargs for a trigger.

        The triggerer may have neither the kubeconfig file nor the secrets backend, so the kubeconfig
        is read now (from ``config_file``/``kube_config_path``, the inline ``kube_config`` extra, or the
        default ``KUBECONFIG``/``~/.kube/config``) with certificate files inlined.
        ``AsyncFlinkKubernetesHook(**kwargs)`` then connects the same way without a connection lookup.
        The result holds credentials: pass it only into trigger kwargs (which Airflow encrypts).
        """
        in_cluster = self._coalesce_param(self.in_cluster, _as_bool(self._get_field("in_cluster")))
        cluster_context = self._coalesce_param(self.cluster_context, self._get_field("cluster_context"))
        kubeconfig_path = self._coalesce_param(self.config_file, self._get_field("kube_config_path"))
        kube_config = self._get_field("kube_config")
        disable_verify_ssl = self._coalesce_param(
            self.disable_verify_ssl, _as_bool(self._get_field("disable_verify_ssl"))
        )
        if sum(1 for option in (in_cluster, kube_config, kubeconfig_path, self.config_dict) if option) > 1:
            raise AirflowException(
                "Invalid connection configuration. Options kube_config_path, kube_config, in_cluster, "
                "config_dict are mutually exclusive. You can only use one option at a time."
            )
        config_dict: dict[str, Any] | None = None
        if in_cluster:
            pass
        elif self.config_dict:
            config_dict = _inline_file_references(self.config_dict, None)
        elif kubeconfig_path:
            config_dict = _read_kubeconfig_file(_check_kubeconfig_file(kubeconfig_path, self.conn_id))
        elif kube_config:
            config_dict = _inline_file_references(_parse_inline_kubeconfig(kube_config), None)
        elif in_cluster is None and _in_cluster_environment():
            # The sync hook's default also tries the pod's service account first.
            in_cluster = True
        else:
            config_dict = _read_default_kubeconfig()
        if config_dict is not None:
            # yaml may produce dates or other non-JSON scalars; the trigger kwargs must be JSON.
            config_dict = json.loads(json.dumps(config_dict, default=str))
        return {
            "config_dict": config_dict,
            "cluster_context": cluster_context,
            "in_cluster": bool(in_cluster) if in_cluster is not None else None,
            "namespace": self.resolve_namespace(),
            "disable_verify_ssl": disable_verify_ssl,
            "kubernetes_conn_id": None,
        }

    # -- request plumbing -------------------------------------------------------------------

    def _send_once(self, call: _Call, api: k8s_client.ApiClient) -> bytes:
        response = api.call_api(
            call.path,
            call.method,
            query_params=list(call.query),
            header_params=call.header_params(),
            body=call.body,
            auth_settings=["BearerToken"],
            _preload_content=False,
            _return_http_data_only=True,
            _request_timeout=self.request_timeout,
        )
        try:
            return response.data
        finally:
            response.release_conn()

    def _on_retry(self, call: _Call) -> Callable[[BaseException, int, float], None]:
        return _retry_logger(self.log, self.retry_policy, call)

    def _send(self, call: _Call, *, state: RetryState | None = None) -> bytes:
        # Outside the retries and their error translation: a bad kubeconfig is no transient failure.
        api = self.api_client
        try:
            return call_with_retries(
                lambda: self._send_once(call, api),
                self.retry_policy,
                idempotent=call.idempotent,
                sleep=self._sleep,
                on_retry=self._on_retry(call),
                state=state,
            )
        except RetryExhausted as exhausted:
            raise _translate(call, exhausted.last_error, exhausted) from exhausted.last_error
        except _CLIENT_ERRORS as error:
            raise _translate(call, error) from error

    # -- Flink custom resources -------------------------------------------------------------

    def get_resource(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """
        Return a FlinkDeployment, FlinkSessionJob or FlinkStateSnapshot, or ``None`` if it does not exist.

        :param kind: Kind or plural of the resource.
        :param name: Name of the resource.
        :param namespace: Namespace; defaults as in :meth:`resolve_namespace`.
        """
        try:
            return _loads(self._send(_get_call(kind, name, self.resolve_namespace(namespace))))
        except FlinkResourceNotFound:
            return None

    def create_resource(self, body: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        """
        Create a Flink custom resource (kind taken from the body) and return it as stored.

        A create is never repeated blindly: after a failure the server may have acted on, the object
        is read back first and, if it is there with our content, the create counts as done.

        :param body: The resource, with ``kind`` and ``metadata.name``.
        :param namespace: Namespace; else the body's; else as in :meth:`resolve_namespace`.
        :raises FlinkConflictError: the object already exists.
        """
        namespace = self.resolve_namespace(namespace or _body_namespace(body))
        kind, prepared = _prepare_body(body, namespace)
        name = prepared["metadata"]["name"]
        call = _custom_call("create", "create", kind, namespace, name, "POST", body=prepared, idempotent=False)
        state = RetryState(self.retry_policy)
        api = self.api_client
        while True:
            state.begin_attempt()
            try:
                return _loads(self._send_once(call, api))
            except _CLIENT_ERRORS as error:
                if http_status(error) == 409 and state.attempts > 1:
                    # An earlier attempt that seemed to fail was stored after all.
                    existing = self.get_resource(kind, name, namespace)
                    if existing is not None and _same_content(existing, prepared):
                        return existing
                    raise _translate(call, error) from error
                try:
                    delay = state.delay_or_raise(error, idempotent=True)
                except RetryExhausted as exhausted:
                    raise _translate(call, error, exhausted) from error
                except _CLIENT_ERRORS:
                    raise _translate(call, error) from error
                self._on_retry(call)(error, state.attempts, delay)
                self._sleep(delay)
                if classify(error) is Transience.MAYBE_DELIVERED:
                    existing = self.get_resource(kind, name, namespace)
                    if existing is not None:
                        return self._adopt_after_ambiguous_create(call, existing, prepared)

    def _adopt_after_ambiguous_create(
        self, call: _Call, existing: dict[str, Any], desired: dict[str, Any]
    ) -> dict[str, Any]:
        if _same_content(existing, desired):
            self.log.info(
                "%s %s/%s exists with the requested content after an ambiguous failure: "
                "the create reached the API server",
                call.kind,
                call.namespace,
                call.name,
            )
            return existing
        raise api_error(
            action=call.action,
            kind=call.kind,
            namespace=call.namespace,
            name=call.name,
            status=409,
            reason="Conflict",
            detail="it already exists with a different spec or labels",
            error_class=FlinkConflictError,
        )

    def patch_resource(
        self, kind: str, name: str, patch: dict[str, Any], namespace: str | None = None
    ) -> dict[str, Any]:
        """
        Apply a JSON merge patch (RFC 7386) to a Flink custom resource and return the result.

        :param kind: Kind or plural of the resource.
        :param name: Name of the resource.
        :param patch: The merge patch; ``None`` values delete keys.
        :param namespace: Namespace; defaults as in :meth:`resolve_namespace`.
        """
        call = _custom_call(
            "patch",
            "patch",
            kind,
            self.resolve_namespace(namespace),
            name,
            "PATCH",
            body=patch,
            content_type=_MERGE_PATCH,
        )
        return _loads(self._send(call))

    def apply_resource(self, body: dict[str, Any], namespace: str | None = None) -> tuple[dict[str, Any], str]:
        """
        Make the resource match ``body``: create it, update it, or leave it alone.

        When it exists and its spec differs from ``body``'s (or it lacks one of ``body``'s labels or
        annotations), the live object is PUT back with the desired spec and labels/annotations added,
        carrying the live resourceVersion; a 409 Conflict re-reads and tries again a bounded number of
        times. Nothing is written when nothing differs.

        :param body: The desired resource, with ``kind`` and ``metadata.name``.
        :param namespace: Namespace; else the body's; else as in :meth:`resolve_namespace`.
        :return: The object and one of ``"created"``, ``"updated"``, ``"unchanged"``.
        """
        namespace = self.resolve_namespace(namespace or _body_namespace(body))
        kind, desired = _prepare_body(body, namespace)
        name = desired["metadata"]["name"]
        wrote = False
        for _ in range(self.conflict_retries + 1):
            live = self.get_resource(kind, name, namespace)
            if live is None:
                try:
                    return self.create_resource(desired, namespace), "created"
                except FlinkConflictError:
                    continue  # created meanwhile by someone else: compare with theirs
            if (live.get("metadata") or {}).get("deletionTimestamp"):
                raise api_error(
                    action="apply",
                    kind=kind,
                    namespace=namespace,
                    name=name,
                    status=409,
                    reason="Conflict",
                    detail="it is being deleted; wait until it is gone, then apply again",
                    error_class=FlinkConflictError,
                )
            if not needs_update(live, desired):
                # After our write met a conflict, a match means our write (or an equal one) landed.
                return live, "updated" if wrote else "unchanged"
            call = _custom_call("update", "update", kind, namespace, name, "PUT", body=merged_for_update(live, desired))
            wrote = True
            try:
                return _loads(self._send(call)), "updated"
            except FlinkConflictError as conflict:
                self.log.info("%s %s/%s changed under our update, re-reading: %s", kind, namespace, name, conflict)
        raise api_error(
            action="apply",
            kind=kind,
            namespace=namespace,
            name=name,
            status=409,
            reason="Conflict",
            detail=f"it kept changing under our update ({self.conflict_retries + 1} attempts)",
            error_class=FlinkConflictError,
        )

    def delete_resource(
        self, kind: str, name: str, namespace: str | None = None, propagation: str | None = "Foreground"
    ) -> bool:
        """
        Ask for a Flink custom resource's deletion; return ``False`` if it was already gone.

        The object may linger while the operator's finalizer cleans up.

        :param kind: Kind or plural of the resource.
        :param name: Name of the resource.
        :param namespace: Namespace; defaults as in :meth:`resolve_namespace`.
        :param propagation: ``Foreground``, ``Background`` or ``Orphan``.
        """
        call = _custom_call(
            "delete",
            "delete",
            kind,
            self.resolve_namespace(namespace),
            name,
            "DELETE",
            body=_delete_options(propagation),
        )
        return self._delete(call)

    def _delete(self, call: _Call) -> bool:
        state = RetryState(self.retry_policy)
        try:
            self._send(call, state=state)
        except FlinkResourceNotFound:
            # After a retried attempt, 404 most likely means our earlier attempt did the deletion.
            return state.attempts > 1
        return True

    def list_resources(
        self, kind: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        """
        List Flink custom resources of one kind in a namespace.

        :param kind: Kind or plural of the resources.
        :param namespace: Namespace; defaults as in :meth:`resolve_namespace`.
        :param label_selector: Kubernetes label selector, e.g. ``dag_id=etl,task_id=run``.
        """
        answer = _loads(self._send(_list_call(kind, self.resolve_namespace(namespace), label_selector)))
        return list((answer or {}).get("items") or [])

    def serves(self, plural: str) -> bool:
        """
        Whether the API server serves this ``flink.apache.org/v1beta1`` resource (its CRD is installed).

        :param plural: e.g. ``flinkstatesnapshots``, which Flink Kubernetes Operators before 1.10 do not have.
        """
        call = _Call(
            action="discover",
            kind="APIResourceList",
            namespace="",
            name=FLINK_API_GROUP,
            method="GET",
            path=f"/apis/{FLINK_API_GROUP}/{FLINK_API_VERSION}",
            verb="get",
        )
        try:
            answer = _loads(self._send(call))
        except FlinkResourceNotFound:
            return False
        return any(resource.get("name") == plural for resource in (answer or {}).get("resources") or [])

    def get_status(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        """
        Return the ``status`` of a Flink custom resource (empty before the operator writes one).

        :param kind: Kind or plural of the resource.
        :param name: Name of the resource.
        :param namespace: Namespace; defaults as in :meth:`resolve_namespace`.
        :raises FlinkResourceNotFound: the resource does not exist.
        """
        namespace = self.resolve_namespace(namespace)
        obj = self.get_resource(kind, name, namespace)
        if obj is None:
            raise _not_found(kind, name, namespace)
        return obj.get("status") or {}

    # -- Flink REST, pods, events -------------------------------------------------------------

    def flink_rest(
        self,
        method: str,
        cluster_id_or_service: str,
        path: str,
        namespace: str | None = None,
        body: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        """
        Call the Flink REST API of a cluster through the API server's service proxy.

        Requests ``/api/v1/namespaces/{ns}/services/{cluster_id}-rest:rest/proxy/{path}``, which needs
        only the ``services/proxy`` permission, not a network path to the cluster.

        :param method: HTTP method (``GET``, ``POST``, ``PATCH``...). POST is retried only when the
            request surely did not arrive.
        :param cluster_id_or_service: Cluster id, or the REST Service (``name`` or ``name:port``).
        :param path: Flink REST path, e.g. ``/v1/jobs/overview``.
        :param namespace: Namespace; defaults as in :meth:`resolve_namespace`.
        :param body: JSON body.
        :param params: Query parameters.
        :return: The parsed JSON answer (text if not JSON, ``None`` if empty).
        """
        call = _rest_call(method, cluster_id_or_service, path, self.resolve_namespace(namespace), body, params)
        return _loads_or_text(self._send(call))

    def read_pod_log(
        self,
        name: str,
        namespace: str | None = None,
        container: str | None = None,
        tail_lines: int | None = 200,
        limit_bytes: int | None = 64 * 1024,
        previous: bool = False,
    ) -> str:
        """
        Return the end of a pod's log, bounded in lines and bytes.

        :param name: Pod name.
        :param namespace: Namespace; defaults as in :meth:`resolve_namespace`.
        :param container: Container, needed when the pod has several (Flink's is ``flink-main-container``).
        :param tail_lines: Lines from the end; ``None`` for all.
        :param limit_bytes: Most bytes returned (the server keeps the first ones); ``None`` for no limit.
        :param previous: Read the previous (crashed) container instance.
        """
        call = _log_call(name, self.resolve_namespace(namespace), container, tail_lines, limit_bytes, previous)
        return _decode_log(self._send(call), limit_bytes)

    def find_jobmanager_pods(self, cluster_id: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """
        Return the JobManager pods of a Flink cluster, newest first.

        :param cluster_id: Cluster id (FlinkDeployment name or ``kubernetes.cluster-id``).
        :param namespace: Namespace; defaults as in :meth:`resolve_namespace`.
        """
        answer = _loads(self._send(_pods_call(cluster_id, self.resolve_namespace(namespace))))
        return _pods_sorted(list((answer or {}).get("items") or []))

    def list_events(
        self, name: str, namespace: str | None = None, kind: str | None = None, warning_only: bool = False
    ) -> list[dict[str, Any]]:
        """
        Return the Kubernetes events about an object, oldest first.

        :param name: Name of the object the events are about.
        :param namespace: Namespace; defaults as in :meth:`resolve_namespace`.
        :param kind: Kind of the object (``FlinkDeployment``, ``Pod``...), to tell same-named objects apart.
        :param warning_only: Only ``Warning`` events.
        """
        call = _events_call(name, self.resolve_namespace(namespace), kind, warning_only)
        answer = _loads(self._send(call))
        return _events_sorted(list((answer or {}).get("items") or []))

    def wait_until_deleted(
        self,
        kind: str,
        name: str,
        namespace: str | None = None,
        timeout: float = 300.0,
        interval: float = 2.0,
    ) -> bool:
        """
        Wait until a resource is gone (the Flink operator's finalizer may take a while); return whether it is.

        :param kind: Kind or plural of the resource.
        :param name: Name of the resource.
        :param namespace: Namespace; defaults as in :meth:`resolve_namespace`.
        :param timeout: Seconds to wait at most.
        :param interval: Seconds between looks.
        """
        deadline = time.monotonic() + timeout
        while self.get_resource(kind, name, namespace) is not None:
            if time.monotonic() >= deadline:
                return False
            self._sleep(interval)
        return True

    def failure_report(self, kind: str, name: str, namespace: str | None = None, log_lines: int = 100) -> list[str]:
        """
        Collect what explains a failed job, as lines for the task log: the JobManager's log tail and the
        resource's Warning events. Never raises: a diagnosis must not hide the failure it explains.

        :param kind: ``FlinkDeployment``, ``FlinkSessionJob``, or ``Deployment`` for a native cluster.
        :param name: The resource name (the cluster id for FlinkDeployments and native clusters).
        :param namespace: Namespace; defaults as in :meth:`resolve_namespace`.
        :param log_lines: Lines of JobManager log to quote.
        """
        namespace = self.resolve_namespace(namespace)
        lines: list[str] = []
        cluster_id = name
        try:
            if kind in ("FlinkSessionJob", "flinksessionjobs"):
                job = self.get_resource(kind, name, namespace) or {}
                cluster_id = (job.get("spec") or {}).get("deploymentName") or name
            pods = self.find_jobmanager_pods(cluster_id, namespace)
            if pods:
                pod = pods[0]["metadata"]["name"]
                text = self.read_pod_log(pod, namespace, tail_lines=log_lines)
                lines.append(f"--- last {log_lines} lines of JobManager pod {namespace}/{pod} ---")
                lines.extend(text.splitlines())
            else:
                lines.append(f"--- no JobManager pod found for {namespace}/{cluster_id} ---")
        except Exception as error:
            lines.append(f"--- could not read the JobManager log of {namespace}/{cluster_id}: {error} ---")
        try:
            events = self.list_events(name, namespace, kind=_event_kind(kind), warning_only=True)
            if events:
                lines.append(f"--- Warning events of {kind} {namespace}/{name} ---")
                lines.extend(
                    f"{e.get('lastTimestamp') or e.get('eventTime') or ''} {e.get('reason')}: {e.get('message')}"
                    for e in events
                )
        except Exception as error:
            lines.append(f"--- could not read the events of {kind} {namespace}/{name}: {error} ---")
        return lines

    # -- native application clusters ------------------------------------------------------------

    def delete_application_cluster(self, cluster_id: str, namespace: str | None = None) -> bool:
        """
        Delete a native-mode Flink application cluster; return ``False`` if nothing existed.

        Deletes the JobManager Deployment ``<cluster_id>`` with foreground propagation (its Services,
        ConfigMap and TaskManager pods are owned by it and go with it) and the high-availability
        ConfigMaps, which Flink deliberately leaves behind and which would make a cluster reusing
        the id recover the old job.

        :param cluster_id: The ``kubernetes.cluster-id``.
        :param namespace: Namespace; defaults as in :meth:`resolve_namespace`.
        """
        namespace = self.resolve_namespace(namespace)
        deleted = self._delete(
            _Call(
                action="delete",
                kind="Deployment",
                namespace=namespace,
                name=cluster_id,
                method="DELETE",
                path=f"/apis/apps/v1/namespaces/{_q(namespace)}/deployments/{_q(cluster_id)}",
                body=_delete_options("Foreground"),
                verb="delete",
                rbac_resource="deployments.apps",
            )
        )
        listing = _loads(self._send(_ha_configmaps_call(cluster_id, namespace)))
        names = {item["metadata"]["name"] for item in (listing or {}).get("items") or []}
        # Flink >= 1.15 names its leader ConfigMap so; catch it even if its labels were stripped.
        names.add(f"{cluster_id}-cluster-config-map")
        for name in sorted(names):
            deleted = self._delete(_configmap_delete_call(name, namespace)) or deleted
        return deleted

    # -- native clusters: Deployments and pods (added for FlinkNativeSubmitOperator) -------------

    def get_deployment(self, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """
        Return an apps/v1 Deployment (a native cluster's JobManager is Deployment ``<cluster-id>``), or ``None``.

        :param name: Deployment name.
        :param namespace: Namespace; defaults as in :meth:`resolve_namespace`.
        """
        try:
            return _loads(self._send(_deployment_call("GET", name, self.resolve_namespace(namespace))))
        except FlinkResourceNotFound:
            return None

    def patch_deployment(self, name: str, patch: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        """
        Apply a JSON merge patch to an apps/v1 Deployment (e.g. labels on its metadata) and return it.

        :param name: Deployment name.
        :param patch: The merge patch.
        :param namespace: Namespace; defaults as in :meth:`resolve_namespace`.
        """
        namespace = self.resolve_namespace(namespace)
        return _loads(self._send(_deployment_call("PATCH", name, namespace, body=patch, content_type=_MERGE_PATCH)))

    def get_pod(self, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """
        Return a pod, or ``None`` if it does not exist.

        :param name: Pod name.
        :param namespace: Namespace; defaults as in :meth:`resolve_namespace`.
        """
        try:
            return _loads(self._send(_pod_call("GET", name, self.resolve_namespace(namespace))))
        except FlinkResourceNotFound:
            return None

    def create_pod(self, body: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        """
        Create a pod (never retried after an ambiguous failure: the caller reads it back by name).

        :param body: The pod, with ``metadata.name``.
        :param namespace: Namespace; else the body's; else as in :meth:`resolve_namespace`.
        :raises FlinkConflictError: a pod of that name exists.
        """
        namespace = self.resolve_namespace(namespace or _body_namespace(body))
        name = (body.get("metadata") or {}).get("name")
        return _loads(self._send(_pod_call("POST", name, namespace, body=body)))

    def delete_pod(self, name: str, namespace: str | None = None, grace_period_seconds: int | None = None) -> bool:
        """
        Delete a pod; return ``False`` if it was already gone.

        :param name: Pod name.
        :param namespace: Namespace; defaults as in :meth:`resolve_namespace`.
        :param grace_period_seconds: Seconds the pod may take to stop; ``None`` for its own setting.
        """
        options = _delete_options("Background")
        if grace_period_seconds is not None:
            options["gracePeriodSeconds"] = grace_period_seconds
        return self._delete(_pod_call("DELETE", name, self.resolve_namespace(namespace), body=options))


def _deployment_call(method: str, name: str, namespace: str, **kwargs: Any) -> _Call:
    return _Call(
        action={"GET": "read", "PATCH": "patch", "DELETE": "delete"}.get(method, method.lower()),
        kind="Deployment",
        namespace=namespace,
        name=name,
        method=method,
        path=f"/apis/apps/v1/namespaces/{_q(namespace)}/deployments/{_q(name)}",
        verb=_RBAC_VERBS.get(method),
        rbac_resource="deployments.apps",
        **kwargs,
    )


def _pod_call(method: str, name: str | None, namespace: str, **kwargs: Any) -> _Call:
    create = method == "POST"
    return _Call(
        action={"GET": "read", "POST": "create", "DELETE": "delete"}.get(method, method.lower()),
        kind="Pod",
        namespace=namespace,
        name=name,
        method=method,
        path=_core_path("pods", namespace, None if create else name),
        idempotent=not create,
        verb=_RBAC_VERBS.get(method),
        rbac_resource="pods",
        **kwargs,
    )


def _event_kind(kind: str) -> str:
    """The ``involvedObject.kind`` events carry for a kind or plural we were given."""
    return {"flinkdeployments": "FlinkDeployment", "flinksessionjobs": "FlinkSessionJob"}.get(kind, kind)


def _ha_configmaps_call(cluster_id: str, namespace: str) -> _Call:
    return _Call(
        action=f"list high-availability ConfigMaps of cluster {cluster_id} in",
        kind="ConfigMap",
        namespace=namespace,
        name=None,
        method="GET",
        path=_core_path("configmaps", namespace),
        query=(("labelSelector", f"app={cluster_id},{HA_CONFIGMAP_TYPE_LABEL}={HA_CONFIGMAP_TYPE_VALUE}"),),
        verb="list",
        rbac_resource="configmaps",
    )


def _configmap_delete_call(name: str, namespace: str) -> _Call:
    return _Call(
        action="delete",
        kind="ConfigMap",
        namespace=namespace,
        name=name,
        method="DELETE",
        path=_core_path("configmaps", namespace, name),
        body=_delete_options("Background"),
        verb="delete",
        rbac_resource="configmaps",
    )


def _not_found(kind: str, name: str, namespace: str) -> FlinkResourceNotFound:
    error = api_error(
        action="read the status of",
        kind=resolve_kind(kind)[0],
        namespace=namespace,
        name=name,
        status=404,
        reason="Not Found",
        detail="it does not exist",
        error_class=FlinkResourceNotFound,
    )
    assert isinstance(error, FlinkResourceNotFound)
    return error


def _decode_log(data: bytes, limit_bytes: int | None) -> str:
    if limit_bytes is not None and len(data) > limit_bytes:
        data = data[:limit_bytes]  # in case the server ignored limitBytes
    return data.decode("utf-8", errors="replace")


def _retry_logger(log: Any, policy: RetryPolicy, call: _Call) -> Callable[[BaseException, int, float], None]:
    def on_retry(error: BaseException, attempt: int, delay: float) -> None:
        target = f"{call.namespace}/{call.name}" if call.name else f"namespace {call.namespace}"
        log.warning(
            "Transient failure to %s %s %s (attempt %d of %d): %s; retrying in %.2fs",
            call.action,
            call.kind,
            target,
            attempt,
            policy.max_attempts,
            _short(error),
            delay,
        )

    return on_retry


def _short(error: BaseException) -> str:
    status = http_status(error)
    if status:
        return f"HTTP {status} {getattr(error, 'reason', '') or ''}".strip()
    return f"{type(error).__name__}: {error}"


# ---------------------------------------------------------------------------------------------
# Async hook
# ---------------------------------------------------------------------------------------------


class AsyncFlinkKubernetesHook(AsyncKubernetesHook):
    """
    Read Flink resources, logs, events and Flink REST without blocking, for triggers.

    Build it from :meth:`FlinkKubernetesHook.get_trigger_connection_kwargs` so that the triggerer
    needs neither the kubeconfig file nor the connection: given ``config_dict`` or ``in_cluster``,
    no connection is looked up. One API client (one aiohttp session) serves every call of the
    instance; call :meth:`close` (or use ``async with``) when done.

    :param config_dict: Kubeconfig as a dict.
    :param cluster_context: Kubeconfig context to use.
    :param in_cluster: Use the pod's service account.
    :param namespace: Default namespace; else the connection's ``namespace`` extra; else ``default``.
    :param disable_verify_ssl: Do not verify the API server's certificate.
    :param kubernetes_conn_id: Connection to read when neither ``config_dict`` nor ``in_cluster`` is given.
    :param conn_id: Alias of ``kubernetes_conn_id``.
    :param connection_extras: Connection extras, given instead of looking the connection up.
    :param client_configuration: Optional kubernetes_asyncio configuration to load into.
    :param request_timeout: Timeout of each request: seconds, or (connect, read) seconds.
    :param retry_policy: How transient failures are retried; see :class:`RetryPolicy`.
    :param sleep: Async wait function used between retries (injectable for tests).
    """

    def __init__(
        self,
        config_dict: dict | None = None,
        cluster_context: str | None = None,
        in_cluster: bool | None = None,
        namespace: str | None = None,
        disable_verify_ssl: bool | None = None,
        kubernetes_conn_id: str | None = KubernetesHook.default_conn_name,
        conn_id: str | None = None,
        connection_extras: dict | None = None,
        client_configuration: async_client.Configuration | None = None,
        request_timeout: float | tuple[float, float] = DEFAULT_REQUEST_TIMEOUT,
        retry_policy: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        **kwargs: Any,
    ) -> None:
        if connection_extras is None and (config_dict or in_cluster):
            # The connection is fully described: do not look it up on the triggerer.
            connection_extras = {}
        super().__init__(
            config_dict,
            connection_extras,
            client_configuration,
            conn_id=conn_id,
            kubernetes_conn_id=kubernetes_conn_id,
            cluster_context=cluster_context,
            in_cluster=in_cluster,
            disable_verify_ssl=disable_verify_ssl,
            **kwargs,
        )
        self.namespace = namespace
        self.request_timeout = request_timeout
        self.retry_policy = retry_policy or RetryPolicy()
        self._sleep = sleep
        self._client: async_client.ApiClient | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None

    async def __aenter__(self) -> AsyncFlinkKubernetesHook:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the hook's API client (its aiohttp session)."""
        client, self._client, self._client_loop = self._client, None, None
        if client is not None:
            await client.close()

    async def _api_client(self) -> async_client.ApiClient:
        # Cheap once loaded; with exec-plugin auth the parent reloads to refresh short-lived tokens,
        # in place in the configuration the client reads its credentials from.
        await self._load_config()
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            # A session is bound to its event loop; a hook reused from another loop needs a new one.
            disable_verify_ssl = self._coalesce_param(
                self.disable_verify_ssl, _as_bool(await self._get_field("disable_verify_ssl"))
            )
            if disable_verify_ssl and self.client_configuration is not None:
                self.client_configuration.verify_ssl = False
            self._client = _TimeoutAsyncK8sApiClient(configuration=self.client_configuration)
            self._client_loop = loop
        return self._client

    async def resolve_namespace(self, namespace: str | None = None) -> str:
        """
        Return the namespace to use: the argument, else the hook's, else the connection's, else ``default``.

        :param namespace: Namespace given to one call.
        """
        return namespace or self.namespace or (await self._get_field("namespace")) or self.DEFAULT_NAMESPACE

    # -- request plumbing -------------------------------------------------------------------

    async def _open(
        self, call: _Call, api: async_client.ApiClient, timeout: float | tuple[float, float] | None = None
    ) -> Any:
        response = await api.call_api(
            call.path,
            call.method,
            query_params=list(call.query),
            header_params=call.header_params(),
            body=call.body,
            auth_settings=["BearerToken"],
            _preload_content=False,
            _return_http_data_only=True,
            _request_timeout=cast(Any, timeout or self.request_timeout),
        )
        if not 200 <= response.status <= 299:
            try:
                data = await response.read()
            finally:
                response.release()
            error = AsyncApiException(status=response.status, reason=response.reason)
            error.body = data
            error.headers = response.headers
            raise error
        return response

    async def _send_once(self, call: _Call, api: async_client.ApiClient) -> bytes:
        response = await self._open(call, api)
        try:
            return await response.read()
        finally:
            response.release()

    def _on_retry(self, call: _Call) -> Callable[[BaseException, int, float], None]:
        return _retry_logger(self.log, self.retry_policy, call)

    async def _send(self, call: _Call) -> bytes:
        # Outside the retries and their error translation: a bad kubeconfig is no transient failure.
        api = await self._api_client()
        try:
            return await acall_with_retries(
                lambda: self._send_once(call, api),
                self.retry_policy,
                idempotent=call.idempotent,
                sleep=self._sleep,
                on_retry=self._on_retry(call),
            )
        except RetryExhausted as exhausted:
            raise _translate(call, exhausted.last_error, exhausted) from exhausted.last_error
        except _CLIENT_ERRORS as error:
            raise _translate(call, error) from error

    # -- writes (a killed deferred task cleans up from the triggerer) ---------------------------

    async def patch_resource(
        self, kind: str, name: str, patch: dict[str, Any], namespace: str | None = None
    ) -> dict[str, Any]:
        """Async :meth:`FlinkKubernetesHook.patch_resource`."""
        call = _custom_call(
            "patch",
            "patch",
            kind,
            await self.resolve_namespace(namespace),
            name,
            "PATCH",
            body=patch,
            content_type=_MERGE_PATCH,
        )
        return _loads(await self._send(call))

    async def delete_resource(
        self, kind: str, name: str, namespace: str | None = None, propagation: str | None = "Foreground"
    ) -> bool:
        """Async :meth:`FlinkKubernetesHook.delete_resource`."""
        call = _custom_call(
            "delete",
            "delete",
            kind,
            await self.resolve_namespace(namespace),
            name,
            "DELETE",
            body=_delete_options(propagation),
        )
        try:
            await self._send(call)
        except FlinkResourceNotFound:
            return False
        return True

    # -- reads --------------------------------------------------------------------------------

    async def get_resource(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """Async :meth:`FlinkKubernetesHook.get_resource`."""
        try:
            return _loads(await self._send(_get_call(kind, name, await self.resolve_namespace(namespace))))
        except FlinkResourceNotFound:
            return None

    async def get_status(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        """Async :meth:`FlinkKubernetesHook.get_status`."""
        namespace = await self.resolve_namespace(namespace)
        obj = await self.get_resource(kind, name, namespace)
        if obj is None:
            raise _not_found(kind, name, namespace)
        return obj.get("status") or {}

    async def list_resources(
        self, kind: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        """Async :meth:`FlinkKubernetesHook.list_resources`."""
        call = _list_call(kind, await self.resolve_namespace(namespace), label_selector)
        answer = _loads(await self._send(call))
        return list((answer or {}).get("items") or [])

    async def list_resources_with_version(
        self, kind: str, namespace: str | None = None, label_selector: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """
        List like :meth:`list_resources` and also return the list's resourceVersion, to watch from.

        :param kind: Kind or plural of the resources.
        :param namespace: Namespace; defaults as in :meth:`resolve_namespace`.
        :param label_selector: Kubernetes label selector.
        """
        call = _list_call(kind, await self.resolve_namespace(namespace), label_selector)
        answer = _loads(await self._send(call)) or {}
        return list(answer.get("items") or []), (answer.get("metadata") or {}).get("resourceVersion")

    async def flink_rest(
        self,
        method: str,
        cluster_id_or_service: str,
        path: str,
        namespace: str | None = None,
        body: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        """Async :meth:`FlinkKubernetesHook.flink_rest` (triggers only read, with ``GET``)."""
        namespace = await self.resolve_namespace(namespace)
        call = _rest_call(method, cluster_id_or_service, path, namespace, body, params)
        return _loads_or_text(await self._send(call))

    async def read_pod_log(
        self,
        name: str,
        namespace: str | None = None,
        container: str | None = None,
        tail_lines: int | None = 200,
        limit_bytes: int | None = 64 * 1024,
        previous: bool = False,
    ) -> str:
        """Async :meth:`FlinkKubernetesHook.read_pod_log`."""
        namespace = await self.resolve_namespace(namespace)
        call = _log_call(name, namespace, container, tail_lines, limit_bytes, previous)
        return _decode_log(await self._send(call), limit_bytes)

    async def find_jobmanager_pods(self, cluster_id: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """Async :meth:`FlinkKubernetesHook.find_jobmanager_pods`."""
        answer = _loads(await self._send(_pods_call(cluster_id, await self.resolve_namespace(namespace))))
        return _pods_sorted(list((answer or {}).get("items") or []))

    async def list_events(
        self, name: str, namespace: str | None = None, kind: str | None = None, warning_only: bool = False
    ) -> list[dict[str, Any]]:
        """Async :meth:`FlinkKubernetesHook.list_events`."""
        call = _events_call(name, await self.resolve_namespace(namespace), kind, warning_only)
        answer = _loads(await self._send(call))
        return _events_sorted(list((answer or {}).get("items") or []))

    # -- watch ----------------------------------------------------------------------------------

    async def watch_resources(
        self,
        kind: str,
        namespace: str | None = None,
        resource_version: str | None = None,
        label_selector: str | None = None,
        timeout_seconds: float = 300,
    ) -> AsyncGenerator[tuple[str, dict[str, Any]], None]:
        """
        Yield ``(event_type, object)`` for changes to Flink resources of one kind, for a while.

        Event types are ``ADDED``, ``MODIFIED`` and ``DELETED``. A stream the server or network cuts
        short is resumed from the last resourceVersion seen (transient failures go through the retry
        policy); iteration ends after ``timeout_seconds``. Without ``resource_version`` the server
        first replays every existing object as ``ADDED``. Close the iterator when leaving early
        (``contextlib.aclosing``).

        :param kind: Kind or plural of the resources.
        :param namespace: Namespace; defaults as in :meth:`resolve_namespace`.
        :param resource_version: Watch changes after this version (e.g. from a list).
        :param label_selector: Kubernetes label selector.
        :param timeout_seconds: How long to watch in total.
        :raises FlinkWatchExpired: ``resource_version`` is too old (410 Gone): list again, then watch
            from the list's resourceVersion.
        """
        canonical, _ = resolve_kind(kind)
        namespace = await self.resolve_namespace(namespace)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_seconds
        version = resource_version
        state = RetryState(self.retry_policy)
        connect = self.request_timeout[0] if isinstance(self.request_timeout, tuple) else self.request_timeout
        while (remaining := deadline - loop.time()) > 0:
            query = [
                ("watch", "true"),
                ("allowWatchBookmarks", "true"),
                ("timeoutSeconds", str(max(1, math.ceil(remaining)))),
            ]
            if version:
                query.append(("resourceVersion", version))
            if label_selector:
                query.append(("labelSelector", label_selector))
            call = _custom_call("watch", "watch", canonical, namespace, None, "GET", query=tuple(query))
            api = await self._api_client()
            state.begin_attempt()
            try:
                response = await self._open(call, api, timeout=(connect, remaining + _WATCH_READ_MARGIN))
            except _CLIENT_ERRORS as error:
                await self._wait_before_retry(call, state, error)
                continue
            received = 0
            waited = False
            lines = _iter_lines(response.content)
            try:
                while True:
                    try:
                        line = await anext(lines)
                    except StopAsyncIteration:
                        break
                    except _CLIENT_ERRORS as error:
                        await self._wait_before_retry(call, state, error)
                        waited = True
                        break
                    event_type, obj = _parse_watch_event(line, call)
                    version = (obj.get("metadata") or {}).get("resourceVersion") or version
                    if event_type == "BOOKMARK":
                        continue
                    received += 1
                    state = RetryState(self.retry_policy)  # progress: a fresh budget for the next failure
                    yield event_type, obj
            finally:
                await lines.aclose()
                response.close()
            if received == 0 and not waited:
                # Closed early without a word: do not hammer the server while the deadline lasts.
                await self._sleep(min(self.retry_policy.base_delay, max(0.0, deadline - loop.time())))

    # -- native clusters (added for the native mode of FlinkJobTrigger) -------------------------

    async def get_deployment(self, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """Async :meth:`FlinkKubernetesHook.get_deployment`."""
        try:
            return _loads(await self._send(_deployment_call("GET", name, await self.resolve_namespace(namespace))))
        except FlinkResourceNotFound:
            return None

    async def delete_application_cluster(self, cluster_id: str, namespace: str | None = None) -> bool:
        """Async :meth:`FlinkKubernetesHook.delete_application_cluster` (the deferred task's on_kill)."""
        namespace = await self.resolve_namespace(namespace)
        deleted = True
        try:
            await self._send(_deployment_call("DELETE", cluster_id, namespace, body=_delete_options("Foreground")))
        except FlinkResourceNotFound:
            deleted = False
        listing = _loads(await self._send(_ha_configmaps_call(cluster_id, namespace)))
        names = {item["metadata"]["name"] for item in (listing or {}).get("items") or []}
        names.add(f"{cluster_id}-cluster-config-map")
        for name in sorted(names):
            try:
                await self._send(_configmap_delete_call(name, namespace))
                deleted = True
            except FlinkResourceNotFound:
                pass
        return deleted

    async def _wait_before_retry(self, call: _Call, state: RetryState, error: BaseException) -> None:
        try:
            delay = state.delay_or_raise(error, idempotent=True)
        except RetryExhausted as exhausted:
            raise _translate(call, error, exhausted) from error
        except _CLIENT_ERRORS:
            raise _translate(call, error) from error
        self._on_retry(call)(error, state.attempts, delay)
        await self._sleep(delay)


async def _iter_lines(content: aiohttp.StreamReader) -> AsyncGenerator[bytes, None]:
    # Not StreamReader.readline(): it refuses lines over 128 KiB, and a custom resource whose status
    # carries a long error message can be larger.
    buffer = b""
    async for chunk in content.iter_any():
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            if line.strip():
                yield line
    if buffer.strip():
        yield buffer


def _parse_watch_event(line: bytes, call: _Call) -> tuple[str, dict[str, Any]]:
    try:
        event = json.loads(line)
        event_type, obj = event["type"], event["object"]
    except (ValueError, KeyError, TypeError) as error:
        raise FlinkKubernetesError(
            f"Could not watch {call.kind} in namespace {call.namespace}: malformed watch event {line[:200]!r}",
            kind=call.kind,
            namespace=call.namespace,
        ) from error
    if event_type == "ERROR":
        # The server reports an expired resourceVersion inside a 200 stream, as a Status.
        raise api_error(
            action="watch",
            kind=call.kind,
            namespace=call.namespace,
            name=None,
            status=obj.get("code"),
            reason=obj.get("reason"),
            body=json.dumps(obj),
            verb=call.verb,
            rbac_resource=call.rbac_resource,
        )
    return event_type, obj
