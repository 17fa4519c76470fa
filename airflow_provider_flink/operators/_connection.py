"""The Kubernetes connection knobs shared by every operator and sensor of the provider."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_provider_flink.hooks.kubernetes import FlinkKubernetesHook


class FlinkConnectionMixin:
    """
    Give an operator a lazily built :class:`FlinkKubernetesHook` from its connection attributes.

    The hook (and with it the Kubernetes client) is only built when a task runs: DAG parsing never pays for it.
    Classes using it set ``kubernetes_conn_id``, ``cluster_context``, ``config_file``, ``in_cluster`` and
    ``namespace`` in ``__init__``.
    """

    kubernetes_conn_id: str
    cluster_context: str | None
    config_file: str | None
    in_cluster: bool | None
    namespace: str | None

    @cached_property
    def hook(self) -> FlinkKubernetesHook:
        from airflow_provider_flink.hooks.kubernetes import FlinkKubernetesHook

        return FlinkKubernetesHook(
            kubernetes_conn_id=self.kubernetes_conn_id,
            cluster_context=self.cluster_context,
            config_file=self.config_file,
            in_cluster=self.in_cluster,
            namespace=self.namespace,
        )
