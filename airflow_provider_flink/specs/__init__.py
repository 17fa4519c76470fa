"""
Pure building of Flink custom resource bodies: no Kubernetes client, no network, no Airflow import.

``deployment`` turns a manifest and/or typed operator arguments into a FlinkDeployment or
FlinkSessionJob body; ``labels`` adds the labels that let a retry find the object it created.
"""

from __future__ import annotations

from airflow_provider_flink.specs.deployment import (
    API_VERSION,
    DEFAULT_PYTHON_EXECUTABLE,
    FLINK_DEPLOYMENT_KIND,
    FLINK_SESSION_JOB_KIND,
    FLINK_VERSIONS,
    JOB_STATES,
    PYTHON_DRIVER,
    UPGRADE_MODES,
    FlinkSpecError,
    build_flink_deployment,
    build_flink_session_job,
    load_spec_document,
    normalize_flink_version,
    python_jar_uri,
    validate_body,
    validate_name,
)
from airflow_provider_flink.specs.labels import (
    airflow_label_selector,
    airflow_labels,
    make_safe_label_value,
    with_airflow_metadata,
)

__all__ = [
    "API_VERSION",
    "DEFAULT_PYTHON_EXECUTABLE",
    "FLINK_DEPLOYMENT_KIND",
    "FLINK_SESSION_JOB_KIND",
    "FLINK_VERSIONS",
    "JOB_STATES",
    "PYTHON_DRIVER",
    "UPGRADE_MODES",
    "FlinkSpecError",
    "airflow_label_selector",
    "airflow_labels",
    "build_flink_deployment",
    "build_flink_session_job",
    "load_spec_document",
    "make_safe_label_value",
    "normalize_flink_version",
    "python_jar_uri",
    "validate_body",
    "validate_name",
    "with_airflow_metadata",
]
