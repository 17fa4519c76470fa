"""FlinkDeploymentOperator through real Airflow (dag.test) against the API emulator and the operator simulator."""

from __future__ import annotations

from typing import Any

import pytest
from airflow_support import new_dag, run_dag, xcom_of
from realstack.backends import BACKEND_NAMESPACE as NAMESPACE

from airflow_provider_flink.operators.flink_deployment import FlinkDeploymentOperator

GROUP, VERSION, PLURAL = "flink.apache.org", "v1beta1", "flinkdeployments"


def _operator(task_id: str = "flink", scenario: str | None = None, **kwargs: Any) -> FlinkDeploymentOperator:
    arguments: dict[str, Any] = {
        "name": "wordcount",
        "image": "flink:2.0",
        "flink_version": "v2_0",
        "jar_uri": "local:///opt/flink/examples/streaming/WordCount.jar",
        "entry_class": "org.apache.flink.streaming.examples.wordcount.WordCount",
        "flink_configuration": {"execution.runtime-mode": "BATCH"},
        "poll_interval": 0.2,
        "startup_timeout": 60,
    }
    if scenario:
        arguments["annotations"] = {"flink-simulator/scenario": scenario}
    arguments.update(kwargs)
    return FlinkDeploymentOperator(task_id=task_id, **arguments)


def _posts(emulator) -> list[str]:
    return [r.path for r in emulator.requests if r.verb == "POST" and PLURAL in r.path]


@pytest.mark.parametrize("deferrable", [False, True], ids=["sync", "deferrable"])
def test_batch_job_success_returns_finished_state_and_deletes_the_deployment(
    kube_backend, simulator, k8s_connection, deferrable
):
    with new_dag() as dag:
        _operator(deferrable=deferrable)

    states = run_dag(dag)

    assert states == {"flink": "success"}
    result = xcom_of(dag, "flink")
    assert result["state"] == "FINISHED"
    assert result["name"] == "wordcount" and result["namespace"] == NAMESPACE
    assert len(result["job_id"]) == 32
    assert kube_backend.get_object(GROUP, VERSION, PLURAL, NAMESPACE, "wordcount") is None


@pytest.mark.parametrize("deferrable", [False, True], ids=["sync", "deferrable"])
def test_batch_job_failure_fails_task_with_flink_exception_and_keeps_the_deployment(
    kube_backend, simulator, k8s_connection, deferrable, capfd
):
    with new_dag() as dag:
        _operator(scenario="batch-failure", deferrable=deferrable)

    states = run_dag(dag)

    assert states == {"flink": "failed"}
    output = capfd.readouterr()
    logs = output.out + output.err
    assert "FAILED" in logs
    assert "Warning events of FlinkDeployment" in logs
    assert kube_backend.get_object(GROUP, VERSION, PLURAL, NAMESPACE, "wordcount") is not None


@pytest.mark.parametrize("deferrable", [False, True], ids=["sync", "deferrable"])
def test_streaming_job_wait_for_running_succeeds_and_leaves_the_job_running(
    kube_backend, simulator, k8s_connection, deferrable
):
    with new_dag() as dag:
        _operator(scenario="streaming", flink_configuration={}, wait_for="running", deferrable=deferrable)

    states = run_dag(dag)

    assert states == {"flink": "success"}
    assert xcom_of(dag, "flink")["state"] == "RUNNING"
    live = kube_backend.get_object(GROUP, VERSION, PLURAL, NAMESPACE, "wordcount")
    assert live is not None and live["status"]["jobStatus"]["state"] == "RUNNING"


def test_jobmanager_that_never_gets_ready_fails_with_the_image_pull_reason(
    kube_backend, simulator, k8s_connection, capfd
):
    with new_dag() as dag:
        _operator(scenario="jm-error")

    states = run_dag(dag)

    assert states == {"flink": "failed"}
    logs = "".join(capfd.readouterr())
    assert "ImagePull" in logs or "ErrImagePull" in logs


def test_rerun_of_a_finished_batch_job_bumps_restart_nonce_and_waits_for_the_new_job(
    kube_backend, simulator, k8s_connection
):
    with new_dag() as dag:
        _operator(delete_on="never")
    run_dag(dag)
    first = xcom_of(dag, "flink")

    states = run_dag(dag)

    assert states == {"flink": "success"}
    second = xcom_of(dag, "flink")
    live = kube_backend.get_object(GROUP, VERSION, PLURAL, NAMESPACE, "wordcount")
    assert live["spec"]["restartNonce"] == 1
    assert second["job_id"] != first["job_id"]
    assert len(_posts(kube_backend)) == 1  # one create, then an update: never a 409


def test_spec_change_on_a_running_streaming_job_waits_for_the_upgraded_generation(
    kube_backend, simulator, k8s_connection
):
    with new_dag() as dag:
        first = _operator(task_id="v1", scenario="streaming", flink_configuration={}, wait_for="running")
        second = _operator(
            task_id="v2", scenario="streaming", flink_configuration={}, wait_for="running", parallelism=3
        )
        first >> second
    states = run_dag(dag)

    assert states == {"v1": "success", "v2": "success"}
    live = kube_backend.get_object(GROUP, VERSION, PLURAL, NAMESPACE, "wordcount")
    assert live["spec"]["job"]["parallelism"] == 3
    assert live["status"]["observedGeneration"] == live["metadata"]["generation"] == 2
    assert xcom_of(dag, "v2")["job_id"] != xcom_of(dag, "v1")["job_id"]


