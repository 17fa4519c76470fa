"""
Flink's native Kubernetes application mode: the ``flink run`` command and the cluster's name.

Pure and stdlib-only (``detect_flink_version`` aside, which runs ``flink --version``), so importing it
from a DAG file costs nothing.
"""

from __future__ import annotations

from airflow_provider_flink.native.command import (
    CLUSTER_ID_MAX_LENGTH,
    DEPRECATED_OPTION_KEYS,
    MIN_FLINK_VERSION,
    FlinkVersion,
    FlinkVersionDetectionError,
    NativeJobSpec,
    NativeSpecError,
    build_dynamic_properties,
    build_flink_run_argv,
    derive_cluster_id,
    detect_flink_version,
    is_sensitive_key,
    mask_argv,
    parse_flink_version,
    run_action,
    sensitive_values,
    validate_cluster_id,
)

__all__ = [
    "CLUSTER_ID_MAX_LENGTH",
    "DEPRECATED_OPTION_KEYS",
    "MIN_FLINK_VERSION",
    "FlinkVersion",
    "FlinkVersionDetectionError",
    "NativeJobSpec",
    "NativeSpecError",
    "build_dynamic_properties",
    "build_flink_run_argv",
    "derive_cluster_id",
    "detect_flink_version",
    "is_sensitive_key",
    "mask_argv",
    "parse_flink_version",
    "run_action",
    "sensitive_values",
    "validate_cluster_id",
]
