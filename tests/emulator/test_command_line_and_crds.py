"""The command line entry point, and custom resource definitions created through the API."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from kubernetes import client, config

NS = "default"


def widget_crd() -> dict[str, Any]:
    schema = {
        "type": "object",
        "properties": {
            "spec": {"type": "object", "properties": {"size": {"type": "integer", "minimum": 1}}},
            "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}},
        },
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": schema},
                    "subresources": {"status": {}},
                }
            ],
        },
    }


def test_the_flink_crds_are_installed(kube_api_client: client.ApiClient) -> None:
    crds = client.ApiextensionsV1Api(kube_api_client).list_custom_resource_definition()

    assert sorted(c.metadata.name for c in crds.items) == [
        "flinkdeployments.flink.apache.org",
        "flinksessionjobs.flink.apache.org",
        "flinkstatesnapshots.flink.apache.org",
    ]


def test_a_crd_created_through_the_api_is_served_and_validated(kube_api_client: client.ApiClient) -> None:
    client.ApiextensionsV1Api(kube_api_client).create_custom_resource_definition(widget_crd())
    custom = client.CustomObjectsApi(kube_api_client)

    def widget(name: str, size: int) -> dict[str, Any]:
        return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name}, "spec": {"size": size}}

    created = custom.create_namespaced_custom_object("example.com", "v1", NS, "widgets", widget("w", 2))
    try:
        custom.create_namespaced_custom_object("example.com", "v1", NS, "widgets", widget("tiny", 0))
        refused = None
    except client.ApiException as exc:
        refused = exc.status

    assert created["metadata"]["generation"] == 1
    assert refused == 422


def test_command_line_serves_until_terminated(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_flink.testing.kube_emulator", "--port", "0",
         "--kubeconfig", str(kubeconfig), "--namespace", "team-a"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        api = config.new_client_from_config(str(kubeconfig))
        namespaces = [n.metadata.name for n in client.CoreV1Api(api).list_namespace().items]
        api.close()
        _, context = config.list_kube_config_contexts(config_file=str(kubeconfig))
    finally:
        process.send_signal(signal.SIGTERM)
        exit_code = process.wait(timeout=30)

    assert url.startswith("http://127.0.0.1:")
    assert "default" in namespaces
    assert context["context"]["namespace"] == "team-a"
    assert exit_code == 0
