"""validate_name (Flink cluster ids) and normalize_flink_version (the CRD's flinkVersion enum)."""

from __future__ import annotations

import pickle

import pytest

from airflow_provider_flink.specs import (
    FLINK_VERSIONS,
    FlinkSpecError,
    normalize_flink_version,
    validate_name,
)


@pytest.mark.parametrize("name", ["a", "wordcount", "word-count-2", "a" * 45, "x9"])
def test_valid_cluster_id_passes(name):
    validate_name(name)


@pytest.mark.parametrize(
    ("name", "problem", "suggestion"),
    [
        pytest.param("WordCount", "contains uppercase letters", "'wordcount'", id="uppercase"),
        pytest.param("word_count", "contains '_'", "'word-count'", id="underscore"),
        pytest.param("word.count v2", "contains ' ', '.'", "'word-count-v2'", id="dot-and-space"),
        pytest.param("2nd-job", "starts with '2' instead of a letter", "'job-2nd-job'", id="starts-with-digit"),
        pytest.param("-job", "starts with '-'", "'job'", id="starts-with-dash"),
        pytest.param("job-", "ends with '-'", "'job'", id="ends-with-dash"),
        pytest.param("a" * 46, "is 46 characters long, more than 45", "'" + "a" * 45 + "'", id="too-long"),
        pytest.param("", "is empty", "'my-flink-job'", id="empty"),
        pytest.param("é", "contains 'é'", "'my-flink-job'", id="non-ascii"),
    ],
)
def test_invalid_cluster_id_error_says_what_is_wrong_and_suggests_a_valid_name(name, problem, suggestion):
    with pytest.raises(FlinkSpecError) as error:
        validate_name(name)

    message = str(error.value)
    assert problem in message
    assert f"For example {suggestion}" in message
    assert error.value.fields == ("metadata.name",)


def test_suggested_name_is_itself_valid():
    with pytest.raises(FlinkSpecError) as error:
        validate_name("__My__Very_Long_DAG.task.name_that_keeps_going_and_going__")

    suggestion = str(error.value).rsplit("For example ", 1)[1].strip(".'")
    validate_name(suggestion)


def test_name_that_is_not_a_string_is_an_error():
    with pytest.raises(FlinkSpecError, match="must be a string"):
        validate_name(42)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("v1_20", "v1_20"),
        ("1.20", "v1_20"),
        ("1.20.1", "v1_20"),
        ("V1_20", "v1_20"),
        ("1_19", "v1_19"),
        ("v1.18", "v1_18"),
        ("2.0", "v2_0"),
        ("2.0.0", "v2_0"),
        ("v2_1", "v2_1"),
        (" 2.2 ", "v2_2"),
    ],
)
def test_flink_version_is_normalized_to_the_crd_enum(given, expected):
    assert normalize_flink_version(given) == expected


@pytest.mark.parametrize(
    ("given", "message"),
    [
        pytest.param("1.12", "Flink 1.12, which the FlinkDeployment CRD", id="too-old"),
        pytest.param("v2_3", "Flink 2.3, which the FlinkDeployment CRD", id="newer-than-the-crd"),
        pytest.param("latest", "is not a Flink version", id="word"),
        pytest.param("1", "is not a Flink version", id="major-only"),
        pytest.param(1.2, "YAML and Python read 1.20 as 1.2", id="float"),
        pytest.param(2, "given as the number", id="int"),
        pytest.param(None, "is not a Flink version", id="none"),
    ],
)
def test_unknown_flink_version_is_an_error_listing_the_supported_ones(given, message):
    with pytest.raises(FlinkSpecError, match=message) as error:
        normalize_flink_version(given)

    assert "Supported: " + ", ".join(FLINK_VERSIONS) in str(error.value)


def test_spec_error_survives_pickling_with_its_fields():
    error = FlinkSpecError("bad", fields=["spec.image"])

    restored = pickle.loads(pickle.dumps(error))

    assert (str(restored), restored.fields) == ("bad", ("spec.image",))
