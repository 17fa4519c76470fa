"""Provider metadata, read by Airflow's ProvidersManager through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from airflow_provider_flink import __version__

INTEGRATION = "Apache Flink on Kubernetes"


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-flink",
        "name": INTEGRATION,
        "description": (
            "Run Apache Flink jobs on Kubernetes: FlinkDeployment / FlinkSessionJob through the "
            "Flink Kubernetes Operator, and native application mode, with deferrable waiting."
        ),
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": INTEGRATION,
                "external-doc-url": "https://nightlies.apache.org/flink/flink-kubernetes-operator-docs-stable/",
                "tags": ["apache"],
            }
        ],
        "hooks": [
            {
                "integration-name": INTEGRATION,
                "python-modules": ["airflow_provider_flink.hooks.kubernetes"],
            }
        ],
        "operators": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [
                    "airflow_provider_flink.operators.flink_deployment",
                    "airflow_provider_flink.operators.flink_native",
                ],
            }
        ],
        "sensors": [
            {
                "integration-name": INTEGRATION,
                "python-modules": ["airflow_provider_flink.sensors.flink"],
            }
        ],
        "triggers": [
            {
                "integration-name": INTEGRATION,
                "python-modules": ["airflow_provider_flink.triggers.flink"],
            }
        ],
        "extra-links": ["airflow_provider_flink.links.flink.FlinkWebUILink"],
    }
