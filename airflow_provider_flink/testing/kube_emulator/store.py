"""
The emulator's in-memory object store: the API server semantics that do not depend on HTTP.

Everything here runs on the server's single event loop, so each operation is atomic. Stored objects
are never mutated in place (every write stores a new dict), which lets watch events and list
answers share them without copying.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import random
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from airflow_provider_flink.testing.kube_emulator.patching import (
    APPLY_PATCH,
    JSON_PATCH,
    MERGE_PATCH,
    STRATEGIC_MERGE_PATCH,
    json_patch,
    merge_patch,
    strategic_merge_patch,
)
from airflow_provider_flink.testing.kube_emulator.resources import (
    MODIFIED_CONFLICT,
    ApiError,
    ResourceType,
    already_exists,
    bad_request,
    builtin_resource_types,
    conflict,
    custom_resource_types,
    invalid,
    not_found,
    success_status,
)
from airflow_provider_flink.testing.kube_emulator.selectors import FieldSelector, LabelSelector
from airflow_provider_flink.utils.crd_schema import (
    FIELD_VALUE_FORBIDDEN,
    OBJECT_META_FIELDS,
    FieldError,
    parse_crd,
    prune_unknown_fields,
    shipped_crd_documents,
    unknown_fields,
    validate_object_meta,
    validate_value,
)

TypeKey = tuple[str, str]  # (group, plural): all versions of a resource share one storage
ObjectKey = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped kinds
Ref = tuple[TypeKey, str, str]

# Fields the server owns: a write can never change them.
_SERVER_OWNED_META = ("name", "namespace", "uid", "creationTimestamp", "deletionTimestamp",
                      "deletionGracePeriodSeconds", "generation")  # fmt: skip
_GENERATE_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"
_FIRST_RESOURCE_VERSION = 1000
PROPAGATION_POLICIES = ("Foreground", "Background", "Orphan")


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class WriteOptions:
    """
    Options of a create, update or patch.

    :param field_validation: Strict, Warn (the API server's default) or Ignore, for unknown fields.
    """

    dry_run: bool = False
    field_validation: str = "Warn"
    field_manager: str | None = None


@dataclass
class DeleteOptions:
    propagation_policy: str | None = None
    preconditions: Mapping[str, Any] = field(default_factory=dict)
    dry_run: bool = False


class Expired(ApiError):
    """A watch from a resourceVersion older than the retained history (sent as an ERROR event)."""

    def __init__(self, requested: int, oldest: int) -> None:
        super().__init__(410, "Expired", f"too old resource version: {requested} ({oldest})")


@dataclass
class Event:
    """A change of one object, as recorded in the history and fanned out to watchers."""

    type: str
    obj: dict[str, Any]
    old: dict[str, Any] | None
    rv: int
    _encoded: dict[str, bytes] = field(default_factory=dict, repr=False)

    def encode(self, event_type: str) -> bytes:
        """The JSON line of this event; cached, since many watchers may send the same one."""
        line = self._encoded.get(event_type)
        if line is None:
            line = json.dumps({"type": event_type, "object": self.obj}, separators=(",", ":")).encode() + b"\n"
            self._encoded[event_type] = line
        return line


class Watcher:
    """
    One watch stream: filters the store's events and keeps the ones it must send.

    Events wait in a plain list and one future wakes the stream up, so a burst of changes
    costs a single wake-up (and a single write) per watcher.
    """

    def __init__(self, namespace: str | None, labels: LabelSelector, fields: FieldSelector) -> None:
        self.namespace = namespace
        self.labels = labels
        self.fields = fields
        self._pending: list[tuple[str, Event] | None] = []  # None: the server is closing
        self._waiter: asyncio.Future[None] | None = None

    def selects(self, obj: Mapping[str, Any]) -> bool:
        if self.namespace and obj["metadata"].get("namespace") != self.namespace:
            return False
        return self.labels.matches(obj["metadata"].get("labels")) and self.fields.matches(obj)

    def translate(self, event: Event) -> str | None:
        """The event type this watcher sees: a change in or out of its selection is ADDED or DELETED."""
        now = self.selects(event.obj)
        if event.type != "MODIFIED":
            return event.type if now else None
        before = event.old is not None and self.selects(event.old)
        if now:
            return "MODIFIED" if before else "ADDED"
        return "DELETED" if before else None

    def offer(self, event: Event) -> None:
        event_type = self.translate(event)
        if event_type is not None:
            self._push((event_type, event))

    def close(self) -> None:
        self._push(None)

    def _push(self, item: tuple[str, Event] | None) -> None:
        self._pending.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def next_batch(self, timeout: float) -> list[tuple[str, Event] | None]:
        """The pending events, waiting up to ``timeout`` seconds for one; empty on timeout."""
        if not self._pending and timeout > 0:
            loop = asyncio.get_running_loop()
            self._waiter = waiter = loop.create_future()
            timer = loop.call_later(timeout, _resolve, waiter)
            try:
                await waiter
            finally:
                timer.cancel()
                self._waiter = None
        batch, self._pending = self._pending, []
        return batch


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class Store:
    """
    The API server's storage and registry semantics.

    :param event_history: events retained per resource type; a watch from an older
        resourceVersion gets 410 Expired.
    :param schedule: runs a callable soon on the store's loop (garbage collection is asynchronous,
        like the real garbage collector); by default it runs at once.
    """

    def __init__(self, *, event_history: int = 1000, schedule: Callable[[Callable[[], None]], Any] | None = None):
        self.event_history = event_history
        self._schedule = schedule or (lambda fn: fn())
        self._types: dict[TypeKey, dict[str, ResourceType]] = {}
        self._objects: dict[TypeKey, dict[ObjectKey, dict[str, Any]]] = {}
        self._history: dict[TypeKey, deque[Event]] = {}
        self._evicted_rv: dict[TypeKey, int] = {}
        self._watchers: dict[TypeKey, set[Watcher]] = {}
        self._rv = _FIRST_RESOURCE_VERSION
        self._uids: dict[str, Ref] = {}
        self._dependents: dict[str, set[Ref]] = {}  # owner uid -> objects naming it in ownerReferences
        self._deleting: set[Ref] = set()
        self._gc_owner_uids: set[str] = set()
        self._gc_scheduled = False
        for rt in builtin_resource_types():
            self.register(rt)
        for name in ("default", "kube-system", "kube-public"):
            self.ensure_namespace(name)
        for document in shipped_crd_documents():
            self.create(self.resolve("apiextensions.k8s.io", "v1", "customresourcedefinitions"), "", document)

    # ----------------------------------------------------------------- registry
    def register(self, rt: ResourceType) -> None:
        self._types.setdefault(rt.key, {})[rt.version] = rt
        self._objects.setdefault(rt.key, {})
        self._history.setdefault(rt.key, deque(maxlen=self.event_history))
        self._evicted_rv.setdefault(rt.key, 0)
        self._watchers.setdefault(rt.key, set())

    def resolve(self, group: str, version: str, plural: str) -> ResourceType:
        """The resource type served at group/version/plural; 404 like the API server otherwise."""
        rt = self._types.get((group, plural), {}).get(version)
        if rt is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
        return rt

    def types(self) -> list[ResourceType]:
        return [rt for versions in self._types.values() for rt in versions.values()]

    @property
    def resource_version(self) -> int:
        return self._rv

    def _storage_type(self, key: TypeKey) -> ResourceType:
        return next(iter(self._types[key].values()))

    def _lookup(self, ref: Ref) -> dict[str, Any] | None:
        return self._objects.get(ref[0], {}).get((ref[1], ref[2]))

    # ----------------------------------------------------------------- reads
    def get(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        obj = self._objects[rt.key].get((self._ns(rt, namespace), name))
        if obj is None:
            raise not_found(rt, name)
        return obj

    def find(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any] | None:
        return self._objects[rt.key].get((self._ns(rt, namespace), name))

    def select(
        self, rt: ResourceType, namespace: str | None, labels: LabelSelector, fields: FieldSelector
    ) -> list[dict[str, Any]]:
        """The stored objects of ``rt`` matching the namespace (None: all) and selectors, by name."""
        items = []
        for (ns, _), obj in sorted(self._objects[rt.key].items()):
            if namespace and ns != namespace:
                continue
            if labels.matches(obj["metadata"].get("labels")) and fields.matches(obj):
                items.append(obj)
        return items

    def list_collection(
        self,
        rt: ResourceType,
        namespace: str | None,
        labels: LabelSelector,
        fields: FieldSelector,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> dict[str, Any]:
        """A ``<Kind>List``; ``limit``/``continue`` paginate in (namespace, name) order."""
        items = self.select(rt, namespace, labels, fields)
        list_rv = self._rv
        if continue_token:
            try:
                state = json.loads(base64.urlsafe_b64decode(continue_token.encode()))
                start, list_rv = tuple(state["start"]), int(state["rv"])
            except (ValueError, KeyError, TypeError):
                raise bad_request("continue key is not valid: incorrect encoded start resourceVersion") from None
            items = [o for o in items if (o["metadata"].get("namespace", ""), o["metadata"]["name"]) > start]
        metadata: dict[str, Any] = {"resourceVersion": str(list_rv)}
        if limit and len(items) > limit:
            last = items[limit - 1]["metadata"]
            token = {"rv": list_rv, "start": [last.get("namespace", ""), last["name"]]}
            metadata["continue"] = base64.urlsafe_b64encode(json.dumps(token).encode()).decode()
            metadata["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        return {"kind": rt.list_kind, "apiVersion": rt.api_version, "metadata": metadata, "items": items}

    # ----------------------------------------------------------------- watch
    def watch(
        self,
        rt: ResourceType,
        namespace: str | None,
        labels: LabelSelector,
        fields: FieldSelector,
        resource_version: str | None,
    ) -> tuple[list[tuple[str, Event]], Watcher]:
        """
        Start a watch: the events to send first, and the watcher receiving the later ones.

        Without a resourceVersion (or with "0") the first events are ADDED for every selected
        object, like the API server; otherwise they are the retained events after that version.

        :raises Expired: when the resourceVersion is older than the retained history.
        """
        watcher = Watcher(namespace, labels, fields)
        backlog: list[tuple[str, Event]] = []
        if resource_version in (None, "", "0"):
            for obj in self.select(rt, namespace, labels, fields):
                backlog.append(("ADDED", Event("ADDED", obj, None, int(obj["metadata"]["resourceVersion"]))))
        else:
            since = self._parse_rv(resource_version)
            oldest = self._evicted_rv[rt.key]
            if since < oldest:
                raise Expired(since, oldest + 1)
            for event in self._history[rt.key]:
                if event.rv > since and (event_type := watcher.translate(event)) is not None:
                    backlog.append((event_type, event))
        self._watchers[rt.key].add(watcher)
        return backlog, watcher

    def compact(self) -> int:
        """Forget every event up to now, as an etcd compaction does: a watch from an older resourceVersion gets 410."""
        for key, history in self._history.items():
            history.clear()
            self._evicted_rv[key] = self._rv
        return self._rv

    def unwatch(self, rt: ResourceType, watcher: Watcher) -> None:
        self._watchers[rt.key].discard(watcher)

    def close_watchers(self) -> None:
        for watchers in self._watchers.values():
            for watcher in watchers:
                watcher.close()

    @staticmethod
    def _parse_rv(value: str) -> int:
        try:
            number = int(value)
            if number < 0:
                raise ValueError
        except ValueError:
            raise ApiError(
                400,
                "BadRequest",
                f'resourceVersion: Invalid value: "{value}": strconv.ParseUint: parsing "{value}": invalid syntax',
            ) from None
        return number

    # ----------------------------------------------------------------- commit
    def _commit(self, rt: ResourceType, new: dict[str, Any] | None, old: dict[str, Any] | None) -> dict[str, Any]:
        """Store (or, with ``new`` None, remove) an object: bump the resourceVersion, index, notify."""
        self._rv += 1
        current = new if new is not None else old
        assert current is not None
        meta = current["metadata"]
        ref: Ref = (rt.key, meta.get("namespace", ""), meta["name"])
        if new is not None:
            new["metadata"]["resourceVersion"] = str(self._rv)
            self._objects[rt.key][(ref[1], ref[2])] = new
            event_type = "ADDED" if old is None else "MODIFIED"
            self._index(ref, new, old)
            stored = new
        else:
            assert old is not None
            del self._objects[rt.key][(ref[1], ref[2])]
            stored = {**old, "metadata": {**old["metadata"], "resourceVersion": str(self._rv)}}
            event_type = "DELETED"
            self._index(ref, None, old)
        event = Event(event_type, stored, old, self._rv)
        history = self._history[rt.key]
        if len(history) == history.maxlen and history:
            self._evicted_rv[rt.key] = history[0].rv
        history.append(event)
        for watcher in self._watchers[rt.key]:
            watcher.offer(event)
        return stored

    def _index(self, ref: Ref, new: dict[str, Any] | None, old: dict[str, Any] | None) -> None:
        for ref_owner in _owner_uids(old):
            self._dependents.get(ref_owner, set()).discard(ref)
        if new is None:
            assert old is not None
            self._uids.pop(old["metadata"]["uid"], None)
            self._deleting.discard(ref)
            self._gc_owner_uids.add(old["metadata"]["uid"])
            self._schedule_gc()
            return
        self._uids[new["metadata"]["uid"]] = ref
        owners = _owner_uids(new)
        for owner in owners:
            self._dependents.setdefault(owner, set()).add(ref)
            if owner not in self._uids:
                self._gc_owner_uids.add(owner)
                self._schedule_gc()
        if new["metadata"].get("deletionTimestamp"):
            self._deleting.add(ref)
            self._schedule_gc()

    # ----------------------------------------------------------------- writes
    def ensure_namespace(self, name: str) -> None:
        """Namespaces exist implicitly: the first reference creates one."""
        rt = self.resolve("", "v1", "namespaces")
        if name and (("", name) not in self._objects[rt.key]):
            self.create(rt, "", {"metadata": {"name": name}})

    def create(
        self, rt: ResourceType, namespace: str, body: Any, options: WriteOptions | None = None
    ) -> tuple[dict[str, Any], list[str]]:
        """Create an object; returns it and the warnings (pruned unknown fields)."""
        options = options or WriteOptions()
        obj = self._decode_body(rt, copy.deepcopy(body))
        meta = obj["metadata"]
        self._check_namespace(rt, namespace, meta)
        if meta.get("resourceVersion"):
            raise bad_request("resourceVersion should not be set on objects to be created")
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = self._generate_name(rt, namespace, str(meta["generateName"]))
        for key in ("deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
            meta.pop(key, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_rfc3339()
        if rt.tracks_generation:
            meta["generation"] = 1
        else:
            meta.pop("generation", None)
        _default_on_create(rt, obj)
        obj, warnings = self._prune(rt, obj, options, patch=False)
        self._validate(rt, obj, str(meta.get("name") or ""))
        name = meta["name"]
        if (self._ns(rt, namespace), name) in self._objects[rt.key]:
            raise already_exists(rt, name)
        if options.dry_run:
            return obj, warnings
        if rt.namespaced:
            self.ensure_namespace(namespace)
        stored = self._commit(rt, obj, None)
        if rt.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
            for custom in custom_resource_types(parse_crd(stored)):
                self.register(custom)
        return stored, warnings

    def update(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        body: Any,
        options: WriteOptions | None = None,
        subresource: str | None = None,
    ) -> tuple[dict[str, Any], list[str]]:
        """Replace an object (PUT), or only its status with ``subresource="status"``."""
        options = options or WriteOptions()
        old = self.get(rt, namespace, name)
        obj = self._decode_body(rt, body)
        self._check_namespace(rt, namespace, obj["metadata"])
        if obj["metadata"].get("name") != name:
            raise bad_request(
                f"the name of the object ({obj['metadata'].get('name', '')}) "
                f"does not match the name on the URL ({name})"
            )
        return self._write(rt, old, obj, options, subresource, patch=False)

    def patch(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        content_type: str,
        patch_body: Any,
        options: WriteOptions | None = None,
        subresource: str | None = None,
    ) -> tuple[dict[str, Any], list[str], bool]:
        """Patch an object (or its status); returns it, the warnings, and whether it was created (apply)."""
        options = options or WriteOptions()
        content_type = content_type.split(";")[0].strip().lower()
        if content_type == APPLY_PATCH:
            if not options.field_manager:
                raise ApiError(
                    422, "Invalid",
                    'PatchOptions.meta.k8s.io "" is invalid: '
                    "fieldManager: Required value: is required for apply patch",
                )  # fmt: skip
            if self.find(rt, namespace, name) is None and subresource is None:
                # Server-side apply creates a missing object (its name comes from the URL).
                if not isinstance(patch_body, dict):
                    raise bad_request("error decoding YAML: the applied configuration is not an object")
                metadata = {**(patch_body.get("metadata") or {}), "name": name}
                created, warnings = self.create(rt, namespace, {**patch_body, "metadata": metadata}, options)
                return created, warnings, True
        old = self.get(rt, namespace, name)
        if content_type == JSON_PATCH:
            patched = json_patch(old, patch_body)
        elif content_type in (MERGE_PATCH, APPLY_PATCH):
            patched = merge_patch(old, patch_body)
        elif content_type == STRATEGIC_MERGE_PATCH and rt.crd is None:
            patched = strategic_merge_patch(old, patch_body)
        else:
            accepted = [JSON_PATCH, MERGE_PATCH, APPLY_PATCH] + ([] if rt.crd else [STRATEGIC_MERGE_PATCH])
            raise ApiError(
                415, "UnsupportedMediaType",
                "the body of the request was in an unknown format - accepted media types include: "
                + ", ".join(accepted),
                {},
            )  # fmt: skip
        if not isinstance(patched, dict):
            raise ApiError(
                422,
                "Invalid",
                ' "" is invalid: patch: Invalid value: "": the patch did not produce an object',
            )
        obj = self._decode_body(rt, patched)
        if obj["metadata"].get("name") != name or obj["metadata"].get("namespace", "") != old["metadata"].get(
            "namespace", ""
        ):
            raise bad_request("metadata.name and metadata.namespace cannot be changed by a patch")
        stored, warnings = self._write(rt, old, obj, options, subresource, patch=True)
        return stored, warnings, False

    def _write(
        self,
        rt: ResourceType,
        old: dict[str, Any],
        obj: dict[str, Any],
        options: WriteOptions,
        subresource: str | None,
        *,
        patch: bool,
    ) -> tuple[dict[str, Any], list[str]]:
        name = old["metadata"]["name"]
        meta = obj["metadata"]
        if rt.crd is not None and not patch and not meta.get("resourceVersion"):
            # Custom resources allow no unconditional update (customResourceStrategy.AllowUnconditionalUpdate).
            detail = "Invalid value: 0: must be specified for an update"
            raise ApiError(
                422,
                "Invalid",
                f'{rt.plural}.{rt.group} "{name}" is invalid: metadata.resourceVersion: {detail}',
                {
                    "name": name,
                    "group": rt.group,
                    "kind": rt.plural,
                    "causes": [{"reason": "FieldValueInvalid", "message": detail, "field": "metadata.resourceVersion"}],
                },
            )
        if meta.get("resourceVersion") and meta["resourceVersion"] != old["metadata"]["resourceVersion"]:
            raise conflict(rt, name, MODIFIED_CONFLICT)
        if meta.get("uid") and meta["uid"] != old["metadata"]["uid"]:
            raise conflict(
                rt, name, f"Precondition failed: UID in precondition: {meta['uid']}, UID in object meta: "
                f"{old['metadata']['uid']}"
            )  # fmt: skip
        if subresource == "status":
            new = {**old, "metadata": dict(old["metadata"])}
            if "status" in obj:
                new["status"] = obj["status"]
            else:
                new.pop("status", None)
        else:
            new = obj
            for key in _SERVER_OWNED_META:
                if key in old["metadata"]:
                    meta[key] = old["metadata"][key]
                else:
                    meta.pop(key, None)
            if rt.status_subresource:
                if "status" in old:
                    new["status"] = old["status"]
                else:
                    new.pop("status", None)
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        new, warnings = self._prune(rt, new, options, patch=patch, old=old)
        self._validate(rt, new, name, old=old)
        self._check_finalizers(rt, old, new)
        if rt.tracks_generation and _spec_of(rt, new) != _spec_of(rt, old):
            new["metadata"]["generation"] = int(old["metadata"].get("generation") or 0) + 1
        if new == old:
            # Like etcd3's GuaranteedUpdate: an identical object is not written, no event, same version.
            return old, warnings
        if options.dry_run:
            return new, warnings
        if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
            return self._commit(rt, None, new), warnings
        return self._commit(rt, new, old), warnings

    def delete(
        self, rt: ResourceType, namespace: str, name: str, options: DeleteOptions | None = None
    ) -> dict[str, Any]:
        """
        Delete an object, honouring finalizers and the propagation policy of its dependents.

        :return: the object when its deletion is pending on finalizers (or the kind returns
            deleted objects), otherwise a Success Status.
        """
        options = options or DeleteOptions()
        old = self.get(rt, namespace, name)
        meta = old["metadata"]
        preconditions = options.preconditions or {}
        for key, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
            wanted = preconditions.get(key)
            if wanted and wanted != meta.get(key):
                raise conflict(
                    rt, name,
                    f"Precondition failed: {label} in precondition: {wanted}, "
                    f"{label} in object meta: {meta.get(key)}",
                )  # fmt: skip
        policy = options.propagation_policy or "Background"
        if policy not in PROPAGATION_POLICIES:
            supported = ", ".join(f'"{p}"' for p in PROPAGATION_POLICIES)
            raise bad_request(f'propagationPolicy: Unsupported value: "{policy}": supported values: {supported}')
        finalizers = list(meta.get("finalizers") or [])
        gc_finalizer = {"Orphan": "orphan", "Foreground": "foregroundDeletion"}.get(policy)
        if gc_finalizer and gc_finalizer not in finalizers:
            finalizers.append(gc_finalizer)
        if finalizers:
            if meta.get("deletionTimestamp") and finalizers == list(meta.get("finalizers") or []):
                return old
            new = copy.deepcopy(old)
            new_meta = new["metadata"]
            if not new_meta.get("deletionTimestamp"):
                new_meta["deletionTimestamp"] = now_rfc3339()
                new_meta["deletionGracePeriodSeconds"] = 0
                if new_meta.get("generation"):
                    new_meta["generation"] = int(new_meta["generation"]) + 1
            new_meta["finalizers"] = finalizers
            return new if options.dry_run else self._commit(rt, new, old)
        if options.dry_run:
            return old
        deleted = self._commit(rt, None, old)
        if rt.key == ("", "namespaces"):
            self._delete_namespace_contents(name)
        return deleted if rt.returns_deleted_object else success_status(rt, name, meta["uid"])

    def delete_collection(
        self,
        rt: ResourceType,
        namespace: str | None,
        labels: LabelSelector,
        fields: FieldSelector,
        options: DeleteOptions | None = None,
    ) -> dict[str, Any]:
        """Delete every selected object; returns the list of what was deleted or marked for deletion."""
        deleted = []
        for obj in self.select(rt, namespace, labels, fields):
            result = self.delete(rt, obj["metadata"].get("namespace", ""), obj["metadata"]["name"], options)
            deleted.append(result if result.get("kind") != "Status" else obj)
        return {"kind": rt.list_kind, "apiVersion": rt.api_version, "metadata": {}, "items": deleted}

    def _delete_namespace_contents(self, namespace: str) -> None:
        for key, objects in self._objects.items():
            rt = self._storage_type(key)
            for ns, name in [k for k in objects if k[0] == namespace]:
                if (ns, name) in objects:
                    self.delete(rt, ns, name)

    # ----------------------------------------------------------------- garbage collection
    def _schedule_gc(self) -> None:
        if not self._gc_scheduled:
            self._gc_scheduled = True
            self._schedule(self._collect_garbage)

    def _collect_garbage(self) -> None:
        """Process pending finalizers of deleting owners and dependents whose owners are gone."""
        self._gc_scheduled = False
        for _ in range(10_000):
            if not (self._gc_deleting_owners() | self._gc_orphaned_dependents()):
                break

    def _gc_deleting_owners(self) -> bool:
        changed = False
        for ref in list(self._deleting):
            owner = self._lookup(ref)
            if owner is None:
                continue
            finalizers = owner["metadata"].get("finalizers") or []
            uid = owner["metadata"]["uid"]
            live = [d for d in self._dependents.get(uid, ()) if self._lookup(d) is not None]
            if "orphan" in finalizers:
                for dependent_ref in live:
                    dependent = copy.deepcopy(self._lookup(dependent_ref))
                    assert dependent is not None
                    refs = [r for r in dependent["metadata"]["ownerReferences"] if r.get("uid") != uid]
                    dependent["metadata"]["ownerReferences"] = refs
                    if not refs:
                        del dependent["metadata"]["ownerReferences"]
                    self._system_update(dependent_ref, dependent)
                self._remove_finalizer(ref, "orphan")
                changed = True
            elif "foregroundDeletion" in finalizers:
                for dependent_ref in live:
                    dependent = self._lookup(dependent_ref)
                    assert dependent is not None
                    if not dependent["metadata"].get("deletionTimestamp"):
                        rt = self._storage_type(dependent_ref[0])
                        self.delete(rt, dependent_ref[1], dependent_ref[2], DeleteOptions("Foreground"))
                        changed = True
                if not any(self._lookup(d) is not None for d in live):
                    self._remove_finalizer(ref, "foregroundDeletion")
                    changed = True
        return changed

    def _gc_orphaned_dependents(self) -> bool:
        changed = False
        while self._gc_owner_uids:
            owner_uid = self._gc_owner_uids.pop()
            if owner_uid in self._uids:
                continue
            for ref in list(self._dependents.get(owner_uid, ())):
                dependent = self._lookup(ref)
                if dependent is None or dependent["metadata"].get("deletionTimestamp"):
                    continue
                if all(uid not in self._uids for uid in _owner_uids(dependent)):
                    self.delete(self._storage_type(ref[0]), ref[1], ref[2], DeleteOptions("Background"))
                    changed = True
            self._dependents.pop(owner_uid, None)
        return changed

    def _remove_finalizer(self, ref: Ref, finalizer: str) -> None:
        obj = copy.deepcopy(self._lookup(ref))
        assert obj is not None
        obj["metadata"]["finalizers"] = [f for f in obj["metadata"].get("finalizers") or [] if f != finalizer]
        self._system_update(ref, obj)

    def _system_update(self, ref: Ref, new: dict[str, Any]) -> None:
        rt = self._storage_type(ref[0])
        old = self._lookup(ref)
        if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
            self._commit(rt, None, new)
        else:
            self._commit(rt, new, old)

    # ----------------------------------------------------------------- admission helpers
    @staticmethod
    def _ns(rt: ResourceType, namespace: str | None) -> str:
        return (namespace or "") if rt.namespaced else ""

    def _decode_body(self, rt: ResourceType, body: Any) -> dict[str, Any]:
        """
        Check the body names this kind; return it with its own top level and metadata.

        Stored objects are never modified, so the rest may be shared with them (as patches do).
        """
        if not isinstance(body, dict):
            raise bad_request(f"the object provided is unrecognized (must be of type {rt.kind})")
        obj = dict(body)
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if api_version and api_version != rt.api_version:
            raise bad_request(
                f"the API version in the data ({api_version}) "
                f"does not match the expected API version ({rt.api_version})"
            )
        if kind and kind != rt.kind:
            raise bad_request(f'{kind} in version "{rt.version}" cannot be handled as a {rt.kind}: kind mismatch')
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        if obj.get("metadata") is None:
            obj["metadata"] = {}
        if not isinstance(obj["metadata"], dict):
            raise bad_request(f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: metadata')
        obj["metadata"] = dict(obj["metadata"])
        return obj

    def _check_namespace(self, rt: ResourceType, namespace: str, meta: dict[str, Any]) -> None:
        if rt.namespaced:
            if meta.get("namespace") not in (None, "", namespace):
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)

    def _generate_name(self, rt: ResourceType, namespace: str, prefix: str) -> str:
        prefix = prefix[: 63 - 5]
        while True:
            name = prefix + "".join(random.choice(_GENERATE_NAME_CHARS) for _ in range(5))
            if (self._ns(rt, namespace), name) not in self._objects[rt.key]:
                return name

    def _prune(
        self,
        rt: ResourceType,
        obj: dict[str, Any],
        options: WriteOptions,
        *,
        patch: bool,
        old: dict[str, Any] | None = None,
    ) -> tuple[dict[str, Any], list[str]]:
        """
        Drop unknown fields; refuse them under fieldValidation=Strict; else warn (unless Ignore).

        Top-level values identical to those of ``old`` (stored, hence already pruned) are skipped.
        """
        schema = rt.schema
        unknown = [f"metadata.{k}" for k in obj["metadata"] if k not in OBJECT_META_FIELDS]
        pruned = obj
        if schema is not None:
            properties = schema.get("properties") or {}
            for key, value in obj.items():
                if key in ("apiVersion", "kind", "metadata") or (old is not None and value is old.get(key)):
                    continue
                if key not in properties:
                    unknown.append(key)
                else:
                    unknown.extend(unknown_fields(value, properties[key], key))
            if unknown:
                pruned, unknown = prune_unknown_fields(obj, schema)
        else:
            for path in unknown:
                del pruned["metadata"][path.split(".", 1)[1]]
        if not unknown or options.field_validation == "Ignore":
            return pruned, []
        errors = ", ".join(f'unknown field "{path}"' for path in unknown)
        if options.field_validation == "Strict":
            if patch:
                body = json.dumps(obj, separators=(",", ":"))
                message = f"strict decoding error: {errors}"
                raise ApiError(
                    422, "Invalid", f' "" is invalid: patch: Invalid value: {json.dumps(body)}: {message}',
                    {"causes": [{"reason": "FieldValueInvalid", "message": message,
                                 "field": "patch"}]},
                )  # fmt: skip
            raise bad_request(
                f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: strict decoding error: {errors}'
            )
        return pruned, [f'unknown field "{path}"' for path in unknown]

    def _validate(self, rt: ResourceType, obj: dict[str, Any], name: str, *, old: dict[str, Any] | None = None) -> None:
        """Validate metadata and, for custom resources, the schema; values shared with ``old`` are skipped."""
        errors = validate_object_meta(obj["metadata"], name_rule=rt.name_rule, require_name=old is None)
        if old is not None:
            errors = [e for e in errors if e.field != "metadata.name"]
        schema = rt.schema
        if schema is not None:
            properties = schema.get("properties") or {}
            for key, value in obj.items():
                if key in properties and (old is None or value is not old.get(key)):
                    errors.extend(validate_value(value, properties[key], key))
        if errors:
            raise invalid(rt, name or str(obj["metadata"].get("generateName") or ""), errors)

    def _check_finalizers(self, rt: ResourceType, old: dict[str, Any], new: dict[str, Any]) -> None:
        if not old["metadata"].get("deletionTimestamp"):
            return
        before = set(old["metadata"].get("finalizers") or [])
        added = [f for f in new["metadata"].get("finalizers") or [] if f not in before]
        if added:
            listed = ", ".join(json.dumps(f) for f in added)
            detail = f"Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{{{listed}}}"  # noqa: E501
            raise invalid(
                rt,
                old["metadata"]["name"],
                [FieldError("metadata.finalizers", FIELD_VALUE_FORBIDDEN, detail)],
            )

    # ----------------------------------------------------------------- direct access (tests)
    def objects(self, rt: ResourceType, namespace: str | None = None) -> Iterable[dict[str, Any]]:
        return [o for (ns, _), o in sorted(self._objects[rt.key].items()) if not namespace or ns == namespace]


def _owner_uids(obj: Mapping[str, Any] | None) -> list[str]:
    if obj is None:
        return []
    return [r["uid"] for r in obj["metadata"].get("ownerReferences") or [] if isinstance(r, dict) and r.get("uid")]


def _spec_of(rt: ResourceType, obj: Mapping[str, Any]) -> dict[str, Any]:
    """Everything generation tracks: all but metadata (and status when it is a subresource)."""
    skipped = {"metadata", "apiVersion", "kind"} | ({"status"} if rt.status_subresource else set())
    return {k: v for k, v in obj.items() if k not in skipped}


def _default_on_create(rt: ResourceType, obj: dict[str, Any]) -> None:
    """Server-side defaults and status reset the API server applies to new objects."""
    if rt.crd is not None:
        if rt.status_subresource:
            obj.pop("status", None)
        return
    if not rt.status_subresource:
        return
    if rt.key == ("", "pods"):
        obj["status"] = {"phase": "Pending"}
    elif rt.key == ("", "namespaces"):
        obj["status"] = {"phase": "Active"}
    elif rt.key == ("", "services"):
        obj["status"] = {"loadBalancer": {}}
        _default_service(obj)
    elif rt.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
        obj["status"] = {
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted"},
            ],
            "acceptedNames": obj.get("spec", {}).get("names", {}),
            "storedVersions": [v["name"] for v in obj.get("spec", {}).get("versions", []) if v.get("storage")],
        }
    else:
        obj["status"] = {}
    if rt.key == ("apps", "deployments"):
        obj.setdefault("spec", {}).setdefault("replicas", 1)


_next_cluster_ip = iter(range(1, 1 << 16))


def _default_service(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec.get("clusterIP") in (None, ""):
        number = next(_next_cluster_ip)
        spec["clusterIP"] = f"10.96.{number >> 8}.{number & 0xFF}"
    spec.setdefault("clusterIPs", [spec["clusterIP"]])
    for port in spec.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
