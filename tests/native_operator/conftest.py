"""
Fixtures of the native-mode tests: the API emulator, a real local Flink cluster, the test job jar, and the
simulator that plays Kubernetes and the JobManager for native clusters (see its module docstring for what is
simulated).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from native_support import NAMESPACE

from airflow_provider_flink.testing.kube_emulator import KubeEmulator
from airflow_provider_flink.testing.native_cluster_simulator import (
    LocalFlinkCluster,
    NativeClusterSimulator,
    build_test_jobs_jar,
)


@pytest.fixture(scope="session")
def flink_home() -> Path:
    home = os.environ.get("FLINK_HOME")
    if not home or not (Path(home) / "bin" / "flink").is_file():
        pytest.fail(
            "FLINK_HOME must point at a Flink 2.x distribution (e.g. the pyflink folder of `pip install "
            "apache-flink`; `bash tests/run.sh` sets it up): the native-mode tests run the real Flink CLI and a "
            "real local Flink cluster.",
            pytrace=False,
        )
    return Path(home)


@pytest.fixture(scope="session")
def usrlib(flink_home: Path, pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder standing for the image's /opt/flink/usrlib, holding testjobs.jar (built once, kept in pytest's cache)."""
    cache = getattr(pytestconfig, "cache", None)  # None with -p no:cacheprovider
    folder = Path(cache.mkdir("native-test-jobs")) if cache is not None else tmp_path_factory.mktemp("usrlib")
    build_test_jobs_jar(flink_home, folder)
    return folder


@pytest.fixture(scope="session")
def local_flink(flink_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFlinkCluster]:
    """A real Flink cluster for the whole session (about 15 s to start), stopped at the end."""
    with LocalFlinkCluster(flink_home, tmp_path_factory.mktemp("local-flink"), task_slots=4) as cluster:
        yield cluster


@pytest.fixture
def emulator() -> Iterator[KubeEmulator]:
    with KubeEmulator(bookmark_interval=0.5) as emu:
        yield emu


@pytest.fixture
def simulator(
    emulator: KubeEmulator, local_flink: LocalFlinkCluster, usrlib: Path, flink_home: Path, tmp_path: Path
) -> Iterator[NativeClusterSimulator]:
    with NativeClusterSimulator(
        emulator, local_flink, usrlib_dir=usrlib, flink_home=flink_home, work_dir=tmp_path / "simulator"
    ) as sim:
        yield sim


@pytest.fixture
def k8s_connection(emulator: KubeEmulator, monkeypatch: pytest.MonkeyPatch) -> str:
    """The ``kubernetes_default`` connection, with the emulator's kubeconfig inline, as an environment variable."""
    extra = {"kube_config": json.dumps(emulator.kubeconfig_dict()), "namespace": NAMESPACE}
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", json.dumps({"conn_type": "kubernetes", "extra": extra}))
    return "kubernetes_default"
