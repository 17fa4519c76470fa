"""
Build FlinkDeployment and FlinkSessionJob bodies from a manifest, typed arguments, or both.

Pure functions over plain data: nothing here talks to Kubernetes, and the only file ever read is
a spec file the caller names. The operators load the user's ``application_file`` with
:func:`load_spec_document`, then hand it with their typed arguments to
:func:`build_flink_deployment` or :func:`build_flink_session_job`.

Rules shared by both builders (the docstrings of the builders repeat them for their fields):

* A typed argument that is not ``None`` wins over the same field of the document. Mappings
  (``flink_configuration``, ``job_manager``, ``task_manager``, ``pod_template``, ``labels``,
  ``annotations``) are merged into the document's like a JSON merge patch (RFC 7386, what
  ``kubectl patch --type merge`` does): nested mappings merge key by key, lists and scalars replace,
  and a ``None`` value removes the key. Lists such as ``args`` replace the document's list whole.
* A combination that is surely a mistake (a Java jar and a Python file, two Python entry points,
  a Python file with a document whose ``entryClass`` is a Java class) is an error, not a guess.
* Defaults are only what the Flink Kubernetes Operator would otherwise reject or what Flink does
  anyway; nothing the CRD leaves open (``mode``, ``imagePullPolicy``) is invented.
* Every error is a :class:`FlinkSpecError` naming the field and the argument that sets it.
"""

from __future__ import annotations

import copy
import json
import os
import re
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

API_VERSION = "flink.apache.org/v1beta1"
FLINK_DEPLOYMENT_KIND = "FlinkDeployment"
FLINK_SESSION_JOB_KIND = "FlinkSessionJob"

# Copied from the enums of the CRDs this package ships (operator release-1.15.0) so that building a
# body reads no file; tests/specs compares them with the CRD files, so a CRD update cannot leave them stale.
FLINK_VERSIONS: tuple[str, ...] = (
    "v1_13",
    "v1_14",
    "v1_15",
    "v1_16",
    "v1_17",
    "v1_18",
    "v1_19",
    "v1_20",
    "v2_0",
    "v2_1",
    "v2_2",
)
UPGRADE_MODES: tuple[str, ...] = ("last-state", "savepoint", "stateless")
JOB_STATES: tuple[str, ...] = ("running", "suspended")
CRD_RELEASE = "1.15.0"

PYTHON_DRIVER = "org.apache.flink.client.python.PythonDriver"
# The interpreter path of the Flink documentation's PyFlink image recipe ("Using Flink Python on
# Docker"), which builds Python from source into /usr/local. Images that install python3 from the
# distribution have it in /usr/bin instead: pass python_executable for those.
DEFAULT_PYTHON_EXECUTABLE = "/usr/local/bin/python3"
# The Helm chart of the Flink Kubernetes Operator creates this account (jobServiceAccount) for the
# Flink pods, and the operator rejects a FlinkDeployment without spec.serviceAccount.
DEFAULT_SERVICE_ACCOUNT = "flink"
# Only for bodies built purely from arguments: the operator rejects a deployment with no memory for
# the JobManager or TaskManager unless its default configuration has one, which we cannot know.
# These are the process sizes of the config.yaml Flink itself ships, so a job that runs on a
# freshly unpacked Flink runs here too; 1024m would leave a TaskManager only ~26 MB of task heap.
DEFAULT_JOB_MANAGER_RESOURCE: Mapping[str, Any] = {"cpu": 1, "memory": "1600m"}
DEFAULT_TASK_MANAGER_RESOURCE: Mapping[str, Any] = {"cpu": 1, "memory": "1728m"}

# The CR name is Flink's kubernetes.cluster-id; the operator's validator allows this pattern only.
MAX_NAME_LENGTH = 45
_NAME_PATTERN = re.compile(r"[a-z]([-a-z0-9]{0,43}[a-z0-9])?")
_NAMESPACE_PATTERN = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_SUBDOMAIN_PATTERN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_VERSION_PATTERN = re.compile(r"v?(\d+)[._](\d+)(?:[._](\d+))?", re.IGNORECASE)

SPEC_FILE_SUFFIXES: tuple[str, ...] = (".yaml", ".yml", ".json")

# Written by the API server: a manifest saved with `kubectl get -o yaml` carries them, and a create
# with resourceVersion set is refused.
_SERVER_METADATA_FIELDS = (
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)

# A Flink option name as the line-based flink-conf.yaml can carry it: ": " or "#" would split it elsewhere.
_CONFIG_KEY_PATTERN = re.compile(r"[^\s:#\x00-\x1f\x7f]+")

_COMPONENT_RESOURCE_KEYS = {"cpu": "cpu", "memory": "memory", "ephemeral_storage": "ephemeralStorage"}
_COMPONENT_KEYS = ("cpu", "memory", "ephemeral_storage", "replicas", "pod_template", "resource")


