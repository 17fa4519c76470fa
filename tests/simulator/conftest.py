"""Fixtures of the Flink operator simulator tests: emulator, simulator, watch recorder."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import config
from simulator_support import NAMESPACE, STEP_SECONDS, Flink, Recorder

from airflow_provider_flink.testing.flink_operator_simulator import FlinkOperatorSimulator
from airflow_provider_flink.testing.kube_emulator import KubeEmulator


@pytest.fixture
def emulator() -> Iterator[KubeEmulator]:
    with KubeEmulator() as emu:
        yield emu


@pytest.fixture
def api_client(emulator: KubeEmulator) -> Iterator[Any]:
    api = config.new_client_from_config_dict(emulator.kubeconfig_dict())
    yield api
    api.close()


@pytest.fixture
def recorder(api_client: Any) -> Iterator[Recorder]:
    rec = Recorder(api_client)
    rec.start()
    yield rec
    rec.stop()


@pytest.fixture
def flink(api_client: Any, recorder: Recorder) -> Flink:
    return Flink(api_client, recorder)


@pytest.fixture
def simulator(emulator: KubeEmulator, recorder: Recorder) -> Iterator[FlinkOperatorSimulator]:
    with FlinkOperatorSimulator(emulator.kubeconfig_dict(), namespace=NAMESPACE, step_seconds=STEP_SECONDS) as sim:
        yield sim
