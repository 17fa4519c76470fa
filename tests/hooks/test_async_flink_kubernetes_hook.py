"""AsyncFlinkKubernetesHook (kubernetes_asyncio) against the Kubernetes API emulator."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
from kubernetes import client as k8s

from airflow_provider_flink.exceptions import (
    FlinkApiUnavailable,
    FlinkPermissionDenied,
    FlinkResourceNotFound,
    FlinkWatchExpired,
)
from airflow_provider_flink.hooks.kubernetes import AsyncFlinkKubernetesHook, FlinkKubernetesHook
from airflow_provider_flink.hooks.retry import RetryPolicy

if TYPE_CHECKING:
    from airflow_provider_flink.testing.kube_emulator import KubeEmulator

NAMESPACE = "flink-jobs"  # the kube_conn fixture's namespace extra
FD_PATH = f"/apis/flink.apache.org/v1beta1/namespaces/{NAMESPACE}/flinkdeployments"
T = TypeVar("T")
Body = Callable[..., dict[str, Any]]


@pytest.fixture
def run_async(kube_backend: Any, async_sleeps: Any, fast_retries: RetryPolicy) -> Callable[..., Any]:
    """Run ``scenario(hook)`` in a fresh event loop with an async hook on the backend; close it after."""

    def run(scenario: Callable[[AsyncFlinkKubernetesHook], Awaitable[T]], **overrides: Any) -> T:
        kwargs: dict[str, Any] = {
            "config_dict": kube_backend.provider_kubeconfig(),
            "namespace": NAMESPACE,
            "retry_policy": fast_retries,
            "request_timeout": (2.0, 5.0),
            "sleep": async_sleeps,
            **overrides,
        }

        async def main() -> T:
            async with AsyncFlinkKubernetesHook(**kwargs) as hook:
                return await scenario(hook)

        return asyncio.run(main())

    return run


def _gets(emulator: KubeEmulator, path: str) -> list[Any]:
    return [r for r in emulator.requests if r.method == "GET" and r.path == path]


def test_reads_resources_status_and_lists(
    run_async: Callable[..., Any], hook: FlinkKubernetesHook, flink_deployment: Body
) -> None:
    labelled = flink_deployment("wordcount")
    labelled["metadata"]["labels"]["task_id"] = "run"
    hook.create_resource(labelled)
    hook.create_resource(flink_deployment("other"))

    async def scenario(hook: AsyncFlinkKubernetesHook) -> tuple[Any, ...]:
        return (
            await hook.get_resource("FlinkDeployment", "wordcount"),
            await hook.get_resource("FlinkDeployment", "ghost"),
            await hook.get_status("FlinkDeployment", "wordcount"),
            await hook.list_resources("flinkdeployments", label_selector="task_id=run"),
        )

    found, missing, status, listed = run_async(scenario)

    assert found["metadata"]["name"] == "wordcount"
    assert missing is None
    assert status == {}
    assert [item["metadata"]["name"] for item in listed] == ["wordcount"]


def test_status_of_a_missing_resource_raises_not_found(run_async: Callable[..., Any]) -> None:
    async def scenario(hook: AsyncFlinkKubernetesHook) -> None:
        await hook.get_status("FlinkSessionJob", "ghost")

    with pytest.raises(FlinkResourceNotFound, match=f"FlinkSessionJob {NAMESPACE}/ghost"):
        run_async(scenario)


def test_one_api_client_serves_every_call_of_the_hook(run_async: Callable[..., Any]) -> None:
    async def scenario(hook: AsyncFlinkKubernetesHook) -> list[int]:
        clients = []
        for _ in range(3):
            await hook.get_resource("FlinkDeployment", "ghost")
            clients.append(id(hook._client))
        return clients

    clients = run_async(scenario)

    assert len(set(clients)) == 1


def test_flink_rest_get_goes_through_the_service_proxy(
    run_async: Callable[..., Any], flink_rest: list[tuple[str, str]]
) -> None:
    async def scenario(hook: AsyncFlinkKubernetesHook) -> Any:
        return await hook.flink_rest("GET", "wc", "/v1/jobs/overview")

    assert run_async(scenario) == {"jobs": [{"jid": "abc", "name": "wc", "state": "RUNNING"}]}
    assert flink_rest == [("GET", "/v1/jobs/overview")]


def test_pod_log_and_warning_events(
    run_async: Callable[..., Any], hook: FlinkKubernetesHook, emulator: KubeEmulator
) -> None:
    core = k8s.CoreV1Api(hook.api_client)
    core.create_namespaced_pod(
        NAMESPACE,
        {
            "metadata": {"name": "wc-jm", "labels": {"app": "wc", "component": "jobmanager"}},
            "spec": {"containers": [{"name": "flink-main-container", "image": "flink:1.20"}]},
        },
    )
    emulator.set_pod_log(NAMESPACE, "wc-jm", "".join(f"line {i}\n" for i in range(50)))
    for name, event_type in (("e1", "Normal"), ("e2", "Warning")):
        core.create_namespaced_event(
            NAMESPACE,
            {
                "metadata": {"name": name},
                "involvedObject": {"kind": "FlinkDeployment", "name": "wc", "namespace": NAMESPACE},
                "type": event_type,
                "reason": f"{event_type}Reason",
                "message": "m",
            },
        )

    async def scenario(hook: AsyncFlinkKubernetesHook) -> tuple[Any, ...]:
        return (
            await hook.find_jobmanager_pods("wc"),
            await hook.read_pod_log("wc-jm", tail_lines=2),
            await hook.list_events("wc", kind="FlinkDeployment", warning_only=True),
        )

    pods, log, warnings = run_async(scenario)

    assert [pod["metadata"]["name"] for pod in pods] == ["wc-jm"]
    assert log == "line 48\nline 49\n"
    assert [event["reason"] for event in warnings] == ["WarningReason"]


# -- transient failures and errors --------------------------------------------------------------


def test_503_burst_and_throttling_are_retried_with_the_shared_policy(
    run_async: Callable[..., Any], emulator: KubeEmulator, async_sleeps: Any
) -> None:
    from airflow_provider_flink.testing.kube_emulator import Fault

    emulator.add_fault(Fault(verb="LIST", path_regex="flinkdeployments", status=503, count=2))
    emulator.add_fault(Fault(verb="LIST", path_regex="flinkdeployments", status=429, retry_after=3.0))

    async def scenario(hook: AsyncFlinkKubernetesHook) -> Any:
        return await hook.list_resources("FlinkDeployment")

    assert run_async(scenario) == []
    assert async_sleeps.waits[:2] == [0.01, 0.02]
    assert async_sleeps.waits[2] >= 3.0
    assert [r.status for r in _gets(emulator, FD_PATH)] == [503, 503, 429, 200]


def test_dropped_connections_are_retried(
    run_async: Callable[..., Any],
    emulator: KubeEmulator,
    async_sleeps: Any,
    hook: FlinkKubernetesHook,
    flink_deployment: Body,
) -> None:
    from airflow_provider_flink.testing.kube_emulator import Fault

    hook.create_resource(flink_deployment("wobbly"))
    emulator.add_fault(Fault(verb="GET", path_regex="flinkdeployments/wobbly", drop_connection=True, count=2))

    async def scenario(hook: AsyncFlinkKubernetesHook) -> Any:
        return await hook.get_resource("FlinkDeployment", "wobbly")

    obj = run_async(scenario)

    assert obj["metadata"]["name"] == "wobbly"
    assert [r.status for r in _gets(emulator, f"{FD_PATH}/wobbly")] == [0, 0, 200]
    # aiohttp itself re-sends an idempotent request once after a disconnect; the policy covers the rest.
    assert len(async_sleeps.waits) == 1


def test_answer_slower_than_the_request_timeout_is_retried(
    run_async: Callable[..., Any],
    emulator: KubeEmulator,
    async_sleeps: Any,
    hook: FlinkKubernetesHook,
    flink_deployment: Body,
) -> None:
    from airflow_provider_flink.testing.kube_emulator import Fault

    hook.create_resource(flink_deployment("slow"))
    emulator.add_fault(Fault(verb="GET", path_regex="flinkdeployments/slow", latency=1.0))

    async def scenario(hook: AsyncFlinkKubernetesHook) -> Any:
        return await hook.get_resource("FlinkDeployment", "slow")

    obj = run_async(scenario, request_timeout=(2.0, 0.3))

    assert obj["metadata"]["name"] == "slow"
    assert len(async_sleeps.waits) == 1


def test_persistent_500_gives_up_with_a_clear_error(run_async: Callable[..., Any], emulator: KubeEmulator) -> None:
    from airflow_provider_flink.testing.kube_emulator import Fault

    emulator.add_fault(Fault(verb="GET", path_regex="flinkdeployments/sick", status=500, count=None))

    async def scenario(hook: AsyncFlinkKubernetesHook) -> Any:
        return await hook.get_resource("FlinkDeployment", "sick")

    with pytest.raises(FlinkApiUnavailable) as raised:
        run_async(scenario)

    assert f"FlinkDeployment {NAMESPACE}/sick" in str(raised.value)
    assert "HTTP 500" in str(raised.value)
    assert "gave up after 4 attempts" in str(raised.value)
    assert len(_gets(emulator, f"{FD_PATH}/sick")) == 4


def test_forbidden_read_names_object_status_and_server_message(
    run_async: Callable[..., Any], emulator: KubeEmulator
) -> None:
    from airflow_provider_flink.testing.kube_emulator import Fault

    emulator.add_fault(Fault(verb="GET", path_regex="flinkdeployments/secret", status=403, message="nope: RBAC"))

    async def scenario(hook: AsyncFlinkKubernetesHook) -> Any:
        return await hook.get_resource("FlinkDeployment", "secret")

    with pytest.raises(FlinkPermissionDenied) as raised:
        run_async(scenario)

    assert raised.value.status == 403
    assert f"FlinkDeployment {NAMESPACE}/secret: HTTP 403" in str(raised.value)
    assert "nope: RBAC" in str(raised.value)


# -- watch --------------------------------------------------------------------------------------


async def _collect(hook: AsyncFlinkKubernetesHook, count: int, **watch_kwargs: Any) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    async with contextlib.aclosing(hook.watch_resources("FlinkDeployment", **watch_kwargs)) as events:
        async for event_type, obj in events:
            seen.append((event_type, obj["metadata"]["name"]))
            if len(seen) == count:
                break
    return seen


def test_watch_from_a_list_version_yields_later_changes_in_order(
    run_async: Callable[..., Any], hook: FlinkKubernetesHook, flink_deployment: Body
) -> None:
    hook.create_resource(flink_deployment("before"))

    async def scenario(async_hook: AsyncFlinkKubernetesHook) -> list[tuple[str, str]]:
        _, version = await async_hook.list_resources_with_version("FlinkDeployment")
        hook.create_resource(flink_deployment("after"))
        hook.patch_resource("FlinkDeployment", "after", {"spec": {"job": {"state": "suspended"}}})
        return await _collect(async_hook, 2, resource_version=version, timeout_seconds=10)

    assert run_async(scenario) == [("ADDED", "after"), ("MODIFIED", "after")]


def test_watch_resumes_after_a_cut_stream_without_repeating_events(
    run_async: Callable[..., Any], hook: FlinkKubernetesHook, emulator: KubeEmulator, flink_deployment: Body
) -> None:
    from airflow_provider_flink.testing.kube_emulator import Fault

    emulator.add_fault(Fault(verb="WATCH", path_regex="flinkdeployments", cut_watch_after_events=1))

    async def scenario(async_hook: AsyncFlinkKubernetesHook) -> list[tuple[str, str]]:
        _, version = await async_hook.list_resources_with_version("FlinkDeployment")
        for name in ("a", "b", "c"):
            hook.create_resource(flink_deployment(name))
        return await _collect(async_hook, 3, resource_version=version, timeout_seconds=10)

    assert run_async(scenario) == [("ADDED", "a"), ("ADDED", "b"), ("ADDED", "c")]
    # The emulator records a watch when its stream ends, which for the resumed one is just after the client let go.
    deadline = time.monotonic() + 10
    while len(watches := [r for r in emulator.requests if r.verb == "WATCH"]) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(watches) == 2
    first_added = emulator.get_object("flink.apache.org", "v1beta1", "flinkdeployments", NAMESPACE, "a")
    assert first_added is not None
    assert watches[1].query["resourceVersion"] == first_added["metadata"]["resourceVersion"]


def test_watch_ends_quietly_when_its_time_is_up(run_async: Callable[..., Any]) -> None:
    async def scenario(hook: AsyncFlinkKubernetesHook) -> list[tuple[str, str]]:
        return await _collect(hook, 1, timeout_seconds=1)

    assert run_async(scenario) == []


def test_watch_from_an_expired_version_raises_watch_expired(flink_deployment: Body) -> None:
    from airflow_provider_flink.testing.kube_emulator import KubeEmulator

    with KubeEmulator(event_history=2) as emulator:
        writer = FlinkKubernetesHook(kubernetes_conn_id=None, config_dict=emulator.kubeconfig_dict(), namespace="ns")
        first = writer.create_resource(flink_deployment("e0"))
        for index in range(1, 5):
            writer.create_resource(flink_deployment(f"e{index}"))

        async def main() -> list[tuple[str, str]]:
            async with AsyncFlinkKubernetesHook(config_dict=emulator.kubeconfig_dict(), namespace="ns") as hook:
                return await _collect(hook, 1, resource_version=first["metadata"]["resourceVersion"], timeout_seconds=5)

        with pytest.raises(FlinkWatchExpired) as raised:
            asyncio.run(main())

    assert raised.value.status == 410
    assert "too old resource version" in str(raised.value)
