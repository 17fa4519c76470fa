"""Table-driven tests of the pure CRD schema validator."""

from __future__ import annotations

import copy
import subprocess
import sys
from typing import Any

import pytest

from airflow_provider_flink.utils.crd_schema import (
    FIELD_VALUE_INVALID,
    FIELD_VALUE_NOT_SUPPORTED,
    FIELD_VALUE_REQUIRED,
    FIELD_VALUE_TOO_LONG,
    FIELD_VALUE_TOO_MANY,
    FIELD_VALUE_TYPE_INVALID,
    FIELD_VALUE_UNKNOWN,
    FieldError,
    crd_for,
    crd_for_kind,
    invalid_message,
    prune_unknown_fields,
    shipped_crds,
    validate_custom_resource,
    validate_labels,
    validate_name,
    validate_value,
)

FD = "FlinkDeployment"
CONTAINER = "spec.podTemplate.spec.containers[0]"


def flink_deployment(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "flink.apache.org/v1beta1",
        "kind": FD,
        "metadata": {"name": "wordcount", "labels": {"airflow.apache.org/dag-id": "etl"}},
        "spec": {
            "image": "flink:2.3",
            "flinkVersion": "v2_2",
            "jobManager": {"resource": {"cpu": 1, "memory": "2048m"}},
            "job": {"jarURI": "local:///opt/flink/job.jar", "parallelism": 2, "upgradeMode": "stateless"},
            **spec,
        },
    }


