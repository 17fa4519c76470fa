"""build_flink_deployment: defaults, precedence between document and arguments, conflicts, required fields."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_provider_flink.specs import (
    FLINK_VERSIONS,
    JOB_STATES,
    PYTHON_DRIVER,
    UPGRADE_MODES,
    FlinkSpecError,
    build_flink_deployment,
    python_jar_uri,
    validate_body,
)

CRD_FOLDER = Path(__file__).parents[2] / "airflow_provider_flink" / "crds"

TYPED: dict[str, Any] = {"name": "wordcount", "image": "flink:1.20", "flink_version": "1.20"}

DOCUMENT: dict[str, Any] = {
    "apiVersion": "flink.apache.org/v1beta1",
    "kind": "FlinkDeployment",
    "metadata": {"name": "from-document", "namespace": "flink", "labels": {"team": "data"}},
    "spec": {
        "image": "flink:1.19",
        "flinkVersion": "v1_19",
        "serviceAccount": "flink-jobs",
        "flinkConfiguration": {"taskmanager.numberOfTaskSlots": "2", "state.backend.type": "rocksdb"},
        "jobManager": {"resource": {"cpu": 1, "memory": "2048m"}},
        "taskManager": {"replicas": 2, "resource": {"cpu": 2, "memory": "4096m"}},
        "job": {
            "jarURI": "local:///opt/flink/usrlib/job.jar",
            "entryClass": "org.example.WordCount",
            "args": ["--input", "a"],
            "parallelism": 2,
            "upgradeMode": "savepoint",
        },
    },
}


@functools.cache
def _crd(crd_file: str) -> dict[str, Any]:
    # The deployment CRD is large (pod templates); the C loader reads it in a tenth of the time.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load((CRD_FOLDER / crd_file).read_text(), Loader=loader)


def _spec_enum(crd_file: str, *path: str) -> list[str]:
    node = _crd(crd_file)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    for key in path:
        node = node["properties"][key]
    return node["enum"]


@pytest.mark.parametrize(
    ("constant", "crd_file", "path"),
    [
        (FLINK_VERSIONS, "flinkdeployments.flink.apache.org-v1.yml", ("flinkVersion",)),
        (UPGRADE_MODES, "flinkdeployments.flink.apache.org-v1.yml", ("job", "upgradeMode")),
        (JOB_STATES, "flinkdeployments.flink.apache.org-v1.yml", ("job", "state")),
        (UPGRADE_MODES, "flinksessionjobs.flink.apache.org-v1.yml", ("job", "upgradeMode")),
        (JOB_STATES, "flinksessionjobs.flink.apache.org-v1.yml", ("job", "state")),
    ],
)
def test_enum_constants_match_the_shipped_crds(constant, crd_file, path):
    assert sorted(constant) == sorted(_spec_enum(crd_file, *path))


def test_typed_arguments_alone_build_a_complete_application_deployment():
    body = build_flink_deployment(None, **TYPED, namespace="flink", jar_uri="local:///opt/flink/usrlib/wc.jar")

    assert body == {
        "apiVersion": "flink.apache.org/v1beta1",
        "kind": "FlinkDeployment",
        "metadata": {"name": "wordcount", "namespace": "flink"},
        "spec": {
            "image": "flink:1.20",
            "serviceAccount": "flink",
            "flinkVersion": "v1_20",
            "jobManager": {"resource": {"cpu": 1, "memory": "1600m"}},
            "taskManager": {"resource": {"cpu": 1, "memory": "1728m"}},
            "job": {
                "jarURI": "local:///opt/flink/usrlib/wc.jar",
                "parallelism": 1,
                "upgradeMode": "stateless",
                "state": "running",
            },
        },
    }


def test_document_alone_is_kept_with_only_missing_defaults_added():
    body = build_flink_deployment(DOCUMENT)

    expected = copy.deepcopy(DOCUMENT)
    expected["spec"]["job"]["state"] = "running"
    assert body == expected


def test_document_is_not_modified():
    document = copy.deepcopy(DOCUMENT)

    build_flink_deployment(document, name="other", flink_configuration={"a": "b"}, args=["x"])

    assert document == DOCUMENT


def test_document_without_resources_gets_no_invented_resources():
    document = copy.deepcopy(DOCUMENT)
    del document["spec"]["jobManager"], document["spec"]["taskManager"]

    body = build_flink_deployment(document)

    assert "jobManager" not in body["spec"]
    assert "taskManager" not in body["spec"]


@pytest.mark.parametrize(
    ("arguments", "path", "expected"),
    [
        pytest.param({"name": "renamed"}, ("metadata", "name"), "renamed", id="name-argument-wins"),
        pytest.param({"namespace": "other"}, ("metadata", "namespace"), "other", id="namespace"),
        pytest.param({"image": "flink:2.0"}, ("spec", "image"), "flink:2.0", id="image"),
        pytest.param({"flink_version": "2.0"}, ("spec", "flinkVersion"), "v2_0", id="flink-version"),
        pytest.param({"service_account": "sa"}, ("spec", "serviceAccount"), "sa", id="service-account"),
        pytest.param({"restart_nonce": 3}, ("spec", "restartNonce"), 3, id="restart-nonce"),
        pytest.param({"jar_uri": "s3://b/j.jar"}, ("spec", "job", "jarURI"), "s3://b/j.jar", id="jar-uri"),
        pytest.param({"entry_class": "org.X"}, ("spec", "job", "entryClass"), "org.X", id="entry-class"),
        pytest.param({"args": ["--b"]}, ("spec", "job", "args"), ["--b"], id="args-replaced-whole"),
        pytest.param({"args": ()}, ("spec", "job", "args"), [], id="empty-args-clear-the-list"),
        pytest.param({"parallelism": 8}, ("spec", "job", "parallelism"), 8, id="parallelism"),
        pytest.param({"upgrade_mode": "last_state"}, ("spec", "job", "upgradeMode"), "last-state", id="upgrade"),
        pytest.param({"job_state": "SUSPENDED"}, ("spec", "job", "state"), "suspended", id="job-state"),
        pytest.param(
            {"flink_configuration": {"taskmanager.numberOfTaskSlots": "4", "new.key": "v"}},
            ("spec", "flinkConfiguration"),
            {"taskmanager.numberOfTaskSlots": "4", "state.backend.type": "rocksdb", "new.key": "v"},
            id="flink-configuration-deep-merged",
        ),
        pytest.param(
            {"flink_configuration": {"state.backend.type": None}},
            ("spec", "flinkConfiguration"),
            {"taskmanager.numberOfTaskSlots": "2"},
            id="none-in-a-mapping-removes-the-key",
        ),
        pytest.param(
            {"job_manager": {"memory": "4g"}},
            ("spec", "jobManager"),
            {"resource": {"cpu": 1, "memory": "4g"}},
            id="job-manager-resource-deep-merged",
        ),
        pytest.param(
            {"task_manager": {"cpu": 0.5, "replicas": 3, "ephemeral_storage": "1Gi"}},
            ("spec", "taskManager"),
            {"replicas": 3, "resource": {"cpu": 0.5, "memory": "4096m", "ephemeralStorage": "1Gi"}},
            id="task-manager-flat-keys",
        ),
        pytest.param(
            {"task_manager": {"resource": {"memory": "8g"}, "podTemplate": {"spec": {}}}},
            ("spec", "taskManager"),
            {"replicas": 2, "resource": {"cpu": 2, "memory": "8g"}, "podTemplate": {"spec": {}}},
            id="task-manager-crd-shape",
        ),
        pytest.param(
            {"labels": {"owner": "me"}},
            ("metadata", "labels"),
            {"team": "data", "owner": "me"},
            id="labels-merged",
        ),
        pytest.param(
            {"annotations": {"note": "x"}}, ("metadata", "annotations"), {"note": "x"}, id="annotations-added"
        ),
        pytest.param(
            {"pod_template": {"spec": {"nodeSelector": {"pool": "flink"}}}},
            ("spec", "podTemplate"),
            {"spec": {"nodeSelector": {"pool": "flink"}}},
            id="pod-template",
        ),
    ],
)
def test_argument_overrides_the_same_field_of_the_document(arguments, path, expected):
    body = build_flink_deployment(DOCUMENT, **arguments)

    value: Any = body
    for key in path:
        value = value[key]
    assert value == expected


def test_arguments_do_not_touch_unrelated_document_fields():
    body = build_flink_deployment(DOCUMENT, parallelism=8)

    assert body["spec"]["job"]["args"] == ["--input", "a"]
    assert body["spec"]["job"]["entryClass"] == "org.example.WordCount"
    assert body["spec"]["taskManager"] == DOCUMENT["spec"]["taskManager"]


def test_typed_only_resources_fill_in_defaults_under_the_given_values():
    body = build_flink_deployment(None, **TYPED, jar_uri="local:///j.jar", task_manager={"cpu": 2, "replicas": 2})

    assert body["spec"]["taskManager"] == {"replicas": 2, "resource": {"cpu": 2, "memory": "1728m"}}
    assert "parallelism" not in body["spec"]["job"]  # replicas size the job; the operator accepts that


def test_python_file_builds_a_python_driver_job_like_the_operator_example():
    body = build_flink_deployment(None, **TYPED, python_file="/opt/flink/usrlib/job.py", args=["--date", "2026-01-01"])

    assert body["spec"]["job"] == {
        "entryClass": PYTHON_DRIVER,
        "args": [
            "-pyclientexec",
            "/usr/local/bin/python3",
            "-py",
            "/opt/flink/usrlib/job.py",
            "--date",
            "2026-01-01",
        ],
        "jarURI": "local:///opt/flink/opt/flink-python-1.20.0.jar",
        "parallelism": 1,
        "upgradeMode": "stateless",
        "state": "running",
    }


@pytest.mark.parametrize(
    ("arguments", "expected_args", "expected_jar"),
    [
        pytest.param(
            {"python_module": "jobs.main", "flink_version": "2.1.1"},
            ["-pyclientexec", "/usr/local/bin/python3", "-pym", "jobs.main"],
            "local:///opt/flink/opt/flink-python-2.1.1.jar",
            id="module-and-patch-version",
        ),
        pytest.param(
            {"python_file": "/a.py", "python_executable": "/usr/bin/python3"},
            ["-pyclientexec", "/usr/bin/python3", "-py", "/a.py"],
            "local:///opt/flink/opt/flink-python-1.20.0.jar",
            id="distribution-python",
        ),
        pytest.param(
            {"python_file": "/a.py", "python_executable": None},
            ["-py", "/a.py"],
            "local:///opt/flink/opt/flink-python-1.20.0.jar",
            id="interpreter-left-to-flink-configuration",
        ),
        pytest.param(
            {"python_file": "/a.py", "entry_class": PYTHON_DRIVER, "flink_version": "v1_15"},
            ["-pyclientexec", "/usr/local/bin/python3", "-py", "/a.py"],
            "local:///opt/flink/opt/flink-python_2.12-1.15.0.jar",
            id="old-flink-scala-suffixed-jar",
        ),
    ],
)
def test_python_job_variants(arguments, expected_args, expected_jar):
    job = build_flink_deployment(None, **{**TYPED, **arguments})["spec"]["job"]

    assert (job["entryClass"], job["args"], job["jarURI"]) == (PYTHON_DRIVER, expected_args, expected_jar)


def test_python_file_keeps_the_jar_uri_of_a_python_document():
    document = yaml.safe_load(
        """
        metadata: {name: python-example}
        spec:
          image: flink-python-example:latest
          flinkVersion: v2_2
          job:
            jarURI: local:///opt/flink/opt/flink-python-2.2.0.jar
            entryClass: org.apache.flink.client.python.PythonDriver
            args: ["-pyclientexec", "/usr/bin/python3", "-py", "/opt/flink/usrlib/python_demo.py"]
            parallelism: 1
        """
    )

    job = build_flink_deployment(document, python_file="/opt/flink/usrlib/other.py")["spec"]["job"]

    assert job["jarURI"] == "local:///opt/flink/opt/flink-python-2.2.0.jar"
    assert job["args"] == ["-pyclientexec", "/usr/local/bin/python3", "-py", "/opt/flink/usrlib/other.py"]


@pytest.mark.parametrize(
    ("document", "arguments", "message"),
    [
        pytest.param(None, {"jar_uri": "local:///j.jar", "python_file": "/a.py"}, "drop jar_uri", id="jar-and-py"),
        pytest.param(None, {"python_file": "/a.py", "python_module": "m"}, "pass one", id="python-file-and-module"),
        pytest.param(
            None,
            {"python_module": "m", "entry_class": "org.X"},
            "entry_class 'org.X'",
            id="entry-class-and-py",
        ),
        pytest.param(DOCUMENT, {"python_file": "/a.py"}, "'org.example.WordCount'", id="java-document-and-py"),
        pytest.param(None, {"session_cluster": True, "jar_uri": "local:///j.jar"}, "jar_uri", id="session-and-jar"),
        pytest.param(DOCUMENT, {"session_cluster": True}, "spec.job", id="session-and-document-job"),
        pytest.param({"kind": "FlinkSessionJob"}, {}, "is a FlinkSessionJob", id="wrong-kind"),
        pytest.param({"apiVersion": "flink.apache.org/v1alpha1"}, {}, "v1beta1", id="wrong-api-version"),
        pytest.param(
            {"metadata": {"generateName": "wc-"}},
            {"name": None},
            "generateName 'wc-' is not supported",
            id="generate-name",
        ),
    ],
)
def test_conflicting_input_is_an_error(document, arguments, message):
    with pytest.raises(FlinkSpecError, match=message):
        build_flink_deployment(document, **{**TYPED, **arguments})


@pytest.mark.parametrize(
    ("arguments", "field", "argument"),
    [
        pytest.param({"name": None}, "metadata.name", "pass name", id="name"),
        pytest.param({"image": None}, "spec.image", "pass image", id="image"),
        pytest.param({"flink_version": None}, "spec.flinkVersion", "pass flink_version", id="flink-version"),
        pytest.param({"jar_uri": None, "parallelism": 2}, "spec.job.jarURI", "pass jar_uri", id="job-jar"),
    ],
)
def test_missing_required_field_is_an_error_naming_field_and_argument(arguments, field, argument):
    complete = {**TYPED, "jar_uri": "local:///j.jar"}

    with pytest.raises(FlinkSpecError) as error:
        build_flink_deployment(None, **{**complete, **arguments})

    assert field in str(error.value)
    assert argument in str(error.value)
    assert error.value.fields == (field,)


def test_all_missing_required_fields_are_named_at_once():
    with pytest.raises(FlinkSpecError) as error:
        build_flink_deployment({"spec": {"job": {"parallelism": 1}}})

    assert error.value.fields == ("metadata.name", "spec.image", "spec.flinkVersion", "spec.job.jarURI")


def test_document_job_without_parallelism_or_task_manager_replicas_is_an_error():
    document = copy.deepcopy(DOCUMENT)
    del document["spec"]["job"]["parallelism"], document["spec"]["taskManager"]["replicas"]

    with pytest.raises(FlinkSpecError, match=r"spec\.job\.parallelism .*pass parallelism"):
        build_flink_deployment(document)


def test_typed_only_build_without_a_job_is_an_error_unless_a_session_cluster_is_asked_for():
    with pytest.raises(FlinkSpecError, match="has no job"):
        build_flink_deployment(None, **TYPED)

    body = build_flink_deployment(None, **TYPED, session_cluster=True)
    assert "job" not in body["spec"]
    assert body["spec"]["taskManager"] == {"resource": {"cpu": 1, "memory": "1728m"}}


def test_document_without_job_is_a_session_cluster():
    document = copy.deepcopy(DOCUMENT)
    del document["spec"]["job"]

    assert "job" not in build_flink_deployment(document)["spec"]


def test_job_arguments_turn_a_jobless_document_into_an_application_deployment():
    document = copy.deepcopy(DOCUMENT)
    del document["spec"]["job"]

    job = build_flink_deployment(document, jar_uri="local:///j.jar")["spec"]["job"]

    assert job == {"jarURI": "local:///j.jar", "upgradeMode": "stateless", "state": "running"}


def test_entry_class_alone_is_enough_for_a_job_jar_already_in_the_image():
    job = build_flink_deployment(None, **TYPED, entry_class="org.example.Main")["spec"]["job"]

    assert job["entryClass"] == "org.example.Main"
    assert "jarURI" not in job


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param({"parallelism": 0}, "at least 1", id="parallelism-zero"),
        pytest.param({"parallelism": True}, "integer", id="parallelism-bool"),
        pytest.param({"restart_nonce": "1"}, "integer", id="nonce-string"),
        pytest.param({"args": "--input x"}, "list of strings", id="args-string"),
        pytest.param({"args": ["--n", 3]}, r"args\[1\]", id="args-number"),
        pytest.param({"upgrade_mode": "rolling"}, "last-state, savepoint, stateless", id="upgrade-mode"),
        pytest.param({"job_state": "paused"}, "running, suspended", id="job-state"),
        pytest.param({"image": ""}, "non-empty string", id="empty-image"),
        pytest.param({"namespace": "Team_A"}, "not a valid Kubernetes namespace", id="namespace"),
        pytest.param({"job_manager": {"memory": 2048}}, "a bare number would be read as bytes", id="memory-int"),
        pytest.param({"job_manager": {"cpu": "1"}}, "positive number of cores", id="cpu-string"),
        pytest.param({"task_manager": {"slots": 2}}, "unknown key 'slots'", id="unknown-component-key"),
        pytest.param({"task_manager": {"replicas": 0}}, "at least 1", id="replicas-zero"),
        pytest.param({"labels": {"version": 1}}, "must map strings to strings", id="label-number"),
        pytest.param({"flink_configuration": ["a=b"]}, "must be a mapping", id="configuration-list"),
    ],
)
def test_invalid_argument_value_is_an_error(arguments, message):
    with pytest.raises(FlinkSpecError, match=message):
        build_flink_deployment(None, **{**TYPED, "jar_uri": "local:///j.jar", **arguments})


@pytest.mark.parametrize(
    ("document", "message"),
    [
        pytest.param({"spec": {"job": ["jarURI"]}}, "spec.job must be a mapping", id="job-list"),
        pytest.param({"spec": "x"}, "spec must be a mapping", id="spec-string"),
        pytest.param({"spec": {"flinkVersion": 1.2}}, "YAML and Python read 1.20 as 1.2", id="float-version"),
        pytest.param({"spec": {"job": {"state": "stopped"}}}, "running, suspended", id="bad-job-state"),
    ],
)
def test_invalid_document_value_is_an_error(document, message):
    with pytest.raises(FlinkSpecError, match=message):
        build_flink_deployment(document, name="wc", image="flink:1.20", jar_uri="local:///j.jar")


def test_server_written_fields_of_a_saved_manifest_are_dropped():
    document = copy.deepcopy(DOCUMENT)
    document["metadata"].update(
        resourceVersion="123", uid="u", generation=4, creationTimestamp="t", managedFields=[{"manager": "m"}]
    )
    document["status"] = {"lifecycleState": "STABLE"}

    body = build_flink_deployment(document)

    assert body["metadata"] == DOCUMENT["metadata"]
    assert "status" not in body


def test_building_twice_gives_equal_bodies():
    arguments: dict[str, Any] = {
        **TYPED,
        "python_file": "/a.py",
        "flink_configuration": {"a": {"b": "c"}},
        "labels": {"x": "y"},
    }

    assert build_flink_deployment(DOCUMENT | {"spec": {}}, **arguments) == build_flink_deployment(
        DOCUMENT | {"spec": {}}, **arguments
    )


def test_building_from_a_built_body_changes_nothing():
    body = build_flink_deployment(None, **TYPED, python_file="/a.py")

    assert build_flink_deployment(body) == body


@pytest.mark.parametrize(
    ("version", "expected"),
    [("1.20", "local:///opt/flink/opt/flink-python-1.20.0.jar"), ("v1_14", "flink-python_2.12-1.14.0.jar")],
)
def test_python_jar_uri_follows_the_image_layout(version, expected):
    assert python_jar_uri(version).endswith(expected)


def test_built_bodies_pass_the_crd_schema():
    deployment = build_flink_deployment(
        None, **TYPED, python_file="/a.py", labels={"team": "data"}, task_manager={"replicas": 2}
    )

    validate_body(deployment)
    validate_body(build_flink_deployment(DOCUMENT))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param({"jobManger": {}}, 'unknown field "spec.jobManger"', id="typo-in-field-name"),
        pytest.param({"restartNonce": "1"}, "spec.restartNonce", id="wrong-type"),
    ],
)
def test_schema_errors_are_listed_with_their_fields(change, message):
    body = build_flink_deployment(DOCUMENT)
    body["spec"].update(change)

    with pytest.raises(FlinkSpecError, match=message) as error:
        validate_body(body)

    assert error.value.fields[0].startswith("spec.")
