"""
FlinkNativeSubmitOperator through real Airflow (``dag.test``): the real Flink CLI deploys to the API emulator,
the simulator runs the job on a real local Flink cluster (simulated: pods, the kubelet, the JobManager process).
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from airflow_support import new_dag, run_dag, xcom_of
from native_support import CLI_ENV, ENTRY_CLASS, IMAGE, JAR_URI, NAMESPACE, deployment_posts, wait_until

from airflow_provider_flink.operators.flink_native import FlinkNativeSubmitOperator
from airflow_provider_flink.testing.kube_emulator import Fault

SECRET = "hunter2-not-for-logs"


def _operator(mode: str = "bounded", task_id: str = "flink", **kwargs: Any) -> FlinkNativeSubmitOperator:
    arguments: dict[str, Any] = {
        "image": IMAGE,
        "jar_uri": JAR_URI,
        "entry_class": ENTRY_CLASS,
        "args": [mode],
        "flink_version": "2.3.0",
        "cli_env": CLI_ENV,
        "wait_for": "finished",
        "poll_interval": 0.3,
        "startup_timeout": 120,
        "submit_timeout": 120,
    }
    arguments.update(kwargs)
    return FlinkNativeSubmitOperator(task_id=task_id, **arguments)


def _deployments(emulator) -> list[str]:
    return [d["metadata"]["name"] for d in emulator.list_objects("apps", "v1", "deployments", NAMESPACE)]


def _logs(capfd) -> str:
    out, err = capfd.readouterr()
    return out + err


@pytest.mark.parametrize("deferrable", [False, True], ids=["sync", "deferrable"])
def test_finished_job_succeeds_returns_its_state_and_deletes_the_cluster(
    emulator, simulator, k8s_connection, capfd, deferrable
):
    with new_dag() as dag:
        _operator(
            deferrable=deferrable,
            flink_ui_url_template="https://flink.example.com/{namespace}/{name}/",
            flink_conf={"s3.secret-key": SECRET},
        )

    states = run_dag(dag)

    assert states == {"flink": "success"}
    logs = _logs(capfd)
    assert "-Ds3.secret-key=***" in logs
    assert SECRET not in logs
    result = xcom_of(dag, "flink")
    assert result["state"] == "FINISHED"
    assert result["namespace"] == NAMESPACE
    assert result["cluster_id"].startswith(f"{dag.dag_id.replace('_', '-')}-flink-")
    assert len(result["job_id"]) == 32
    assert result["flink_ui_url"] == f"https://flink.example.com/{NAMESPACE}/{result['cluster_id']}/"
    assert _deployments(emulator) == []
    assert len(deployment_posts(emulator)) == 1


@pytest.mark.parametrize(
    ("deferrable", "cleanup", "kept"),
    [(False, "always", False), (True, "keep_on_failure", True)],
    ids=["sync-always", "deferrable-keep_on_failure"],
)
def test_failing_job_fails_the_task_with_the_flink_exception(
    emulator, simulator, k8s_connection, capfd, deferrable, cleanup, kept
):
    with new_dag() as dag:
        _operator("failing", deferrable=deferrable, cleanup=cleanup)

    states = run_dag(dag)

    assert states == {"flink": "failed"}
    logs = _logs(capfd)
    assert "java.lang.IllegalStateException: Simulated bad record 42" in logs
    assert "lines of JobManager pod" in logs  # the JobManager log tail, quoted by the diagnosis
    assert bool(_deployments(emulator)) is kept


def test_streaming_job_waited_for_running_succeeds_and_keeps_running(emulator, simulator, k8s_connection, capfd):
    with new_dag() as dag:
        _operator("unbounded", wait_for="running", flink_version=None)  # asked from the CLI

    states = run_dag(dag)

    assert states == {"flink": "success"}
    assert "is version 2.3.0" in _logs(capfd)
    result = xcom_of(dag, "flink")
    assert result["state"] == "RUNNING"
    assert _deployments(emulator) == [result["cluster_id"]]


@pytest.mark.parametrize(
    ("scenario", "reason", "log_text"),
    [
        ("image-pull-error", "ErrImagePull", 'Failed: Failed to pull image "flink:2.3.0-java17"'),
        ("crash-loop", "CrashLoopBackOff", "IllegalConfigurationException: simulated bad configuration"),
    ],
)
def test_jobmanager_that_cannot_start_fails_fast_with_the_reason(
    emulator, simulator, k8s_connection, capfd, scenario, reason, log_text
):
    with new_dag() as dag:
        _operator(flink_conf={"simulator.scenario": scenario}, startup_timeout=600)

    states = run_dag(dag)

    assert states == {"flink": "failed"}
    logs = _logs(capfd)
    assert f"cannot start: {reason}" in logs
    assert log_text in logs
    assert "Startup timeout" not in logs
    assert _deployments(emulator) == []


def test_jobmanager_stuck_starting_fails_at_the_startup_timeout_and_is_deleted(
    emulator, simulator, k8s_connection, capfd
):
    with new_dag() as dag:
        _operator(flink_conf={"simulator.scenario": "stuck"}, startup_timeout=10)

    states = run_dag(dag)

    assert states == {"flink": "failed"}
    logs = _logs(capfd)
    assert "Startup timeout" in logs
    assert "Pending (ContainerCreating)" in logs
    assert _deployments(emulator) == []


def test_cluster_deleted_by_someone_else_mid_wait_fails_with_a_clear_error(emulator, simulator, k8s_connection, capfd):
    from kubernetes import client, config

    with new_dag() as dag:
        _operator("unbounded")
    cluster_id = None

    def waited_on() -> str | None:
        # Running, and labelled by the operator: the submission is over and the wait has begun.
        for cluster in simulator.clusters.values():
            live = emulator.get_object("apps", "v1", "deployments", NAMESPACE, cluster.cluster_id)
            labels = (live or {}).get("metadata", {}).get("labels") or {}
            if cluster.job_state == "RUNNING" and "airflow.apache.org/run_id" in labels:
                return cluster.cluster_id
        return None

    def delete_once_running() -> None:
        nonlocal cluster_id
        cluster_id = wait_until(waited_on)
        api = config.new_client_from_config_dict(emulator.kubeconfig_dict())
        client.AppsV1Api(api).delete_namespaced_deployment(cluster_id, NAMESPACE, propagation_policy="Foreground")
        api.close()

    deleter = threading.Thread(target=delete_once_running, daemon=True)
    deleter.start()
    states = run_dag(dag)
    deleter.join(timeout=10)

    assert states == {"flink": "failed"}
    assert f"The application cluster {NAMESPACE}/{cluster_id} was deleted before its final state could be read" in (
        _logs(capfd)
    )


def test_retry_reattaches_to_the_cluster_of_the_first_try_without_submitting_again(
    emulator, simulator, k8s_connection, capfd
):
    # The first try dies right after `flink run` succeeded (its next API call is refused), as a worker would
    # that is lost between submitting and waiting: the cluster runs on without anyone waiting for it.
    with new_dag() as dag:
        _operator(retries=1, retry_delay=timedelta(seconds=0))
    emulator.add_fault(Fault(verb="PATCH", path_regex=r"/deployments/", status=403, count=1))

    states = run_dag(dag)

    assert states == {"flink": "success"}
    assert len(deployment_posts(emulator)) == 1
    assert "reattaching instead of submitting again" in _logs(capfd)
    assert xcom_of(dag, "flink")["state"] == "FINISHED"


def test_pod_submitter_runs_flink_in_a_pod_and_deletes_it(emulator, simulator, k8s_connection, capfd):
    # Simulated: the simulator runs the pod's command with the local Flink CLI and reports its exit code.
    with new_dag() as dag:
        _operator(submitter="pod", flink_version=None, submitter_service_account="flink-submitter")

    states = run_dag(dag)

    assert states == {"flink": "success"}
    cluster_id = xcom_of(dag, "flink")["cluster_id"]
    pod_posts = [r for r in emulator.requests if r.verb == "POST" and r.path.endswith(f"/{NAMESPACE}/pods")]
    assert pod_posts  # the submitter pod (and the simulated JobManager pod)
    assert emulator.get_object("", "v1", "pods", NAMESPACE, f"{cluster_id}-submit") is None
    assert f"Create flink application cluster {cluster_id} successfully" in _logs(capfd)
    assert len(deployment_posts(emulator)) == 1


def test_invalid_job_fails_without_submitting_or_retrying(emulator, k8s_connection, capfd):
    with new_dag() as dag:
        _operator(jar_uri="/not/a/uri.jar", retries=2)

    states = run_dag(dag)

    assert states == {"flink": "failed"}
    assert "is not a URI" in _logs(capfd)
    assert deployment_posts(emulator) == []


def test_execution_timeout_ends_a_deferred_wait_and_deletes_the_cluster(emulator, simulator, k8s_connection, capfd):
    # An unbounded job never finishes: the task's execution_timeout must end the wait in the triggerer.
    with new_dag() as dag:
        _operator("unbounded", deferrable=True, execution_timeout=timedelta(seconds=20))

    states = run_dag(dag)

    assert states == {"flink": "failed"}
    assert "Timeout: the job did not reach finished in time" in _logs(capfd)
    assert _deployments(emulator) == []