def with_path(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``obj`` with the dotted ``path`` (``[i]`` for list items) set to ``value``."""
    result = copy.deepcopy(obj)
    node: Any = result
    parts = path.replace("]", "").replace("[", ".").split(".")
    for index, part in enumerate(parts[:-1]):
        key: Any = int(part) if part.isdigit() else part
        if isinstance(node, dict) and key not in node:
            node[key] = [] if parts[index + 1].isdigit() else {}
        if isinstance(node, list) and key >= len(node):
            node.append({})
        node = node[key]
    last = parts[-1]
    node[int(last) if last.isdigit() else last] = value
    return result


VALID_CASES = [
    ("minimal deployment", flink_deployment()),
    ("integral float for an integer", with_path(flink_deployment(), "spec.job.parallelism", 2.0)),
    ("integer for a number", with_path(flink_deployment(), "spec.jobManager.resource.cpu", 2)),
    ("anything under flinkConfiguration", flink_deployment(flinkConfiguration={"a.b": "1", "nested": {"x": [1]}})),
    ("int-or-string as integer", with_path(flink_deployment(), f"{CONTAINER}.livenessProbe.httpGet.port", 8081)),
    ("int-or-string as string", with_path(flink_deployment(), f"{CONTAINER}.livenessProbe.httpGet.port", "rest")),
    ("int-or-string map values",
     with_path(flink_deployment(), f"{CONTAINER}.resources.limits", {"cpu": 1, "memory": "1Gi"})),
    ("status enums",
     {**flink_deployment(), "status": {"lifecycleState": "STABLE", "jobStatus": {"state": "RUNNING"}}}),
]  # fmt: skip


@pytest.mark.parametrize("obj", [c[1] for c in VALID_CASES], ids=[c[0] for c in VALID_CASES])
def test_valid_custom_resources_have_no_errors(obj: dict[str, Any]) -> None:
    assert validate_custom_resource(obj, strict_unknown_fields=True) == []


INVALID_CASES = [
    (
        "enum",
        with_path(flink_deployment(), "spec.job.upgradeMode", "foo"),
        FieldError("spec.job.upgradeMode", FIELD_VALUE_NOT_SUPPORTED,
                   'Unsupported value: "foo": supported values: "last-state", "savepoint", "stateless"'),
    ),
    (
        "integer given a string",
        with_path(flink_deployment(), "spec.job.parallelism", "two"),
        FieldError("spec.job.parallelism", FIELD_VALUE_TYPE_INVALID,
                   'Invalid value: "string": spec.job.parallelism in body must be of type integer: "string"'),
    ),
    (
        "integer given a fraction",
        with_path(flink_deployment(), "spec.job.parallelism", 1.5),
        FieldError("spec.job.parallelism", FIELD_VALUE_TYPE_INVALID,
                   'Invalid value: "number": spec.job.parallelism in body must be of type integer: "number"'),
    ),
    (
        "boolean given a string",
        with_path(flink_deployment(), "spec.job.allowNonRestoredState", "yes"),
        FieldError("spec.job.allowNonRestoredState", FIELD_VALUE_TYPE_INVALID,
                   'Invalid value: "string": spec.job.allowNonRestoredState in body must be of type boolean: "string"'),
    ),
    (
        "array item",
        with_path(flink_deployment(), "spec.job.args", ["--input", 3]),
        FieldError("spec.job.args[1]", FIELD_VALUE_TYPE_INVALID,
                   'Invalid value: "integer": spec.job.args[1] in body must be of type string: "integer"'),
    ),
    (
        "array given an object",
        with_path(flink_deployment(), "spec.job.args", {"a": "b"}),
        FieldError("spec.job.args", FIELD_VALUE_TYPE_INVALID,
                   'Invalid value: "object": spec.job.args in body must be of type array: "object"'),
    ),
    (
        "additionalProperties value",
        flink_deployment(ingress={"annotations": {"a": 1}}),
        FieldError("spec.ingress.annotations.a", FIELD_VALUE_TYPE_INVALID,
                   'Invalid value: "integer": spec.ingress.annotations.a in body must be of type string: "integer"'),
    ),
    (
        "int-or-string given a boolean",
        with_path(flink_deployment(), f"{CONTAINER}.livenessProbe.httpGet.port", True),
        FieldError(f"{CONTAINER}.livenessProbe.httpGet.port", FIELD_VALUE_TYPE_INVALID,
                   f'Invalid value: "boolean": {CONTAINER}.livenessProbe.httpGet.port in body must be of type '
                   'integer,string: "boolean"'),
    ),
    (
        "null where a string is expected",
        with_path(flink_deployment(), "spec.image", None),
        FieldError("spec.image", FIELD_VALUE_TYPE_INVALID,
                   'Invalid value: "null": spec.image in body must be of type string: "null"'),
    ),
    (
        "status enum",
        {**flink_deployment(), "status": {"jobManagerDeploymentStatus": "SLEEPING"}},
        FieldError("status.jobManagerDeploymentStatus", FIELD_VALUE_NOT_SUPPORTED,
                   'Unsupported value: "SLEEPING": supported values: "DEPLOYED_NOT_READY", "DEPLOYING", "ERROR", '
                   '"MISSING", "READY"'),
    ),
    (
        "object name",
        with_path(flink_deployment(), "metadata.name", "Word_Count"),
        FieldError("metadata.name", FIELD_VALUE_INVALID,
                   'Invalid value: "Word_Count": a lowercase RFC 1123 subdomain must consist of lower case '
                   "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character "
                   "(e.g. 'example.com', regex used for validation is "
                   r"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"),
    ),
    (
        "missing name",
        with_path(flink_deployment(), "metadata", {}),
        FieldError("metadata.name", FIELD_VALUE_REQUIRED, "Required value: name or generateName is required"),
    ),
    (
        "session job enum",
        {"apiVersion": "flink.apache.org/v1beta1", "kind": "FlinkSessionJob", "metadata": {"name": "j"},
         "spec": {"deploymentName": "s", "job": {"state": "paused"}}},
        FieldError("spec.job.state", FIELD_VALUE_NOT_SUPPORTED,
                   'Unsupported value: "paused": supported values: "running", "suspended"'),
    ),
    (
        "snapshot job reference kind",
        {"apiVersion": "flink.apache.org/v1beta1", "kind": "FlinkStateSnapshot", "metadata": {"name": "s"},
         "spec": {"jobReference": {"kind": "Deployment", "name": "x"}}},
        FieldError("spec.jobReference.kind", FIELD_VALUE_NOT_SUPPORTED,
                   'Unsupported value: "Deployment": supported values: "FlinkDeployment", "FlinkSessionJob"'),
    ),
    (
        "unknown kind",
        {**flink_deployment(), "kind": "FlinkJob"},
        FieldError("kind", FIELD_VALUE_NOT_SUPPORTED,
                   'Unsupported value: "FlinkJob": supported values: "FlinkDeployment", "FlinkSessionJob", '
                   '"FlinkStateSnapshot"'),
    ),
    (
        "unserved version",
        {**flink_deployment(), "apiVersion": "flink.apache.org/v1"},
        FieldError("apiVersion", FIELD_VALUE_NOT_SUPPORTED,
                   'Unsupported value: "flink.apache.org/v1": supported values: "flink.apache.org/v1beta1"'),
    ),
]  # fmt: skip


@pytest.mark.parametrize(("obj", "expected"), [c[1:] for c in INVALID_CASES], ids=[c[0] for c in INVALID_CASES])
def test_invalid_custom_resources_report_the_api_server_error(obj: dict[str, Any], expected: FieldError) -> None:
    assert validate_custom_resource(obj) == [expected]


def test_message_prefixes_the_field_path_like_the_api_server() -> None:
    errors = validate_custom_resource(with_path(flink_deployment(), "spec.job.upgradeMode", "foo"))

    assert errors[0].message == (
        'spec.job.upgradeMode: Unsupported value: "foo": supported values: "last-state", "savepoint", "stateless"'
    )


def test_all_errors_are_reported_together() -> None:
    obj = with_path(with_path(flink_deployment(), "spec.job.upgradeMode", "x"), "spec.mode", "hybrid")

    fields = sorted(e.field for e in validate_custom_resource(obj))

    assert fields == ["spec.job.upgradeMode", "spec.mode"]


UNKNOWN_FIELD_CASES = [
    ("top level", {**flink_deployment(), "extra": 1}, ["extra"]),
    ("in spec", flink_deployment(bogus=True), ["spec.bogus"]),
    ("in a list item", with_path(flink_deployment(), f"{CONTAINER}.nope", 1), [f"{CONTAINER}.nope"]),
    ("in metadata", with_path(flink_deployment(), "metadata.color", "red"), ["metadata.color"]),
    ("below an object without properties", {
        "apiVersion": "flink.apache.org/v1beta1", "kind": "FlinkStateSnapshot", "metadata": {"name": "s"},
        "spec": {"checkpoint": {"anything": 1}},
    }, ["spec.checkpoint.anything"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("obj", "paths"), [c[1:] for c in UNKNOWN_FIELD_CASES], ids=[c[0] for c in UNKNOWN_FIELD_CASES]
)
def test_unknown_fields_are_pruned_and_reported_only_when_strict(obj: dict[str, Any], paths: list[str]) -> None:
    original = copy.deepcopy(obj)

    pruned, unknown = prune_unknown_fields(obj)
    strict = validate_custom_resource(obj, strict_unknown_fields=True)
    lenient = validate_custom_resource(obj)

    assert unknown == paths
    assert prune_unknown_fields(pruned) == (pruned, [])
    assert obj == original
    assert strict == [FieldError(p, FIELD_VALUE_UNKNOWN, f'unknown field "{p}"') for p in paths]
    assert lenient == []


def test_pruning_keeps_fields_below_preserve_unknown_fields() -> None:
    obj = flink_deployment(flinkConfiguration={"state.backend.type": "rocksdb", "deep": {"x": {"y": 1}}})

    pruned, unknown = prune_unknown_fields(obj)

    assert unknown == []
    assert pruned == obj


SCHEMA_KEYWORD_CASES: list[tuple[str, dict[str, Any], Any, list[tuple[str, str, str]]]] = [
    ("required", {"type": "object", "required": ["a"]}, {}, [("a", FIELD_VALUE_REQUIRED, "Required value")]),
    ("nullable", {"type": "string", "nullable": True}, None, []),
    ("minimum", {"type": "integer", "minimum": 1}, 0,
     [("x", FIELD_VALUE_INVALID, "Invalid value: 0: x in body should be greater than or equal to 1")]),
    ("exclusive maximum", {"type": "number", "maximum": 1, "exclusiveMaximum": True}, 1,
     [("x", FIELD_VALUE_INVALID, "Invalid value: 1: x in body should be less than 1")]),
    ("maxLength", {"type": "string", "maxLength": 3}, "abcd",
     [("x", FIELD_VALUE_TOO_LONG, "Too long: may not be more than 3 bytes")]),
    ("minLength", {"type": "string", "minLength": 2}, "a",
     [("x", FIELD_VALUE_INVALID, 'Invalid value: "a": x in body should be at least 2 chars long')]),
    ("pattern", {"type": "string", "pattern": "^[a-z]+$"}, "A1",
     [("x", FIELD_VALUE_INVALID, "Invalid value: \"A1\": x in body should match '^[a-z]+$'")]),
    ("maxItems", {"type": "array", "maxItems": 1}, [1, 2],
     [("x", FIELD_VALUE_TOO_MANY, "Too many: 2: must have at most 1 items")]),
    ("integer enum", {"type": "integer", "enum": [1, 2]}, 3,
     [("x", FIELD_VALUE_NOT_SUPPORTED, "Unsupported value: 3: supported values: 1, 2")]),
    ("anyOf", {"anyOf": [{"type": "integer"}, {"type": "boolean"}]}, "s",
     [("x", FIELD_VALUE_INVALID, 'Invalid value: "s": x in body must validate at least one schema (anyOf)')]),
    ("oneOf", {"oneOf": [{"type": "integer"}, {"type": "number"}]}, 1,
     [("x", FIELD_VALUE_INVALID, "Invalid value: 1: x in body must validate one and only one schema (oneOf)")]),
    ("allOf", {"allOf": [{"type": "integer"}, {"minimum": 5}]}, 4,
     [("x", FIELD_VALUE_INVALID, "Invalid value: 4: x in body should be greater than or equal to 5")]),
    ("not", {"not": {"type": "string"}}, "s",
     [("x", FIELD_VALUE_INVALID, 'Invalid value: "s": x in body must not validate the schema (not)')]),
    ("format is lenient", {"type": "integer", "format": "int32"}, 1 << 40, []),
]  # fmt: skip


@pytest.mark.parametrize(
    ("schema", "value", "expected"),
    [c[1:] for c in SCHEMA_KEYWORD_CASES],
    ids=[c[0] for c in SCHEMA_KEYWORD_CASES],
)
def test_structural_schema_keywords(schema: dict[str, Any], value: Any, expected: list[tuple[str, str, str]]) -> None:
    errors = validate_value(value, schema, "x" if schema.get("type") != "object" else "")

    assert [(e.field, e.reason, e.detail) for e in errors] == expected


NAME_CASES = [
    ("wordcount", "subdomain", True),
    ("word.count-2", "subdomain", True),
    ("Wordcount", "subdomain", False),
    ("-wordcount", "subdomain", False),
    ("a" * 253, "subdomain", True),
    ("a" * 254, "subdomain", False),
    ("wc-rest", "label1035", True),
    ("1-rest", "label1035", False),
    ("a.b", "label1035", False),
    ("a" * 64, "label1035", False),
]


@pytest.mark.parametrize(("name", "rule", "valid"), NAME_CASES)
def test_object_name_rules(name: str, rule: str, valid: bool) -> None:
    assert (validate_name(name, rule=rule) == []) is valid


LABEL_CASES = [
    ({"app": "wc", "airflow.apache.org/task-id": "run_job.v2", "empty": ""}, True),
    ({"app": "has space"}, False),
    ({"app": "x" * 64}, False),
    ({"app": "_leading"}, False),
    ({"Bad Key": "v"}, False),
    ({"UPPER.example.com/x": "v"}, False),
    ({"app": 3}, False),
]


@pytest.mark.parametrize(("labels", "valid"), LABEL_CASES)
def test_label_rules(labels: dict[str, Any], valid: bool) -> None:
    assert (validate_labels(labels) == []) is valid


def test_crd_lookups_by_plural_and_by_kind() -> None:
    by_plural = crd_for("flink.apache.org", "flinkdeployments")
    by_kind = crd_for_kind("flink.apache.org/v1beta1", "FlinkDeployment")

    assert by_plural is by_kind
    version = by_plural.version("v1beta1") if by_plural is not None else None
    assert by_plural is not None and version is not None
    assert (by_plural.kind, by_plural.short_names, by_plural.namespaced) == ("FlinkDeployment", ("flinkdep",), True)
    assert version.status_subresource
    assert crd_for("flink.apache.org", "flinkjobs") is None
    assert crd_for_kind("flink.apache.org/v1", "FlinkDeployment") is None


def test_the_three_shipped_crds_are_loaded_once() -> None:
    first, second = shipped_crds(), shipped_crds()

    assert first is second
    assert sorted(c.plural for c in first) == ["flinkdeployments", "flinksessionjobs", "flinkstatesnapshots"]


def test_importing_the_module_reads_no_file() -> None:
    code = "import airflow_provider_flink.utils.crd_schema as m; print(m.shipped_crd_documents.cache_info().currsize)"

    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout

    assert output.strip() == "0"


@pytest.mark.parametrize(
    ("errors", "expected"),
    [
        ([FieldError("spec.a", FIELD_VALUE_REQUIRED, "Required value")], 'K.g "n" is invalid: spec.a: Required value'),
        (
            [FieldError("spec.a", FIELD_VALUE_REQUIRED, "Required value"), FieldError("spec.b", "x", "Bad")],
            'K.g "n" is invalid: [spec.a: Required value, spec.b: Bad]',
        ),
    ],
)
def test_invalid_message_lists_one_or_several_errors(errors: list[FieldError], expected: str) -> None:
    assert invalid_message("K.g", "n", errors) == expected


def test_json_copies_of_the_shipped_crds_equal_their_verbatim_yaml() -> None:
    import json
    from pathlib import Path

    import yaml

    import airflow_provider_flink

    folder = Path(airflow_provider_flink.__file__).parent / "crds"
    pairs = [(y, y.with_suffix(".json")) for y in sorted(folder.glob("*.yml"))]

    assert len(pairs) == 3
    for yml, copy_path in pairs:
        assert copy_path.is_file(), f"{copy_path.name} is missing: see crds/README.md to write it"
        assert json.loads(copy_path.read_text()) == yaml.safe_load(yml.read_text()), f"{copy_path.name} is stale"
