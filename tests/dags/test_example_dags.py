"""The example DAGs of ``dags/``: they import on the running Airflow (3.3 or 2.11) and run end to end."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml
from airflow_support import airflow_3, run_dag, xcom_of

from airflow_provider_flink.testing.kube_emulator import KubeEmulator
from airflow_provider_flink.testing.native_cluster_simulator import flatten_config

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
GROUP, VERSION = "flink.apache.org", "v1beta1"
NAMESPACE = "flink"  # the connection's namespace in conftest.py: the examples name none
EXPECTED_DAG_IDS = {
    "flink_batch_daily",
    "flink_streaming_savepoint",
    "flink_submit_then_sense",
    "flink_session_job",
    "flink_job_from_ui",
    "flink_native_jar",
    "flink_native_python",
}
#: The examples poll every few seconds, right for a real cluster; the simulator is much faster.
TEST_POLL_SECONDS = 0.2


def _dag_bag() -> Any:
    if airflow_3():
        from airflow.dag_processing.dagbag import DagBag
    else:
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return DagBag(dag_folder=str(DAGS_FOLDER))  # AIRFLOW__CORE__LOAD_EXAMPLES is off


@pytest.fixture(scope="module")
def dag_bag() -> Any:
    return _dag_bag()


def _example(dag_bag: Any, dag_id: str) -> Any:
    """The example DAG as the DAG processor loads it, polling faster so the test runs in seconds."""
    dag = dag_bag.dags[dag_id]
    for task in dag.tasks:
        if hasattr(task, "poll_interval"):
            task.poll_interval = TEST_POLL_SECONDS
        if hasattr(task, "poke_interval"):
            task.poke_interval = TEST_POLL_SECONDS
    return dag


def _objects(emulator: KubeEmulator, plural: str) -> list[dict[str, Any]]:
    return list(emulator.list_objects(GROUP, VERSION, plural))


def test_every_example_dag_imports_without_errors(dag_bag):
    assert dag_bag.import_errors == {}
    # A subset: a DAG file of your own dropped into dags/ does not fail this test (the playground's --dags-folder
    # runs your files from a folder of yours, which is the better place).
    assert set(dag_bag.dag_ids) >= EXPECTED_DAG_IDS


def test_ui_dag_params_make_a_usable_trigger_form(dag_bag):
    params = dag_bag.dags["flink_job_from_ui"].params

    for key in ("image", "program", "entry_class", "args", "parallelism", "mode", "flink_version"):
        param = params.get_param(key)
        assert param.schema.get("title") and param.description and param.schema.get("type"), key
    assert params.get_param("parallelism").schema["minimum"] == 1
    assert params.get_param("mode").schema["enum"] == ["batch", "streaming"]
    assert params.get_param("args").schema["type"] == "array"


def test_submit_then_sense_waits_for_the_batch_job_in_the_sensor_and_deletes_it(
    dag_bag, emulator, simulator, k8s_connection
):
    dag = _example(dag_bag, "flink_submit_then_sense")

    states = run_dag(dag)

    assert states == {"submit": "success", "wait_until_finished": "success", "delete": "success"}
    submitted = xcom_of(dag, "submit")
    assert submitted["name"].startswith("sensed-wordcount-") and submitted["namespace"] == NAMESPACE
    assert _objects(emulator, "flinkdeployments") == []


def test_session_job_runs_in_the_session_cluster_then_both_are_deleted(dag_bag, emulator, simulator, k8s_connection):
    dag = _example(dag_bag, "flink_session_job")

    states = run_dag(dag)

    assert states == dict.fromkeys(
        ("session_cluster", "session_job", "delete_session_job", "delete_session_cluster"), "success"
    )
    job = xcom_of(dag, "session_job")
    assert job["kind"] == "FlinkSessionJob" and job["state"] == "RUNNING"
    assert _objects(emulator, "flinkdeployments") == [] and _objects(emulator, "flinksessionjobs") == []


def test_ui_dag_with_default_params_runs_the_batch_wordcount_and_deletes_it(
    dag_bag, emulator, simulator, k8s_connection
):
    dag = _example(dag_bag, "flink_job_from_ui")

    states = run_dag(dag)

    assert states == {"run_job": "success"}
    result = xcom_of(dag, "run_job")
    assert result["state"] == "FINISHED" and result["name"].startswith("ui-job-")
    assert _objects(emulator, "flinkdeployments") == []


def test_ui_dag_run_conf_reaches_the_flink_deployment_spec_with_native_types(
    dag_bag, emulator, simulator, k8s_connection
):
    dag = _example(dag_bag, "flink_job_from_ui")
    conf = {
        "name_prefix": "nightly",
        "image": "registry.example.com/jobs/enrich:1.4",
        "flink_version": "v1_20",
        "program": "local:///opt/flink/usrlib/enrich.jar",
        "entry_class": "com.example.Enrich",
        "args": ["--date", "2026-01-02", "--dry-run"],
        "parallelism": 3,
        "mode": "streaming",
        "annotations": {"team": "data"},
    }

    states = run_dag(dag, run_conf=conf)

    assert states == {"run_job": "success"}
    [deployment] = _objects(emulator, "flinkdeployments")  # streaming: it keeps running after the task
    spec, metadata = deployment["spec"], deployment["metadata"]
    assert metadata["name"].startswith("nightly-") and metadata["annotations"]["team"] == "data"
    assert spec["image"] == "registry.example.com/jobs/enrich:1.4" and spec["flinkVersion"] == "v1_20"
    assert spec["flinkConfiguration"]["execution.runtime-mode"] == "STREAMING"
    assert spec["job"]["jarURI"] == "local:///opt/flink/usrlib/enrich.jar"
    assert spec["job"]["entryClass"] == "com.example.Enrich"
    assert spec["job"]["args"] == ["--date", "2026-01-02", "--dry-run"]
    assert spec["job"]["parallelism"] == 3  # an int, not the string "3" Jinja renders by default


def test_ui_dag_python_program_runs_through_pyflink_without_the_entry_class(
    dag_bag, emulator, simulator, k8s_connection
):
    dag = _example(dag_bag, "flink_job_from_ui")

    states = run_dag(dag, run_conf={"program": "/opt/flink/usrlib/job.py", "mode": "streaming"})

    assert states == {"run_job": "success"}
    [deployment] = _objects(emulator, "flinkdeployments")
    job = deployment["spec"]["job"]
    assert job["entryClass"] == "org.apache.flink.client.python.PythonDriver"
    assert "-py" in job["args"] and "/opt/flink/usrlib/job.py" in job["args"]


def test_native_jar_example_runs_wordcount_in_its_own_cluster_and_deletes_it(
    dag_bag, emulator, native_simulator, native_connection, local_flink
):
    dag = _example(dag_bag, "flink_native_jar")

    states = run_dag(dag)

    assert states == {"wordcount": "success"}
    result = xcom_of(dag, "wordcount")
    assert result["state"] == "FINISHED" and result["namespace"] == NAMESPACE
    assert result["cluster_id"].startswith("flink-native-jar-wordcount-")
    # The real CLI created the cluster from the example's arguments, the stand-in jar ran on real Flink.
    [cluster] = [c for c in native_simulator.clusters.values() if c.cluster_id == result["cluster_id"]]
    assert cluster.job_id == result["job_id"]
    [job] = [job for job in local_flink.get("/jobs/overview")["jobs"] if job["jid"] == result["job_id"]]
    assert job["state"] == "FINISHED"
    assert list(emulator.list_objects("apps", "v1", "deployments", NAMESPACE)) == []


def test_native_python_example_submits_a_pyflink_cluster_from_a_pod(
    dag_bag, emulator, native_simulator, native_connection
):
    # The simulator cannot run Python jobs: this runs the example up to the submission, which the real
    # Flink CLI does in a (simulated) submitter pod, and checks the cluster it created.
    dag = _example(dag_bag, "flink_native_python")
    dag.get_task("python_wordcount").wait_for = "none"

    states = run_dag(dag)

    assert states == {"python_wordcount": "success"}
    cluster_id = xcom_of(dag, "python_wordcount")["cluster_id"]
    [deployment] = emulator.list_objects("apps", "v1", "deployments", NAMESPACE)
    assert deployment["metadata"]["name"] == cluster_id
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "flink:2.0"  # the param's default
    configmap = emulator.get_object("", "v1", "configmaps", NAMESPACE, f"flink-config-{cluster_id}")
    config = yaml.safe_load(configmap["data"]["config.yaml"])
    flat = {key: str(value) for key, value in flatten_config(config).items()}
    assert flat["$internal.application.main"] == "org.apache.flink.client.python.PythonDriver"
    assert "/opt/flink/examples/python/datastream/word_count.py" in flat["$internal.application.program-args"]
    assert flat["execution.runtime-mode"] == "BATCH"
