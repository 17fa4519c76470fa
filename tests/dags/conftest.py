"""
Fixtures for running the example DAGs of ``dags/`` in real Airflow against the emulator and simulators.

The native-mode examples also need a real local Flink cluster and the native cluster simulator, set up as in
``tests/native_operator/conftest.py`` (and as the playground does): the image's example jar is played by the
test job under the same file name.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_flink.testing.flink_operator_simulator import FlinkOperatorSimulator
from airflow_provider_flink.testing.kube_emulator import KubeEmulator
from airflow_provider_flink.testing.native_cluster_simulator import (
    LocalFlinkCluster,
    NativeClusterSimulator,
    build_stand_in_jars,
)

#: The namespace the examples run in: they name none, so it comes from the connection, as in the playground.
EXAMPLES_NAMESPACE = "flink"
#: Pacing of the simulated Flink operator: a whole batch lifecycle takes a couple of seconds.
STEP_SECONDS = 0.15


@pytest.fixture
def emulator() -> Iterator[KubeEmulator]:
    with KubeEmulator(bookmark_interval=0.5) as emu:
        yield emu


@pytest.fixture
def simulator(emulator: KubeEmulator) -> Iterator[FlinkOperatorSimulator]:
    with FlinkOperatorSimulator(emulator.kubeconfig_dict(), step_seconds=STEP_SECONDS) as sim:
        yield sim


@pytest.fixture
def k8s_connection(emulator: KubeEmulator, monkeypatch: pytest.MonkeyPatch) -> str:
    """The ``kubernetes_default`` connection the examples use, with the emulator's kubeconfig inline."""
    extra = {"kube_config": json.dumps(emulator.kubeconfig_dict()), "namespace": EXAMPLES_NAMESPACE}
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", json.dumps({"conn_type": "kubernetes", "extra": extra}))
    return "kubernetes_default"


@pytest.fixture(scope="session")
def flink_home() -> Path:
    home = os.environ.get("FLINK_HOME")
    if not home or not (Path(home) / "bin" / "flink").is_file():
        pytest.fail(
            "FLINK_HOME must point at a Flink 2.x distribution (e.g. the pyflink folder of `pip install "
            "apache-flink`; `bash tests/run.sh` sets it up): the native-mode examples run the real Flink CLI and "
            "a real local Flink cluster.",
            pytrace=False,
        )
    return Path(home)


@pytest.fixture(scope="session")
def usrlib(flink_home: Path, pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The image's jars as the simulator sees them: the test job, also as ``WordCount.jar`` (built once, cached)."""
    cache = getattr(pytestconfig, "cache", None)  # None with -p no:cacheprovider
    folder = Path(cache.mkdir("native-test-jobs")) if cache is not None else tmp_path_factory.mktemp("usrlib")
    return build_stand_in_jars(flink_home, folder)


@pytest.fixture(scope="session")
def local_flink(flink_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFlinkCluster]:
    """A real Flink cluster for the whole session (about 15 s to start), stopped at the end."""
    with LocalFlinkCluster(flink_home, tmp_path_factory.mktemp("local-flink"), task_slots=2) as cluster:
        yield cluster


@pytest.fixture
def native_simulator(
    emulator: KubeEmulator, local_flink: LocalFlinkCluster, usrlib: Path, flink_home: Path, tmp_path: Path
) -> Iterator[NativeClusterSimulator]:
    with NativeClusterSimulator(
        emulator, local_flink, usrlib_dir=usrlib, flink_home=flink_home, work_dir=tmp_path / "simulator"
    ) as sim:
        yield sim


@pytest.fixture
def native_connection(emulator: KubeEmulator, flink_home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """``kubernetes_default`` as the playground sets it for native mode: the emulator, plus extra ``flink_home``."""
    extra = {
        "kube_config": json.dumps(emulator.kubeconfig_dict()),
        "namespace": EXAMPLES_NAMESPACE,
        "flink_home": str(flink_home),
    }
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", json.dumps({"conn_type": "kubernetes", "extra": extra}))
    return "kubernetes_default"
