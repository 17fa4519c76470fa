"""
The bad-input corpus (issue 6): every operator and the sensor, given input that is wrong, through real Airflow.

Each case is a task that must fail, at DAG construction or when it runs (``dag.test()``), with an error that
names the problem (a per-case regular expression over the exception's message), raised as an Airflow error or a
``ValueError``/``TypeError`` rather than a traceback from deep inside a client library, and without a single
write request reaching the API server (a fresh emulator per case, so nothing else can have written to it).

Run-time errors are caught through the task's ``on_failure_callback`` (Airflow's own hook for it, on 2.x and
3.x alike), construction-time ones around the operator's constructor inside the DAG.
"""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import jinja2
import pytest
from airflow_support import new_dag, run_dag

from airflow_provider_flink.operators.flink_deployment import FlinkDeploymentOperator, FlinkSessionJobOperator
from airflow_provider_flink.operators.flink_lifecycle import FlinkSavepointOperator, FlinkSuspendJobOperator
from airflow_provider_flink.operators.flink_native import FlinkNativeSubmitOperator
from airflow_provider_flink.sensors.flink import FlinkJobSensor
from airflow_provider_flink.testing.kube_emulator import KubeEmulator

NAMESPACE = "flink-bad-input"

#: Spec files the cases read, by name (template_searchpath of every case's DAG is their folder).
SPEC_FILES: dict[str, str] = {
    "duplicate-key.yaml": """\
apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
metadata:
  name: wordcount
spec:
  image: flink:2.0
  flinkVersion: v2_0
  image: flink:1.20
""",
    "two-documents.yaml": """\
apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
metadata:
  name: first
---
apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
metadata:
  name: second
""",
    "empty.yaml": "",
    "tab-indented.yaml": "apiVersion: flink.apache.org/v1beta1\nkind: FlinkDeployment\nmetadata:\n\tname: wordcount\n",
    "list-document.yaml": "- kind: FlinkSessionJob\n- kind: FlinkSessionJob\n",
    "typo-field.yaml": """\
apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
metadata:
  name: wordcount
spec:
  image: flink:2.0
  flinkVersion: v2_0
  jobManager: {resource: {cpu: 1, memory: 1024m}}
  taskManager: {resource: {cpu: 1, memory: 1024m}}
  job:
    jarUri: local:///opt/flink/usrlib/job.jar
    entryClass: com.example.WordCount
    parallelism: 1
""",
}


TASK_ID = "t"
Stage = Literal["construction", "run"]

#: What the emulator must not hold after any case (all namespaces).
WATCHED_KINDS: tuple[tuple[str, str, str], ...] = (
    ("flink.apache.org", "v1beta1", "flinkdeployments"),
    ("flink.apache.org", "v1beta1", "flinksessionjobs"),
    ("flink.apache.org", "v1beta1", "flinkstatesnapshots"),
    ("apps", "v1", "deployments"),
    ("", "v1", "configmaps"),
    ("", "v1", "pods"),
    ("", "v1", "services"),
)
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Env:
    """What a case's operator may refer to: the spec files' folder and a kubeconfig file for the emulator."""

    spec_dir: Path
    kubeconfig: str


@dataclass(frozen=True)
class FromEnv:
    """An argument value computed from the case's :class:`Env`."""

    value: Callable[[Env], Any]


Builder = Callable[[Env], Any]


def _builder(operator_class: type, base: Mapping[str, Any], overrides: Mapping[str, Any]) -> Builder:
    def build(env: Env) -> Any:
        arguments = {**base, **overrides}
        resolved = {key: value.value(env) if isinstance(value, FromEnv) else value for key, value in arguments.items()}
        return operator_class(task_id=TASK_ID, **resolved)

    return build


