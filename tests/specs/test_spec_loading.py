"""load_spec_document: mappings, inline YAML/JSON and spec files, and the errors a DAG author can act on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_flink.specs import FlinkSpecError, load_spec_document

MANIFEST: dict[str, Any] = {
    "apiVersion": "flink.apache.org/v1beta1",
    "kind": "FlinkDeployment",
    "metadata": {"name": "wordcount"},
    "spec": {"image": "flink:1.20", "flinkVersion": "v1_20", "job": {"jarURI": "local:///opt/job.jar"}},
}
MANIFEST_YAML = """\
apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
metadata:
  name: wordcount
spec:
  image: flink:1.20
  flinkVersion: v1_20
  job:
    jarURI: local:///opt/job.jar
"""


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(MANIFEST, id="dict"),
        pytest.param(MANIFEST_YAML, id="inline-yaml"),
        pytest.param("---\n" + MANIFEST_YAML + "---\n", id="inline-yaml-with-separators"),
        pytest.param(json.dumps(MANIFEST), id="inline-json"),
        pytest.param(json.dumps(MANIFEST, indent="\t"), id="inline-json-indented-with-tabs"),
    ],
)
def test_inline_sources_give_the_same_mapping(source):
    assert load_spec_document(source) == MANIFEST


def test_none_gives_none():
    assert load_spec_document(None) is None


def test_dict_source_is_copied_not_shared():
    loaded = load_spec_document(MANIFEST)
    assert loaded is not None
    loaded["spec"]["job"]["jarURI"] = "changed"

    assert MANIFEST["spec"]["job"]["jarURI"] == "local:///opt/job.jar"


@pytest.mark.parametrize("file_name", ["flink.yaml", "flink.yml", "flink.json", "FLINK.YAML"])
def test_existing_spec_file_is_read(tmp_path, file_name):
    path = tmp_path / file_name
    path.write_text(json.dumps(MANIFEST) if file_name.endswith(".json") else MANIFEST_YAML)

    assert load_spec_document(str(path)) == MANIFEST


def test_relative_spec_file_is_found_in_the_search_path_before_the_working_directory(tmp_path, monkeypatch):
    dag_folder = tmp_path / "dags"
    dag_folder.mkdir()
    (dag_folder / "flink.yaml").write_text(MANIFEST_YAML)
    monkeypatch.chdir(tmp_path)
    Path("flink.yaml").write_text("kind: Other\n")

    assert load_spec_document("flink.yaml", search_path=[dag_folder]) == MANIFEST


@pytest.mark.parametrize(
    "path_like",
    [
        pytest.param("missing.yaml", id="bare-file-name"),
        pytest.param("specs/missing.yml", id="relative-path"),
        pytest.param("/nowhere/flink.json", id="absolute-path"),
        pytest.param("/nowhere/flink-spec", id="path-without-suffix"),
    ],
)
def test_missing_spec_file_is_an_error_naming_the_path_not_inline_content(tmp_path, monkeypatch, path_like):
    monkeypatch.chdir(tmp_path)

    with pytest.raises(FlinkSpecError, match="does not exist") as error:
        load_spec_document(path_like)

    assert repr(path_like) in str(error.value)


def test_directory_instead_of_spec_file_is_an_error(tmp_path):
    with pytest.raises(FlinkSpecError, match="is a directory"):
        load_spec_document(str(tmp_path) + "/")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        pytest.param("wordcount", "YAML str", id="plain-word"),
        pytest.param("42", "YAML int", id="number"),
        pytest.param("- a\n- b\n", "YAML list", id="list"),
        pytest.param("", "is empty", id="empty"),
        pytest.param("   \n", "is empty", id="blank"),
        pytest.param("# only a comment\n", "holds no document", id="comment-only"),
    ],
)
def test_text_that_is_not_one_mapping_is_an_error(source, message):
    with pytest.raises(FlinkSpecError, match=message):
        load_spec_document(source)


def test_multi_document_yaml_is_an_error_saying_one_document_is_expected():
    with pytest.raises(FlinkSpecError, match="holds 2 YAML documents; exactly one is expected"):
        load_spec_document(MANIFEST_YAML + "---\n" + MANIFEST_YAML)


@pytest.mark.parametrize(
    ("source", "position"),
    [
        pytest.param("metadata:\n  name: a\n bad: [\n", "line 3, column 2", id="bad-indent"),
        pytest.param("spec:\n  args: [a, b\n", "line 3, column 1", id="unclosed-flow-list"),
        pytest.param('{"kind": "FlinkDeployment",\n\t"spec": [1, }', "line 2, column 14", id="bad-json"),
    ],
)
def test_invalid_text_is_an_error_with_line_and_column(source, position):
    with pytest.raises(FlinkSpecError, match=position):
        load_spec_document(source)


def test_invalid_yaml_in_a_file_names_the_file(tmp_path):
    path = tmp_path / "flink.yaml"
    path.write_text("spec:\n  args: [a, b\n")

    with pytest.raises(FlinkSpecError, match=r"Spec file .*flink\.yaml.* is not valid YAML"):
        load_spec_document(str(path))


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("spec:\n  image: a\nspec:\n  image: b\n", id="yaml"),
        pytest.param('{"spec": {"image": "a"}, "spec": {"image": "b"}}', id="json"),
    ],
)
def test_repeated_key_is_an_error_instead_of_the_last_one_winning_silently(source):
    with pytest.raises(FlinkSpecError, match="duplicate key 'spec'"):
        load_spec_document(source)


def test_yaml_merge_keys_may_be_overridden_without_a_duplicate_key_error():
    source = "base: &base {cpu: 1, memory: 1g}\njm:\n  <<: *base\n  memory: 2g\n"

    assert load_spec_document(source) == {
        "base": {"cpu": 1, "memory": "1g"},
        "jm": {"cpu": 1, "memory": "2g"},
    }


def test_unrendered_jinja_gets_a_hint():
    with pytest.raises(FlinkSpecError, match="Jinja markup"):
        load_spec_document("metadata:\n  name: {{ params.name }}\n")


@pytest.mark.parametrize("source", [b"kind: FlinkDeployment", ["kind"], 3])
def test_source_of_another_type_is_an_error(source):
    with pytest.raises(FlinkSpecError, match="mapping, YAML or JSON text, or a file path"):
        load_spec_document(source)


def test_importing_the_specs_package_loads_neither_airflow_nor_the_kubernetes_client():
    code = (
        "import sys, airflow_provider_flink.specs; "
        "print(sorted(m for m in ('airflow', 'kubernetes', 'kubernetes_asyncio') if m in sys.modules))"
    )

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "[]"
