"""
Fixtures of the reliability soak: the API emulator, both simulators, a real local Flink cluster for the native
lifecycles, and a ``kubernetes_default`` connection whose kubeconfig carries a secret token.

The native-mode fixtures follow ``tests/native_operator/conftest.py``: the test job jar is built once and kept in
pytest's cache (the same cache entry, so it is reused), the local Flink cluster lives for the session.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from soak_plan import SoakSecrets
from soak_support import OPERATOR_STEP_SECONDS

from airflow_provider_flink.testing.flink_operator_simulator import FlinkOperatorSimulator
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
            "apache-flink`; `bash tests/run.sh` sets it up): the soak's native lifecycles run the real Flink CLI.",
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
def soak_local_flink(flink_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFlinkCluster]:
    """A real Flink cluster that runs the native lifecycles' jobs (about 15 s to start), stopped at the end."""
    with LocalFlinkCluster(flink_home, tmp_path_factory.mktemp("soak-local-flink"), task_slots=4) as cluster:
        yield cluster


@pytest.fixture
def emulator() -> Iterator[KubeEmulator]:
    # A long event history: the soak's hundreds of lifecycles must not make every watch resume a 410 by themselves;
    # 410s come from the injected faults.
    with KubeEmulator(bookmark_interval=0.5, event_history=100_000) as emu:
        yield emu


@pytest.fixture
def operator_simulator(emulator: KubeEmulator) -> Iterator[FlinkOperatorSimulator]:
    with FlinkOperatorSimulator(emulator.kubeconfig_dict(), step_seconds=OPERATOR_STEP_SECONDS) as sim:
        yield sim


@pytest.fixture
def native_simulator(
    emulator: KubeEmulator, soak_local_flink: LocalFlinkCluster, usrlib: Path, flink_home: Path, tmp_path: Path
) -> Iterator[NativeClusterSimulator]:
    with NativeClusterSimulator(
        emulator, soak_local_flink, usrlib_dir=usrlib, flink_home=flink_home, work_dir=tmp_path / "native-simulator"
    ) as sim:
        yield sim


@pytest.fixture
def soak_secrets() -> SoakSecrets:
    """Fresh secret values for this soak: any occurrence of one in a log is a leak."""
    return SoakSecrets.generate()


@pytest.fixture
def soak_connection(emulator: KubeEmulator, soak_secrets: SoakSecrets, monkeypatch: pytest.MonkeyPatch) -> str:
    """
    ``kubernetes_default`` as an environment variable: the emulator's kubeconfig inline, with a bearer token.

    The emulator ignores credentials; the token is there to be leaked, or not.
    """
    kubeconfig = emulator.kubeconfig_dict()
    kubeconfig["users"][0]["user"] = {"token": soak_secrets.kube_token}
    extra = {"kube_config": json.dumps(kubeconfig), "namespace": "default"}
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", json.dumps({"conn_type": "kubernetes", "extra": extra}))
    return "kubernetes_default"