FD_BASE: dict[str, Any] = {
    "name": "wordcount",
    "image": "flink:2.0",
    "flink_version": "v2_0",
    "jar_uri": "local:///opt/flink/usrlib/job.jar",
    "entry_class": "com.example.WordCount",
    "wait_for": "none",
    "poll_interval": 0.2,
    "startup_timeout": 10,
}
SJ_BASE: dict[str, Any] = {
    "name": "wordcount-job",
    "deployment_name": "session",
    "jar_uri": "https://repo.example.com/jobs/wordcount.jar",
    "wait_for": "none",
    "poll_interval": 0.2,
    "startup_timeout": 10,
}
NATIVE_BASE: dict[str, Any] = {
    "image": "flink:2.3.0-java17",
    "jar_uri": "local:///opt/flink/usrlib/job.jar",
    "entry_class": "com.example.WordCount",
    "flink_version": "2.3.0",
    "wait_for": "none",
    "submit_timeout": 60,
    # A fast-starting JVM that gives up at once when the API server says no, should a case reach the CLI.
    "cli_env": {"JVM_ARGS": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Dkubernetes.request.retry.backoffLimit=0"},
    "poll_interval": 0.2,
    "startup_timeout": 10,
}
SENSOR_BASE: dict[str, Any] = {"name": "wordcount", "poke_interval": 0.1, "timeout": 5, "mode": "poke"}
LIFECYCLE_BASE: dict[str, Any] = {"name": "wordcount", "poll_interval": 0.2, "timeout": 5}


def fd(**overrides: Any) -> Builder:
    return _builder(FlinkDeploymentOperator, FD_BASE, overrides)


def sj(**overrides: Any) -> Builder:
    return _builder(FlinkSessionJobOperator, SJ_BASE, overrides)


def native(**overrides: Any) -> Builder:
    return _builder(FlinkNativeSubmitOperator, NATIVE_BASE, overrides)


def sensor(**overrides: Any) -> Builder:
    return _builder(FlinkJobSensor, SENSOR_BASE, overrides)


def suspend(**overrides: Any) -> Builder:
    return _builder(FlinkSuspendJobOperator, LIFECYCLE_BASE, overrides)


def savepoint(**overrides: Any) -> Builder:
    return _builder(FlinkSavepointOperator, LIFECYCLE_BASE, overrides)


@dataclass(frozen=True)
class Case:
    """
    One bad input.

    :param id: What is wrong, as the test id says it.
    :param category: The issue's category (malformed YAML, schema violation, bad name, ...).
    :param stage: Where it must be refused: building the operator, or running the task.
    :param build: Builds the operator (inside the case's DAG).
    :param expected: Regular expression the error message must match: the words naming the problem.
    :param known_bug: Why the provider does not pass this case yet (the test is then a strict xfail: it turns
        into a failure, to be noticed and the mark removed, once the bug is fixed).
    """

    id: str
    category: str
    stage: Stage
    build: Builder
    expected: str
    known_bug: str | None = None


MALFORMED = "malformed-yaml"
SCHEMA = "schema-violation"
NAME = "bad-name"
CONFLICT = "conflicting-arguments"
INJECTION = "injection"
MISSING = "missing-file"
UNREACHABLE = "unreachable-api"
CONNECTION = "bad-connection"
WRONG_KIND = "wrong-kind"

BAD_INDENT = "apiVersion: flink.apache.org/v1beta1\nkind: FlinkDeployment\nmetadata:\n  name: wordcount\n spec: {}\n"

CASES: list[Case] = [
    # -- malformed YAML / JSON: inline strings and spec files ------------------------------------------------
    Case(
        "deployment-inline-yaml-bad-indentation",
        MALFORMED,
        "run",
        fd(application_file=BAD_INDENT),
        r"inline spec is not valid YAML: .* at line 5, column 2",
    ),
    Case(
        "deployment-inline-json-missing-comma",
        MALFORMED,
        "run",
        fd(application_file='{"kind": "FlinkDeployment" "spec": {}}'),
        r"not valid JSON: Expecting ',' delimiter at line 1, column 28",
    ),
    Case(
        "deployment-inline-text-is-not-a-mapping",
        MALFORMED,
        "run",
        fd(application_file="please deploy wordcount"),
        r"is a YAML str .*not a mapping with apiVersion, kind, metadata and spec",
    ),
    Case(
        "deployment-spec-file-duplicate-key",
        MALFORMED,
        "run",
        fd(application_file="duplicate-key.yaml"),
        r"found duplicate key 'image'",
    ),
    Case(
        "deployment-spec-file-two-documents",
        MALFORMED,
        "run",
        fd(application_file="two-documents.yaml"),
        r"holds 2 YAML documents; exactly one is expected",
    ),
    Case(
        "deployment-spec-file-empty",
        MALFORMED,
        "run",
        fd(application_file="empty.yaml"),
        r"is empty; it must hold one FlinkDeployment",
    ),
    Case(
        "deployment-spec-file-tab-indentation",
        MALFORMED,
        "run",
        fd(application_file="tab-indented.yaml"),
        r"not valid YAML: .*found character '\\t' that cannot start any token at line 4, column 1",
    ),
    Case(
        "session-job-inline-yaml-unclosed-flow-mapping",
        MALFORMED,
        "run",
        sj(application_file="kind: FlinkSessionJob\nspec:\n  job: {jarURI: https://x/job.jar\n"),
        r"inline spec is not valid YAML: .*at line \d+",
    ),
    Case(
        "session-job-spec-file-is-a-list",
        MALFORMED,
        "run",
        sj(application_file="list-document.yaml"),
        r"is a YAML list .*not a mapping",
    ),
    # -- schema violations against the CRDs, and missing required fields -------------------------------------
    Case(
        "deployment-replicas-wrong-type",
        SCHEMA,
        "run",
        fd(application_file={"spec": {"taskManager": {"replicas": "two"}}}),
        r"does not match the CRD .*spec\.taskManager\.replicas",
    ),
    Case(
        "deployment-mode-unknown-enum",
        SCHEMA,
        "run",
        fd(application_file={"spec": {"mode": "hybrid"}}),
        r"spec\.mode: Unsupported value: \"hybrid\"",
    ),
    Case(
        "deployment-spec-file-field-typo",
        SCHEMA,
        "run",
        fd(application_file="typo-field.yaml", name=None, image=None, flink_version=None, jar_uri=None),
        r"spec\.job\.jarUri",
    ),
    Case(
        "deployment-flink-version-as-number",
        SCHEMA,
        "run",
        fd(flink_version=1.2),
        r"spec\.flinkVersion \(argument flink_version\) was given as the number 1\.2",
    ),
    Case(
        "deployment-flink-version-unsupported",
        SCHEMA,
        "run",
        fd(flink_version="3.0"),
        r"spec\.flinkVersion '3\.0' .*does not accept",
    ),
    Case(
        "deployment-parallelism-zero",
        SCHEMA,
        "run",
        fd(parallelism=0),
        r"spec\.job\.parallelism \(argument parallelism\) must be an integer of at least 1; got 0",
    ),
    Case(
        "deployment-job-state-unknown",
        SCHEMA,
        "run",
        fd(job_state="paused"),
        r"spec\.job\.state 'paused' \(argument job_state\) must be one of running, suspended",
    ),
    Case(
        "deployment-memory-without-unit",
        SCHEMA,
        "run",
        fd(job_manager={"memory": 2048}),
        r"job_manager memory 2048 must be a string with a unit",
    ),
    Case(
        "deployment-label-value-not-a-string",
        SCHEMA,
        "run",
        fd(labels={"team": 5}),
        r"metadata\.labels 'team': 5 \(argument labels\) must map strings to strings",
    ),
    Case(
        "deployment-label-key-invalid",
        SCHEMA,
        "run",
        fd(labels={"team name!": "data"}),
        r"metadata\.labels.*team name!",
    ),
    Case(
        "deployment-missing-flink-version",
        SCHEMA,
        "run",
        fd(flink_version=None),
        r"is missing spec\.flinkVersion \(set it in the document or pass flink_version\)",
    ),
    Case(
        "deployment-wrong-api-version",
        SCHEMA,
        "run",
        fd(application_file={"apiVersion": "flink.apache.org/v1alpha1", "kind": "FlinkDeployment"}),
        r"apiVersion is 'flink\.apache\.org/v1alpha1'",
    ),
    Case(
        "session-job-missing-deployment-name",
        SCHEMA,
        "run",
        sj(deployment_name=None),
        r"is missing spec\.deploymentName \(set it in the document or pass deployment_name\)",
    ),
    Case(
        "session-job-document-of-another-kind",
        SCHEMA,
        "run",
        sj(application_file={"kind": "FlinkDeployment"}),
        r"The document is a FlinkDeployment, but a FlinkSessionJob is being built",
    ),
    Case(
        "session-job-upgrade-mode-unknown",
        SCHEMA,
        "run",
        sj(upgrade_mode="fast"),
        r"spec\.job\.upgradeMode 'fast' \(argument upgrade_mode\) must be one of",
    ),
    Case(
        "native-memory-in-kubernetes-units",
        SCHEMA,
        "run",
        native(jobmanager_memory="2Gi"),
        r"jobmanager_memory must be a Flink memory size .*got '2Gi'",
    ),
    # -- bad names ---------------------------------------------------------------------------------------------
    Case(
        "deployment-name-with-underscore",
        NAME,
        "run",
        fd(name="word_count"),
        r"metadata\.name 'word_count' .*is not a valid Flink cluster id: it contains '_'",
    ),
    Case(
        "deployment-name-empty",
        NAME,
        "run",
        fd(name=""),
        r"metadata\.name \(argument name\) must be a non-empty string",
    ),
    Case(
        "deployment-name-in-document-too-long",
        NAME,
        "run",
        fd(name=None, application_file={"metadata": {"name": "a" * 64}}),
        r"it is 64 characters long, more than 45",
    ),
    Case(
        "deployment-namespace-invalid",
        NAME,
        "run",
        fd(namespace="Flink_Jobs"),
        r"metadata\.namespace 'Flink_Jobs' \(argument namespace\) is not a valid Kubernetes namespace",
    ),
    Case(
        "session-job-name-uppercase",
        NAME,
        "run",
        sj(name="WordCount-Job"),
        r"metadata\.name 'WordCount-Job' \(argument name\) is not a valid FlinkSessionJob name",
    ),
    Case(
        "session-job-deployment-name-underscore",
        NAME,
        "run",
        sj(deployment_name="session_cluster"),
        r"spec\.deploymentName 'session_cluster' \(argument deployment_name\) is not a valid Flink cluster id",
    ),
    Case(
        "native-cluster-id-46-characters",
        NAME,
        "run",
        native(cluster_id="a" * 46),
        r"Cluster id 'a{46}' is 46 characters long, more than 45",
    ),
    Case(
        "native-cluster-id-uppercase-underscore",
        NAME,
        "run",
        native(cluster_id="My_Cluster"),
        r"Cluster id 'My_Cluster' contains uppercase letters, contains '_'",
    ),
    Case(
        "native-cluster-id-empty",
        NAME,
        "run",
        native(cluster_id=""),
        r"Cluster id '' is empty",
    ),
    Case(
        "native-namespace-invalid",
        NAME,
        "run",
        native(namespace="Flink_Native"),
        r"namespace 'Flink_Native' is not a Kubernetes namespace name",
    ),
    Case(
        "sensor-name-empty",
        NAME,
        "run",
        sensor(name=""),
        r"FlinkJobSensor t: name is empty",
    ),
    Case(
        "sensor-resource-does-not-exist",
        NAME,
        "run",
        sensor(name="no-such-job"),
        rf"FlinkDeployment {NAMESPACE}/no-such-job does not exist",
    ),
    Case(
        "suspend-resource-does-not-exist",
        NAME,
        "run",
        suspend(name="no-such-job"),
        rf"FlinkDeployment {NAMESPACE}/no-such-job does not exist: nothing to act on",
    ),
    # -- conflicting or out-of-range arguments -----------------------------------------------------------------
    Case(
        "deployment-wait-for-unknown",
        CONFLICT,
        "construction",
        fd(wait_for="done"),
        r"wait_for must be 'running', 'finished' or 'none', not 'done'",
    ),
    Case(
        "deployment-delete-on-unknown",
        CONFLICT,
        "construction",
        fd(delete_on="sometimes"),
        r"delete_on must be one of never, success, failure, always, not 'sometimes'",
    ),
    Case(
        "deployment-poll-interval-zero",
        CONFLICT,
        "construction",
        fd(poll_interval=0, wait_for="running"),
        r"poll_interval must be a positive number of seconds, not 0",
    ),
    Case(
        "deployment-startup-timeout-negative",
        CONFLICT,
        "construction",
        fd(startup_timeout=-5),
        r"startup_timeout must be None or a number of seconds \(0 or more\), not -5",
    ),
    Case(
        "session-job-wait-timeout-negative",
        CONFLICT,
        "construction",
        sj(wait_timeout=-1),
        r"wait_timeout must be None or a number of seconds \(0 or more\), not -1",
    ),
    Case(
        "deployment-session-cluster-with-jar",
        CONFLICT,
        "run",
        fd(session_cluster=True, entry_class=None),
        r"session_cluster=True builds a FlinkDeployment without a job, but jar_uri describe one",
    ),
    Case(
        "deployment-python-file-and-module",
        CONFLICT,
        "run",
        fd(jar_uri=None, entry_class=None, python_file="/opt/job.py", python_module="job"),
        r"python_file and python_module both name the program to run",
    ),
    Case(
        "deployment-entry-class-with-python-module",
        CONFLICT,
        "run",
        fd(jar_uri=None, python_module="job"),
        r"entry_class 'com\.example\.WordCount' and python_module conflict",
    ),
    Case(
        "deployment-config-file-and-inline-kubeconfig",
        CONFLICT,
        "run",
        fd(config_file=FromEnv(lambda env: env.kubeconfig)),
        r"kube_config_path, kube_config, in_cluster.* mutually exclusive",
    ),
    Case(
        "native-jar-and-python-file",
        CONFLICT,
        "run",
        native(entry_class=None, python_file="/opt/flink/usrlib/job.py"),
        r"NativeJobSpec sets jar and py_file: set exactly one of jar, py_file or py_module",
    ),
    Case(
        "native-non-restored-state-without-savepoint",
        CONFLICT,
        "run",
        native(allow_non_restored_state=True),
        r"allow_non_restored_state only applies when starting from a savepoint_path",
    ),
    Case(
        "native-flink-conf-contradicts-parallelism",
        CONFLICT,
        "run",
        native(parallelism=2, flink_conf={"parallelism.default": "4"}),
        r"flink_conf\['parallelism\.default'\] = '4' conflicts with parallelism = '2'",
    ),
    Case(
        "native-submitter-unknown",
        CONFLICT,
        "construction",
        native(submitter="docker"),
        r"submitter must be one of local, pod, not 'docker'",
    ),
    Case(
        "native-poll-interval-negative",
        CONFLICT,
        "construction",
        native(poll_interval=-1),
        r"poll_interval must be a positive number of seconds, not -1",
    ),
    Case(
        "native-submit-timeout-zero",
        CONFLICT,
        "construction",
        native(submit_timeout=0),
        r"submit_timeout must be a positive number of seconds, not 0",
    ),
    Case(
        "native-pod-submitter-version-unknowable",
        CONFLICT,
        "run",
        native(submitter="pod", flink_version=None, image="registry.example.com/flink-jobs:latest"),
        r"Cannot tell the Flink version of image 'registry\.example\.com/flink-jobs:latest' from its tag",
    ),
    Case(
        "sensor-target-state-unknown",
        CONFLICT,
        "construction",
        sensor(target_state="done"),
        r"target_state must be one of .*not 'done'",
    ),
    Case(
        "sensor-poke-interval-negative",
        CONFLICT,
        "construction",
        sensor(poke_interval=-1),
        r"`poke_interval` must be timedelta object or a non-negative number",
    ),
    Case(
        "suspend-poll-interval-zero",
        CONFLICT,
        "construction",
        suspend(poll_interval=0),
        r"poll_interval must be a positive number of seconds, not 0",
    ),
    Case(
        "savepoint-format-type-lowercase",
        SCHEMA,
        "construction",
        savepoint(format_type="canonical"),
        r"format_type must be one of CANONICAL, NATIVE or None, not 'canonical'",
    ),
    Case(
        "savepoint-method-unknown",
        CONFLICT,
        "construction",
        savepoint(method="checkpoint"),
        r"method must be 'auto', 'snapshot' or 'nonce', not 'checkpoint'",
    ),
    # -- injection attempts in names, args and -D values -------------------------------------------------------
    Case(
        "deployment-name-with-newline-and-yaml",
        INJECTION,
        "run",
        fd(name="wordcount\nkind: Secret"),
        r"is not a valid Flink cluster id: .*contains '\\n'",
    ),
    Case(
        "deployment-name-path-traversal",
        INJECTION,
        "run",
        fd(name="../kube-system"),
        r"is not a valid Flink cluster id: .*contains '\.', '/'",
    ),
    Case(
        "deployment-flink-configuration-value-with-newline",
        INJECTION,
        "run",
        fd(flink_configuration={"pipeline.name": "wc\nkubernetes.service-account: cluster-admin"}),
        r"spec\.flinkConfiguration\['pipeline\.name'\] \(argument flink_configuration\) contains a line break",
    ),
    Case(
        "deployment-flink-configuration-key-splits-the-entry",
        INJECTION,
        "run",
        fd(flink_configuration={"kubernetes.service-account: cluster-admin #": "flink"}),
        r"spec\.flinkConfiguration key 'kubernetes\.service-account: cluster-admin #' .*is not a Flink option name",
    ),
    Case(
        "deployment-args-with-nul",
        INJECTION,
        "run",
        fd(args=["--input", "s3://bucket/in\x00--output"]),
        r"spec\.job\.args\[1\] \(argument args\) contains a NUL character",
    ),
    Case(
        "session-job-flink-configuration-value-with-nul",
        INJECTION,
        "run",
        sj(flink_configuration={"pipeline.name": "wordcount\x00"}),
        r"spec\.flinkConfiguration\['pipeline\.name'\] .*contains the control character\(s\) '\\x00'",
    ),
    Case(
        "session-job-args-not-strings",
        INJECTION,
        "run",
        sj(args=["--limit", 5]),
        r"spec\.job\.args\[1\] \(argument args\) is int 5; every argument must be a string",
    ),
    Case(
        "native-conf-value-with-newline",
        INJECTION,
        "run",
        native(flink_conf={"state.checkpoints.dir": "s3://bucket/cp\nkubernetes.namespace: kube-system"}),
        r"flink_conf\['state\.checkpoints\.dir'\] contains a line break",
    ),
    Case(
        "native-conf-value-with-nul",
        INJECTION,
        "run",
        native(flink_conf={"pipeline.name": "wordcount\x00-Dexecution.target=remote"}),
        r"flink_conf\['pipeline\.name'\] contains a NUL character",
    ),
    Case(
        "native-conf-key-smuggles-dash-d",
        INJECTION,
        "run",
        native(flink_conf={"pipeline.name=x -Dexecution.target": "remote"}),
        r"flink_conf key 'pipeline\.name=x -Dexecution\.target' is not a Flink option key",
    ),
    Case(
        "native-conf-overrides-target",
        INJECTION,
        "run",
        native(flink_conf={"execution.target": "remote"}),
        r"flink_conf\['execution\.target'\] is 'remote', but this command always deploys to kubernetes-application",
    ),
    Case(
        "native-conf-internal-key",
        INJECTION,
        "run",
        native(flink_conf={"$internal.application.program-args": "--evil"}),
        r"flink_conf key '\$internal\.application\.program-args' is internal to Flink",
    ),
    Case(
        "native-conf-overrides-namespace",
        INJECTION,
        "run",
        native(flink_conf={"kubernetes.namespace": "kube-system"}),
        rf"flink_conf\['kubernetes\.namespace'\] = 'kube-system' conflicts with namespace .*'{NAMESPACE}'",
    ),
    Case(
        "native-conf-overrides-kubeconfig",
        INJECTION,
        "run",
        native(flink_conf={"kubernetes.config.file": "/etc/kubernetes/admin.conf"}),
        r"flink_conf\['kubernetes\.config\.file'\] = '/etc/kubernetes/admin\.conf' conflicts with kubeconfig_path",
    ),
    Case(
        "native-program-arg-with-nul",
        INJECTION,
        "run",
        native(args=["--input", "s3://bucket/in\x00--target"]),
        r"program_args\[1\] contains a NUL character",
    ),
    Case(
        "native-entry-class-with-shell-command",
        INJECTION,
        "run",
        native(entry_class="com.example.Main; rm -rf /"),
        r"entry_class 'com\.example\.Main; rm -rf /' contains whitespace",
    ),
    Case(
        "native-savepoint-path-with-newline",
        INJECTION,
        "run",
        native(savepoint_path="s3://bucket/sp-1\n-Dexecution.target=remote"),
        r"savepoint_path contains a line break",
    ),
    Case(
        "native-image-smuggles-an-option",
        INJECTION,
        "run",
        native(image="flink:2.3.0 --target remote"),
        r"image 'flink:2\.3\.0 --target remote' contains whitespace",
    ),
    # -- missing files -----------------------------------------------------------------------------------------
    Case(
        "deployment-spec-file-missing",
        MISSING,
        "run",
        fd(application_file="/nonexistent/flink/wordcount.yaml"),
        r"'/nonexistent/flink/wordcount\.yaml' not found",
    ),
    Case(
        "session-job-spec-path-missing",
        MISSING,
        "run",
        sj(application_file="specs/wordcount-job.conf"),
        r"Spec file 'specs/wordcount-job\.conf' does not exist \(looked in",
    ),
    Case(
        "deployment-spec-path-is-a-directory",
        MISSING,
        "run",
        fd(application_file=FromEnv(lambda env: f"{env.spec_dir}/")),
        r"Spec file '.*' is a directory; name the YAML or JSON file in it",
    ),
    Case(
        "deployment-kube-config-path-missing",
        MISSING,
        "run",
        fd(kubernetes_conn_id="flink_missing_kubeconfig"),
        r"no-such-kubeconfig",
    ),
    Case(
        "native-flink-home-missing",
        MISSING,
        "run",
        native(flink_home="/nonexistent/flink-2.3.0"),
        r"flink_home='/nonexistent/flink-2\.3\.0' has no executable bin/flink",
    ),
    Case(
        "sensor-config-file-missing",
        MISSING,
        "run",
        sensor(kubernetes_conn_id="flink_namespace_only", config_file="/nonexistent/kubeconfig"),
        r"/nonexistent/kubeconfig",
    ),
    # -- unreachable API server --------------------------------------------------------------------------------
    Case(
        "deployment-api-unreachable",
        UNREACHABLE,
        "run",
        fd(kubernetes_conn_id="flink_unreachable"),
        rf"Could not read FlinkDeployment {NAMESPACE}/wordcount: no HTTP answer: .*Connection refused \(gave up after",
    ),
    Case(
        "sensor-api-unreachable",
        UNREACHABLE,
        "run",
        sensor(kubernetes_conn_id="flink_unreachable"),
        rf"Could not read FlinkDeployment {NAMESPACE}/wordcount: no HTTP answer: .*Connection refused \(gave up after",
    ),
    # -- connections -------------------------------------------------------------------------------------------
    Case(
        "deployment-unknown-connection",
        CONNECTION,
        "run",
        fd(kubernetes_conn_id="no_such_connection"),
        r"no_such_connection.* isn't defined",
    ),
    Case(
        "native-unknown-connection",
        CONNECTION,
        "run",
        native(kubernetes_conn_id="no_such_connection"),
        r"no_such_connection.* isn't defined",
    ),
    Case(
        "native-connection-flink-conf-extra-not-json",
        CONNECTION,
        "run",
        native(kubernetes_conn_id="flink_bad_conf_extra"),
        r"connection extra flink_conf of 'flink_bad_conf_extra' is not valid JSON",
    ),
    Case(
        "native-flink-conf-not-a-mapping",
        CONNECTION,
        "run",
        native(flink_conf="state.backend.type=rocksdb"),
        r"flink_conf must be a mapping of Flink options .*got str",
    ),
    Case(
        "native-no-image-anywhere",
        CONNECTION,
        "run",
        native(image=None),
        r"No Flink image for task t: pass image, or set the connection extra flink_image",
    ),
    # -- the sensor asked to watch a kind it does not know -----------------------------------------------------
    Case(
        "sensor-kind-deployment",
        WRONG_KIND,
        "construction",
        sensor(kind="Deployment"),
        r"kind must be one of FlinkDeployment, FlinkSessionJob, native, not 'Deployment'",
    ),
    Case(
        "sensor-kind-state-snapshot",
        WRONG_KIND,
        "construction",
        sensor(kind="FlinkStateSnapshot"),
        r"kind must be one of FlinkDeployment, FlinkSessionJob, native, not 'FlinkStateSnapshot'",
    ),
    Case(
        "suspend-kind-native",
        WRONG_KIND,
        "construction",
        suspend(kind="native"),
        r"kind must be one of FlinkDeployment, FlinkSessionJob, not 'native'",
    ),
]


@dataclass(frozen=True)
class CaseResult:
    """How one case ended: whether its error was clear, and what reached the API server."""

    clear: bool
    objects: int
    writes: int


@dataclass
class CorpusReport:
    """What the corpus found, case by case; written as ``bad_input.json`` when a report folder is set."""

    cases: dict[str, CaseResult] = field(default_factory=dict)

    def summary(self) -> dict[str, int]:
        return {
            "cases": len(self.cases),
            "clear_errors": sum(1 for result in self.cases.values() if result.clear),
            "objects_created": sum(result.objects for result in self.cases.values()),
        }


@pytest.fixture(scope="module")
def corpus_report() -> Iterator[CorpusReport]:
    report = CorpusReport()
    yield report
    folder = os.environ.get("FLINK_BENCH_REPORT_DIR")
    if folder and report.cases:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / "bad_input.json").write_text(json.dumps(report.summary(), indent=2) + "\n")


