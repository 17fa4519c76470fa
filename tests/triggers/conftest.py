"""Fixtures of the shared-watch tests: emulator, simulated Flink operator, a client to create jobs with."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import config

from airflow_provider_flink.testing.flink_operator_simulator import FlinkOperatorSimulator
from airflow_provider_flink.testing.kube_emulator import KubeEmulator


@pytest.fixture
def emulator(kube_backend: Any) -> KubeEmulator:
    """The emulator backend (a test asking for it runs on the emulator only: faults, records, store reads)."""
    assert kube_backend.emulator is not None
    return kube_backend.emulator


@pytest.fixture
def simulator(kube_backend: Any) -> Iterator[FlinkOperatorSimulator]:
    with FlinkOperatorSimulator(kube_backend.admin_kubeconfig(), step_seconds=0.05) as sim:
        yield sim


@pytest.fixture
def api_client(kube_backend: Any) -> Iterator[Any]:
    """A client with full rights, to create the jobs the triggers wait on."""
    api = config.new_client_from_config_dict(kube_backend.admin_kubeconfig())
    yield api
    api.close()
