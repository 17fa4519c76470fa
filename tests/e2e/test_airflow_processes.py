"""
The example DAGs in real Airflow 3 processes, driven through Airflow's REST API as a user would.

One Airflow (API server, scheduler, DAG processor, triggerer, as the playground starts them: small parallelism,
free ports, 127.0.0.1) runs for the whole module against the Kubernetes API emulator and the Flink operator
simulator. Every run is triggered with ``POST /api/v2/dags/{dag_id}/dagRuns`` and followed through the task
instances endpoint: the runs succeed with every task on its first try (the examples retry once; a first try lost
to Airflow 3.3's stale defer-exit race, apache/airflow#72716, must not hide behind that retry), deferrable tasks
really pass through the triggerer (state ``deferred`` observed, the trigger's own log file written), and a
failing Flink job fails its run with Flink's error in the task log served by the API.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from airflow_support import airflow_3

from airflow_provider_flink.testing import flink_operator_simulator
from airflow_provider_flink.testing.flink_operator_simulator import FlinkOperatorSimulator
from airflow_provider_flink.testing.kube_emulator import KubeEmulator
from airflow_provider_flink.testing.playground import NAMESPACE, airflow_processes

pytestmark = [
    pytest.mark.skipif(not airflow_3(), reason="drives Airflow 3's REST API (/api/v2, /auth/token) and processes"),
    pytest.mark.timeout(400),
]

RUN_TIMEOUT = 180
STEP_SECONDS = 0.3
#: Simulated batch jobs run for about 12 s: longer than the scheduler takes to start the sensor after the submit
#: task, so the sensor finds the job still running and must defer (a sensor whose job already ended returns at once).
BATCH_RUNNING_STEPS = 40
FLINK_ERROR = "java.lang.IllegalStateException: e2e disk full on /data"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class AirflowApi:
    """A small client of Airflow 3's REST API with a token from ``POST /auth/token``."""

    base_url: str
    airflow_home: Path
    token: str = ""
    #: Every task instance state seen while polling, per (dag_id, run_id, task_id).
    seen_states: dict[tuple[str, str, str], set[str]] = field(default_factory=dict)

    def request(self, method: str, path: str, body: Any = None, auth: bool = True) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def log_in(self) -> None:
        passwords = json.loads((self.airflow_home / "simple_auth_manager_passwords.json.generated").read_text())
        answer = self.request("POST", "/auth/token", {"username": "admin", "password": passwords["admin"]}, auth=False)
        self.token = answer["access_token"]

    def trigger(self, dag_id: str, run_id: str, conf: dict[str, Any] | None = None) -> str:
        self.request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
        body = {"dag_run_id": run_id, "logical_date": None, "conf": conf or {}}
        return str(self.request("POST", f"/api/v2/dags/{dag_id}/dagRuns", body)["dag_run_id"])

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        answer = self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances")
        return list(answer["task_instances"])

    def wait_for_runs(self, runs: list[tuple[str, str]], timeout: float) -> dict[tuple[str, str], str]:
        """Poll the runs until all ended, recording every task instance state on the way."""
        states: dict[tuple[str, str], str] = {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(states) < len(runs):
            for dag_id, run_id in runs:
                if (dag_id, run_id) in states:
                    continue
                for ti in self.task_instances(dag_id, run_id):
                    self.seen_states.setdefault((dag_id, run_id, ti["task_id"]), set()).add(str(ti["state"]))
                state = self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")["state"]
                if state in ("success", "failed"):
                    states[(dag_id, run_id)] = state
            time.sleep(0.5)
        return states

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}?full_content=true"
        return json.dumps(self.request("GET", path))


@dataclass
class Stack:
    api: AirflowApi
    emulator: KubeEmulator
    airflow_home: Path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("airflow-processes")
    port = _free_port()
    with pytest.MonkeyPatch.context() as patch, KubeEmulator() as emulator:
        patch.setattr(flink_operator_simulator, "DEFAULT_RUNNING_STEPS", BATCH_RUNNING_STEPS)
        kubeconfig = emulator.write_kubeconfig(str(workdir / "kubeconfig"), namespace=NAMESPACE)
        with (
            FlinkOperatorSimulator(kubeconfig, step_seconds=STEP_SECONDS),
            airflow_processes(workdir, kubeconfig, port) as airflow,
        ):
            try:
                airflow.wait_ready(("flink_submit_then_sense", "flink_session_job", "flink_job_from_ui"), timeout=240)
            except SystemExit as error:
                pytest.fail(str(error))
            api = AirflowApi(airflow.ui_url, airflow.home)
            api.log_in()
            yield Stack(api, emulator, airflow.home)


