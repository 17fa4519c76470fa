"""
The Kubernetes API backends the tests run against: the in-repo emulator and the real control plane.

A test that asks for the ``kube_backend`` fixture (tests/conftest.py) runs once per backend that can
honour it: on both, unless it also asks for ``emulator`` (fault injection, request records and
direct store reads exist only there). Both backends give the same handle:

* ``admin_kubeconfig()``: full rights, for arranging a test and for the simulated Flink operator;
* ``provider_kubeconfig()``: the identity the provider's code runs as. On the real control plane
  this is a ServiceAccount token (TokenRequest API) bound to exactly the Role printed in README.md,
  so every provider test on the real backend also proves that Role. The emulator has no RBAC.
* ``compact()``: forget history, so an older resourceVersion gets 410 Gone;
* ``reset()``: remove what a test left in its namespace (the real control plane is shared by the
  whole session; an emulator is made per test).
"""

from __future__ import annotations

import datetime
import json
import re
import time
import urllib.parse
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from airflow_provider_flink.testing.kube_emulator.faults import RequestRecord

if TYPE_CHECKING:
    from airflow_provider_flink.testing.kube_emulator import KubeEmulator

    from .control_plane import ControlPlane

README = Path(__file__).resolve().parent.parent.parent / "README.md"
PROVIDER_SERVICE_ACCOUNT = "airflow-worker"
#: The namespace every backend test works in (the README's Role is bound there on the real backend).
BACKEND_NAMESPACE = "flink-jobs"

#: What ``reset()`` empties, in this order (Flink resources first: their finalizers are stripped).
_RESET_KINDS = (
    ("flink.apache.org", "v1beta1", "flinksessionjobs"),
    ("flink.apache.org", "v1beta1", "flinkdeployments"),
    ("flink.apache.org", "v1beta1", "flinkstatesnapshots"),
    ("apps", "v1", "deployments"),
    ("apps", "v1", "replicasets"),
    ("", "v1", "pods"),
    ("", "v1", "services"),
    ("", "v1", "configmaps"),
    ("", "v1", "secrets"),
    ("", "v1", "events"),
)


#: Audit verb -> (the emulator's RequestRecord verb, HTTP method).
_AUDIT_VERBS = {
    "get": ("GET", "GET"),
    "list": ("LIST", "GET"),
    "watch": ("WATCH", "GET"),
    "create": ("POST", "POST"),
    "update": ("PUT", "PUT"),
    "patch": ("PATCH", "PATCH"),
    "delete": ("DELETE", "DELETE"),
    "deletecollection": ("DELETE", "DELETE"),
}


def provider_user(namespace: str) -> str:
    """The user name the API server gives the provider's ServiceAccount in ``namespace``."""
    return f"system:serviceaccount:{namespace}:{PROVIDER_SERVICE_ACCOUNT}"