@pytest.fixture(scope="module")
def spec_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bad-input-specs")
    for name, text in SPEC_FILES.items():
        (folder / name).write_text(text)
    return folder


@pytest.fixture(scope="module")
def flink_home() -> str:
    """The Flink CLI the native cases' local submitter finds through ``$FLINK_HOME``, should a case get that far."""
    home = os.environ.get("FLINK_HOME")
    if not home or not (Path(home) / "bin" / "flink").is_file():
        pytest.fail(
            "FLINK_HOME must point at a Flink 2.x distribution (`bash tests/run.sh` sets it up): the native cases "
            "run the operator up to the real Flink CLI.",
            pytrace=False,
        )
    return home


@pytest.fixture
def emulator() -> Iterator[KubeEmulator]:
    """A fresh API server per case (about 30 ms), so one case's leftovers cannot hide or fail another's."""
    with KubeEmulator(bookmark_interval=0.5) as emu:
        yield emu


def _closed_port() -> int:
    """A local port nothing listens on: bound, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def connections(emulator: KubeEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """
    Set the connections the cases name, as environment variables; return a kubeconfig file for the emulator.

    ``kubernetes_default`` reaches the emulator; ``flink_unreachable`` names an API server on a closed port;
    ``flink_missing_kubeconfig`` a kubeconfig file that does not exist; ``flink_bad_conf_extra`` reaches the
    emulator but its ``flink_conf`` extra is not JSON; ``flink_namespace_only`` has no cluster access at all (for a
    ``config_file`` argument).
    """
    reachable = {"kube_config": json.dumps(emulator.kubeconfig_dict()), "namespace": NAMESPACE}
    unreachable_config = emulator.kubeconfig_dict()
    unreachable_config["clusters"][0]["cluster"]["server"] = f"http://127.0.0.1:{_closed_port()}"
    extras = {
        "kubernetes_default": reachable,
        "flink_unreachable": {"kube_config": json.dumps(unreachable_config), "namespace": NAMESPACE},
        "flink_missing_kubeconfig": {"kube_config_path": str(tmp_path / "no-such-kubeconfig"), "namespace": NAMESPACE},
        "flink_bad_conf_extra": {**reachable, "flink_conf": "{state.backend.type: rocksdb"},
        "flink_namespace_only": {"namespace": NAMESPACE},
    }
    for conn_id, extra in extras.items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "kubernetes", "extra": extra}))
    return emulator.write_kubeconfig(tmp_path / "kubeconfig", namespace=NAMESPACE)


def _clear_types() -> tuple[type[BaseException], ...]:
    """Errors a DAG author can read: Airflow's own, and ValueError/TypeError naming an argument."""
    from airflow.exceptions import AirflowException as CoreAirflowException
    from airflow.providers.common.compat.sdk import AirflowException

    return (AirflowException, CoreAirflowException, ValueError, TypeError, jinja2.TemplateNotFound)