def test_unchanged_streaming_job_is_not_upgraded_by_a_second_run(kube_backend, simulator, k8s_connection):
    with new_dag() as dag:
        _operator(scenario="streaming", flink_configuration={}, wait_for="running")
    run_dag(dag)
    generation = kube_backend.get_object(GROUP, VERSION, PLURAL, NAMESPACE, "wordcount")["metadata"]["generation"]

    states = run_dag(dag)

    assert states == {"flink": "success"}
    live = kube_backend.get_object(GROUP, VERSION, PLURAL, NAMESPACE, "wordcount")
    assert live["metadata"]["generation"] == generation


def test_wait_for_none_returns_right_after_create(kube_backend, k8s_connection):
    with new_dag() as dag:
        _operator(wait_for="none")

    states = run_dag(dag)

    assert states == {"flink": "success"}
    assert kube_backend.get_object(GROUP, VERSION, PLURAL, NAMESPACE, "wordcount") is not None


def test_labels_and_try_number_annotation_mark_the_task_instance(kube_backend, k8s_connection):
    with new_dag() as dag:
        _operator(wait_for="none")

    run_dag(dag)

    live = kube_backend.get_object(GROUP, VERSION, PLURAL, NAMESPACE, "wordcount")
    labels, annotations = live["metadata"]["labels"], live["metadata"]["annotations"]
    assert labels["airflow.apache.org/dag_id"] == dag.dag_id
    assert labels["airflow.apache.org/task_id"] == "flink"
    assert "airflow.apache.org/run_id" in labels
    assert annotations["airflow.apache.org/try_number"] == "1"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"name": "WordCount"}, "uppercase"),
        ({"name": "a" * 46}, "45"),
        ({"image": None}, "image"),
        ({"flink_version": "v0_9"}, "v2_0"),
        ({"upgrade_mode": "sometimes"}, "upgradeMode"),
        ({"python_file": "/opt/job.py"}, "python_file"),
        ({"application_file": "spec: [unclosed"}, "line"),
        ({"application_file": "missing-spec-file.yaml"}, "missing-spec-file.yaml"),
        ({"application_file": {"spec": {"job": {"parallelism": "many"}}}}, "spec.job.parallelism"),
        ({"application_file": {"spec": {"jobb": {}}}}, "spec.jobb"),
    ],
    ids=[
        "uppercase-name",
        "name-too-long",
        "missing-image",
        "unknown-flink-version",
        "bad-upgrade-mode",
        "jar-and-python",
        "invalid-yaml",
        "missing-file",
        "schema-type-violation",
        "unknown-field",
    ],
)
def test_bad_input_fails_with_a_message_naming_the_problem_and_creates_nothing(
    kube_backend, k8s_connection, capfd, arguments, message
):
    with new_dag() as dag:
        _operator(**arguments)

    states = run_dag(dag)

    assert states == {"flink": "failed"}
    assert message in "".join(capfd.readouterr())
    assert not [r for r in kube_backend.requests if r.verb in ("POST", "PUT", "PATCH")]


SPEC_FILE = """
apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
metadata:
  name: from-file
spec:
  image: flink:2.0
  flinkVersion: v2_0
  serviceAccount: flink
  flinkConfiguration:
    execution.runtime-mode: BATCH
  jobManager:
    resource: {cpu: 1, memory: 1024m}
  taskManager:
    resource: {cpu: 1, memory: 1024m}
  job:
    jarURI: local:///opt/flink/examples/batch/WordCount.jar
    args: ["--run", "{{ run_id }}"]
    parallelism: 1
"""


def test_spec_file_is_rendered_with_jinja_and_typed_arguments_win(kube_backend, simulator, k8s_connection, tmp_path):
    (tmp_path / "wordcount.yaml").write_text(SPEC_FILE)
    with new_dag(template_searchpath=[str(tmp_path)]) as dag:
        FlinkDeploymentOperator(
            task_id="flink", application_file="wordcount.yaml", parallelism=3, poll_interval=0.2, delete_on="never"
        )

    states = run_dag(dag)

    assert states == {"flink": "success"}
    live = kube_backend.get_object(GROUP, VERSION, PLURAL, NAMESPACE, "from-file")
    assert live["spec"]["job"]["args"][0] == "--run" and live["spec"]["job"]["args"][1].startswith("manual__")
    assert live["spec"]["job"]["parallelism"] == 3  # the typed argument wins over the file


def test_flink_web_ui_link_is_rendered_from_the_template(kube_backend, simulator, k8s_connection):
    with new_dag() as dag:
        _operator(flink_ui_url_template="https://flink.example.com/{namespace}/{name}/")

    run_dag(dag)

    expected = f"https://flink.example.com/{NAMESPACE}/wordcount/"
    assert xcom_of(dag, "flink")["flink_ui_url"] == expected
    assert xcom_of(dag, "flink", key="flink_ui_url") == expected
    assert [link.name for link in FlinkDeploymentOperator.operator_extra_links] == ["Flink Web UI"]
