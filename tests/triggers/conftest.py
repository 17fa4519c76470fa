"""Fixtures of the trigger tests: the simulated Flink operator (the backend, the emulator and an admin client to
create jobs with come from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_flink.testing.flink_operator_simulator import FlinkOperatorSimulator


@pytest.fixture
def simulator(kube_backend: Any) -> Iterator[FlinkOperatorSimulator]:
    with FlinkOperatorSimulator(kube_backend.admin_kubeconfig(), step_seconds=0.05) as sim:
        yield sim
