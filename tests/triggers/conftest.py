"""Fixtures of the shared-watch tests: emulator, simulated Flink operator, a client to create jobs with."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import config

from airflow_provider_flink.testing.flink_operator_simulator import FlinkOperatorSimulator
from airflow_provider_flink.testing.kube_emulator import KubeEmulator


@pytest.fixture
def emulator() -> Iterator[KubeEmulator]:
    with KubeEmulator(bookmark_interval=0.5) as emu:
        yield emu


@pytest.fixture
def simulator(emulator: KubeEmulator) -> Iterator[FlinkOperatorSimulator]:
    with FlinkOperatorSimulator(emulator.kubeconfig_dict(), step_seconds=0.05) as sim:
        yield sim


@pytest.fixture
def api_client(emulator: KubeEmulator) -> Iterator[Any]:
    api = config.new_client_from_config_dict(emulator.kubeconfig_dict())
    yield api
    api.close()
