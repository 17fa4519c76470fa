"""Resource types served by the emulator, Status error bodies, and the discovery documents."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_flink.utils.crd_schema import CustomResourceDefinition, FieldError, invalid_message

STANDARD_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceType:
    """
    One served resource (group, version, plural) and the API server behaviour that differs per kind.

    :param status_subresource: ``/status`` is a separate endpoint; writes to the main resource keep
        the stored status, writes to ``/status`` change only the status.
    :param tracks_generation: ``metadata.generation`` starts at 1 and grows when anything outside
        metadata and status changes.
    :param name_rule: object name rule (see ``crd_schema.validate_name``).
    :param field_labels: field selector paths supported beyond ``metadata.name``/``metadata.namespace``.
    :param returns_deleted_object: DELETE answers with the object instead of a Success Status.
    :param extra_subresources: subresources served besides ``status`` (pods/log, services/proxy);
        the ``scale`` subresource is not emulated.
    :param crd: the CustomResourceDefinition, for custom resources (validated against its schema).
    """

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    status_subresource: bool = False
    tracks_generation: bool = False
    name_rule: str = "subdomain"
    field_labels: frozenset[str] = frozenset()
    returns_deleted_object: bool = False
    short_names: tuple[str, ...] = ()
    extra_subresources: tuple[str, ...] = ()
    crd: CustomResourceDefinition | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.group, self.plural)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        """``plural.group`` as the API server names a resource in messages (``pods`` for core)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def qualified_kind(self) -> str:
        """``Kind.group`` as the API server names a kind in Invalid messages (``Pod`` for core)."""
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    @property
    def schema(self) -> Mapping[str, Any] | None:
        if self.crd is None:
            return None
        version = self.crd.version(self.version)
        return version.schema if version is not None else None

    def discovery_entries(self) -> list[dict[str, Any]]:
        """The APIResource entries of this resource and its subresources."""
        entry: dict[str, Any] = {
            "name": self.plural,
            "singularName": self.kind.lower(),
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": list(STANDARD_VERBS),
        }
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        entries = [entry]
        subresources = (("status",) if self.status_subresource else ()) + self.extra_subresources
        for sub in subresources:
            verbs = ["get", "patch", "update"] if sub == "status" else ["get", "create", "delete", "patch", "update"]
            entries.append(
                {
                    "name": f"{self.plural}/{sub}",
                    "singularName": "",
                    "namespaced": self.namespaced,
                    "kind": self.kind,
                    "verbs": verbs,
                }
            )
        return entries


def custom_resource_types(crd: CustomResourceDefinition) -> list[ResourceType]:
    """The resource types (one per served version) of a CustomResourceDefinition."""
    return [
        ResourceType(
            group=crd.group,
            version=version.name,
            plural=crd.plural,
            kind=crd.kind,
            namespaced=crd.namespaced,
            status_subresource=version.status_subresource,
            tracks_generation=True,
            short_names=crd.short_names,
            crd=crd,
        )
        for version in crd.versions
        if version.served
    ]


_POD_FIELDS = frozenset(
    {
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "spec.hostNetwork",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
    }
)
_EVENT_FIELDS = frozenset(
    {
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    }
)


