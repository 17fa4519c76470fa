"""The simulator keeps going through API faults, and runs as a separate process until SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from simulator_support import KIND_DEPLOYMENT, NAMESPACE, WAIT_SECONDS, Flink, deployment_body, job_state

from airflow_provider_flink.testing.flink_operator_simulator import FlinkOperatorSimulator
from airflow_provider_flink.testing.kube_emulator import Fault, KubeEmulator

# The simulator below watches every namespace, so only its requests use the cluster-wide paths; the
# test's own watch (namespaced) is left alone.
CLUSTER_WIDE_DEPLOYMENTS = r"^/apis/flink\.apache\.org/v1beta1/flinkdeployments$"


def test_survives_injected_503s_and_a_cut_watch_and_still_finishes_the_batch_job(
    emulator: KubeEmulator, flink: Flink
) -> None:
    faults = [
        emulator.add_fault(Fault(verb="LIST", path_regex=CLUSTER_WIDE_DEPLOYMENTS, status=503, count=3)),
        emulator.add_fault(Fault(verb="WATCH", path_regex=CLUSTER_WIDE_DEPLOYMENTS, cut_watch_after_events=2, count=1)),
        emulator.add_fault(Fault(verb="PUT", path_regex=r"/flinkdeployments/resilient/status$", status=503, count=4)),
        emulator.add_fault(Fault(verb="PUT", path_regex=r"/flinkdeployments/resilient$", status=503, count=2)),
        emulator.add_fault(Fault(verb="POST", path_regex=r"/events$", status=503, count=2)),
        emulator.add_fault(Fault(verb="POST", path_regex=r"/pods$", status=503, count=2, retry_after=0.05)),
    ]
    with FlinkOperatorSimulator(emulator.kubeconfig_dict(), namespace=None, step_seconds=0.05):
        flink.create(deployment_body("resilient", scenario="batch-success"))

        final = flink.wait_for(KIND_DEPLOYMENT, "resilient", lambda o: job_state(o) == "FINISHED", "FINISHED")[-1]

    assert (final["status"]["lifecycleState"], [f.hits for f in faults]) == ("STABLE", [3, 1, 4, 2, 2, 2])


def test_status_write_conflicts_are_retried_on_the_latest_version(emulator: KubeEmulator, flink: Flink) -> None:
    conflict = emulator.add_fault(
        Fault(verb="PUT", path_regex=r"/flinkdeployments/contended/status$", status=409, count=3)
    )
    with FlinkOperatorSimulator(emulator.kubeconfig_dict(), namespace=NAMESPACE, step_seconds=0.05):
        flink.create(deployment_body("contended", scenario="batch-success"))

        final = flink.wait_for(KIND_DEPLOYMENT, "contended", lambda o: job_state(o) == "FINISHED", "FINISHED")[-1]

    assert (final["status"]["lifecycleState"], conflict.hits) == ("STABLE", 3)


def test_command_line_simulator_reconciles_until_sigterm(emulator: KubeEmulator, flink: Flink, tmp_path: Path) -> None:
    kubeconfig = emulator.write_kubeconfig(tmp_path / "kubeconfig.yaml")
    command = [
        sys.executable,
        "-m",
        "airflow_provider_flink.testing.flink_operator_simulator",
        "--kubeconfig",
        kubeconfig,
        "--namespace",
        NAMESPACE,
        "--step-seconds",
        "0.05",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        flink.create(deployment_body("from-cli", scenario="batch-success"))
        flink.wait_for(KIND_DEPLOYMENT, "from-cli", lambda o: job_state(o) == "FINISHED", "FINISHED")

        process.send_signal(signal.SIGTERM)
        returncode = process.wait(timeout=WAIT_SECONDS)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert returncode == 0
