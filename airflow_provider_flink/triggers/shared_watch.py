"""
One API client per connection and one watch per connection, namespace and kind, shared by every wait of a process.

A triggerer runs hundreds of :class:`~airflow_provider_flink.triggers.flink.FlinkJobTrigger` coroutines in one
event loop. Polling costs one GET per job per poll interval, and a client (kubeconfig load, HTTP session) per
trigger. Here the first wait on a connection opens one :class:`AsyncFlinkKubernetesHook` that every later wait on
it reuses, and the first wait on a (connection, namespace, kind) starts a :class:`SharedWatch`: one LIST, then one
WATCH from the list's resourceVersion, kept in a cache of objects by name. Each wait reads its object from the cache
and sleeps until the watch reports a change to that name, or until its own deadline.

Nothing may be lost and no wait may hang:

* a watch cut by the network or closed by the server resumes from the last resourceVersion (the hook retries
  transient failures with its retry policy);
* 410 Gone (that version was compacted away): list again, and wake every wait to re-read the cache;
* the watch fails beyond its retries (an API outage, no ``list``/``watch`` permission): the cache stops being
  *live*, every wait wakes and reads its object with a GET each poll interval, as without a watch, while the watch
  is retried with backoff; the next successful LIST makes the cache live again and wakes every wait;
* an object missing from the cache is read with a GET before a wait calls it deleted (a trigger can start before
  the watch has delivered the creation of its object).

Everything is per event loop: a hook's HTTP session and an :class:`asyncio.Event` belong to the loop that made
them, and an operator's synchronous wait runs a trigger in a loop of its own. The last wait to leave closes what
it shared.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from airflow_provider_flink.hooks.kubernetes import AsyncFlinkKubernetesHook

log = logging.getLogger(__name__)
K = TypeVar("K")
T = TypeVar("T")

#: Seconds one watch request may last before it is renewed from the last resourceVersion seen.
WATCH_SECONDS = 600.0
#: Seconds before a failed watch is tried again (a new LIST), by consecutive failure; the last repeats.
RETRY_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)


class SharedWatch:
    """
    A cache of the Flink resources of one kind in one namespace, kept current by one LIST + WATCH.

    :param hook: The shared hook of the connection.
    :param kind: ``FlinkDeployment``, ``FlinkSessionJob`` or ``FlinkStateSnapshot``.
    :param namespace: The namespace watched.
    """

    def __init__(self, hook: AsyncFlinkKubernetesHook, kind: str, namespace: str) -> None:
        self.hook = hook
        self.kind = kind
        self.namespace = namespace
        #: Whether the cache reflects the server (a LIST succeeded and the watch has not failed since).
        self.live = False
        #: LIST requests made (each is a full resync); read by tests and benchmarks.
        self.lists = 0
        #: Set once the first LIST has answered or failed: until then a wait's GET would be wasted.
        self.settled = asyncio.Event()
        self._objects: dict[str, dict[str, Any]] = {}
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"flink-shared-watch-{self.kind}-{self.namespace}"
        )

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def cached(self, name: str) -> dict[str, Any] | None:
        """The object as last seen by the watch; ``None`` when not cached or the cache is not live."""
        return self._objects.get(name) if self.live else None

    def subscribe(self, name: str) -> asyncio.Event:
        """An event set whenever ``name`` changes, or the cache is relisted or stops being live."""
        event = asyncio.Event()
        self._waiters.setdefault(name, set()).add(event)
        return event

    def unsubscribe(self, name: str, event: asyncio.Event) -> None:
        waiters = self._waiters.get(name)
        if waiters is not None:
            waiters.discard(event)
            if not waiters:
                del self._waiters[name]

    def _wake(self, name: str) -> None:
        for event in self._waiters.get(name, ()):
            event.set()

    def _wake_all(self) -> None:
        for waiters in self._waiters.values():
            for event in waiters:
                event.set()

    async def _run(self) -> None:
        from airflow_provider_flink.exceptions import FlinkWatchExpired

        failures = 0
        while True:
            try:
                version = await self._list()
                failures = 0
                while True:
                    version = await self._watch(version)
            except FlinkWatchExpired:
                log.info("The watch on %s in %s expired (410 Gone): listing again.", self.kind, self.namespace)
            except Exception as error:
                delay = RETRY_DELAYS[min(failures, len(RETRY_DELAYS) - 1)]
                failures += 1
                self.settled.set()
                if self.live:
                    self.live = False
                    self._wake_all()
                log.warning(
                    "Cannot watch %s in namespace %s (%s): waits read their object with a GET each poll interval "
                    "until the watch works again (next try in %.0f s). A watch needs the list and watch verbs.",
                    self.kind,
                    self.namespace,
                    error,
                    delay,
                )
                await asyncio.sleep(delay)

    async def _list(self) -> str | None:
        self.lists += 1
        items, version = await self.hook.list_resources_with_version(self.kind, self.namespace)
        self._objects = {item["metadata"]["name"]: item for item in items}
        self.live = True
        self.settled.set()
        self._wake_all()
        return version

    async def _watch(self, version: str | None) -> str | None:
        events = self.hook.watch_resources(
            self.kind, self.namespace, resource_version=version, timeout_seconds=WATCH_SECONDS
        )
        async with contextlib.aclosing(events):
            async for event_type, obj in events:
                metadata = obj.get("metadata") or {}
                name = metadata.get("name")
                version = metadata.get("resourceVersion") or version
                if not name:
                    continue
                if event_type == "DELETED":
                    self._objects.pop(name, None)
                else:
                    self._objects[name] = obj
                self._wake(name)
        return version


class Watched:
    """
    One wait's view of a :class:`SharedWatch`: its object from the cache, and a way to sleep until it changes.

    :param watch: The shared watch.
    :param name: The name of the object waited on.
    """

    def __init__(self, watch: SharedWatch, name: str) -> None:
        self.watch = watch
        self.name = name
        self._changed = watch.subscribe(name)

    @property
    def live(self) -> bool:
        return self.watch.live

    async def cached(self, settle_timeout: float) -> dict[str, Any] | None:
        """
        The object from the live cache, marking it seen; ``None`` means: read it with a GET.

        :param settle_timeout: Seconds to wait for a new watch's first LIST: a thousand triggers starting
            together (a triggerer restart) then share one LIST instead of making a thousand GETs.
        """
        if not self.watch.settled.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.watch.settled.wait(), settle_timeout)
        self._changed.clear()
        return self.watch.cached(self.name)

    async def changed(self, timeout: float) -> None:
        """Return when the object changes (or the cache is relisted or stops being live), or after ``timeout``."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)

    def close(self) -> None:
        self.watch.unsubscribe(self.name, self._changed)


