"""The worker resolves the connection into trigger kwargs; the triggerer rebuilds it without a lookup."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from airflow.exceptions import AirflowException

from airflow_provider_flink.hooks.kubernetes import AsyncFlinkKubernetesHook, FlinkKubernetesHook

if TYPE_CHECKING:
    from airflow_provider_flink.testing.kube_emulator import KubeEmulator

NAMESPACE = "flink-jobs"  # the kube_conn fixture's namespace extra


def _define_connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, extra: dict[str, Any]) -> None:
    conn = {"conn_type": "kubernetes", "extra": extra}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))


def test_inline_kubeconfig_connection_round_trips_to_an_async_hook_without_a_lookup(
    kube_conn: str,
    hook: FlinkKubernetesHook,
    kube_backend: Any,
    monkeypatch: pytest.MonkeyPatch,
    flink_deployment: Any,
) -> None:
    hook.create_resource(flink_deployment("wordcount"))
    kwargs = json.loads(json.dumps(FlinkKubernetesHook(kubernetes_conn_id=kube_conn).get_trigger_connection_kwargs()))
    # The triggerer knows no such connection: a lookup would now fail.
    monkeypatch.delenv(f"AIRFLOW_CONN_{kube_conn.upper()}")

    async def read() -> dict[str, Any] | None:
        async with AsyncFlinkKubernetesHook(**kwargs) as async_hook:
            return await async_hook.get_resource("FlinkDeployment", "wordcount")

    obj = asyncio.run(read())

    assert kwargs["config_dict"] == kube_backend.provider_kubeconfig()
    assert kwargs["namespace"] == NAMESPACE
    assert obj is not None and obj["metadata"]["namespace"] == NAMESPACE


def test_yaml_inline_kubeconfig_and_extras_are_resolved(
    emulator: KubeEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = {
        "kube_config": yaml.safe_dump(emulator.kubeconfig_dict()),
        "cluster_context": "emulator",
        "disable_verify_ssl": "true",
    }
    _define_connection(monkeypatch, "yaml_k8s", extra)

    kwargs = FlinkKubernetesHook(kubernetes_conn_id="yaml_k8s").get_trigger_connection_kwargs()

    assert kwargs == {
        "config_dict": emulator.kubeconfig_dict(),
        "cluster_context": "emulator",
        "in_cluster": None,
        "namespace": "default",
        "disable_verify_ssl": True,
        "kubernetes_conn_id": None,
    }


def test_kubeconfig_file_is_read_on_the_worker_with_certificate_files_inlined(
    tmp_path: Path, emulator: KubeEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ca.crt").write_bytes(b"-----BEGIN CERTIFICATE-----\nfake\n")
    kubeconfig = emulator.kubeconfig_dict()
    kubeconfig["clusters"][0]["cluster"]["certificate-authority"] = "ca.crt"
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(kubeconfig))
    _define_connection(monkeypatch, "file_k8s", {"kube_config_path": str(path), "namespace": "team"})

    kwargs = FlinkKubernetesHook(kubernetes_conn_id="file_k8s").get_trigger_connection_kwargs()

    cluster = kwargs["config_dict"]["clusters"][0]["cluster"]
    assert "certificate-authority" not in cluster
    assert base64.b64decode(cluster["certificate-authority-data"]) == b"-----BEGIN CERTIFICATE-----\nfake\n"
    assert kwargs["namespace"] == "team"


def test_default_kubeconfig_locations_are_read_and_merged_first_wins(
    tmp_path: Path, emulator: KubeEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = emulator.kubeconfig_dict(context="first")
    second = emulator.kubeconfig_dict(context="second")
    second["current-context"] = "second"
    (tmp_path / "a").write_text(yaml.safe_dump(first))
    (tmp_path / "b").write_text(yaml.safe_dump(second))
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'a'}:{tmp_path / 'missing'}:{tmp_path / 'b'}")
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    _define_connection(monkeypatch, "bare_k8s", {})

    kwargs = FlinkKubernetesHook(kubernetes_conn_id="bare_k8s").get_trigger_connection_kwargs()

    config = kwargs["config_dict"]
    assert config["current-context"] == "first"
    assert [c["name"] for c in config["contexts"]] == ["first", "second"]


def test_in_cluster_connection_passes_no_kubeconfig(monkeypatch: pytest.MonkeyPatch) -> None:
    _define_connection(monkeypatch, "pod_k8s", {"in_cluster": True, "namespace": "flink"})

    kwargs = FlinkKubernetesHook(kubernetes_conn_id="pod_k8s").get_trigger_connection_kwargs()

    assert kwargs["in_cluster"] is True
    assert kwargs["config_dict"] is None
    assert kwargs["namespace"] == "flink"


def test_conflicting_connection_options_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    _define_connection(monkeypatch, "both_k8s", {"in_cluster": True, "kube_config_path": "/nowhere"})

    with pytest.raises(AirflowException, match="mutually exclusive"):
        FlinkKubernetesHook(kubernetes_conn_id="both_k8s").get_trigger_connection_kwargs()
