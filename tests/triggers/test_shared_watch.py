"""
Waits on custom resources share one LIST + WATCH per connection, namespace and kind, and lose nothing when the
watch is cut, expires (410 Gone) or cannot be opened (they fall back to one GET per poll interval).

Real triggers, the official async client and the emulator; the simulated Flink operator moves the jobs.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from kubernetes import client

from airflow_provider_flink.testing.flink_operator_simulator import FlinkOperatorSimulator
from airflow_provider_flink.testing.kube_emulator import Fault, KubeEmulator
from airflow_provider_flink.triggers import shared_watch
from airflow_provider_flink.triggers.flink import FlinkJobTrigger, first_event
from airflow_provider_flink.triggers.shared_watch import shared_hook, watched

NAMESPACE = "flink-jobs"
PLURAL_PATH = f"/apis/flink.apache.org/v1beta1/namespaces/{NAMESPACE}/flinkdeployments"
#: Longer than any simulated lifecycle: a wait that ends quickly was woken by the watch, not by its poll.
SLOW_POLL = 30.0


def _body(name: str, scenario: str) -> dict[str, Any]:
    return {
        "apiVersion": "flink.apache.org/v1beta1",
        "kind": "FlinkDeployment",
        "metadata": {"name": name, "annotations": {"flink-simulator/scenario": scenario}},
        "spec": {
            "image": "flink:2.0",
            "flinkVersion": "v2_0",
            "serviceAccount": "flink",
            "flinkConfiguration": {"execution.runtime-mode": "BATCH"},
            "jobManager": {"resource": {"cpu": 1, "memory": "1024m"}},
            "taskManager": {"resource": {"cpu": 1, "memory": "1024m"}},
            "job": {"jarURI": "local:///opt/flink/usrlib/job.jar", "parallelism": 1, "upgradeMode": "stateless"},
        },
    }


def _create(admin_api_client: Any, names: list[str], scenario: str = "batch-success") -> None:
    api = client.CustomObjectsApi(admin_api_client)
    for name in names:
        api.create_namespaced_custom_object(
            "flink.apache.org", "v1beta1", NAMESPACE, "flinkdeployments", _body(name, scenario)
        )


def _trigger(backend: Any, name: str, poll_interval: float = SLOW_POLL, **kwargs: Any) -> FlinkJobTrigger:
    """A trigger as the provider's identity (an emulator, or a backend of tests/realstack/backends.py)."""
    config = backend.provider_kubeconfig() if hasattr(backend, "provider_kubeconfig") else backend.kubeconfig_dict()
    connection = {"config_dict": config, "namespace": NAMESPACE}
    return FlinkJobTrigger(
        kind="FlinkDeployment",
        name=name,
        namespace=NAMESPACE,
        connection=connection,
        poll_interval=poll_interval,
        **kwargs,
    )


def _wait_all(triggers: list[FlinkJobTrigger], timeout: float = 60.0) -> list[dict[str, Any]]:
    async def main() -> list[dict[str, Any]]:
        events = await asyncio.wait_for(asyncio.gather(*(first_event(t) for t in triggers)), timeout)
        shared = shared_watch._shared()
        assert not shared.hooks and not shared.watches, "the last wait must close what the waits shared"
        return list(events)

    return asyncio.run(main())


def _count(emulator: KubeEmulator, verb: str, path: str = PLURAL_PATH, status: int | None = 200) -> int:
    return sum(
        1
        for r in emulator.requests
        if r.verb == verb and r.path.startswith(path) and (status is None or r.status == status)
    )


def _watches(emulator: KubeEmulator, at_least: int) -> int:
    """WATCH requests made; the emulator records one when its stream ends, a moment after the client left."""
    deadline = time.monotonic() + 10
    while _count(emulator, "WATCH", status=None) < at_least and time.monotonic() < deadline:
        time.sleep(0.05)
    return _count(emulator, "WATCH", status=None)


def _named_gets(emulator: KubeEmulator) -> int:
    return sum(1 for r in emulator.requests if r.verb == "GET" and r.path.startswith(PLURAL_PATH + "/"))


def test_many_waits_share_one_list_and_one_watch_and_make_no_get(kube_backend, simulator, admin_api_client):
    names = [f"job-{i}" for i in range(20)]
    _create(admin_api_client, names)
    kube_backend.clear_requests()

    events = _wait_all([_trigger(kube_backend, name) for name in names])

    assert [e["status"] for e in events] == ["success"] * 20
    assert {e["job_state"] for e in events} == {"FINISHED"}
    assert _count(kube_backend, "LIST") == 1
    assert _watches(kube_backend, at_least=1) == 1
    assert _named_gets(kube_backend) == 0


def test_cut_watches_resume_from_their_version_without_losing_an_event(emulator, simulator, admin_api_client):
    names = [f"job-{i}" for i in range(8)]
    _create(admin_api_client, names)
    fault = emulator.add_fault(Fault(verb="WATCH", path_regex=f"{PLURAL_PATH}$", cut_watch_after_events=2, count=4))

    events = _wait_all([_trigger(emulator, name) for name in names])

    assert [e["status"] for e in events] == ["success"] * 8
    assert fault.hits == 4
    assert _count(emulator, "LIST") == 1  # resumed from the last version: no relist
    assert _watches(emulator, at_least=5) >= 5


