"""Watch streams through the official clients (kubernetes and kubernetes_asyncio)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException
from kubernetes_asyncio import client as async_client
from kubernetes_asyncio import config as async_config
from kubernetes_asyncio import watch as async_watch

from airflow_provider_flink.testing.kube_emulator import KubeEmulator

NS = "default"


def configmap(name: str, **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels}, "data": {"k": "v"}}


def async_configmap(name: str) -> async_client.V1ConfigMap:
    return async_client.V1ConfigMap(metadata=async_client.V1ObjectMeta(name=name), data={"k": "v"})


def events_of(api: client.ApiClient, **kwargs: Any) -> list[tuple[str, str | None, str]]:
    """Watch configmaps until the server-side timeout; (type, name, resourceVersion) of each event."""
    core = client.CoreV1Api(api)
    kwargs.setdefault("timeout_seconds", 1)
    seen = []
    for event in watch.Watch().stream(core.list_namespaced_config_map, NS, **kwargs):
        meta = event["raw_object"]["metadata"]
        seen.append((event["type"], meta.get("name"), meta["resourceVersion"]))
    return seen


def test_watch_without_resource_version_starts_with_existing_objects(kube_api_client: client.ApiClient) -> None:
    core = client.CoreV1Api(kube_api_client)
    core.create_namespaced_config_map(NS, configmap("a"))
    core.create_namespaced_config_map(NS, configmap("b"))

    seen = events_of(kube_api_client)

    assert [(kind, name) for kind, name, _ in seen] == [("ADDED", "a"), ("ADDED", "b")]


def test_watch_from_a_list_resource_version_sends_only_later_changes(kube_api_client: client.ApiClient) -> None:
    core = client.CoreV1Api(kube_api_client)
    core.create_namespaced_config_map(NS, configmap("a"))
    list_rv = core.list_namespaced_config_map(NS).metadata.resource_version
    core.patch_namespaced_config_map("a", NS, {"data": {"k": "changed"}})
    core.create_namespaced_config_map(NS, configmap("b"))
    core.delete_namespaced_config_map("a", NS)

    seen = events_of(kube_api_client, resource_version=list_rv)

    assert [(kind, name) for kind, name, _ in seen] == [("MODIFIED", "a"), ("ADDED", "b"), ("DELETED", "a")]
    versions = [int(rv) for _, _, rv in seen]
    assert versions == sorted(versions) and versions[0] > int(list_rv)


def test_object_leaving_a_label_selection_is_reported_deleted(kube_api_client: client.ApiClient) -> None:
    core = client.CoreV1Api(kube_api_client)
    list_rv = core.list_namespaced_config_map(NS).metadata.resource_version
    core.create_namespaced_config_map(NS, configmap("a", app="flink"))
    core.patch_namespaced_config_map("a", NS, {"metadata": {"labels": {"app": "other"}}})
    core.patch_namespaced_config_map("a", NS, {"metadata": {"labels": {"app": "flink"}}})

    seen = events_of(kube_api_client, resource_version=list_rv, label_selector="app=flink")

    assert [kind for kind, _, _ in seen] == ["ADDED", "DELETED", "ADDED"]


def test_watch_with_field_selector_follows_one_object(kube_api_client: client.ApiClient) -> None:
    core = client.CoreV1Api(kube_api_client)
    list_rv = core.list_namespaced_config_map(NS).metadata.resource_version
    core.create_namespaced_config_map(NS, configmap("a"))
    core.create_namespaced_config_map(NS, configmap("b"))

    seen = events_of(kube_api_client, resource_version=list_rv, field_selector="metadata.name=b")

    assert [(kind, name) for kind, name, _ in seen] == [("ADDED", "b")]


def test_finalizer_removal_of_a_deleting_object_is_a_deleted_event(kube_api_client: client.ApiClient) -> None:
    core = client.CoreV1Api(kube_api_client)
    list_rv = core.list_namespaced_config_map(NS).metadata.resource_version
    body = configmap("f")
    body["metadata"]["finalizers"] = ["example.com/hold"]
    core.create_namespaced_config_map(NS, body)
    core.delete_namespaced_config_map("f", NS)
    core.patch_namespaced_config_map("f", NS, {"metadata": {"finalizers": None}})

    seen = events_of(kube_api_client, resource_version=list_rv)

    assert [kind for kind, _, _ in seen] == ["ADDED", "MODIFIED", "DELETED"]


def test_bookmarks_carry_the_current_resource_version(kube_api_client: client.ApiClient) -> None:
    core = client.CoreV1Api(kube_api_client)
    latest = core.create_namespaced_config_map(NS, configmap("a")).metadata.resource_version

    seen = events_of(kube_api_client, resource_version=latest, allow_watch_bookmarks=True)

    assert seen, "no bookmark was sent"
    assert {kind for kind, _, _ in seen} == {"BOOKMARK"}
    assert all(int(rv) >= int(latest) for _, _, rv in seen)


def test_resuming_from_a_bookmark_loses_no_event(kube_api_client: client.ApiClient) -> None:
    core = client.CoreV1Api(kube_api_client)
    start = core.list_namespaced_config_map(NS).metadata.resource_version
    bookmark_rv = events_of(kube_api_client, resource_version=start, allow_watch_bookmarks=True)[-1][2]
    core.create_namespaced_config_map(NS, configmap("after-bookmark"))

    seen = events_of(kube_api_client, resource_version=bookmark_rv)

    assert [(kind, name) for kind, name, _ in seen] == [("ADDED", "after-bookmark")]


def test_watch_from_an_expired_resource_version_raises_410() -> None:
    with KubeEmulator(event_history=3) as emulator:
        api = config.new_client_from_config_dict(emulator.kubeconfig_dict())
        core = client.CoreV1Api(api)
        old_rv = core.list_namespaced_config_map(NS).metadata.resource_version
        for index in range(5):
            core.create_namespaced_config_map(NS, configmap(f"c{index}"))

        with pytest.raises(ApiException) as error:
            events_of(api, resource_version=old_rv)

        api.close()
    assert error.value.status == 410
    assert "too old resource version" in error.value.reason


def test_list_resource_version_of_a_busy_history_is_still_watchable() -> None:
    with KubeEmulator(event_history=3) as emulator:
        api = config.new_client_from_config_dict(emulator.kubeconfig_dict())
        core = client.CoreV1Api(api)
        for index in range(5):
            core.create_namespaced_config_map(NS, configmap(f"c{index}"))
        list_rv = core.list_namespaced_config_map(NS).metadata.resource_version
        core.delete_namespaced_config_map("c0", NS)

        seen = events_of(api, resource_version=list_rv)

        api.close()
    assert [(kind, name) for kind, name, _ in seen] == [("DELETED", "c0")]


def test_kubernetes_asyncio_watch_receives_live_changes(emulator: KubeEmulator) -> None:
    async def scenario() -> list[tuple[str, str]]:
        async with await async_config.new_client_from_config_dict(emulator.kubeconfig_dict()) as api:
            core = async_client.CoreV1Api(api)
            await core.create_namespaced_config_map(NS, async_configmap("a"))
            seen: list[tuple[str, str]] = []
            stream = async_watch.Watch().stream(core.list_namespaced_config_map, NS, timeout_seconds=10)
            async for event in stream:
                seen.append((event["type"], event["object"].metadata.name))
                if event["type"] == "ADDED":
                    # The watch is registered once its first event arrived: now change the object.
                    await core.patch_namespaced_config_map("a", NS, {"data": {"k": "w"}})
                elif event["type"] == "MODIFIED":
                    await core.delete_namespaced_config_map("a", NS)
                else:
                    break
            return seen

    seen = asyncio.run(scenario())

    assert seen == [("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a")]


def test_kubernetes_asyncio_watch_raises_410_for_an_expired_resource_version() -> None:
    async def scenario(emulator: KubeEmulator) -> int:
        async with await async_config.new_client_from_config_dict(emulator.kubeconfig_dict()) as api:
            core = async_client.CoreV1Api(api)
            old_rv = (await core.list_namespaced_config_map(NS)).metadata.resource_version
            for index in range(4):
                await core.create_namespaced_config_map(NS, async_configmap(f"c{index}"))
            stream = async_watch.Watch().stream(
                core.list_namespaced_config_map, NS, resource_version=old_rv, timeout_seconds=5
            )
            try:
                async for _ in stream:
                    pass
            except async_client.ApiException as exc:
                return exc.status
            return 0

    with KubeEmulator(event_history=2) as emulator:
        status = asyncio.run(scenario(emulator))

    assert status == 410


def test_many_concurrent_watches_each_receive_every_change(emulator: KubeEmulator) -> None:
    watches = 60

    async def scenario() -> list[list[str]]:
        async with await async_config.new_client_from_config_dict(emulator.kubeconfig_dict()) as api:
            core = async_client.CoreV1Api(api)
            await core.create_namespaced_config_map(NS, async_configmap("shared"))
            registered = 0
            all_registered = asyncio.Event()

            async def one_watch() -> list[str]:
                nonlocal registered
                seen: list[str] = []
                stream = async_watch.Watch().stream(core.list_namespaced_config_map, NS, timeout_seconds=20)
                async for event in stream:
                    seen.append(event["type"])
                    if event["type"] == "ADDED":
                        registered += 1
                        if registered == watches:
                            all_registered.set()
                    elif event["type"] == "DELETED":
                        stream.stop()
                return seen

            tasks = [asyncio.create_task(one_watch()) for _ in range(watches)]
            await all_registered.wait()
            await core.patch_namespaced_config_map("shared", NS, {"data": {"k": "x"}})
            await core.delete_namespaced_config_map("shared", NS)
            return await asyncio.gather(*tasks)

    results = asyncio.run(scenario())

    assert results == [["ADDED", "MODIFIED", "DELETED"]] * watches


def test_stopping_the_emulator_ends_open_watches() -> None:
    emulator = KubeEmulator().start()
    api = config.new_client_from_config_dict(emulator.kubeconfig_dict())
    core = client.CoreV1Api(api)
    core.create_namespaced_config_map(NS, configmap("a"))
    stream = watch.Watch().stream(core.list_namespaced_config_map, NS, timeout_seconds=300)

    first = next(stream)
    emulator.stop()
    rest = list(stream)

    api.close()
    assert first["type"] == "ADDED"
    assert rest == []