class FlinkSpecError(ValueError):
    """
    A FlinkDeployment or FlinkSessionJob body could not be built from what the DAG gave.

    A ``ValueError`` so that this module stays free of Airflow imports; the operators let it fail
    the task as it is (there is nothing to retry in a bad spec).

    :param message: What is wrong and how to fix it, naming the field and the argument.
    :param fields: Dotted paths of the fields at fault (``spec.image``), for callers that report them.
    """

    def __init__(self, message: str, *, fields: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.fields = tuple(fields)

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep ``fields`` when Airflow pickles the error across a process boundary.
        return (type(self), (str(self),), {"fields": self.fields})


# ---------------------------------------------------------------------------------------------------
# Loading a document


def load_spec_document(
    source: str | Mapping[str, Any] | None,
    *,
    search_path: Sequence[str | os.PathLike[str]] = (),
) -> dict[str, Any] | None:
    """
    Turn what a DAG passed as a spec (a mapping, YAML or JSON text, or a file path) into a dict.

    Airflow renders ``template_ext`` files, so by execute time a ``.yaml``/``.yml``/``.json`` path has
    normally become its content; a path that was not rendered is read here. A string is taken as a
    path when it is one line without ``": "`` that ends in one of those suffixes or contains a path
    separator. Such a string whose file does not exist is an error, never parsed as inline content:
    that confusion is cncf-kubernetes' bugs #38537 and #40657.

    :param source: A mapping (deep-copied), inline YAML or JSON text, a path to a spec file, or ``None``.
    :param search_path: Folders a relative path is looked up in, in order, before the working
        directory (the operator passes the DAG's folder and ``template_searchpath``).
    :return: The document as a new dict, or ``None`` when ``source`` is ``None``.
    :raises FlinkSpecError: The file is missing, the text is not valid YAML/JSON (with line and
        column), holds more than one document, repeats a key, or is not a mapping.
    """
    if source is None:
        return None
    if isinstance(source, Mapping):
        return copy.deepcopy(dict(source))
    if not isinstance(source, str):
        raise FlinkSpecError(
            f"The spec must be a mapping, YAML or JSON text, or a file path; got {type(source).__name__}."
        )
    if _looks_like_path(source):
        path = _find_spec_file(source.strip(), search_path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise FlinkSpecError(f"Could not read spec file {str(path)!r}: {err}") from err
        return _parse_document(text, f"Spec file {str(path)!r}")
    return _parse_document(source, "The inline spec")


def _looks_like_path(text: str) -> bool:
    stripped = text.strip()
    if not stripped or "\n" in stripped or stripped.startswith(("{", "[")):
        return False
    if ": " in stripped or stripped.endswith(":"):
        return False
    return stripped.lower().endswith(SPEC_FILE_SUFFIXES) or "/" in stripped or os.sep in stripped


def _find_spec_file(text: str, search_path: Sequence[str | os.PathLike[str]]) -> Path:
    path = Path(text).expanduser()
    candidates = [path] if path.is_absolute() else [Path(folder) / path for folder in search_path] + [path]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
        if candidate.is_dir():
            raise FlinkSpecError(f"Spec file {str(candidate)!r} is a directory; name the YAML or JSON file in it.")
    looked_in = ", ".join(repr(str(candidate.parent) or ".") for candidate in candidates)
    raise FlinkSpecError(
        f"Spec file {text!r} does not exist (looked in {looked_in}). A one-line string ending in "
        f"{', '.join(SPEC_FILE_SUFFIXES)} or containing '/' is read as a file path, never as the manifest "
        "itself: fix the path, or pass the manifest's content or a dict."
    )


class _StrictLoader(yaml.SafeLoader):
    """Safe loader that rejects a repeated key, which PyYAML would silently resolve to the last one."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            # Merge keys (<<) may legitimately be overridden by the explicit keys after them.
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:
                continue  # an unhashable key; the base class reports it
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found duplicate key {key!r}",
                    key_node.start_mark,
                )
        return super().construct_mapping(node, deep=deep)


def _reject_duplicate_json_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"found duplicate key {key!r}")
        result[key] = value
    return result


def _parse_document(text: str, origin: str) -> dict[str, Any]:
    if not text.strip():
        raise FlinkSpecError(f"{origin} is empty; it must hold one FlinkDeployment or FlinkSessionJob.")
    hint = ""
    if "{{" in text or "{%" in text:
        hint = " It contains Jinja markup: was it rendered? Only fields listed in template_fields are."
    stripped = text.lstrip()
    documents: list[Any]
    if stripped.startswith("{"):
        # JSON first: pretty-printed JSON may be indented with tabs, which YAML refuses.
        try:
            documents = [json.loads(text, object_pairs_hook=_reject_duplicate_json_keys)]
        except json.JSONDecodeError as err:
            json_error = f"{origin} is not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}."
            try:
                documents = _load_yaml_documents(text, origin)
            except FlinkSpecError:
                raise FlinkSpecError(json_error + hint) from err
        except ValueError as err:
            raise FlinkSpecError(f"{origin} is not valid JSON: {err}.{hint}") from err
    else:
        try:
            documents = _load_yaml_documents(text, origin)
        except FlinkSpecError as err:
            raise FlinkSpecError(str(err) + hint) from err
    documents = [document for document in documents if document is not None]
    if not documents:
        raise FlinkSpecError(f"{origin} holds no document; it must hold one FlinkDeployment or FlinkSessionJob.")
    if len(documents) > 1:
        raise FlinkSpecError(
            f"{origin} holds {len(documents)} YAML documents; exactly one is expected "
            "(one FlinkDeployment or FlinkSessionJob per task: split the file)."
        )
    document = documents[0]
    if not isinstance(document, dict):
        preview = text.strip()
        preview = preview if len(preview) <= 60 else preview[:57] + "..."
        raise FlinkSpecError(
            f"{origin} is a YAML {type(document).__name__} ({preview!r}), not a mapping with apiVersion, "
            f"kind, metadata and spec. A file path must end in {', '.join(SPEC_FILE_SUFFIXES)} or "
            f"contain '/'.{hint}"
        )
    return document


def _load_yaml_documents(text: str, origin: str) -> list[Any]:
    try:
        return list(yaml.load_all(text, Loader=_StrictLoader))
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = " ".join(part for part in (err.context, err.problem) if part)
        raise FlinkSpecError(f"{origin} is not valid YAML: {what}{where}.") from err
    except yaml.YAMLError as err:
        raise FlinkSpecError(f"{origin} is not valid YAML: {err}.") from err


# ---------------------------------------------------------------------------------------------------
# Names and versions


def validate_name(name: object, *, field: str = "metadata.name", argument: str = "name") -> None:
    """
    Check a FlinkDeployment name, which is also Flink's cluster id, before the API server does.

    The operator accepts ``[a-z]([-a-z0-9]*[a-z0-9])?`` with at most 45 characters (Flink appends
    suffixes such as ``-rest`` to it for the Kubernetes objects it creates).

    :param name: The name to check.
    :param field: The spec field it came from, for the message.
    :param argument: The operator argument that sets it, for the message.
    :raises FlinkSpecError: Saying each thing that is wrong and suggesting a valid name.
    """
    if not isinstance(name, str):
        raise FlinkSpecError(
            f"{field} (argument {argument}) must be a string; got {type(name).__name__} {name!r}.",
            fields=[field],
        )
    if _NAME_PATTERN.fullmatch(name):
        return
    problems: list[str] = []
    if not name:
        problems.append("it is empty")
    else:
        if any("A" <= ch <= "Z" for ch in name):
            problems.append("it contains uppercase letters")
        bad = sorted({ch for ch in name if not ("a" <= ch <= "z" or "A" <= ch <= "Z" or "0" <= ch <= "9" or ch == "-")})
        if bad:
            problems.append(f"it contains {', '.join(repr(ch) for ch in bad)} (only a-z, 0-9 and '-' are allowed)")
        if not ("a" <= name[0].lower() <= "z"):
            problems.append(f"it starts with {name[0]!r} instead of a letter")
        if name[-1] == "-":
            problems.append("it ends with '-'")
        if len(name) > MAX_NAME_LENGTH:
            problems.append(f"it is {len(name)} characters long, more than {MAX_NAME_LENGTH}")
    suggestion = _suggest_name(name)
    example = f" For example {suggestion!r}." if suggestion else " For example 'my-flink-job'."
    raise FlinkSpecError(
        f"{field} {name!r} (argument {argument}) is not a valid Flink cluster id: {'; '.join(problems)}. "
        f"It must be lowercase letters, digits and '-', start with a letter, end with a letter or "
        f"digit, and be at most {MAX_NAME_LENGTH} characters.{example}",
        fields=[field],
    )


def _suggest_name(name: str) -> str | None:
    candidate = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    if not candidate:
        return None
    if not candidate[0].isalpha():
        candidate = "job-" + candidate
    return candidate[:MAX_NAME_LENGTH].rstrip("-")


def _validate_namespace(namespace: object, *, argument: str = "namespace") -> None:
    if not isinstance(namespace, str) or not _NAMESPACE_PATTERN.fullmatch(namespace):
        raise FlinkSpecError(
            f"metadata.namespace {namespace!r} (argument {argument}) is not a valid Kubernetes namespace: "
            "lowercase letters, digits and '-', starting and ending with a letter or digit, "
            "at most 63 characters.",
            fields=["metadata.namespace"],
        )


def _validate_object_name(name: object, *, kind: str) -> None:
    if not isinstance(name, str) or len(name) > 253 or not _SUBDOMAIN_PATTERN.fullmatch(name):
        raise FlinkSpecError(
            f"metadata.name {name!r} (argument name) is not a valid {kind} name: lowercase letters, "
            "digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters.",
            fields=["metadata.name"],
        )


def normalize_flink_version(value: object, *, argument: str = "flink_version") -> str:
    """
    Turn a Flink version as people write it into the CRD's ``flinkVersion`` value.

    ``"v1_20"``, ``"1.20"``, ``"1.20.1"``, ``"V1_20"`` and ``"1_20"`` all give ``"v1_20"``.

    :param value: The version as given.
    :param argument: The operator argument that set it, for the message.
    :raises FlinkSpecError: Not a version, or one the shipped CRD does not list (the supported ones are
        named). A number is refused because YAML reads ``1.20`` as ``1.2``.
    """
    return _parse_flink_version(value, argument=argument)[0]


def _parse_flink_version(value: object, *, argument: str) -> tuple[str, str]:
    """Return the CRD enum value and the full ``major.minor.patch`` version (patch 0 when not given)."""
    supported = ", ".join(FLINK_VERSIONS)
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise FlinkSpecError(
            f"spec.flinkVersion (argument {argument}) was given as the number {value!r}; YAML and Python "
            f"read 1.20 as 1.2, so write it as a string such as '1.20' or 'v1_20'. Supported: {supported}.",
            fields=["spec.flinkVersion"],
        )
    match = _VERSION_PATTERN.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise FlinkSpecError(
            f"spec.flinkVersion {value!r} (argument {argument}) is not a Flink version; write it like "
            f"'1.20' or 'v1_20'. Supported: {supported}.",
            fields=["spec.flinkVersion"],
        )
    major, minor, patch = int(match[1]), int(match[2]), int(match[3] or 0)
    enum = f"v{major}_{minor}"
    if enum not in FLINK_VERSIONS:
        raise FlinkSpecError(
            f"spec.flinkVersion {value!r} (argument {argument}) is Flink {major}.{minor}, which the "
            f"FlinkDeployment CRD of Flink Kubernetes Operator {CRD_RELEASE} does not accept. "
            f"Supported: {supported}.",
            fields=["spec.flinkVersion"],
        )
    return enum, f"{major}.{minor}.{patch}"


def python_jar_uri(flink_version: str) -> str:
    """
    Return the jarURI a Python FlinkDeployment conventionally names: the flink-python jar of the image.

    Follows the operator's ``flink-python-example``. The jar is a placeholder: for a job whose entry
    class is the PythonDriver, Flink's application entry point skips fetching and checking the
    pipeline jars and loads the flink-python jar from ``/opt/flink/opt`` itself, so a patch version
    that differs from the image's does no harm.

    :param flink_version: A Flink version in any form :func:`normalize_flink_version` accepts; a
        missing patch version counts as ``.0``.
    """
    _, full = _parse_flink_version(flink_version, argument="flink_version")
    major, minor = (int(part) for part in full.split(".")[:2])
    # flink-python lost its Scala suffix in Flink 1.16.
    jar = f"flink-python_2.12-{full}.jar" if (major, minor) < (1, 16) else f"flink-python-{full}.jar"
    return f"local:///opt/flink/opt/{jar}"


# ---------------------------------------------------------------------------------------------------
# Building bodies


def build_flink_deployment(
    document: Mapping[str, Any] | None,
    *,
    name: str | None = None,
    namespace: str | None = None,
    image: str | None = None,
    flink_version: str | None = None,
    jar_uri: str | None = None,
    entry_class: str | None = None,
    args: Sequence[str] | None = None,
    parallelism: int | None = None,
    upgrade_mode: str | None = None,
    python_file: str | None = None,
    python_module: str | None = None,
    python_executable: str | None = DEFAULT_PYTHON_EXECUTABLE,
    flink_configuration: Mapping[str, Any] | None = None,
    job_manager: Mapping[str, Any] | None = None,
    task_manager: Mapping[str, Any] | None = None,
    service_account: str | None = None,
    pod_template: Mapping[str, Any] | None = None,
    job_state: str | None = None,
    restart_nonce: int | None = None,
    labels: Mapping[str, str | None] | None = None,
    annotations: Mapping[str, str | None] | None = None,
    session_cluster: bool = False,
) -> dict[str, Any]:
    """
    Build the FlinkDeployment body to create, from a manifest, typed arguments, or both.

    **Precedence.** An argument that is not ``None`` wins over the same field of ``document``. That
    includes ``name``: one manifest reused by several tasks, each naming its own deployment, is the
    common Airflow pattern, and the argument is what the DAG author sees next to the task. Mappings
    merge into the document's like a JSON merge patch (nested keys merge, lists and scalars replace,
    ``None`` removes a key); ``args`` replaces the document's list whole.

    **Conflicts (errors).** ``python_file`` with ``python_module``; ``jar_uri`` with either (the jar of
    a Python job is the flink-python placeholder); ``entry_class`` or the document's ``job.entryClass``
    naming anything but the PythonDriver together with a Python entry point; ``session_cluster`` with
    any job field; a ``document`` of another kind or apiVersion; ``metadata.generateName`` without a
    name (retries find the deployment again by its name).

    **Python jobs.** ``python_file`` (``-py``) or ``python_module`` (``-pym``) makes the job
    ``entryClass: org.apache.flink.client.python.PythonDriver`` with ``args: [-pyclientexec
    <python_executable>, -py <file>, *args]`` (PyFlink options first, the program's own after: the
    PythonDriver needs that order), and, unless the document names one, ``jarURI:
    local:///opt/flink/opt/flink-python-<version>.jar`` as in the operator's ``flink-python-example``
    (see :func:`python_jar_uri`; the patch version comes from ``flink_version`` when it has one).

    **Defaults**, only for fields neither gives: ``apiVersion: flink.apache.org/v1beta1``, ``kind:
    FlinkDeployment``, ``spec.serviceAccount: flink`` (the operator requires one; its Helm chart
    creates ``flink``), ``job.upgradeMode: stateless`` and ``job.state: running`` (the operator's own
    defaults, written out so the body says what will happen). ``job.parallelism: 1`` when the job
    comes from arguments rather than the document and ``taskManager.replicas`` is not set (the
    operator rejects parallelism 0; a document's job must say it). When there is no document at all,
    also JobManager ``cpu: 1, memory: 1600m`` and TaskManager ``cpu: 1, memory: 1728m`` under any
    given values (Flink's shipped process sizes; the operator refuses a deployment without memory).
    ``mode`` is never set: the CRD has no default and the operator treats absence as native.

    **Required:** ``metadata.name`` (``name``), ``spec.image`` (``image``), ``spec.flinkVersion``
    (``flink_version``), and for an application deployment a ``job`` with ``jarURI`` or ``entryClass``
    (``jar_uri``, ``python_file``, ``python_module`` or ``entry_class``; the operator accepts a job
    without ``jarURI`` whose classes are in the image's ``usrlib``). A document without ``job`` is a
    session cluster; without a document, pass ``session_cluster=True`` for one, so that a forgotten
    ``jar_uri`` cannot silently start an idle session cluster.

    Server-written metadata (``resourceVersion``, ``uid``, ``managedFields``, ...) and ``status`` are
    dropped, so a manifest saved with ``kubectl get -o yaml`` can be created again.

    :param document: The manifest as a mapping (see :func:`load_spec_document`), or ``None``.
    :param name: ``metadata.name``, also Flink's cluster id (see :func:`validate_name`).
    :param namespace: ``metadata.namespace``.
    :param image: ``spec.image``, the Flink image.
    :param flink_version: ``spec.flinkVersion`` in any form :func:`normalize_flink_version` accepts.
    :param jar_uri: ``spec.job.jarURI``, e.g. ``local:///opt/flink/usrlib/job.jar``.
    :param entry_class: ``spec.job.entryClass``.
    :param args: ``spec.job.args``, a list of strings; for a Python job, the program's own arguments.
    :param parallelism: ``spec.job.parallelism``.
    :param upgrade_mode: ``spec.job.upgradeMode``: ``stateless``, ``savepoint`` or ``last-state``.
    :param python_file: Run this Python file (a path inside the image) through the PythonDriver.
    :param python_module: Run this Python module through the PythonDriver.
    :param python_executable: Interpreter for ``-pyclientexec`` of a Python job; ``None`` leaves it
        to Flink's ``python.client.executable``.
    :param flink_configuration: Merged into ``spec.flinkConfiguration``.
    :param job_manager: ``spec.jobManager``: ``cpu``, ``memory`` (``"2048m"``), ``ephemeral_storage``,
        ``replicas``, ``pod_template``, or the CRD's own shape (``resource``, ``podTemplate``).
    :param task_manager: ``spec.taskManager``, same keys as ``job_manager``.
    :param service_account: ``spec.serviceAccount``.
    :param pod_template: Merged into ``spec.podTemplate``.
    :param job_state: ``spec.job.state``: ``running`` or ``suspended``.
    :param restart_nonce: ``spec.restartNonce``; a new value makes the operator redeploy.
    :param labels: Merged into ``metadata.labels``.
    :param annotations: Merged into ``metadata.annotations``.
    :param session_cluster: Build a session cluster (no job) when there is no document.
    :return: A new dict; calling again with the same input gives an equal dict.
    :raises FlinkSpecError: On a conflict, a missing required field, or an invalid value.
    """
    body = _start_body(document, FLINK_DEPLOYMENT_KIND)
    metadata = _apply_metadata(body, name=name, namespace=namespace, labels=labels, annotations=annotations)
    spec = _mapping_at(body, "spec", "spec", create=True)

    _set_if_given(spec, "image", _check_str(image, "spec.image", "image"))
    _set_if_given(spec, "serviceAccount", _check_str(service_account, "spec.serviceAccount", "service_account"))
    if spec.get("serviceAccount") is None:
        spec["serviceAccount"] = DEFAULT_SERVICE_ACCOUNT
    _set_if_given(spec, "restartNonce", _check_int(restart_nonce, "spec.restartNonce", "restart_nonce", minimum=0))
    full_version: str | None = None
    if flink_version is not None:
        spec["flinkVersion"], full_version = _parse_flink_version(flink_version, argument="flink_version")
    elif spec.get("flinkVersion") is not None:
        spec["flinkVersion"], full_version = _parse_flink_version(spec["flinkVersion"], argument="flink_version")
    _merge_if_given(spec, "flinkConfiguration", flink_configuration, "flink_configuration")
    _check_flink_configuration(spec)
    _merge_if_given(spec, "podTemplate", pod_template, "pod_template")
    for key, given, argument, default in (
        ("jobManager", job_manager, "job_manager", DEFAULT_JOB_MANAGER_RESOURCE),
        ("taskManager", task_manager, "task_manager", DEFAULT_TASK_MANAGER_RESOURCE),
    ):
        if given is not None:
            spec[key] = _merge_patch(_mapping_at(spec, key, f"spec.{key}"), _component_patch(given, argument))
        if document is None:
            component = _mapping_at(spec, key, f"spec.{key}", create=True)
            resource = _mapping_at(component, "resource", f"spec.{key}.resource", create=True)
            for field, value in default.items():
                resource.setdefault(field, value)

    job_arguments = {
        "jar_uri": jar_uri,
        "entry_class": entry_class,
        "args": args,
        "parallelism": parallelism,
        "upgrade_mode": upgrade_mode,
        "job_state": job_state,
        "python_file": python_file,
        "python_module": python_module,
    }
    given_job_arguments = [argument for argument, value in job_arguments.items() if value is not None]
    document_job = spec.get("job")
    if session_cluster and (given_job_arguments or document_job is not None):
        what = ", ".join(given_job_arguments) if given_job_arguments else "the document's spec.job"
        raise FlinkSpecError(
            f"session_cluster=True builds a FlinkDeployment without a job, but {what} describe one. "
            "Submit jobs to a session cluster as FlinkSessionJobs, or drop session_cluster.",
            fields=["spec.job"],
        )
    if document_job is None and not given_job_arguments:
        spec.pop("job", None)
        if document is None and not session_cluster:
            raise FlinkSpecError(
                "The FlinkDeployment has no job: pass jar_uri (or python_file / python_module, or "
                "entry_class for a job jar already in the image's usrlib), or session_cluster=True for a "
                "session cluster.",
                fields=["spec.job.jarURI"],
            )
    else:
        job = _mapping_at(spec, "job", "spec.job", create=True)
        _apply_job_arguments(
            job,
            jar_uri=jar_uri,
            entry_class=entry_class,
            args=args,
            parallelism=parallelism,
            upgrade_mode=upgrade_mode,
            job_state=job_state,
        )
        if python_file is not None or python_module is not None:
            _apply_python_program(
                job,
                python_file=python_file,
                python_module=python_module,
                python_executable=python_executable,
                jar_uri=jar_uri,
                entry_class=entry_class,
                args=args,
                full_version=full_version,
            )
        task_manager_replicas = _mapping_at(spec, "taskManager", "spec.taskManager").get("replicas")
        if document_job is None and task_manager_replicas is None:
            job.setdefault("parallelism", 1)
        _default_job_fields(job)

    missing: list[tuple[str, str]] = []
    if not metadata.get("name"):
        missing.append(("metadata.name", "name"))
    if not spec.get("image"):
        missing.append(("spec.image", "image"))
    if not spec.get("flinkVersion"):
        missing.append(("spec.flinkVersion", "flink_version"))
    if "job" in spec:
        job = spec["job"]
        if not job.get("jarURI") and not job.get("entryClass"):
            missing.append(("spec.job.jarURI", "jar_uri, python_file or python_module (or entry_class)"))
        if (
            job.get("parallelism") is None
            and _mapping_at(spec, "taskManager", "spec.taskManager").get("replicas") is None
        ):
            missing.append(("spec.job.parallelism", "parallelism (or task_manager replicas)"))
    _raise_if_missing(FLINK_DEPLOYMENT_KIND, metadata, missing)
    validate_name(metadata["name"])
    return _ordered(body)


def build_flink_session_job(
    document: Mapping[str, Any] | None,
    *,
    name: str | None = None,
    namespace: str | None = None,
    deployment_name: str | None = None,
    jar_uri: str | None = None,
    entry_class: str | None = None,
    args: Sequence[str] | None = None,
    parallelism: int | None = None,
    upgrade_mode: str | None = None,
    flink_configuration: Mapping[str, Any] | None = None,
    job_state: str | None = None,
    restart_nonce: int | None = None,
    labels: Mapping[str, str | None] | None = None,
    annotations: Mapping[str, str | None] | None = None,
) -> dict[str, Any]:
    """
    Build the FlinkSessionJob body to create: a job submitted to a running session cluster.

    Precedence and conflicts follow :func:`build_flink_deployment`: arguments that are not ``None`` win,
    mappings merge like a JSON merge patch, ``args`` replaces whole, and a document of another kind is
    an error. Defaults: ``apiVersion: flink.apache.org/v1beta1``, ``kind: FlinkSessionJob``,
    ``job.upgradeMode: stateless``, ``job.state: running``, and ``job.parallelism: 1`` when the job
    comes from arguments (the operator rejects parallelism 0 for session jobs).

    Required: ``metadata.name`` (``name``), ``spec.deploymentName`` (``deployment_name``, the session
    cluster's FlinkDeployment), and ``spec.job`` with ``jarURI`` (``jar_uri``) or ``entryClass``
    (``entry_class``, for a class already on the session cluster's classpath). The operator downloads
    ``jarURI`` itself and uploads it to the cluster, so it must be reachable from the operator pod.

    :param document: The manifest as a mapping (see :func:`load_spec_document`), or ``None``.
    :param name: ``metadata.name``.
    :param namespace: ``metadata.namespace``; the session cluster must be in the same namespace.
    :param deployment_name: ``spec.deploymentName``, the session cluster's FlinkDeployment name.
    :param jar_uri: ``spec.job.jarURI``.
    :param entry_class: ``spec.job.entryClass``.
    :param args: ``spec.job.args``, a list of strings.
    :param parallelism: ``spec.job.parallelism``.
    :param upgrade_mode: ``spec.job.upgradeMode``: ``stateless``, ``savepoint`` or ``last-state``.
    :param flink_configuration: Merged into ``spec.flinkConfiguration``.
    :param job_state: ``spec.job.state``: ``running`` or ``suspended``.
    :param restart_nonce: ``spec.restartNonce``.
    :param labels: Merged into ``metadata.labels``.
    :param annotations: Merged into ``metadata.annotations``.
    :return: A new dict; calling again with the same input gives an equal dict.
    :raises FlinkSpecError: On a missing required field or an invalid value.
    """
    body = _start_body(document, FLINK_SESSION_JOB_KIND)
    metadata = _apply_metadata(body, name=name, namespace=namespace, labels=labels, annotations=annotations)
    spec = _mapping_at(body, "spec", "spec", create=True)
    _set_if_given(spec, "deploymentName", _check_str(deployment_name, "spec.deploymentName", "deployment_name"))
    _set_if_given(spec, "restartNonce", _check_int(restart_nonce, "spec.restartNonce", "restart_nonce", minimum=0))
    _merge_if_given(spec, "flinkConfiguration", flink_configuration, "flink_configuration")
    _check_flink_configuration(spec)

    document_job = spec.get("job")
    job = _mapping_at(spec, "job", "spec.job", create=True)
    _apply_job_arguments(
        job,
        jar_uri=jar_uri,
        entry_class=entry_class,
        args=args,
        parallelism=parallelism,
        upgrade_mode=upgrade_mode,
        job_state=job_state,
    )
    if document_job is None:
        job.setdefault("parallelism", 1)
    _default_job_fields(job)

    missing: list[tuple[str, str]] = []
    if not metadata.get("name"):
        missing.append(("metadata.name", "name"))
    if not spec.get("deploymentName"):
        missing.append(("spec.deploymentName", "deployment_name"))
    if not job.get("jarURI") and not job.get("entryClass"):
        missing.append(("spec.job.jarURI", "jar_uri (or entry_class)"))
    if job.get("parallelism") is None:
        missing.append(("spec.job.parallelism", "parallelism"))
    _raise_if_missing(FLINK_SESSION_JOB_KIND, metadata, missing)
    _validate_object_name(metadata["name"], kind=FLINK_SESSION_JOB_KIND)
    validate_name(spec["deploymentName"], field="spec.deploymentName", argument="deployment_name")
    return _ordered(body)


def validate_body(body: Mapping[str, Any], *, strict_unknown_fields: bool = True) -> None:
    """
    Check a built body against the shipped CRD's schema, as the API server would on create.

    Strict by default: the API server silently drops a field its schema does not know, so a typo such
    as ``jobManger`` would otherwise vanish and the job run with defaults. Pass
    ``strict_unknown_fields=False`` when the cluster runs a newer operator whose CRD has fields the
    shipped one lacks.

    :param body: A FlinkDeployment or FlinkSessionJob body.
    :param strict_unknown_fields: Report fields the schema does not declare.
    :raises FlinkSpecError: Listing every field error, with the fields' paths in ``fields``.
    """
    # Deferred: the schema module parses the shipped CRDs on first use.
    from airflow_provider_flink.utils.crd_schema import validate_custom_resource

    errors = validate_custom_resource(body, strict_unknown_fields=strict_unknown_fields)
    if errors:
        metadata = body.get("metadata") or {}
        what = (
            f"{metadata.get('namespace')}/{metadata.get('name')}" if metadata.get("namespace") else metadata.get("name")
        )
        raise FlinkSpecError(
            f"{body.get('kind')} {what} does not match the CRD of Flink Kubernetes Operator {CRD_RELEASE}: "
            + "; ".join(error.message for error in errors)
            + ".",
            fields=[error.field for error in errors],
        )


# ---------------------------------------------------------------------------------------------------
# Helpers


def _start_body(document: Mapping[str, Any] | None, kind: str) -> dict[str, Any]:
    if document is not None and not isinstance(document, Mapping):
        raise FlinkSpecError(
            f"The {kind} document must be a mapping; got {type(document).__name__}. "
            "Load text or a file path with load_spec_document first."
        )
    body: dict[str, Any] = copy.deepcopy(dict(document)) if document is not None else {}
    found_kind = body.get("kind")
    if found_kind is not None and found_kind != kind:
        raise FlinkSpecError(
            f"The document is a {found_kind}, but a {kind} is being built; use the operator for "
            f"{found_kind} or change the document's kind.",
            fields=["kind"],
        )
    found_api = body.get("apiVersion")
    if found_api is not None and found_api != API_VERSION:
        raise FlinkSpecError(
            f"The document's apiVersion is {found_api!r}; the Flink Kubernetes Operator serves {kind} "
            f"as {API_VERSION!r}.",
            fields=["apiVersion"],
        )
    body["apiVersion"] = API_VERSION
    body["kind"] = kind
    body.pop("status", None)
    return body


def _apply_metadata(
    body: dict[str, Any],
    *,
    name: str | None,
    namespace: str | None,
    labels: Mapping[str, str | None] | None,
    annotations: Mapping[str, str | None] | None,
) -> dict[str, Any]:
    metadata = _mapping_at(body, "metadata", "metadata", create=True)
    for field in _SERVER_METADATA_FIELDS:
        metadata.pop(field, None)
    if name is not None:
        metadata["name"] = _check_str(name, "metadata.name", "name")
        metadata.pop("generateName", None)
    elif not metadata.get("name") and metadata.get("generateName"):
        raise FlinkSpecError(
            f"metadata.generateName {metadata['generateName']!r} is not supported: the provider finds the "
            "object again by its name after a retry or a worker restart. Set metadata.name or pass name.",
            fields=["metadata.name"],
        )
    if namespace is not None:
        metadata["namespace"] = namespace
    if metadata.get("namespace") is not None:
        _validate_namespace(metadata["namespace"])
    for key, given, argument in (("labels", labels, "labels"), ("annotations", annotations, "annotations")):
        _merge_if_given(metadata, key, given, argument)
        for item_key, value in _mapping_at(metadata, key, f"metadata.{key}").items():
            if not isinstance(item_key, str) or not isinstance(value, str):
                raise FlinkSpecError(
                    f"metadata.{key} {item_key!r}: {value!r} (argument {argument}) must map strings to "
                    f"strings; Kubernetes refuses {type(value).__name__} values. Quote it.",
                    fields=[f"metadata.{key}"],
                )
    return metadata


def _apply_job_arguments(
    job: dict[str, Any],
    *,
    jar_uri: str | None,
    entry_class: str | None,
    args: Sequence[str] | None,
    parallelism: int | None,
    upgrade_mode: str | None,
    job_state: str | None,
) -> None:
    _set_if_given(job, "jarURI", _check_str(jar_uri, "spec.job.jarURI", "jar_uri"))
    _set_if_given(job, "entryClass", _check_str(entry_class, "spec.job.entryClass", "entry_class"))
    if args is not None:
        job["args"] = _check_args(args)
    _set_if_given(job, "parallelism", _check_int(parallelism, "spec.job.parallelism", "parallelism", minimum=1))
    if upgrade_mode is not None:
        job["upgradeMode"] = upgrade_mode
    if job_state is not None:
        job["state"] = job_state


def _apply_python_program(
    job: dict[str, Any],
    *,
    python_file: str | None,
    python_module: str | None,
    python_executable: str | None,
    jar_uri: str | None,
    entry_class: str | None,
    args: Sequence[str] | None,
    full_version: str | None,
) -> None:
    if python_file is not None and python_module is not None:
        raise FlinkSpecError(
            "python_file and python_module both name the program to run (-py and -pym); pass one.",
            fields=["spec.job.args"],
        )
    if python_file is not None:
        option, program, program_argument = "-py", python_file, "python_file"
    elif python_module is not None:
        option, program, program_argument = "-pym", python_module, "python_module"
    else:
        return
    _check_str(program, "spec.job.args", program_argument)
    if jar_uri is not None:
        raise FlinkSpecError(
            f"jar_uri and {program_argument} both name the program to run. A Python job runs through "
            f"Flink's PythonDriver and its jarURI is the flink-python jar the provider fills in: drop "
            f"jar_uri (or {program_argument} for a Java job).",
            fields=["spec.job.jarURI"],
        )
    if entry_class is not None and entry_class != PYTHON_DRIVER:
        raise FlinkSpecError(
            f"entry_class {entry_class!r} and {program_argument} conflict: a Python job's entry class is "
            f"{PYTHON_DRIVER}. Drop entry_class (or {program_argument} for a Java job).",
            fields=["spec.job.entryClass"],
        )
    document_entry_class = job.get("entryClass")
    if document_entry_class not in (None, PYTHON_DRIVER):
        raise FlinkSpecError(
            f"{program_argument} asks for a Python job, but the document's spec.job.entryClass is "
            f"{document_entry_class!r}. A Python job runs through {PYTHON_DRIVER}: remove entryClass from "
            f"the document, or drop {program_argument}.",
            fields=["spec.job.entryClass"],
        )
    job["entryClass"] = PYTHON_DRIVER
    python_args: list[str] = ["-pyclientexec", python_executable] if python_executable else []
    python_args += [option, program]
    job["args"] = python_args + (_check_args(args) if args is not None else [])
    if not job.get("jarURI") and full_version is not None:
        job["jarURI"] = python_jar_uri(full_version)


def _default_job_fields(job: dict[str, Any]) -> None:
    job["upgradeMode"] = _normalize_choice(
        job.get("upgradeMode", "stateless"), UPGRADE_MODES, "spec.job.upgradeMode", "upgrade_mode"
    )
    job["state"] = _normalize_choice(job.get("state", "running"), JOB_STATES, "spec.job.state", "job_state")


def _normalize_choice(value: object, choices: tuple[str, ...], field: str, argument: str) -> str:
    normalized = value.strip().lower().replace("_", "-") if isinstance(value, str) else None
    if normalized not in choices:
        raise FlinkSpecError(
            f"{field} {value!r} (argument {argument}) must be one of {', '.join(choices)}.", fields=[field]
        )
    return normalized


def _component_patch(given: Mapping[str, Any], argument: str) -> dict[str, Any]:
    """Turn ``{"cpu": 1, "memory": "2048m", "replicas": 1}`` into the CRD's jobManager/taskManager shape."""
    if not isinstance(given, Mapping):
        raise FlinkSpecError(
            f"{argument} must be a mapping such as {{'cpu': 1, 'memory': '2048m'}}; got {type(given).__name__}."
        )
    field = "spec.jobManager" if argument == "job_manager" else "spec.taskManager"
    aliases = {"ephemeralStorage": "ephemeral_storage", "podTemplate": "pod_template"}
    patch: dict[str, Any] = {}
    resource: dict[str, Any] = {}
    for raw_key, value in given.items():
        key = aliases.get(raw_key, raw_key)
        if key not in _COMPONENT_KEYS:
            raise FlinkSpecError(
                f"{argument} has an unknown key {raw_key!r}; known: {', '.join(_COMPONENT_KEYS)}.",
                fields=[field],
            )
        if key in _COMPONENT_RESOURCE_KEYS:
            resource[_COMPONENT_RESOURCE_KEYS[key]] = value
        elif key == "resource":
            if not isinstance(value, Mapping):
                raise FlinkSpecError(f"{argument}['resource'] must be a mapping.", fields=[f"{field}.resource"])
            resource.update(value)
        elif key == "pod_template":
            patch["podTemplate"] = copy.deepcopy(value)
        else:
            patch["replicas"] = _check_int(value, f"{field}.replicas", f"{argument}['replicas']", minimum=1)
    cpu = resource.get("cpu")
    if cpu is not None and (isinstance(cpu, bool) or not isinstance(cpu, int | float) or cpu <= 0):
        raise FlinkSpecError(
            f"{argument} cpu {cpu!r} must be a positive number of cores, e.g. 1 or 0.5.",
            fields=[f"{field}.resource.cpu"],
        )
    for key in ("memory", "ephemeralStorage"):
        if resource.get(key) is not None and not isinstance(resource[key], str):
            raise FlinkSpecError(
                f"{argument} {key} {resource[key]!r} must be a string with a unit, e.g. '2048m' or '2g'; "
                "a bare number would be read as bytes.",
                fields=[f"{field}.resource.{key}"],
            )
    if resource:
        patch["resource"] = resource
    return patch


def _merge_patch(target: object, patch: Mapping[str, Any]) -> dict[str, Any]:
    """Apply ``patch`` to ``target`` as an RFC 7386 JSON merge patch, returning a new dict."""
    result = copy.deepcopy(dict(target)) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, Mapping):
            result[key] = _merge_patch(result.get(key), value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def _merge_if_given(parent: dict[str, Any], key: str, given: Mapping[str, Any] | None, argument: str) -> None:
    if given is None:
        return
    if not isinstance(given, Mapping):
        raise FlinkSpecError(f"{argument} must be a mapping; got {type(given).__name__}.")
    parent[key] = _merge_patch(_mapping_at(parent, key, key), given)


def _mapping_at(parent: dict[str, Any], key: str, field: str, *, create: bool = False) -> dict[str, Any]:
    """Return ``parent[key]`` as a mutable dict, refusing a non-mapping the document put there."""
    value = parent.get(key)
    if value is None:
        if not create:
            return {}
        value = parent[key] = {}
    if not isinstance(value, dict):
        raise FlinkSpecError(f"{field} must be a mapping; the document has {type(value).__name__}.", fields=[field])
    return value


def _set_if_given(parent: dict[str, Any], key: str, value: object) -> None:
    if value is not None:
        parent[key] = value


def _check_str(value: object, field: str, argument: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise FlinkSpecError(
            f"{field} (argument {argument}) must be a non-empty string; got {value!r}.", fields=[field]
        )
    return value


def _check_int(value: object, field: str, argument: str, *, minimum: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise FlinkSpecError(
            f"{field} (argument {argument}) must be an integer of at least {minimum}; got {value!r}.",
            fields=[field],
        )
    return value


def _check_args(args: object) -> list[str]:
    if isinstance(args, str | bytes) or not isinstance(args, Sequence):
        raise FlinkSpecError(
            f"spec.job.args (argument args) must be a list of strings such as ['--input', 'x']; got {args!r}.",
            fields=["spec.job.args"],
        )
    for index, arg in enumerate(args):
        if not isinstance(arg, str):
            raise FlinkSpecError(
                f"spec.job.args[{index}] (argument args) is {type(arg).__name__} {arg!r}; every "
                "argument must be a string. Quote it.",
                fields=["spec.job.args"],
            )
        if "\x00" in arg:
            raise FlinkSpecError(
                f"spec.job.args[{index}] (argument args) contains a NUL character, which no command line can carry.",
                fields=["spec.job.args"],
            )
    return list(args)


def _check_flink_configuration(spec: Mapping[str, Any]) -> None:
    """
    Refuse a ``flinkConfiguration`` entry that would not reach Flink as that one entry.

    The Flink Kubernetes Operator writes the entries into the cluster's configuration file, which for Flink
    before 1.19 is the line-based flink-conf.yaml: a line break in a value would start entries of its own
    (``kubernetes.service-account: admin``), and ``: `` or ``#`` in a key would split it elsewhere. No Flink
    option takes a multi-line value, so line breaks are refused on every version, but a final one (what a
    folded YAML scalar leaves), as are control characters.
    """
    config = spec.get("flinkConfiguration")
    if config is None:
        return
    if not isinstance(config, Mapping):
        raise FlinkSpecError(
            f"spec.flinkConfiguration must be a mapping of Flink options; got {type(config).__name__}.",
            fields=["spec.flinkConfiguration"],
        )
    _check_configuration_entries(config, "")


def _check_configuration_entries(config: Mapping[Any, Any], prefix: str) -> None:
    for key, value in config.items():
        if not isinstance(key, str) or not _CONFIG_KEY_PATTERN.fullmatch(key):
            raise FlinkSpecError(
                f"spec.flinkConfiguration key {prefix + str(key)!r} (argument flink_configuration) is not a Flink "
                "option name: it must be a non-empty string without whitespace, control characters, ':' or '#'.",
                fields=["spec.flinkConfiguration"],
            )
        name = prefix + key
        if isinstance(value, Mapping):
            _check_configuration_entries(value, f"{name}.")
            continue
        for item in value if isinstance(value, list) else [value]:
            if not isinstance(item, str):
                continue
            text = item.rstrip("\r\n")
            where = f"spec.flinkConfiguration[{name!r}] (argument flink_configuration)"
            if "\n" in text or "\r" in text:
                raise FlinkSpecError(
                    f"{where} contains a line break: no Flink option takes a multi-line value, and for Flink before "
                    "1.19 the Flink operator writes each entry on one line of flink-conf.yaml, where the rest would "
                    "become entries of its own.",
                    fields=["spec.flinkConfiguration"],
                )
            control = sorted({ch for ch in text if unicodedata.category(ch) == "Cc" and ch != "\t"})
            if control:
                raise FlinkSpecError(
                    f"{where} contains the control character(s) {', '.join(repr(ch) for ch in control)}.",
                    fields=["spec.flinkConfiguration"],
                )


def _raise_if_missing(kind: str, metadata: Mapping[str, Any], missing: list[tuple[str, str]]) -> None:
    if not missing:
        return
    what = metadata.get("name") or "(unnamed)"
    if metadata.get("namespace"):
        what = f"{metadata['namespace']}/{what}"
    listed = "; ".join(f"{field} (set it in the document or pass {argument})" for field, argument in missing)
    raise FlinkSpecError(f"{kind} {what} is missing {listed}.", fields=[field for field, _ in missing])


def _ordered(body: dict[str, Any]) -> dict[str, Any]:
    # The usual manifest order reads best when the body is logged or rendered in the UI.
    head: dict[str, Any] = {key: body[key] for key in ("apiVersion", "kind", "metadata", "spec") if key in body}
    return {**head, **{key: value for key, value in body.items() if key not in head}}
