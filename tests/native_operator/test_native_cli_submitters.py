"""
Running ``flink run``: the CLI's Kubernetes access from the connection, finding the CLI, masking, and both
submitters. The local submitter runs the real Flink CLI against the API emulator. The pod submitter's pod is
run by the simulator's stand-in kubelet (simulated: it executes the pod's command with the local Flink CLI).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml
from native_support import CLI_ENV, ENTRY_CLASS, IMAGE, JAR_URI, NAMESPACE

from airflow_provider_flink.hooks.kubernetes import FlinkKubernetesHook
from airflow_provider_flink.native.command import NativeJobSpec, build_flink_run_argv
from airflow_provider_flink.native.submit import (
    POD_FLINK_BINARY,
    FlinkSubmitError,
    FlinkSubmitTimeout,
    LocalFlinkSubmitter,
    PodFlinkSubmitter,
    SecretMasker,
    cli_kube_access,
    find_flink_binary,
    flink_version_from_image,
)
from airflow_provider_flink.testing.kube_emulator import Fault
from airflow_provider_flink.testing.native_cluster_simulator import flatten_config

SECRET = "hunter2-never-logged"


def _connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, extra: dict[str, Any]) -> FlinkKubernetesHook:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "kubernetes", "extra": extra}))
    return FlinkKubernetesHook(kubernetes_conn_id=conn_id)


# ----------------------------------------------------------------------------------------------------
# Kubernetes access of the local CLI
# ----------------------------------------------------------------------------------------------------


def test_inline_kubeconfig_becomes_a_private_file_for_the_duration_only(emulator, monkeypatch, tmp_path):
    hook = _connection(monkeypatch, "inline", {"kube_config": json.dumps(emulator.kubeconfig_dict())})

    with cli_kube_access(hook, tmp_path) as access:
        path = Path(str(access.config_file))
        mode = stat.S_IMODE(path.stat().st_mode)
        content = yaml.safe_load(path.read_text())

    assert mode == 0o600
    assert content == emulator.kubeconfig_dict()
    assert access.temporary and not access.in_cluster
    assert not path.exists()


def test_temporary_kubeconfig_is_removed_when_the_submission_fails(emulator, monkeypatch, tmp_path):
    hook = _connection(monkeypatch, "inline", {"kube_config": yaml.safe_dump(emulator.kubeconfig_dict())})

    with pytest.raises(RuntimeError), cli_kube_access(hook, tmp_path) as access:
        raise RuntimeError("flink run failed")

    assert not Path(str(access.config_file)).exists()


def test_kubeconfig_dict_and_context_of_the_hook_are_used(emulator, tmp_path):
    hook = FlinkKubernetesHook(
        kubernetes_conn_id=None, config_dict=emulator.kubeconfig_dict(), cluster_context="emulator"
    )

    with cli_kube_access(hook, tmp_path) as access:
        written = yaml.safe_load(Path(str(access.config_file)).read_text())

    assert written == emulator.kubeconfig_dict()
    assert access.context == "emulator"


def test_kubeconfig_path_is_passed_as_is_and_never_copied(monkeypatch, tmp_path):
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text("apiVersion: v1\n")
    hook = _connection(monkeypatch, "by_path", {"kube_config_path": str(kubeconfig), "cluster_context": "prod"})

    with cli_kube_access(hook, tmp_path / "work") as access:
        pass

    assert (access.config_file, access.context, access.temporary) == (str(kubeconfig), "prod", False)


def test_in_cluster_connection_gives_no_kubeconfig(monkeypatch, tmp_path):
    hook = _connection(monkeypatch, "in_pod", {"in_cluster": True})

    with cli_kube_access(hook, tmp_path) as access:
        files = os.listdir(tmp_path)

    assert access.in_cluster and access.config_file is None
    assert files == []


# ----------------------------------------------------------------------------------------------------
# Finding the CLI, its version, masking
# ----------------------------------------------------------------------------------------------------


def test_flink_home_wins_over_path_and_environment(flink_home, monkeypatch):
    monkeypatch.setenv("FLINK_HOME", "/nowhere")

    assert find_flink_binary(str(flink_home)) == str(flink_home / "bin" / "flink")


def test_missing_flink_cli_is_reported_with_the_ways_to_provide_one(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("FLINK_HOME", raising=False)

    with pytest.raises(FlinkSubmitError, match="set flink_home .* or use submitter='pod'"):
        find_flink_binary()
    with pytest.raises(FlinkSubmitError, match="has no executable bin/flink"):
        find_flink_binary(str(tmp_path))


@pytest.mark.parametrize(
    ("image", "version"),
    [
        ("flink:2.3.0-java17", "2.3.0"),
        ("registry.example.com:5000/team/flink:1.20", "1.20"),
        ("flink:1.19.1@sha256:abc", "1.19.1"),
        ("flink:latest", None),
        ("my-job-image:v7", None),
    ],
)
def test_flink_version_is_read_from_an_image_tag_when_it_starts_with_one(image, version):
    assert flink_version_from_image(image) == version


def test_secret_values_are_masked_in_the_command_and_in_output_lines():
    argv = ["flink", "run", f"-Ds3.secret-key={SECRET}", "-Dparallelism.default=2", "local:///job.jar"]
    masker = SecretMasker(argv)

    assert masker.argv(argv) == ["flink", "run", "-Ds3.secret-key=***", "-Dparallelism.default=2", "local:///job.jar"]
    assert masker.line(f"error: bad credentials {SECRET} for s3") == "error: bad credentials *** for s3"


# ----------------------------------------------------------------------------------------------------
# The local submitter with the real Flink CLI
# ----------------------------------------------------------------------------------------------------


def _argv(binary: str, cluster_id: str, kubeconfig: str | None, **spec: Any) -> list[str]:
    job = NativeJobSpec(
        cluster_id=cluster_id,
        image=IMAGE,
        namespace=NAMESPACE,
        kubeconfig_path=kubeconfig,
        jar=JAR_URI,
        entry_class=ENTRY_CLASS,
        program_args=("bounded", "--greeting", "hello world"),
        flink_conf={"s3.secret-key": SECRET, "pipeline.name": "native-test"},
        **spec,
    )
    return build_flink_run_argv(job, flink_version="2.3.0", flink_binary=binary)


def _run_local(emulator, monkeypatch, tmp_path, flink_home, cluster_id, timeout=120.0):
    hook = _connection(monkeypatch, "local_cli", {"kube_config": json.dumps(emulator.kubeconfig_dict())})
    logged: list[str] = []
    submitter = LocalFlinkSubmitter(work_dir=tmp_path, env=CLI_ENV, timeout=timeout, log=logged.append)
    with cli_kube_access(hook, tmp_path) as access:
        argv = _argv(str(flink_home / "bin" / "flink"), cluster_id, access.config_file)
        try:
            submitter.run(argv, SecretMasker(argv))
            error = None
        except FlinkSubmitError as raised:
            error = raised
    return logged, error


def test_local_cli_creates_the_cluster_objects_with_the_options(emulator, monkeypatch, tmp_path, flink_home):
    logged, error = _run_local(emulator, monkeypatch, tmp_path, flink_home, "local-cli")

    assert error is None
    assert emulator.get_object("apps", "v1", "deployments", NAMESPACE, "local-cli") is not None
    assert emulator.get_object("", "v1", "services", NAMESPACE, "local-cli-rest") is not None
    configmap = emulator.get_object("", "v1", "configmaps", NAMESPACE, "flink-config-local-cli")
    options = flatten_config(yaml.safe_load(configmap["data"]["config.yaml"]))
    assert options["execution.shutdown-on-application-finish"] in ("false", False)
    assert options["pipeline.name"] == "native-test"
    assert options["$internal.application.main"] == ENTRY_CLASS
    assert options["$internal.application.program-args"] == ["bounded", "--greeting", "hello world"]
    assert any("Create flink application cluster local-cli successfully" in line for line in logged)
    assert logged[0].startswith("Running: ") and "-Ds3.secret-key=***" in logged[0]
    assert not any(SECRET in line for line in logged)


def test_failing_cli_reports_its_exit_code_and_masked_output(emulator, monkeypatch, tmp_path, flink_home):
    # An API server refusing the ConfigMap and echoing its content: the secret comes back in the CLI's output.
    emulator.add_fault(
        Fault(
            verb="POST",
            path_regex=r"/configmaps$",
            status=422,
            count=None,
            message=f"ConfigMap rejected by policy: s3.secret-key: {SECRET} is not allowed",
        )
    )

    logged, error = _run_local(emulator, monkeypatch, tmp_path, flink_home, "failing-cli")

    assert error is not None and not isinstance(error, FlinkSubmitTimeout)
    assert "flink run exited with code 1" in str(error)
    assert "ConfigMap rejected by policy: s3.secret-key: *** is not allowed" in str(error)
    assert SECRET not in str(error)
    assert not any(SECRET in line for line in logged)


def test_hung_cli_is_killed_after_the_submit_timeout(emulator, monkeypatch, tmp_path, flink_home):
    emulator.add_fault(Fault(verb="GET", path_regex=r"/services/hung-cli-rest$", latency=120, count=None))

    _, error = _run_local(emulator, monkeypatch, tmp_path, flink_home, "hung-cli", timeout=8)

    assert isinstance(error, FlinkSubmitTimeout)
    pid = int(str(error).split("(pid ")[1].split(")")[0])
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert emulator.get_object("apps", "v1", "deployments", NAMESPACE, "hung-cli") is None


# ----------------------------------------------------------------------------------------------------
# The pod submitter (its pod run by the simulator's stand-in kubelet)
# ----------------------------------------------------------------------------------------------------


def _pod_submitter(emulator, monkeypatch, cluster_id: str, logged: list[str]) -> PodFlinkSubmitter:
    hook = _connection(monkeypatch, "pod_cli", {"kube_config": json.dumps(emulator.kubeconfig_dict())})
    return PodFlinkSubmitter(
        hook,
        namespace=NAMESPACE,
        cluster_id=cluster_id,
        image=IMAGE,
        service_account="flink-submitter",
        labels={"airflow.apache.org/dag_id": "etl"},
        env=CLI_ENV,
        timeout=120,
        poll_interval=0.2,
        log=logged.append,
    )


def test_submitter_pod_runs_the_same_command_with_the_images_flink():
    submitter = PodFlinkSubmitter(
        FlinkKubernetesHook(kubernetes_conn_id=None),
        namespace=NAMESPACE,
        cluster_id="wc",
        image=IMAGE,
        service_account="flink-submitter",
        image_pull_secrets=["registry"],
        labels={"airflow.apache.org/dag_id": "etl"},
    )
    argv = _argv("/local/flink/bin/flink", "wc", None)

    body = submitter.pod_body(argv)

    container = body["spec"]["containers"][0]
    assert container["command"] == [POD_FLINK_BINARY, *argv[1:]]
    assert container["image"] == IMAGE
    assert body["metadata"]["name"] == "wc-submit"
    assert body["spec"]["restartPolicy"] == "Never"
    assert body["spec"]["serviceAccountName"] == "flink-submitter"
    assert body["spec"]["imagePullSecrets"] == [{"name": "registry"}]
    assert body["metadata"]["labels"] == {
        "airflow.apache.org/dag_id": "etl",
        "airflow-provider-flink/role": "submitter",
        "airflow-provider-flink/cluster-id": "wc",
    }


def test_pod_submitter_deploys_the_cluster_and_deletes_its_pod(emulator, simulator, monkeypatch):
    logged: list[str] = []
    submitter = _pod_submitter(emulator, monkeypatch, "pod-cli", logged)
    argv = _argv("flink", "pod-cli", None)

    result = submitter.run(argv, SecretMasker(argv))

    assert result.exit_code == 0
    assert emulator.get_object("apps", "v1", "deployments", NAMESPACE, "pod-cli") is not None
    assert emulator.get_object("", "v1", "pods", NAMESPACE, "pod-cli-submit") is None
    assert any("Create flink application cluster pod-cli successfully" in line for line in logged)
    assert not any(SECRET in line for line in logged)


def test_pod_submitter_failure_quotes_the_pod_log_and_deletes_the_pod(emulator, simulator, monkeypatch):
    emulator.add_fault(Fault(verb="POST", path_regex=r"/deployments$", status=403, count=None, message="RBAC says no"))
    logged: list[str] = []
    submitter = _pod_submitter(emulator, monkeypatch, "pod-fail", logged)
    argv = _argv("flink", "pod-fail", None)

    with pytest.raises(FlinkSubmitError) as raised:
        submitter.run(argv, SecretMasker(argv))

    assert "exited with code 1" in str(raised.value)
    assert "RBAC says no" in str(raised.value)
    assert emulator.get_object("", "v1", "pods", NAMESPACE, "pod-fail-submit") is None
