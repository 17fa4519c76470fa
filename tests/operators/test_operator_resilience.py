"""The verdict stays right through API faults, retries, timeouts and kills."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from airflow_support import new_dag, run_dag, xcom_of
from realstack.backends import BACKEND_NAMESPACE as NAMESPACE
from test_flink_deployment_operator import GROUP, PLURAL, VERSION, _operator, _posts

from airflow_provider_flink.testing.kube_emulator import Fault
from airflow_provider_flink.triggers.flink import FlinkJobTrigger


@pytest.mark.parametrize("deferrable", [False, True], ids=["sync", "deferrable"])
@pytest.mark.parametrize(
    "fault",
    [
        Fault(verb="GET", path_regex=r"/flinkdeployments/wordcount$", status=503, count=4),
        Fault(verb="GET", path_regex=r"/flinkdeployments/wordcount$", status=429, count=2, retry_after=0.3),
        Fault(verb="GET", path_regex=r"/flinkdeployments/wordcount$", drop_connection=True, count=2),
        # Longer than one call's retry budget (6 attempts): the wait itself must ride it out. The first GET,
        # made before the create, passes. It covers the wait's LIST and WATCH as well as its GETs.
        Fault(verb="GET", path_regex=f"/namespaces/{NAMESPACE}/{PLURAL}(/wordcount)?$", status=500, count=9, skip=1),
        # The wait's shared watch: its LIST fails, its stream is cut, its version expires.
        Fault(verb="LIST", path_regex=f"/namespaces/{NAMESPACE}/{PLURAL}$", status=503, count=3),
        Fault(verb="WATCH", path_regex=f"/namespaces/{NAMESPACE}/{PLURAL}$", cut_watch_after_events=1, count=3),
        Fault(verb="WATCH", path_regex=f"/namespaces/{NAMESPACE}/{PLURAL}$", status=410, count=1),
    ],
    ids=[
        "503-burst",
        "429-retry-after",
        "dropped-connections",
        "outage-longer-than-retries",
        "list-503",
        "cut-watch",
        "watch-410-gone",
    ],
)
def test_api_faults_during_the_wait_do_not_change_the_verdict(emulator, simulator, k8s_connection, fault, deferrable):
    with new_dag() as dag:
        _operator(deferrable=deferrable)
    emulator.add_fault(fault)

    states = run_dag(dag)

    assert states == {"flink": "success"}
    assert xcom_of(dag, "flink")["state"] == "FINISHED"
    assert fault.hits > 0  # the fault did happen


def test_failed_job_is_rerun_on_retry_without_a_second_create(kube_backend, simulator, k8s_connection):
    with new_dag() as dag:
        _operator(scenario="batch-failure", retries=1, retry_delay=timedelta(seconds=0))

    states = run_dag(dag)

    assert states == {"flink": "failed"}
    live = kube_backend.get_object(GROUP, VERSION, PLURAL, NAMESPACE, "wordcount")
    assert live["spec"]["restartNonce"] == 1  # the retry ran the job again
    assert live["metadata"]["annotations"]["airflow.apache.org/try_number"] == "2"
    assert len(_posts(kube_backend)) == 1


def test_job_that_never_starts_fails_at_the_startup_timeout_and_is_deleted(
    kube_backend, simulator, k8s_connection, capfd
):
    with new_dag() as dag:
        _operator(scenario="reconciling", startup_timeout=1)

    states = run_dag(dag)

    assert states == {"flink": "failed"}
    assert "Startup timeout" in "".join(capfd.readouterr())
    assert kube_backend.get_object(GROUP, VERSION, PLURAL, NAMESPACE, "wordcount") is None


@pytest.mark.parametrize("deferrable", [False, True], ids=["sync", "deferrable"])
def test_execution_timeout_is_honoured_and_the_job_is_suspended_per_policy(
    kube_backend, simulator, k8s_connection, deferrable
):
    # A streaming job never finishes: the task's execution_timeout must end the wait, deferred or not.
    with new_dag() as dag:
        _operator(
            scenario="streaming",
            wait_for="finished",
            on_kill_action="suspend",
            execution_timeout=timedelta(seconds=3),
            deferrable=deferrable,
        )

    states = run_dag(dag)

    assert states == {"flink": "failed"}
    live = kube_backend.get_object(GROUP, VERSION, PLURAL, NAMESPACE, "wordcount")
    assert live["spec"]["job"]["state"] == "suspended"


def test_trigger_survives_serialization_round_trip():
    trigger = FlinkJobTrigger(
        kind="FlinkDeployment",
        name="wordcount",
        namespace=NAMESPACE,
        connection={"config_dict": {"apiVersion": "v1"}, "namespace": NAMESPACE},
        target="finished",
        expected_spec={"image": "flink:2.0"},
        previous_job_id="a" * 32,
        poll_interval=1.5,
        startup_deadline=100.0,
        deadline=200.0,
        on_kill_action="suspend",
    )

    classpath, kwargs = trigger.serialize()
    rebuilt = FlinkJobTrigger(**kwargs)

    assert classpath == "airflow_provider_flink.triggers.flink.FlinkJobTrigger"
    assert rebuilt.serialize() == (classpath, kwargs)


@pytest.mark.parametrize(
    ("action", "expect_deleted"), [("delete", True), ("suspend", False)], ids=["delete", "suspend"]
)
def test_trigger_on_kill_deletes_or_suspends_the_deployment(
    kube_backend, simulator, k8s_connection, action, expect_deleted
):
    # Airflow 3.3 calls the trigger's on_kill when a user kills (marks failed, clears) a deferred task.
    with new_dag() as dag:
        _operator(scenario="streaming", flink_configuration={}, wait_for="none")
    run_dag(dag)
    from airflow_provider_flink.hooks.kubernetes import FlinkKubernetesHook

    trigger = FlinkJobTrigger(
        kind="FlinkDeployment",
        name="wordcount",
        namespace=NAMESPACE,
        connection=FlinkKubernetesHook().get_trigger_connection_kwargs(),
        on_kill_action=action,
    )

    asyncio.run(trigger.on_kill())

    live = kube_backend.get_object(GROUP, VERSION, PLURAL, NAMESPACE, "wordcount")
    if expect_deleted:
        assert live is None or live["metadata"].get("deletionTimestamp")
    else:
        assert live["spec"]["job"]["state"] == "suspended"
