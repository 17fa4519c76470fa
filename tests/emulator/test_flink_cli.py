"""The real Flink CLI (native Kubernetes application mode) deploys against the emulator."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config

from airflow_provider_flink.testing.kube_emulator import KubeEmulator

NS = "default"
# One cluster whose objects are only read, and one per deletion policy: the CLI runs once per module.
CLUSTERS = ("wc-test", "wc-foreground", "wc-background")


def flink_home() -> Path:
    home = os.environ.get("FLINK_HOME")
    if not home:
        pytest.fail(
            "FLINK_HOME is not set: point it at a Flink 2.3 distribution (e.g. the pyflink folder of "
            "`pip install apache-flink`; tests/run.sh sets it up)",
            pytrace=False,
        )
    path = Path(home)
    if not (path / "bin" / "flink").is_file():
        pytest.fail(f"FLINK_HOME={home} has no bin/flink", pytrace=False)
    return path


def run_flink(home: Path, kubeconfig: str, workdir: Path, cluster_id: str) -> subprocess.CompletedProcess[str]:
    # Config, logs and temp files go to a private folder so nothing is written into the shared install.
    conf_dir = workdir / cluster_id / "conf"
    shutil.copytree(home / "conf", conf_dir)
    (workdir / cluster_id / "log").mkdir()
    (workdir / cluster_id / "tmp").mkdir()
    env = dict(
        os.environ,
        FLINK_CONF_DIR=str(conf_dir),
        FLINK_LOG_DIR=str(workdir / cluster_id / "log"),
        # Fail fast instead of retrying, and start the short-lived client JVM cheaply.
        JVM_ARGS=" ".join(
            [
                "-Dkubernetes.request.retry.backoffLimit=0",
                f"-Djava.io.tmpdir={workdir / cluster_id / 'tmp'}",
                "-XX:TieredStopAtLevel=1",
                "-XX:+UseSerialGC",
            ]
        ),
    )
    argv = [
        str(home / "bin" / "flink"), "run", "--target", "kubernetes-application",
        f"-Dkubernetes.cluster-id={cluster_id}", f"-Dkubernetes.namespace={NS}",
        f"-Dkubernetes.config.file={kubeconfig}", "-Dkubernetes.container.image.ref=flink:2.3",
        f"-Dio.tmp.dirs={workdir / cluster_id / 'tmp'}",
        "-c", "org.example.WordCount", "local:///opt/flink/usrlib/wc.jar", "--input", "a",
    ]  # fmt: skip
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=240, check=False)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[KubeEmulator, dict[str, Any]]]:
    """An emulator on which the Flink CLI deployed every cluster of CLUSTERS (in parallel)."""
    home = flink_home()
    workdir = tmp_path_factory.mktemp("flink-cli")
    with KubeEmulator() as emulator:
        kubeconfig = emulator.write_kubeconfig(workdir / "kubeconfig")
        with ThreadPoolExecutor(len(CLUSTERS)) as pool:
            results = pool.map(lambda c: run_flink(home, kubeconfig, workdir, c), CLUSTERS)
            runs = dict(zip(CLUSTERS, results, strict=True))
        yield emulator, runs


@pytest.fixture
def api(deployed: tuple[KubeEmulator, dict[str, Any]]) -> Iterator[client.ApiClient]:
    api_client = config.new_client_from_config_dict(deployed[0].kubeconfig_dict())
    yield api_client
    api_client.close()


def test_flink_run_exits_zero_and_reports_the_cluster(deployed: tuple[KubeEmulator, dict[str, Any]]) -> None:
    _, runs = deployed

    for cluster_id, run in runs.items():
        assert run.returncode == 0, f"{cluster_id}: {run.stdout[-2000:]}\n{run.stderr[-2000:]}"
        assert f"Create flink application cluster {cluster_id} successfully" in run.stdout + run.stderr


def test_flink_run_makes_only_the_requests_fabric8_is_known_to_make(
    deployed: tuple[KubeEmulator, dict[str, Any]],
) -> None:
    emulator, _ = deployed
    base = "/api/v1/namespaces/default"

    calls = [(r.verb, r.path, r.status) for r in emulator.requests]

    for cluster_id in CLUSTERS:
        rest_lookups = [status for verb, path, status in calls if path == f"{base}/services/{cluster_id}-rest"]
        assert rest_lookups[0] == 404 and 200 in rest_lookups[1:]
    assert sorted({(verb, path) for verb, path, status in calls if verb == "POST" and status == 201}) == [
        ("POST", f"{base}/configmaps"),
        ("POST", f"{base}/services"),
        ("POST", "/apis/apps/v1/namespaces/default/deployments"),
    ]
    assert sum(1 for verb, _, _ in calls if verb == "POST") == 4 * len(CLUSTERS)
    assert [c for c in calls if c[2] >= 400 and not c[1].endswith("-rest")] == []


def test_deployment_services_and_configmap_are_readable(api: client.ApiClient) -> None:
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)

    jobmanager = apps.read_namespaced_deployment("wc-test", NS)
    services = {s.metadata.name for s in core.list_namespaced_service(NS, label_selector="app=wc-test").items}
    configmap = core.read_namespaced_config_map("flink-config-wc-test", NS)

    assert jobmanager.metadata.labels == {
        "app": "wc-test",
        "component": "jobmanager",
        "type": "flink-native-kubernetes",
    }
    assert jobmanager.spec.template.spec.containers[0].image == "flink:2.3"
    assert services == {"wc-test", "wc-test-rest"}
    assert configmap.metadata.name == "flink-config-wc-test"


def test_services_and_configmap_are_owned_by_the_jobmanager_deployment(api: client.ApiClient) -> None:
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    owner_uid = apps.read_namespaced_deployment("wc-test", NS).metadata.uid

    owned = [
        core.read_namespaced_service("wc-test", NS),
        core.read_namespaced_service("wc-test-rest", NS),
        core.read_namespaced_config_map("flink-config-wc-test", NS),
    ]

    for obj in owned:
        assert [(r.kind, r.name, r.uid) for r in obj.metadata.owner_references] == [
            ("Deployment", "wc-test", owner_uid)
        ]


def test_flink_config_carries_the_dynamic_options_and_the_main_class(api: client.ApiClient) -> None:
    data = client.CoreV1Api(api).read_namespaced_config_map("flink-config-wc-test", NS).data

    flink_config = yaml.safe_load(data["config.yaml"])

    flat = _flatten(flink_config)
    assert flat["kubernetes.cluster-id"] == "wc-test"
    assert flat["kubernetes.container.image.ref"] == "flink:2.3"
    assert flat["$internal.application.main"] == "org.example.WordCount"
    assert flat["$internal.application.program-args"] in ("--input;a", ["--input", "a"])


@pytest.mark.parametrize(("cluster_id", "policy"), [("wc-foreground", "Foreground"), ("wc-background", "Background")])
def test_deleting_the_jobmanager_deployment_removes_services_and_config(
    api: client.ApiClient, cluster_id: str, policy: str
) -> None:
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)

    apps.delete_namespaced_deployment(cluster_id, NS, propagation_policy=policy)

    left = [s.metadata.name for s in core.list_namespaced_service(NS, label_selector=f"app={cluster_id}").items]
    left += [c.metadata.name for c in core.list_namespaced_config_map(NS, label_selector=f"app={cluster_id}").items]
    left += [d.metadata.name for d in apps.list_namespaced_deployment(NS, label_selector=f"app={cluster_id}").items]
    assert left == []
    assert core.read_namespaced_service("wc-test-rest", NS).metadata.name == "wc-test-rest"


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Flink 2 writes config.yaml nested or flat; compare by dotted keys either way."""
    if not isinstance(value, dict):
        return {prefix: value}
    flat: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(item, dict):
            flat.update(_flatten(item, name))
        flat[name] = item
    return flat