def test_watch_expired_with_410_gone_lists_again_and_every_wait_ends(emulator, simulator, admin_api_client):
    names = [f"job-{i}" for i in range(5)]
    _create(admin_api_client, names)
    fault = emulator.add_fault(Fault(verb="WATCH", path_regex=f"{PLURAL_PATH}$", status=410, count=1))

    events = _wait_all([_trigger(emulator, name) for name in names])

    assert [e["status"] for e in events] == ["success"] * 5
    assert fault.hits == 1
    assert _count(emulator, "LIST") == 2


def test_waits_fall_back_to_one_get_per_poll_when_the_watch_is_not_allowed(emulator, simulator, admin_api_client):
    names = ["job-a", "job-b", "job-c"]
    _create(admin_api_client, names, scenario="batch-failure")
    emulator.add_fault(Fault(verb="LIST", path_regex="/flinkdeployments$", status=403, count=None))

    events = _wait_all([_trigger(emulator, name, poll_interval=0.2) for name in names])

    assert [e["status"] for e in events] == ["failed"] * 3
    assert _count(emulator, "LIST", status=403) >= 1
    assert _named_gets(emulator) >= 3


def test_watch_comes_back_after_a_failed_list_and_wakes_its_waits(emulator, admin_api_client):
    _create(admin_api_client, ["job-a"])
    emulator.add_fault(Fault(verb="LIST", path_regex="/flinkdeployments$", status=403, count=1))
    connection = {"config_dict": emulator.kubeconfig_dict(), "namespace": NAMESPACE}

    async def main() -> tuple[bool, bool, int]:
        async with (
            shared_hook(connection) as hook,
            watched(connection, hook, "FlinkDeployment", NAMESPACE, "job-a") as view,
        ):
            await view.watch.settled.wait()
            live_at_first = view.live
            while not view.live:  # woken by the relist; bounded by the wait_for below
                await view.changed(5.0)
            return live_at_first, (await view.cached(0.0)) is not None, view.watch.lists

    live_at_first, cached, lists = asyncio.run(asyncio.wait_for(main(), 30))

    assert (live_at_first, cached, lists) == (False, True, 2)


def test_deleting_the_resource_ends_the_wait_with_an_error(kube_backend, admin_api_client):
    # No simulated operator: no finalizer, so the object vanishes at once (a finalizer shows "being deleted").

    _create(admin_api_client, ["job-a"], scenario="streaming")

    async def main() -> dict[str, Any]:
        wait = asyncio.ensure_future(first_event(_trigger(kube_backend, "job-a")))
        while not any(watch.live for watch, _ in shared_watch._shared().watches.values()):
            await asyncio.sleep(0.05)
        await asyncio.to_thread(
            client.CustomObjectsApi(admin_api_client).delete_namespaced_custom_object,
            "flink.apache.org",
            "v1beta1",
            NAMESPACE,
            "flinkdeployments",
            "job-a",
        )
        return await asyncio.wait_for(wait, 30)

    event = asyncio.run(main())

    assert event["status"] == "error"
    assert "no longer exists" in event["message"]


def test_each_namespace_has_its_own_watch(emulator, simulator, admin_api_client):
    _create(admin_api_client, ["job-a"])
    other = "flink-other"
    client.CustomObjectsApi(admin_api_client).create_namespaced_custom_object(
        "flink.apache.org", "v1beta1", other, "flinkdeployments", _body("job-a", "batch-success")
    )
    emulator.clear_requests()
    connection = {"config_dict": emulator.kubeconfig_dict(), "namespace": NAMESPACE}
    triggers = [
        _trigger(emulator, "job-a"),
        FlinkJobTrigger(
            kind="FlinkDeployment", name="job-a", namespace=other, connection=connection, poll_interval=SLOW_POLL
        ),
    ]

    events = _wait_all(triggers)

    assert [e["namespace"] for e in events] == [NAMESPACE, other]
    assert [e["status"] for e in events] == ["success", "success"]
    lists = [
        r.path
        for r in emulator.requests
        if r.verb == "LIST" and "/namespaces/" in r.path and r.path.endswith("/flinkdeployments")
    ]
    assert sorted(lists) == sorted([PLURAL_PATH, PLURAL_PATH.replace(NAMESPACE, other)])


def test_waits_end_when_the_history_is_compacted_under_their_watch(kube_backend, admin_api_client):
    """On the real control plane the API server also restarts (etcd compacted, watch cache gone): the cut watch
    cannot resume from its version (410 Gone), lists again, and every wait still gets its event."""
    names = [f"job-{i}" for i in range(3)]
    _create(admin_api_client, names)

    async def main() -> list[dict[str, Any]]:
        waits = [asyncio.ensure_future(first_event(_trigger(kube_backend, name))) for name in names]
        while not any(watch.live for watch, _ in shared_watch._shared().watches.values()):
            await asyncio.sleep(0.05)
        await asyncio.to_thread(kube_backend.compact)
        with FlinkOperatorSimulator(kube_backend.admin_kubeconfig(), step_seconds=0.05):
            return list(await asyncio.wait_for(asyncio.gather(*waits), 90))

    events = asyncio.run(main())

    assert [e["status"] for e in events] == ["success"] * 3