#: Library errors that reach the DAG author as a traceback rather than an explanation, even when a ValueError.
UNCLEAR_TYPES: tuple[type[BaseException], ...] = (json.JSONDecodeError, KeyError, AttributeError, IndexError)


def _writes(emulator: KubeEmulator) -> list[str]:
    return [
        f"{record.method or record.verb} {record.path}"
        for record in emulator.requests
        if (record.method or record.verb) in WRITE_METHODS and not record.path.startswith("/_emulator/")
    ]


def _objects(emulator: KubeEmulator) -> list[str]:
    return [
        f"{plural}/{obj['metadata'].get('namespace')}/{obj['metadata']['name']}"
        for group, version, plural in WATCHED_KINDS
        for obj in emulator.list_objects(group, version, plural)
    ]


def test_corpus_is_big_enough_and_covers_every_category_and_entry_point() -> None:
    assert len(CASES) >= 45
    assert len({case.id for case in CASES}) == len(CASES)
    categories = {case.category for case in CASES}
    assert categories == {MALFORMED, SCHEMA, NAME, CONFLICT, INJECTION, MISSING, UNREACHABLE, CONNECTION, WRONG_KIND}
    entry_points = {case.id.split("-")[0] for case in CASES}
    assert {"deployment", "session", "native", "sensor"} <= entry_points


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(case, marks=[pytest.mark.xfail(strict=True, reason=case.known_bug)] if case.known_bug else [])
        for case in CASES
    ],
    ids=[case.id for case in CASES],
)
def test_bad_input_fails_with_an_error_naming_the_problem_and_creates_nothing(
    case: Case,
    emulator: KubeEmulator,
    connections: str,
    spec_dir: Path,
    flink_home: str,
    corpus_report: CorpusReport,
    capfd: pytest.CaptureFixture[str],
) -> None:
    env = Env(spec_dir=spec_dir, kubeconfig=connections)
    failures: list[BaseException] = []

    def record_failure(context: Mapping[str, Any]) -> None:
        failures.append(context["exception"])

    stage: Stage = "run"
    error: BaseException | None = None
    states: dict[str, str] | None = None
    with new_dag(template_searchpath=[str(spec_dir)], default_args={"on_failure_callback": record_failure}) as dag:
        try:
            case.build(env)
        except Exception as raised:
            stage, error = "construction", raised
    if error is None:
        states = run_dag(dag)
        error = failures[-1] if failures else None
    logs = "".join(capfd.readouterr())
    writes, objects = _writes(emulator), _objects(emulator)
    message = str(error) if error is not None else ""
    clear = (
        error is not None
        and stage == case.stage
        and isinstance(error, _clear_types())
        and not isinstance(error, UNCLEAR_TYPES)
        and re.search(case.expected, message, re.DOTALL) is not None
    )
    corpus_report.cases[case.id] = CaseResult(clear=clear, objects=len(objects), writes=len(writes))

    assert stage == case.stage, f"refused at {stage}, expected at {case.stage}: {error!r}"
    if stage == "run":
        assert states == {TASK_ID: "failed"}
    assert error is not None
    assert re.search(case.expected, message, re.DOTALL), f"{type(error).__name__}: {message}"
    assert isinstance(error, _clear_types()) and not isinstance(error, UNCLEAR_TYPES), repr(error)
    if stage == "run":
        assert message.splitlines()[0] in logs  # what the DAG author reads in the task log
    assert writes == []
    assert objects == []
