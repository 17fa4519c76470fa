"""Apache Airflow provider for Apache Flink on Kubernetes.

Kept import-free on purpose: DAG files import the provider's operators constantly,
so nothing here may load the Kubernetes client or touch the network.
"""

from __future__ import annotations

__version__ = "0.1.0"