@dataclass
class _Shared:
    """What one event loop shares: hooks by connection, watches by (connection, namespace, kind), with users."""

    hooks: dict[str, tuple[AsyncFlinkKubernetesHook, int]] = field(default_factory=dict)
    watches: dict[tuple[str, str, str], tuple[SharedWatch, int]] = field(default_factory=dict)


_SHARED: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Shared] = weakref.WeakKeyDictionary()


def _shared() -> _Shared:
    loop = asyncio.get_running_loop()
    shared = _SHARED.get(loop)
    if shared is None:
        shared = _SHARED[loop] = _Shared()
    return shared


def connection_key(connection: dict[str, Any], flavour: str) -> str:
    """Identify a connection (and the retry flavour of its hook) by its resolved settings."""
    return json.dumps([flavour, connection], sort_keys=True, default=str)


@contextlib.asynccontextmanager
async def _borrowed(
    table: dict[K, tuple[T, int]], key: K, make: Callable[[], T], close: Callable[[T], Awaitable[None]]
) -> AsyncIterator[T]:
    """The ``key`` entry of ``table``, made by its first user and closed by its last."""
    item, users = table.get(key) or (make(), 0)
    table[key] = (item, users + 1)
    try:
        yield item
    finally:
        item, users = table[key]
        if users > 1:
            table[key] = (item, users - 1)
        else:
            del table[key]
            await close(item)


@contextlib.asynccontextmanager
async def shared_hook(connection: dict[str, Any], *, native: bool = False) -> AsyncIterator[AsyncFlinkKubernetesHook]:
    """
    The loop's hook for ``connection``, opened by its first user and closed by its last.

    :param connection: Connection kwargs from :meth:`FlinkKubernetesHook.get_trigger_connection_kwargs`.
    :param native: Use the short retry policy of native-mode looks (see ``native_retry_policy``).
    """
    from airflow_provider_flink.hooks.kubernetes import AsyncFlinkKubernetesHook

    def make() -> AsyncFlinkKubernetesHook:
        policy = None
        if native:
            from airflow_provider_flink.triggers.flink import native_retry_policy

            policy = native_retry_policy()
        return AsyncFlinkKubernetesHook(**connection, retry_policy=policy)

    key = connection_key(connection, "native" if native else "resources")
    async with _borrowed(_shared().hooks, key, make, AsyncFlinkKubernetesHook.close) as hook:
        yield hook


@contextlib.asynccontextmanager
async def watched(
    connection: dict[str, Any], hook: AsyncFlinkKubernetesHook, kind: str, namespace: str, name: str
) -> AsyncIterator[Watched]:
    """
    A :class:`Watched` view of ``kind`` ``namespace/name``, through the loop's shared watch of that kind.

    :param connection: The connection the hook was opened for (part of the watch's identity).
    :param hook: The loop's shared hook of that connection (from :func:`shared_hook`).
    :param kind: ``FlinkDeployment``, ``FlinkSessionJob`` or ``FlinkStateSnapshot``.
    :param namespace: The namespace of the object.
    :param name: The name of the object.
    """

    def make() -> SharedWatch:
        watch = SharedWatch(hook, kind, namespace)
        watch.start()
        return watch

    key = (connection_key(connection, "resources"), namespace, kind)
    async with _borrowed(_shared().watches, key, make, SharedWatch.stop) as watch:
        view = Watched(watch, name)
        try:
            yield view
        finally:
            view.close()