def builtin_resource_types() -> list[ResourceType]:
    """The built-in kinds a Flink deployment and the provider touch (core, apps, batch, ...)."""
    return [
        ResourceType(
            "", "v1", "pods", "Pod", status_subresource=True, field_labels=_POD_FIELDS,
            returns_deleted_object=True, short_names=("po",), extra_subresources=("log",),
        ),
        ResourceType(
            "", "v1", "services", "Service", status_subresource=True, name_rule="label1035",
            returns_deleted_object=True, short_names=("svc",), extra_subresources=("proxy",),
        ),
        ResourceType("", "v1", "configmaps", "ConfigMap", short_names=("cm",)),
        ResourceType("", "v1", "secrets", "Secret", field_labels=frozenset({"type"})),
        ResourceType("", "v1", "events", "Event", field_labels=_EVENT_FIELDS, short_names=("ev",)),
        ResourceType("", "v1", "serviceaccounts", "ServiceAccount", short_names=("sa",)),
        ResourceType("", "v1", "endpoints", "Endpoints", short_names=("ep",)),
        ResourceType(
            "", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", status_subresource=True,
            short_names=("pvc",),
        ),
        ResourceType(
            "", "v1", "namespaces", "Namespace", namespaced=False, status_subresource=True, name_rule="label",
            field_labels=frozenset({"status.phase"}), short_names=("ns",),
        ),
        ResourceType("", "v1", "nodes", "Node", namespaced=False, status_subresource=True,
                     short_names=("no",)),
        ResourceType(
            "apps", "v1", "deployments", "Deployment", status_subresource=True, tracks_generation=True,
            short_names=("deploy",),
        ),
        ResourceType(
            "apps", "v1", "replicasets", "ReplicaSet", status_subresource=True, tracks_generation=True,
            field_labels=frozenset({"status.replicas"}), short_names=("rs",),
        ),
        ResourceType(
            "apps", "v1", "statefulsets", "StatefulSet", status_subresource=True, tracks_generation=True,
            short_names=("sts",),
        ),
        ResourceType("batch", "v1", "jobs", "Job", status_subresource=True, tracks_generation=True,
                     field_labels=frozenset({"status.successful"})),
        ResourceType("batch", "v1", "cronjobs", "CronJob", status_subresource=True, tracks_generation=True,
                     short_names=("cj",)),
        ResourceType("coordination.k8s.io", "v1", "leases", "Lease"),
        ResourceType(
            "apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
            namespaced=False, status_subresource=True, tracks_generation=True, short_names=("crd", "crds"),
        ),
    ]  # fmt: skip


class ApiError(Exception):
    """An API failure answered with a Kubernetes ``Status`` body."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = dict(details) if details is not None else None
        self.headers = dict(headers or {})

    def status(self) -> dict[str, Any]:
        """The ``Status`` object sent as the response body."""
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body


def _details(rt: ResourceType, name: str, **extra: Any) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name}
    if rt.group:
        details["group"] = rt.group
    details["kind"] = rt.plural
    details.update(extra)
    return details


def not_found(rt: ResourceType, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{rt.group_resource} "{name}" not found', _details(rt, name))


def already_exists(rt: ResourceType, name: str) -> ApiError:
    return ApiError(409, "AlreadyExists", f'{rt.group_resource} "{name}" already exists', _details(rt, name))


def conflict(rt: ResourceType, name: str, why: str) -> ApiError:
    message = f'Operation cannot be fulfilled on {rt.group_resource} "{name}": {why}'
    return ApiError(409, "Conflict", message, _details(rt, name))


MODIFIED_CONFLICT = "the object has been modified; please apply your changes to the latest version and try again"


def invalid(rt: ResourceType, name: str, errors: list[FieldError]) -> ApiError:
    causes = [{"reason": e.reason, "message": e.detail, "field": e.field} for e in errors]
    details: dict[str, Any] = {"name": name}
    if rt.group:
        details["group"] = rt.group
    details["kind"] = rt.kind
    details["causes"] = causes
    return ApiError(422, "Invalid", invalid_message(rt.qualified_kind, name, errors), details)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def resource_not_found() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def method_not_allowed(method: str) -> ApiError:
    return ApiError(
        405,
        "MethodNotAllowed",
        f"the server does not allow this method on the requested resource ({method})",
        {},
    )


def success_status(rt: ResourceType, name: str, uid: str) -> dict[str, Any]:
    """The Status answered by DELETE when the object is gone at once (most kinds)."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": _details(rt, name, uid=uid),
    }


def api_versions_doc(host: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}],
    }


def resource_list_doc(group_version: str, types: Iterable[ResourceType]) -> dict[str, Any]:
    resources: list[dict[str, Any]] = []
    for rt in sorted(types, key=lambda t: t.plural):
        resources.extend(rt.discovery_entries())
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }


def api_group_doc(group: str, versions: list[str]) -> dict[str, Any]:
    entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": group,
        "versions": entries,
        "preferredVersion": entries[0],
    }


def api_group_list_doc(groups: Mapping[str, list[str]]) -> dict[str, Any]:
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [
            {k: v for k, v in api_group_doc(group, versions).items() if k not in ("kind", "apiVersion")}
            for group, versions in sorted(groups.items())
        ],
    }


VERSION_DOC = {
    "major": "1",
    "minor": "33",
    "gitVersion": "v1.33.0-emulator",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z",
    "goVersion": "go1.24.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}
