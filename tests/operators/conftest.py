"""Fixtures for tests that run the provider's operators in real Airflow against the emulator and simulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from realstack.backends import BACKEND_NAMESPACE as NAMESPACE

from airflow_provider_flink.testing.flink_operator_simulator import FlinkOperatorSimulator

#: Pacing of the simulated Flink operator: a whole batch lifecycle takes a couple of seconds.
STEP_SECONDS = 0.15


@pytest.fixture
def simulator(kube_backend: Any) -> Iterator[FlinkOperatorSimulator]:
    """The simulated Flink operator, a controller of the backend's API server (admin rights, API only)."""
    with FlinkOperatorSimulator(kube_backend.admin_kubeconfig(), step_seconds=STEP_SECONDS) as sim:
        yield sim


@pytest.fixture
def k8s_connection(kube_backend: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """The ``kubernetes_default`` connection as an environment variable: the emulator, or on the real control plane
    the ServiceAccount bound to the README's Role."""
    extra = {"kube_config": json.dumps(kube_backend.provider_kubeconfig()), "namespace": NAMESPACE}
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", json.dumps({"conn_type": "kubernetes", "extra": extra}))
    return "kubernetes_default"
