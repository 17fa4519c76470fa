"""
Helpers of the Flink operator simulator tests: CR bodies, a recorder that watches every Flink object
through the official client (so a test asserts the statuses a real watcher would have seen), and
the actions a test takes on Flink objects.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from kubernetes import client, watch

from airflow_provider_flink.testing.flink_operator_simulator import (
    API_VERSION,
    GROUP,
    KIND_DEPLOYMENT,
    KIND_SESSION_JOB,
    KIND_SNAPSHOT,
    PLURALS,
    VERSION,
)

T = TypeVar("T")

NAMESPACE = "default"
STEP_SECONDS = 0.05
# Only against hangs: every scenario ends within a few seconds.
WAIT_SECONDS = 30.0


def deployment_body(
    name: str,
    *,
    scenario: str | None = None,
    batch: bool = True,
    upgrade_mode: str = "stateless",
    flink_configuration: dict[str, Any] | None = None,
    annotations: dict[str, str] | None = None,
    job: bool = True,
) -> dict[str, Any]:
    """A FlinkDeployment as a DAG author would write it (an application unless ``job=False``)."""
    configuration: dict[str, Any] = {"taskmanager.numberOfTaskSlots": "1"}
    if batch and job:
        configuration["execution.runtime-mode"] = "BATCH"
    configuration.update(flink_configuration or {})
    all_annotations = dict(annotations or {})
    if scenario:
        all_annotations["flink-simulator/scenario"] = scenario
    spec: dict[str, Any] = {
        "image": "flink:1.20",
        "flinkVersion": "v1_20",
        "serviceAccount": "flink",
        "flinkConfiguration": configuration,
        "jobManager": {"resource": {"cpu": 1, "memory": "1024m"}},
        "taskManager": {"resource": {"cpu": 1, "memory": "1024m"}},
    }
    if job:
        spec["job"] = {
            "jarURI": "local:///opt/flink/usrlib/wordcount.jar",
            "entryClass": "org.example.WordCount",
            "args": ["--input", "/data/in"],
            "parallelism": 1,
            "upgradeMode": upgrade_mode,
        }
    return {
        "apiVersion": API_VERSION,
        "kind": KIND_DEPLOYMENT,
        "metadata": {"name": name, "annotations": all_annotations},
        "spec": spec,
    }


def session_job_body(name: str, deployment_name: str, *, scenario: str | None = None) -> dict[str, Any]:
    annotations = {"flink-simulator/scenario": scenario} if scenario else {}
    return {
        "apiVersion": API_VERSION,
        "kind": KIND_SESSION_JOB,
        "metadata": {"name": name, "annotations": annotations},
        "spec": {
            "deploymentName": deployment_name,
            "flinkConfiguration": {"execution.runtime-mode": "BATCH"},
            "job": {
                "jarURI": "https://repo.example/wordcount.jar",
                "parallelism": 1,
                "upgradeMode": "stateless",
            },
        },
    }


def snapshot_body(name: str, deployment_name: str) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": KIND_SNAPSHOT,
        "metadata": {"name": name},
        "spec": {
            "jobReference": {"kind": KIND_DEPLOYMENT, "name": deployment_name},
            "savepoint": {
                "path": "file:///flink-data/manual",
                "formatType": "CANONICAL",
                "disposeOnDelete": False,
            },
        },
    }


def distinct(values: list[Any]) -> list[Any]:
    """The values without consecutive repeats and without None: the states a watcher saw change."""
    result: list[Any] = []
    for value in values:
        if value is not None and (not result or result[-1] != value):
            result.append(value)
    return result


def in_order(seen: list[Any], expected: list[Any]) -> bool:
    """Whether ``expected`` occurs in ``seen`` in this order (not necessarily adjacent)."""
    remaining = iter(seen)
    return all(any(item == wanted for item in remaining) for wanted in expected)


def status_of(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("status") or {}


def job_state(obj: dict[str, Any]) -> str | None:
    return (status_of(obj).get("jobStatus") or {}).get("state")


def job_id(obj: dict[str, Any]) -> str | None:
    return (status_of(obj).get("jobStatus") or {}).get("jobId")


class Recorder:
    """Watches the Flink kinds in the test namespace and keeps every event, in order."""

    def __init__(self, api_client: Any) -> None:
        self._api = client.CustomObjectsApi(api_client)
        self._events: list[tuple[str, str, dict[str, Any]]] = []
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._ready: list[threading.Event] = []

    def start(self) -> None:
        for kind in PLURALS:
            ready = threading.Event()
            thread = threading.Thread(target=self._follow, args=(kind, ready), daemon=True)
            self._threads.append(thread)
            self._ready.append(ready)
            thread.start()
        for ready in self._ready:
            assert ready.wait(WAIT_SECONDS), "the recorder could not list the Flink kinds"

    def stop(self) -> None:
        # The watches end within a second, or when the emulator stops; no need to wait here.
        self._stop.set()

    def _follow(self, kind: str, ready: threading.Event) -> None:
        resource_version = None
        while not self._stop.is_set():
            try:
                if resource_version is None:
                    listing = self._api.list_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURALS[kind])
                    resource_version = listing["metadata"]["resourceVersion"]
                    ready.set()
                stream = watch.Watch().stream(
                    self._api.list_namespaced_custom_object,
                    GROUP,
                    VERSION,
                    NAMESPACE,
                    PLURALS[kind],
                    resource_version=resource_version,
                    timeout_seconds=1,
                )
                for event in stream:
                    obj = event["object"]
                    resource_version = obj["metadata"]["resourceVersion"]
                    with self._changed:
                        self._events.append((kind, event["type"], copy.deepcopy(obj)))
                        self._changed.notify_all()
            except Exception:
                # A cut or failed watch resumes from the last event seen.
                self._stop.wait(0.05)

    def history(self, kind: str, name: str) -> list[tuple[str, dict[str, Any]]]:
        """(event type, object) for one object, oldest first."""
        with self._changed:
            return [(etype, obj) for k, etype, obj in self._events if k == kind and obj["metadata"]["name"] == name]

    def objects(self, kind: str, name: str) -> list[dict[str, Any]]:
        return [obj for _, obj in self.history(kind, name)]

    def wait_for(
        self,
        kind: str,
        name: str,
        predicate: Callable[[dict[str, Any]], bool],
        what: str,
    ) -> list[dict[str, Any]]:
        """Wait until an event of the object satisfies ``predicate``; returns its objects up to there."""
        deadline = time.monotonic() + WAIT_SECONDS
        with self._changed:
            while True:
                objects = [obj for k, _, obj in self._events if k == kind and obj["metadata"]["name"] == name]
                for index, obj in enumerate(objects):
                    if predicate(obj):
                        return objects[: index + 1]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    summary = [
                        (
                            obj["metadata"].get("generation"),
                            status_of(obj).get("observedGeneration"),
                            status_of(obj).get("lifecycleState"),
                            status_of(obj).get("jobManagerDeploymentStatus"),
                            job_state(obj),
                        )
                        for obj in objects
                    ]
                    raise AssertionError(f"{kind} {name}: never saw {what}; saw {summary}")
                self._changed.wait(remaining)

    def wait_deleted(self, kind: str, name: str) -> list[tuple[str, dict[str, Any]]]:
        self.wait_for_event(kind, name, "DELETED")
        return self.history(kind, name)

    def wait_for_event(self, kind: str, name: str, event_type: str) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        with self._changed:
            while not any(etype == event_type for etype, _ in self._history_locked(kind, name)):
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"{kind} {name}: no {event_type} event"
                self._changed.wait(remaining)

    def _history_locked(self, kind: str, name: str) -> list[tuple[str, dict[str, Any]]]:
        return [(etype, obj) for k, etype, obj in self._events if k == kind and obj["metadata"]["name"] == name]


class Flink:
    """What a test does to Flink objects, through the official Kubernetes client."""

    def __init__(self, api_client: Any, recorder: Recorder) -> None:
        self.custom = client.CustomObjectsApi(api_client)
        self.core = client.CoreV1Api(api_client)
        self.recorder = recorder

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self.custom.create_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURALS[body["kind"]], body))

    def get(self, kind: str, name: str) -> dict[str, Any]:
        return dict(self.custom.get_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURALS[kind], name))

    def list_objects(self, kind: str) -> list[dict[str, Any]]:
        return list(self.custom.list_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURALS[kind])["items"])

    def patch_spec(self, kind: str, name: str, spec_patch: dict[str, Any]) -> dict[str, Any]:
        """Change the spec with a merge patch, as ``kubectl patch --type merge`` does."""
        return dict(
            self.custom.patch_namespaced_custom_object(
                GROUP,
                VERSION,
                NAMESPACE,
                PLURALS[kind],
                name,
                {"spec": spec_patch},
                _content_type="application/merge-patch+json",
            )
        )

    def delete(self, kind: str, name: str) -> None:
        self.custom.delete_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURALS[kind], name)

    def wait_for(
        self, kind: str, name: str, predicate: Callable[[dict[str, Any]], bool], what: str
    ) -> list[dict[str, Any]]:
        return self.recorder.wait_for(kind, name, predicate, what)

    def events_about(self, name: str) -> list[Any]:
        return [e for e in self.core.list_namespaced_event(NAMESPACE).items if e.involved_object.name == name]

    def jobmanager_pods(self, name: str) -> list[Any]:
        return list(self.core.list_namespaced_pod(NAMESPACE, label_selector=f"app={name},component=jobmanager").items)

    def pod_log(self, pod: str) -> str:
        # Without _preload_content=False this client version returns the repr of the bytes.
        response = self.core.read_namespaced_pod_log(pod, NAMESPACE, _preload_content=False)
        return str(response.data.decode())

    def wait_for_log(self, pod: str, text: str) -> str:
        """The pod's log once it contains ``text`` (the simulator writes it right after the status)."""
        return eventually(lambda: (lambda log: log if text in log else None)(self.pod_log(pod)), f"{text!r} logged")

    def wait_for_events(self, name: str, predicate: Callable[[list[Any]], bool], what: str) -> list[Any]:
        """The events about an object once they satisfy ``predicate`` (they follow the status write)."""
        return eventually(lambda: (lambda events: events if predicate(events) else None)(self.events_about(name)), what)

    def wait_for_pods(self, name: str, predicate: Callable[[list[Any]], bool], what: str) -> list[Any]:
        """The JobManager pods of a deployment once they satisfy ``predicate``."""
        return eventually(lambda: (lambda pods: pods if predicate(pods) else None)(self.jobmanager_pods(name)), what)


def eventually(probe: Callable[[], T | None], what: str) -> T:
    """Poll ``probe`` until it returns something; fails after WAIT_SECONDS (a hang, not a timing check)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        value = probe()
        if value is not None:
            return value
        assert time.monotonic() < deadline, f"never saw {what}"
        time.sleep(0.02)
