"""The native mode of FlinkJobTrigger (serialization, on_kill) and the operator's on_kill, on stand-in objects."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, config
from native_support import NAMESPACE

from airflow_provider_flink.operators.flink_native import FlinkNativeSubmitOperator
from airflow_provider_flink.triggers.flink import NATIVE_KIND, FlinkJobTrigger


@pytest.fixture
def core_and_apps(emulator) -> Iterator[tuple[client.CoreV1Api, client.AppsV1Api]]:
    api = config.new_client_from_config_dict(emulator.kubeconfig_dict())
    yield client.CoreV1Api(api), client.AppsV1Api(api)
    api.close()


def _native_cluster(core: client.CoreV1Api, apps: client.AppsV1Api, cluster_id: str) -> None:
    """What `flink run` leaves behind, reduced to what deletion concerns, plus the HA ConfigMaps Flink writes."""
    labels = {"app": cluster_id, "component": "jobmanager", "type": "flink-native-kubernetes"}
    apps.create_namespaced_deployment(
        NAMESPACE,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": cluster_id, "labels": labels},
            "spec": {
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "flink-main-container", "image": "flink:2.3"}]},
                },
            },
        },
    )
    ha = {"app": cluster_id, "configmap-type": "high-availability", "type": "flink-native-kubernetes"}
    for name, cm_labels in (
        (f"{cluster_id}-cluster-config-map", ha),
        (f"{cluster_id}-00000000000000000000000000000000-config-map", ha),
        ("unrelated", {"app": "other"}),
    ):
        core.create_namespaced_config_map(NAMESPACE, {"metadata": {"name": name, "labels": cm_labels}, "data": {}})


def _left(emulator, cluster_id: str) -> dict[str, Any]:
    return {
        "deployment": emulator.get_object("apps", "v1", "deployments", NAMESPACE, cluster_id) is not None,
        "configmaps": sorted(c["metadata"]["name"] for c in emulator.list_objects("", "v1", "configmaps", NAMESPACE)),
    }


def test_native_trigger_survives_serialization():
    trigger = FlinkJobTrigger(
        kind=NATIVE_KIND,
        name="wc",
        namespace=NAMESPACE,
        connection={"config_dict": {"apiVersion": "v1"}, "namespace": NAMESPACE},
        target="finished",
        poll_interval=0.5,
        startup_deadline=100.0,
        deadline=200.0,
        on_kill_action="delete",
    )

    classpath, kwargs = trigger.serialize()

    assert FlinkJobTrigger(**kwargs).serialize() == (classpath, kwargs)
    assert trigger.resource == f"Flink application cluster {NAMESPACE}/wc"


def test_trigger_on_kill_deletes_the_native_cluster_and_its_ha_configmaps(emulator, core_and_apps):
    # Airflow 3.3 calls the trigger's on_kill when a user kills a deferred task.
    _native_cluster(core_and_apps[0], core_and_apps[1], "wc")
    trigger = FlinkJobTrigger(
        kind=NATIVE_KIND,
        name="wc",
        namespace=NAMESPACE,
        connection={"config_dict": emulator.kubeconfig_dict(), "namespace": NAMESPACE},
        on_kill_action="delete",
    )

    asyncio.run(trigger.on_kill())

    assert _left(emulator, "wc") == {"deployment": False, "configmaps": ["unrelated"]}


def test_operator_on_kill_deletes_the_cluster_it_submitted(emulator, core_and_apps, k8s_connection):
    _native_cluster(core_and_apps[0], core_and_apps[1], "wc")
    operator = FlinkNativeSubmitOperator(task_id="flink", image="flink:2.3", jar_uri="local:///opt/job.jar")
    operator._cluster = ("wc", NAMESPACE)  # set by execute once the cluster is known

    operator.on_kill()

    assert _left(emulator, "wc") == {"deployment": False, "configmaps": ["unrelated"]}
