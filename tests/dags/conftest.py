"""Fixtures for running the example DAGs of ``dags/`` in real Airflow against the emulator and simulator."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from airflow_provider_flink.testing.flink_operator_simulator import FlinkOperatorSimulator
from airflow_provider_flink.testing.kube_emulator import KubeEmulator

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
