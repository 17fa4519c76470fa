"""build_flink_session_job: a job for a running session cluster, with the same precedence rules."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from airflow_provider_flink.specs import FlinkSpecError, build_flink_session_job

TYPED: dict[str, Any] = {
    "name": "nightly-report",
    "deployment_name": "session-cluster",
    "jar_uri": "https://repo/job.jar",
}

DOCUMENT: dict[str, Any] = {
    "apiVersion": "flink.apache.org/v1beta1",
    "kind": "FlinkSessionJob",
    "metadata": {"name": "from-document", "namespace": "flink"},
    "spec": {
        "deploymentName": "basic-session",
        "flinkConfiguration": {"pipeline.name": "report"},
        "job": {
            "jarURI": "https://repo/a.jar",
            "args": ["--day", "1"],
            "parallelism": 4,
            "upgradeMode": "stateless",
        },
    },
}


def test_typed_arguments_alone_build_a_complete_session_job():
    body = build_flink_session_job(None, **TYPED, namespace="flink", entry_class="org.example.Report")

    assert body == {
        "apiVersion": "flink.apache.org/v1beta1",
        "kind": "FlinkSessionJob",
        "metadata": {"name": "nightly-report", "namespace": "flink"},
        "spec": {
            "deploymentName": "session-cluster",
            "job": {
                "jarURI": "https://repo/job.jar",
                "entryClass": "org.example.Report",
                "parallelism": 1,
                "upgradeMode": "stateless",
                "state": "running",
            },
        },
    }


@pytest.mark.parametrize(
    ("arguments", "path", "expected"),
    [
        pytest.param({"name": "renamed"}, ("metadata", "name"), "renamed", id="name"),
        pytest.param({"deployment_name": "other"}, ("spec", "deploymentName"), "other", id="deployment-name"),
        pytest.param({"jar_uri": "s3://b/j.jar"}, ("spec", "job", "jarURI"), "s3://b/j.jar", id="jar-uri"),
        pytest.param({"args": ["--day", "2"]}, ("spec", "job", "args"), ["--day", "2"], id="args-replaced"),
        pytest.param({"parallelism": 2}, ("spec", "job", "parallelism"), 2, id="parallelism"),
        pytest.param({"upgrade_mode": "savepoint"}, ("spec", "job", "upgradeMode"), "savepoint", id="upgrade-mode"),
        pytest.param({"job_state": "suspended"}, ("spec", "job", "state"), "suspended", id="job-state"),
        pytest.param({"restart_nonce": 7}, ("spec", "restartNonce"), 7, id="restart-nonce"),
        pytest.param(
            {"flink_configuration": {"parallelism.default": "2"}},
            ("spec", "flinkConfiguration"),
            {"pipeline.name": "report", "parallelism.default": "2"},
            id="flink-configuration-merged",
        ),
        pytest.param({"labels": {"a": "b"}}, ("metadata", "labels"), {"a": "b"}, id="labels"),
    ],
)
def test_argument_overrides_the_same_field_of_the_document(arguments, path, expected):
    body = build_flink_session_job(DOCUMENT, **arguments)

    value: Any = body
    for key in path:
        value = value[key]
    assert value == expected


def test_document_alone_is_kept_with_only_missing_defaults_added():
    expected = copy.deepcopy(DOCUMENT)
    expected["spec"]["job"]["state"] = "running"

    assert build_flink_session_job(DOCUMENT) == expected


@pytest.mark.parametrize(
    ("arguments", "field", "argument"),
    [
        pytest.param({"name": None}, "metadata.name", "pass name", id="name"),
        pytest.param({"deployment_name": None}, "spec.deploymentName", "pass deployment_name", id="deployment"),
        pytest.param({"jar_uri": None}, "spec.job.jarURI", "pass jar_uri", id="jar"),
    ],
)
def test_missing_required_field_is_an_error_naming_field_and_argument(arguments, field, argument):
    with pytest.raises(FlinkSpecError) as error:
        build_flink_session_job(None, **{**TYPED, **arguments})

    assert error.value.fields == (field,)
    assert argument in str(error.value)


def test_document_job_without_parallelism_is_an_error():
    document = copy.deepcopy(DOCUMENT)
    del document["spec"]["job"]["parallelism"]

    with pytest.raises(FlinkSpecError, match=r"spec\.job\.parallelism .*pass parallelism"):
        build_flink_session_job(document)


@pytest.mark.parametrize(
    ("document", "arguments", "message"),
    [
        pytest.param({"kind": "FlinkDeployment"}, {}, "is a FlinkDeployment", id="wrong-kind"),
        pytest.param(
            None,
            {"deployment_name": "Session_Cluster"},
            "spec.deploymentName 'Session_Cluster'",
            id="bad-dep",
        ),
        pytest.param(None, {"name": "Nightly"}, "not a valid FlinkSessionJob name", id="bad-name"),
        pytest.param(None, {"upgrade_mode": "blue-green"}, "must be one of", id="bad-upgrade-mode"),
    ],
)
def test_invalid_input_is_an_error(document, arguments, message):
    with pytest.raises(FlinkSpecError, match=message):
        build_flink_session_job(document, **{**TYPED, **arguments})


def test_session_job_name_may_be_longer_than_a_cluster_id_and_contain_dots():
    name = "report." + "x" * 60

    assert build_flink_session_job(None, **{**TYPED, "name": name})["metadata"]["name"] == name


def test_building_twice_gives_equal_bodies():
    assert build_flink_session_job(DOCUMENT, **TYPED) == build_flink_session_job(DOCUMENT, **TYPED)
