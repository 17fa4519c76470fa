"""Session-wide test settings and the Kubernetes API backends, shared by every test package.

Airflow reads AIRFLOW_HOME when it is first imported, so it is pointed at a throwaway folder here,
before any test module imports Airflow: the suite never touches a developer's real Airflow setup.

Backends (see tests/realstack/backends.py): a test that asks for ``kube_backend`` runs on the
in-repo emulator and on the real control plane (etcd + kube-apiserver + kube-controller-manager
built from the Go module proxy, one per session), unless it also asks for ``emulator``, which only
the emulator has. The real runs carry the ``realstack`` marker: ``-m realstack`` runs only them,
``-m "not realstack"`` skips them. Without Go (and no built binaries) they are skipped, unless
``FLINK_REALSTACK=require`` (CI) turns that into a failure.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="afp-airflow-home-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")

if TYPE_CHECKING:
    from realstack.control_plane import ControlPlane


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "realstack: runs on the real control plane (kube-apiserver, kube-controller-manager, etcd)"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test using ``kube_backend`` runs on each backend that can serve it."""
    if "kube_backend" not in metafunc.fixturenames:
        return
    params = [pytest.param("emulator", id="emulator")]
    if "emulator" not in metafunc.fixturenames:
        params.append(pytest.param("real", id="real", marks=pytest.mark.realstack))
    metafunc.parametrize("kube_backend", params, indirect=True)


@pytest.fixture(scope="session")
def real_control_plane() -> Iterator[ControlPlane]:
    """One real control plane for the session, the README's Role bound to the provider's ServiceAccount."""
    from realstack.backends import BACKEND_NAMESPACE, prepare_namespace
    from realstack.control_plane import ControlPlane, build_binaries

    if not os.environ.get("FLINK_REALSTACK_BIN") and not shutil.which("go"):
        message = "the real control plane needs Go to build kube-apiserver (or FLINK_REALSTACK_BIN)"
        if os.environ.get("FLINK_REALSTACK") == "require":
            pytest.fail(message)
        pytest.skip(message)
    with ControlPlane(bin_dir=build_binaries()) as plane:
        prepare_namespace(plane, BACKEND_NAMESPACE)
        yield plane


@pytest.fixture
def kube_backend(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The API backend of this run of the test (parametrized by ``pytest_generate_tests``)."""
    from realstack.backends import BACKEND_NAMESPACE, EmulatorBackend, RealBackend

    if request.param == "real":
        backend = RealBackend(request.getfixturevalue("real_control_plane"), BACKEND_NAMESPACE)
        backend.reset()
        try:
            yield backend
        finally:
            backend.reset()
        return
    from airflow_provider_flink.testing.kube_emulator import KubeEmulator

    with KubeEmulator(bookmark_interval=0.5) as emu:
        yield EmulatorBackend(emu, BACKEND_NAMESPACE)


@pytest.fixture
def emulator(kube_backend: Any) -> Any:
    """The emulator backend's KubeEmulator: a test asking for it runs on the emulator only (faults, request
    records, store reads). Packages whose tests make their own emulator override this fixture."""
    assert kube_backend.emulator is not None
    return kube_backend.emulator


@pytest.fixture
def admin_api_client(kube_backend: Any) -> Iterator[Any]:
    """An official ``kubernetes`` ApiClient with full rights on the backend, to arrange what others would write."""
    from kubernetes import config

    api_client = config.new_client_from_config_dict(kube_backend.admin_kubeconfig())
    try:
        yield api_client
    finally:
        api_client.close()
