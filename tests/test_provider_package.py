"""The installed package registers itself with Airflow and stays cheap to import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points

import airflow_provider_flink
from airflow_provider_flink.get_provider_info import get_provider_info


def test_entry_point_returns_provider_info_with_matching_version():
    (entry,) = [
        e for e in entry_points(group="apache_airflow_provider") if e.value.startswith("airflow_provider_flink")
    ]

    info = entry.load()()

    assert info["package-name"] == "airflow-provider-flink"
    assert info["versions"][0] == airflow_provider_flink.__version__


def test_every_module_named_in_provider_info_imports():
    modules = [
        m
        for section in ("hooks", "operators", "sensors", "triggers")
        for item in get_provider_info().get(section, [])
        for m in item["python-modules"]
    ]
    modules += [link.rsplit(".", 1)[0] for link in get_provider_info().get("extra-links", [])]

    code = "import importlib, sys\nfor m in sys.argv[1:]: importlib.import_module(m)"
    result = subprocess.run([sys.executable, "-c", code, *modules], capture_output=True, text=True)

    assert modules and result.returncode == 0, result.stderr


def test_airflow_providers_list_shows_the_package(tmp_path):
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path)}
    airflow = os.path.join(os.path.dirname(sys.executable), "airflow")

    result = subprocess.run([airflow, "providers", "list", "--output", "json"], capture_output=True, text=True, env=env)

    assert result.returncode == 0, result.stderr
    names = [p["package_name"] for p in json.loads(result.stdout)]
    assert "airflow-provider-flink" in names


def test_importing_provider_modules_does_not_read_the_kubeconfig(tmp_path):
    # A kubeconfig that makes any attempt to load it fail loudly.
    bad_kubeconfig = tmp_path / "kubeconfig"
    bad_kubeconfig.write_text("{not yaml")
    env = {**os.environ, "KUBECONFIG": str(bad_kubeconfig), "AIRFLOW_HOME": str(tmp_path)}
    code = "import importlib, sys\nfor m in sys.argv[1:]: importlib.import_module(m)"

    result = subprocess.run([sys.executable, "-c", code, *_provider_modules()], capture_output=True, text=True, env=env)

    assert result.returncode == 0, result.stderr


def _provider_modules() -> list[str]:
    info = get_provider_info()
    modules = [
        module
        for section in ("hooks", "operators", "sensors", "triggers")
        for item in info.get(section, [])
        for module in item["python-modules"]
    ]
    return modules + [link.rsplit(".", 1)[0] for link in info.get("extra-links", [])]


def test_importing_operators_sensors_and_triggers_adds_no_kubernetes_client_to_airflow_itself():
    # DAG files import operators at every parse: the Kubernetes clients are loaded only when a task runs.
    # (Airflow 2.11 itself loads the sync client when cncf-kubernetes is installed: the baseline.)
    info = get_provider_info()
    modules = [
        m for section in ("operators", "sensors", "triggers") for item in info[section] for m in item["python-modules"]
    ]
    code = (
        "import importlib, sys, airflow\n"
        "from airflow.providers.common.compat import sdk\n"
        "def kube(): return {m for m in sys.modules if m.split('.')[0] in ('kubernetes', 'kubernetes_asyncio')}\n"
        "before = kube()\n"
        "for m in sys.argv[1:]: importlib.import_module(m)\n"
        "print(','.join(sorted(kube() - before)))\n"
    )

    result = subprocess.run([sys.executable, "-c", code, *modules], capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_wheel_ships_the_crds_type_marker_and_provider_entry_point(tmp_path):
    import zipfile
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(root)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr

    (wheel,) = tmp_path.glob("airflow_provider_flink-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "airflow_provider_flink/py.typed" in names
    for crd in ("flinkdeployments", "flinksessionjobs", "flinkstatesnapshots"):
        assert f"airflow_provider_flink/crds/{crd}.flink.apache.org-v1.yml" in names
    assert "airflow_provider_flink/crds/README.md" in names  # the upstream license note travels with them
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "[apache_airflow_provider]" in zipfile.ZipFile(wheel).read(entry_points).decode()
