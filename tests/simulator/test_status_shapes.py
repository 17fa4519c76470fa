"""The pure helpers that shape what the simulator writes, checked against the operator's rules."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_flink.testing.flink_operator_simulator import (
    KIND_DEPLOYMENT,
    KIND_SESSION_JOB,
    event_name,
    java_string_hash,
    lifecycle_state,
    normalize_spec,
    parse_spec_with_meta,
    scenario_for,
    spec_diff,
    spec_with_meta,
    split_exception,
)


def reconciled(job_state: str | None = "running") -> str:
    job = None if job_state is None else {"state": job_state}
    return spec_with_meta({"job": job}, "flink.apache.org/v1beta1", False)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({}, "CREATED"),
        ({"error": "validation failed"}, "FAILED"),
        ({"lifecycleState": "DELETING", "reconciliationStatus": {"lastReconciledSpec": reconciled()}}, "DELETING"),
        ({"reconciliationStatus": {"lastReconciledSpec": reconciled(), "state": "UPGRADING"}}, "UPGRADING"),
        (
            {
                "reconciliationStatus": {"lastReconciledSpec": reconciled("suspended"), "state": "DEPLOYED"},
                "jobStatus": {"state": "FINISHED"},
            },
            "SUSPENDED",
        ),
        (
            {
                "reconciliationStatus": {"lastReconciledSpec": reconciled(), "state": "DEPLOYED"},
                "jobStatus": {"state": "FAILED"},
            },
            "FAILED",
        ),
        (
            {
                "reconciliationStatus": {
                    "lastReconciledSpec": reconciled(),
                    "lastStableSpec": reconciled(),
                    "state": "DEPLOYED",
                },
                "jobStatus": {"state": "FINISHED"},
            },
            "STABLE",
        ),
        (
            {
                "reconciliationStatus": {"lastReconciledSpec": reconciled(), "state": "DEPLOYED"},
                "jobStatus": {"state": "RECONCILING"},
            },
            "DEPLOYED",
        ),
        (
            {
                "reconciliationStatus": {"lastReconciledSpec": reconciled(), "state": "DEPLOYED"},
                "jobManagerDeploymentStatus": "MISSING",
                "error": "HA metadata is not available to make stateful upgrades. Manual restore required.",
            },
            "FAILED",
        ),
    ],
)
def test_lifecycle_state_follows_the_operators_derivation(status: dict[str, Any], expected: str) -> None:
    assert lifecycle_state(status, is_deployment=True) == expected


def test_normalized_job_spec_has_every_operator_field_with_defaults_in_java_order() -> None:
    spec = normalize_spec(KIND_DEPLOYMENT, {"job": {"jarURI": "local:///x.jar"}})

    assert list(spec["job"].items()) == [
        ("jarURI", "local:///x.jar"),
        ("parallelism", 0),
        ("entryClass", None),
        ("args", []),
        ("state", "running"),
        ("savepointTriggerNonce", None),
        ("initialSavepointPath", None),
        ("checkpointTriggerNonce", None),
        ("upgradeMode", "stateless"),
        ("allowNonRestoredState", None),
        ("savepointRedeployNonce", None),
        ("autoscalerResetNonce", None),
    ]


def test_session_job_spec_keeps_deployment_name_and_no_cluster_fields() -> None:
    spec = normalize_spec(KIND_SESSION_JOB, {"deploymentName": "s", "job": {"jarURI": "x"}})

    assert list(spec) == ["job", "restartNonce", "flinkConfiguration", "deploymentName"]


def test_last_reconciled_spec_is_compact_json_with_resource_metadata() -> None:
    text = spec_with_meta({"job": None, "restartNonce": None}, "flink.apache.org/v1beta1", True)

    assert (text, parse_spec_with_meta(text)[1]) == (
        '{"spec":{"job":null,"restartNonce":null},'
        '"resource_metadata":{"apiVersion":"flink.apache.org/v1beta1","firstDeployment":true}}',
        {"apiVersion": "flink.apache.org/v1beta1", "firstDeployment": True},
    )


def test_cpu_is_serialized_as_a_java_double() -> None:
    spec = normalize_spec(KIND_DEPLOYMENT, {"jobManager": {"resource": {"cpu": 1, "memory": "1g"}}})

    assert '"cpu":1.0' in json.dumps(spec, separators=(",", ":"))


def test_spec_diff_ignores_snapshot_nonces_and_upgrade_mode() -> None:
    old = normalize_spec(KIND_DEPLOYMENT, {"job": {"jarURI": "x", "upgradeMode": "stateless"}})
    new = normalize_spec(
        KIND_DEPLOYMENT, {"job": {"jarURI": "x", "upgradeMode": "savepoint", "savepointTriggerNonce": 4}}
    )

    assert spec_diff(old, new) == []


def test_spec_diff_sees_a_restart_nonce_but_not_its_removal() -> None:
    base = normalize_spec(KIND_DEPLOYMENT, {"job": {"jarURI": "x"}})
    restarted = normalize_spec(KIND_DEPLOYMENT, {"job": {"jarURI": "x"}, "restartNonce": 2})

    assert (spec_diff(base, restarted), spec_diff(restarted, base)) == ([("restartNonce", None, 2)], [])


def test_spec_diff_ignores_operator_settings_in_flink_configuration() -> None:
    old = normalize_spec(KIND_DEPLOYMENT, {"flinkConfiguration": {"a": "1"}})
    new = normalize_spec(
        KIND_DEPLOYMENT, {"flinkConfiguration": {"a": "1", "kubernetes.operator.savepoint.history.max.count": "5"}}
    )

    assert spec_diff(old, new) == []


def test_java_string_hash_matches_java() -> None:
    # In Java "hello".hashCode() is 99162322, "€" (one UTF-16 unit) is 8364, and the 32-bit overflow of
    # "polygenelubricants".hashCode() is Integer.MIN_VALUE (here unsigned).
    assert (java_string_hash("hello"), java_string_hash("€"), java_string_hash("polygenelubricants")) == (
        99162322,
        8364,
        2**31,
    )


def test_event_name_is_component_dot_positive_hash() -> None:
    name = event_name("Job", "JobStatusChanged", "m", "Normal", "FlinkDeployment", "n", "u")

    assert name == f"Job.{java_string_hash('JobStatusChangedmNormalFlinkDeploymentnu') & 0x7FFFFFFF}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("java.io.IOException: disk full", ("java.io.IOException", "disk full")),
        ("org.example.Boom", ("org.example.Boom", "")),
        ("plain words", ("java.lang.RuntimeException", "plain words")),
    ],
)
def test_split_exception_reads_class_and_message(text: str, expected: tuple[str, str]) -> None:
    assert split_exception(text) == expected


@pytest.mark.parametrize(
    ("annotations", "configuration", "expected"),
    [
        ({}, {"execution.runtime-mode": "BATCH"}, "batch-success"),
        ({}, {"execution": {"runtime-mode": "batch"}}, "batch-success"),
        ({}, {}, "streaming"),
        ({"flink-simulator/scenario": "jm-error"}, {"execution.runtime-mode": "BATCH"}, "jm-error"),
        ({"flink-simulator/scenario": "no-such"}, {}, "streaming"),
    ],
)
def test_scenario_comes_from_the_annotation_or_the_runtime_mode(
    annotations: dict[str, str], configuration: dict[str, Any], expected: str
) -> None:
    obj = {"metadata": {"annotations": annotations}, "spec": {"flinkConfiguration": configuration}}

    assert scenario_for(obj) == expected