def _now_micro() -> str:
    """Now, in the audit log's timestamp format (RFC 3339 with microseconds, UTC): comparable as text."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def readme_role() -> dict[str, Any]:
    """The provider's Role, parsed from the RBAC section of README.md (the one source of that Role)."""
    text = README.read_text()
    section = text.split("\n## RBAC\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block, "README.md's RBAC section has no yaml block"
    documents = [d for d in yaml.safe_load_all(block.group(1)) if d]
    return next(d for d in documents if d["kind"] == "Role")


def _path(group: str, version: str, plural: str, namespace: str | None = None) -> str:
    base = f"/api/{version}" if not group else f"/apis/{group}/{version}"
    return f"{base}/namespaces/{namespace}/{plural}" if namespace else f"{base}/{plural}"


class EmulatorBackend:
    def __init__(self, emulator: KubeEmulator, namespace: str) -> None:
        self.emulator = emulator
        self.namespace = namespace

    def admin_kubeconfig(self, namespace: str | None = None) -> dict[str, Any]:
        return self.emulator.kubeconfig_dict(namespace or self.namespace)

    provider_kubeconfig = admin_kubeconfig

    def compact(self) -> None:
        self.emulator.compact()

    def get_object(self, group: str, version: str, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.emulator.get_object(group, version, plural, namespace, name)

    def list_objects(self, group: str, version: str, plural: str, namespace: str | None = None) -> list[dict[str, Any]]:
        return self.emulator.list_objects(group, version, plural, namespace)

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request the emulator served (the tests filter by path and verb)."""
        return self.emulator.requests

    def clear_requests(self) -> None:
        self.emulator.clear_requests()

    def reset(self) -> None:
        """Nothing to do: every test has its own emulator."""


class RealBackend:
    def __init__(self, plane: ControlPlane, namespace: str) -> None:
        self.plane = plane
        self.emulator: KubeEmulator | None = None
        self.namespace = namespace
        self._since = _now_micro()

    def admin_kubeconfig(self, namespace: str | None = None) -> dict[str, Any]:
        return self.plane.kubeconfig_dict(namespace or self.namespace)

    def provider_kubeconfig(self, namespace: str | None = None) -> dict[str, Any]:
        return self.plane.kubeconfig_dict(
            namespace or self.namespace, token=self.provider_token, user=PROVIDER_SERVICE_ACCOUNT
        )

    @cached_property
    def provider_token(self) -> str:
        return service_account_token(self.plane, self.namespace, PROVIDER_SERVICE_ACCOUNT)

    def compact(self) -> None:
        self.plane.expire_history()

    def get_object(self, group: str, version: str, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        status, answer = self.plane.request("GET", f"{_path(group, version, plural, namespace)}/{name}")
        if status == 404:
            return None
        assert status == 200, f"GET {plural} {namespace}/{name}: {status} {answer}"
        return dict(answer)

    def list_objects(self, group: str, version: str, plural: str, namespace: str | None = None) -> list[dict[str, Any]]:
        status, answer = self.plane.request("GET", _path(group, version, plural, namespace))
        assert status == 200, f"LIST {plural}: {status} {answer}"
        return sorted(answer["items"], key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))

    @property
    def requests(self) -> list[RequestRecord]:
        """The provider identity's requests of this test, from the API server's audit log, in the emulator's form."""
        records = []
        for event in self.plane.audit_events(provider_user(self.namespace)):
            if event["stageTimestamp"] < self._since:
                continue
            uri = urllib.parse.urlsplit(event["requestURI"])
            query = dict(urllib.parse.parse_qsl(uri.query))
            verb, method = _AUDIT_VERBS.get(event["verb"], (event["verb"].upper(),) * 2)
            status = int(event.get("responseStatus", {}).get("code", 0))
            records.append(RequestRecord(verb=verb, path=uri.path, query=query, status=status, method=method))
        return records

    def clear_requests(self) -> None:
        self._since = _now_micro()

    def reset(self, timeout: float = 60) -> None:
        """Delete everything of the kinds above in the namespace (finalizers stripped) and wait until it is gone."""
        plane, ns = self.plane, self.namespace
        for group, version, plural in _RESET_KINDS:
            path = _path(group, version, plural, ns)
            if group == "flink.apache.org":
                for item in plane.request("GET", path)[1].get("items", []):
                    if item["metadata"].get("finalizers"):
                        plane.request(
                            "PATCH",
                            f"{path}/{item['metadata']['name']}",
                            {"metadata": {"finalizers": None}},
                            content_type="application/merge-patch+json",
                        )
            if plural == "pods":
                plane.request("DELETE", path + "?gracePeriodSeconds=0")
            else:
                plane.request(
                    "DELETE", path, {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}
                )
        deadline = time.monotonic() + timeout
        for group, version, plural in _RESET_KINDS:
            path = _path(group, version, plural, ns)
            while True:
                items = plane.request("GET", path)[1].get("items", [])
                if plural == "configmaps":
                    items = [i for i in items if i["metadata"]["name"] != "kube-root-ca.crt"]
                if plural == "events" or not items:
                    break
                if time.monotonic() > deadline:
                    names = [i["metadata"]["name"] for i in items]
                    raise TimeoutError(f"reset of {ns}: {plural} {names} still there after {timeout}s")
                time.sleep(0.1)


def prepare_namespace(plane: ControlPlane, namespace: str, role: dict[str, Any] | None = None) -> None:
    """Create ``namespace`` with the provider's ServiceAccount bound to the README's Role (or ``role``), and the
    JobManagers' ServiceAccount ``flink``, as the Flink operator's Helm chart creates it in each watched namespace
    (without it the ServiceAccount admission plugin refuses their pods)."""
    ensure_namespace(plane, namespace)
    bind_readme_role(plane, namespace, role=role)
    plane.request("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts", {"metadata": {"name": "flink"}})


def ensure_namespace(plane: ControlPlane, namespace: str) -> None:
    status, answer = plane.request("POST", "/api/v1/namespaces", {"metadata": {"name": namespace}})
    if status not in (201, 409):
        raise RuntimeError(f"creating namespace {namespace}: {status} {answer}")


def bind_readme_role(
    plane: ControlPlane,
    namespace: str,
    service_account: str = PROVIDER_SERVICE_ACCOUNT,
    role: dict[str, Any] | None = None,
) -> None:
    """Create ``service_account`` and bind it to the README's Role (or ``role``) in ``namespace``, replacing both."""
    role = json.loads(json.dumps(role or readme_role()))
    role["metadata"] = {"name": role["metadata"]["name"], "namespace": namespace}
    name = role["metadata"]["name"]
    base = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}"
    plane.request("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts", {"metadata": {"name": service_account}})
    plane.request("DELETE", f"{base}/roles/{name}")
    status, answer = plane.request("POST", f"{base}/roles", role)
    if status != 201:
        raise RuntimeError(f"creating Role {name}: {status} {answer}")
    binding = {
        "metadata": {"name": name, "namespace": namespace},
        "subjects": [{"kind": "ServiceAccount", "name": service_account, "namespace": namespace}],
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
    }
    plane.request("DELETE", f"{base}/rolebindings/{name}")
    status, answer = plane.request("POST", f"{base}/rolebindings", binding)
    if status != 201:
        raise RuntimeError(f"creating RoleBinding {name}: {status} {answer}")


def service_account_token(plane: ControlPlane, namespace: str, service_account: str, seconds: int = 7200) -> str:
    """A token for the ServiceAccount from the TokenRequest API, as a real pod or workload identity gets one."""
    status, answer = plane.request(
        "POST",
        f"/api/v1/namespaces/{namespace}/serviceaccounts/{service_account}/token",
        {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": seconds}},
    )
    if status != 201:
        raise RuntimeError(f"TokenRequest for {namespace}/{service_account}: {status} {answer}")
    return str(answer["status"]["token"])
