"""The real Flink CLI (``$FLINK_HOME/bin/flink``): version detection, and what a built argv delivers to Flink.

The second part runs ``build_flink_run_argv``'s command against a stand-in Kubernetes API server and reads
back the ConfigMap the CLI creates: the configuration the JobManager would start with.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_provider_flink.native import (
    FlinkVersion,
    FlinkVersionDetectionError,
    NativeJobSpec,
    build_flink_run_argv,
    detect_flink_version,
    run_action,
)
from airflow_provider_flink.testing.kube_emulator import KubeEmulator


@pytest.fixture(scope="module")
def flink_home() -> Path:
    home = os.environ.get("FLINK_HOME")
    if not home:
        pytest.fail(
            "FLINK_HOME is not set: these tests need a real Flink distribution. `bash tests/run.sh` installs "
            "one (apache-flink from PyPI) and sets it; by hand, point FLINK_HOME at the installed pyflink/ "
            "folder or an unpacked Flink 1.17+ release."
        )
    path = Path(home)
    if not (path / "bin" / "flink").is_file():
        pytest.fail(f"FLINK_HOME={home} has no bin/flink: point it at a Flink distribution's root folder.")
    return path


@pytest.fixture(scope="module")
def flink_env(flink_home: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    # A private conf and log folder, so runs neither write into the distribution nor share /tmp.
    folder = tmp_path_factory.mktemp("flink-cli")
    shutil.copytree(flink_home / "conf", folder / "conf")
    (folder / "log").mkdir()
    return {
        **os.environ,
        "FLINK_CONF_DIR": str(folder / "conf"),
        "FLINK_LOG_DIR": str(folder / "log"),
        # Fail in about a second instead of ~20 s of client retries if the stand-in server misbehaves.
        "JVM_ARGS": "-Dkubernetes.request.retry.backoffLimit=0",
    }


@pytest.fixture(scope="module")
def real_version(flink_home: Path, flink_env: dict[str, str]) -> str:
    return detect_flink_version(str(flink_home / "bin" / "flink"), env=flink_env, timeout=120)


def test_version_of_the_real_flink_cli_is_detected(flink_home, real_version):
    # The distribution's own jar names its version: flink-dist-<version>.jar.
    (dist_jar,) = (flink_home / "lib").glob("flink-dist*.jar")
    expected = dist_jar.stem.removeprefix("flink-dist-").removeprefix("flink-dist_2.12-")

    assert real_version == expected
    assert FlinkVersion.parse(real_version) >= (1, 17)


def _fake_binary(folder: Path, script: str) -> str:
    path = folder / "flink"
    path.write_text("#!/bin/sh\n" + script + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_version_is_read_from_a_binary_that_also_prints_warnings(tmp_path):
    binary = _fake_binary(tmp_path, 'echo "WARNING: something" >&2\necho "Version: 1.17.2, Commit ID: 2c4a8a3"')

    assert detect_flink_version(binary) == "1.17.2"


@pytest.mark.parametrize(
    ("script", "timeout", "problem"),
    [
        pytest.param('echo "Error: JAVA_HOME is not set" >&2\nexit 1', 60, "exited with code 1", id="fails"),
        pytest.param("echo hello", 60, "No 'Version:'", id="no-version"),
        pytest.param("exec sleep 30", 0.5, "did not finish within 0.5 s", id="hangs"),
    ],
)
def test_version_detection_failure_says_what_happened(tmp_path, script, timeout, problem):
    binary = _fake_binary(tmp_path, script)

    with pytest.raises(FlinkVersionDetectionError, match=problem):
        detect_flink_version(binary, timeout=timeout)


def test_version_detection_of_a_missing_binary_names_it(tmp_path):
    missing = str(tmp_path / "no-such-flink")

    with pytest.raises(FlinkVersionDetectionError, match="Could not run '.*no-such-flink --version'"):
        detect_flink_version(missing)


# ---------------------------------------------------------------------------------------------------
# The built command against the real CLI and the Kubernetes API emulator
# ---------------------------------------------------------------------------------------------------


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Iterator[tuple[Path, KubeEmulator]]:
    with KubeEmulator() as emulator:
        yield Path(emulator.write_kubeconfig(str(tmp_path / "kubeconfig"), namespace="jobs")), emulator


def _deployed_configuration(emulator: KubeEmulator, cluster_id: str) -> dict[str, Any]:
    config_map = emulator.get_object("", "v1", "configmaps", "jobs", f"flink-config-{cluster_id}")
    assert config_map is not None, f"the CLI created no flink-config-{cluster_id} ConfigMap"
    return yaml.safe_load(config_map["data"]["config.yaml"])


ARGS = ["-p", "5", "SELECT 1;\nSELECT 2;", "#hash", " lead", "semi;colon", ""]


@pytest.mark.parametrize(
    ("program", "program_args_seen_by_flink", "main"),
    [
        pytest.param(
            {"jar": "local:///opt/flink/usrlib/wc.jar", "entry_class": "org.example.WordCount"},
            ARGS,
            "org.example.WordCount",
            id="jar",
        ),
        pytest.param(
            {"py_module": "word_count", "py_files": ["/opt/flink/usrlib/wc.py"], "py_archives": ["/o/v.zip#venv"]},
            # The CLI consumes the first "--"; Flink's PythonDriver consumes the second on the JobManager.
            ["--pyModule", "word_count", "--", *ARGS],
            "org.apache.flink.client.python.PythonDriver",
            id="python",
        ),
    ],
)
def test_real_cli_delivers_the_options_and_arguments_to_the_jobmanager_configuration(
    flink_home, flink_env, real_version, kubeconfig, program, program_args_seen_by_flink, main
):
    if FlinkVersion.parse(real_version) < (1, 19):
        pytest.fail(f"This test reads a config.yaml ConfigMap, which Flink {real_version} does not write.")
    path, emulator = kubeconfig
    spec = NativeJobSpec(
        cluster_id="wordcount",
        namespace="jobs",
        image="example/wordcount:1",
        kubeconfig_path=str(path),
        rest_service_exposed_type="ClusterIP",
        jobmanager_cpu=0.5,
        task_slots=2,
        image_pull_secrets=["regcred", "other"],
        flink_conf={"kubernetes.jobmanager.cpu.limit-factor": 2, "my.option": "a#b"},
        program_args=ARGS,
        **program,
    )
    argv = build_flink_run_argv(spec, flink_version=real_version, flink_binary=str(flink_home / "bin" / "flink"))

    completed = subprocess.run(argv, env=flink_env, capture_output=True, text=True, timeout=180, check=False)

    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-3000:]
    assert argv[1] == run_action(real_version)
    conf = _deployed_configuration(emulator, "wordcount")
    assert conf["$internal"]["application"]["program-args"] == program_args_seen_by_flink
    assert conf["$internal"]["application"]["main"] == main
    kubernetes = conf["kubernetes"]
    assert kubernetes["cluster-id"] == "wordcount"
    assert kubernetes["container"]["image"] == {"ref": "example/wordcount:1", "pull-secrets": "regcred;other"}
    # -D values reach Flink as strings.
    assert kubernetes["jobmanager"]["cpu"] == {"amount": "0.5", "limit-factor": "2"}
    assert kubernetes["namespace"] == "jobs"
    assert conf["taskmanager"]["numberOfTaskSlots"] == "2"
    assert conf["my"]["option"] == "a#b"
    assert conf["execution"]["shutdown-on-application-finish"] == "false"
