from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import client, config

from airflow_provider_flink.testing.kube_emulator import KubeEmulator


@pytest.fixture
def emulator() -> Iterator[KubeEmulator]:
    """A started Kubernetes API emulator, stopped after the test."""
    with KubeEmulator(bookmark_interval=0.2) as emu:
        yield emu


@pytest.fixture
def kube_api_client(emulator: KubeEmulator) -> Iterator[client.ApiClient]:
    """An official ``kubernetes`` ApiClient configured from the emulator's kubeconfig."""
    api_client = config.new_client_from_config_dict(emulator.kubeconfig_dict())
    try:
        yield api_client
    finally:
        api_client.close()