@pytest.fixture(scope="module")
def example_runs(stack: Stack) -> dict[tuple[str, str], str]:
    """The three examples and a failing run of the UI DAG, triggered together and followed to their end."""
    runs = [
        ("flink_submit_then_sense", stack.api.trigger("flink_submit_then_sense", "e2e_sensed")),
        ("flink_session_job", stack.api.trigger("flink_session_job", "e2e_session")),
        (
            "flink_job_from_ui",
            stack.api.trigger(
                "flink_job_from_ui", "e2e_ui_conf", {"name_prefix": "e2e", "parallelism": 2, "mode": "streaming"}
            ),
        ),
        (
            "flink_job_from_ui",
            stack.api.trigger(
                "flink_job_from_ui",
                "e2e_ui_failure",
                {
                    "name_prefix": "e2e-fail",
                    "annotations": {
                        "flink-simulator/scenario": "batch-failure",
                        "flink-simulator/failure-message": FLINK_ERROR,
                    },
                },
            ),
        ),
    ]
    return stack.api.wait_for_runs(runs, RUN_TIMEOUT)


def _trigger_logs(stack: Stack, dag_id: str, run_id: str, task_id: str) -> list[Path]:
    folder = stack.airflow_home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
    return sorted(folder.glob("*.log.trigger.*.log"))


@pytest.mark.parametrize(
    ("dag_id", "run_id"),
    [
        ("flink_submit_then_sense", "e2e_sensed"),
        ("flink_session_job", "e2e_session"),
        ("flink_job_from_ui", "e2e_ui_conf"),
    ],
)
def test_example_run_triggered_through_the_rest_api_succeeds(example_runs, dag_id, run_id):
    assert example_runs.get((dag_id, run_id)) == "success"


@pytest.mark.parametrize(
    ("dag_id", "run_id", "task_id"),
    [
        ("flink_submit_then_sense", "e2e_sensed", "wait_until_finished"),
        ("flink_session_job", "e2e_session", "session_cluster"),
        ("flink_session_job", "e2e_session", "session_job"),
        ("flink_job_from_ui", "e2e_ui_conf", "run_job"),
    ],
)
def test_deferrable_task_waited_in_the_triggerer_process(stack, example_runs, dag_id, run_id, task_id):
    assert example_runs.get((dag_id, run_id)) == "success"
    assert "deferred" in stack.api.seen_states[(dag_id, run_id, task_id)]
    assert _trigger_logs(stack, dag_id, run_id, task_id), "the triggerer wrote no log for this task"


@pytest.mark.parametrize(
    ("dag_id", "run_id"),
    [
        ("flink_submit_then_sense", "e2e_sensed"),
        ("flink_session_job", "e2e_session"),
        ("flink_job_from_ui", "e2e_ui_conf"),
    ],
)
def test_every_task_of_a_successful_run_succeeded_on_its_first_try(stack, example_runs, dag_id, run_id):
    # A try number above 1 is a first try lost (the examples retry once): e.g. to Airflow 3.3's stale defer-exit
    # race, which the trigger's deferral hold prevents.
    assert example_runs.get((dag_id, run_id)) == "success"

    tries = {ti["task_id"]: ti["try_number"] for ti in stack.api.task_instances(dag_id, run_id)}

    assert tries and set(tries.values()) == {1}, tries


def test_ui_dag_conf_reached_the_flink_deployment_spec(stack, example_runs):
    assert example_runs.get(("flink_job_from_ui", "e2e_ui_conf")) == "success"

    [deployment] = [
        obj
        for obj in stack.emulator.list_objects("flink.apache.org", "v1beta1", "flinkdeployments")
        if obj["metadata"]["annotations"].get("airflow.apache.org/run_id") == "e2e_ui_conf"
    ]  # streaming: it keeps running after the task
    assert deployment["metadata"]["name"].startswith("e2e-")
    assert deployment["spec"]["job"]["parallelism"] == 2  # an int from the trigger form's conf
    assert deployment["spec"]["flinkConfiguration"]["execution.runtime-mode"] == "STREAMING"


def test_failed_flink_job_fails_the_run_with_flinks_error_in_the_task_log(stack, example_runs):
    assert example_runs.get(("flink_job_from_ui", "e2e_ui_failure")) == "failed"
    log = stack.api.task_log("flink_job_from_ui", "e2e_ui_failure", "run_job")

    assert FLINK_ERROR in log
    # A failed batch job is kept for debugging (delete_on defaults to success for batch).
    kept = [
        obj["metadata"]["name"]
        for obj in stack.emulator.list_objects("flink.apache.org", "v1beta1", "flinkdeployments")
        if obj["metadata"]["name"].startswith("e2e-fail-")
    ]
    assert len(kept) == 1
