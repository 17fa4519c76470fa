"""
The three patch formats of the API server.

* JSON merge patch (RFC 7386): objects merge, ``null`` deletes, lists are replaced.
* JSON patch (RFC 6902): add, remove, replace, move, copy, test.
* Strategic merge patch, approximated: like a merge patch, except that the lists Kubernetes marks
  ``patchStrategy: merge`` merge their items by key (containers and env by name, ownerReferences by
  uid, ...), ``metadata.finalizers`` is a set union, and the ``$patch``, ``$retainKeys``,
  ``$deleteFromPrimitiveList/`` and ``$setElementOrder/`` directives are honoured.
"""

from __future__ import annotations

import copy
from typing import Any

from airflow_provider_flink.testing.kube_emulator.resources import ApiError, bad_request

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"

# Merge keys of the list fields Kubernetes declares with patchStrategy "merge".
_MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "ownerReferences": "uid",
    "conditions": "type",
    "hostAliases": "ip",
    "resourceClaims": "name",
    "topologySpreadConstraints": "topologyKey",
}
_PRIMITIVE_MERGE_LISTS = {"finalizers"}


def merge_patch(target: Any, patch: Any) -> Any:
    """
    Apply an RFC 7386 JSON merge patch; returns a new value.

    The target is never modified; subtrees the patch does not touch are shared with it.
    """
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


class _PatchFailed(Exception):
    pass


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise _PatchFailed(f"invalid JSON pointer: {path!r}")
    return [_unescape(t) for t in path.split("/")[1:]] if path else []


def _container(doc: Any, tokens: list[str], path: str) -> Any:
    node = doc
    for token in tokens:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise _PatchFailed(f"doc is missing path: {path}: missing value")
    return node


def _list_index(node: list[Any], token: str, path: str, *, allow_end: bool) -> int:
    if token == "-" and allow_end:
        return len(node)
    if not token.isdigit():
        raise _PatchFailed(f"unable to access invalid index: {token}: invalid index referenced")
    index = int(token)
    if index > len(node) or (index == len(node) and not allow_end):
        raise _PatchFailed(f"unable to access invalid index: {index}: invalid index referenced")
    return index


def _get(doc: Any, path: Any) -> Any:
    tokens = _pointer(path)
    return _container(doc, tokens, path)


def _add(doc: Any, path: Any, value: Any) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return copy.deepcopy(value)
    parent = _container(doc, tokens[:-1], path)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = copy.deepcopy(value)
    elif isinstance(parent, list):
        parent.insert(_list_index(parent, last, path, allow_end=True), copy.deepcopy(value))
    else:
        raise _PatchFailed(f"add operation does not apply: doc is missing path: {path}: missing value")
    return doc


def _remove(doc: Any, path: Any, op: str = "remove") -> tuple[Any, Any]:
    tokens = _pointer(path)
    if not tokens:
        return None, doc
    parent = _container(doc, tokens[:-1], path)
    last = tokens[-1]
    if isinstance(parent, dict) and last in parent:
        return doc, parent.pop(last)
    if isinstance(parent, list):
        return doc, parent.pop(_list_index(parent, last, path, allow_end=False))
    if op == "replace":
        raise _PatchFailed(f"replace operation does not apply: doc is missing key: {path}: missing value")
    raise _PatchFailed(f"unable to remove nonexistent key: {last}: missing value")


def json_patch(target: Any, operations: Any) -> Any:
    """
    Apply an RFC 6902 JSON patch; returns a new value.

    :raises ApiError: 400 when the body is not a list of operations, 422 when an operation fails.
    """
    if not isinstance(operations, list):
        kind = "object" if isinstance(operations, dict) else type(operations).__name__
        raise bad_request(f"json: cannot unmarshal {kind} into Go value of type jsonpatch.Patch")
    doc = copy.deepcopy(target)
    try:
        for operation in operations:
            if not isinstance(operation, dict):
                raise _PatchFailed("invalid operation")
            op, path = operation.get("op"), operation.get("path")
            if op == "add":
                doc = _add(doc, path, operation.get("value"))
            elif op == "remove":
                doc, _ = _remove(doc, path)
            elif op == "replace":
                doc, _ = _remove(doc, path, "replace")
                doc = _add(doc, path, operation.get("value"))
            elif op == "move":
                doc, value = _remove(doc, operation.get("from"))
                doc = _add(doc, path, value)
            elif op == "copy":
                doc = _add(doc, path, _get(doc, operation.get("from")))
            elif op == "test":
                if _get(doc, path) != operation.get("value"):
                    raise _PatchFailed(f"testing value {path} failed: test failed")
            else:
                raise _PatchFailed(f"Unexpected kind: {op}")
    except _PatchFailed as exc:
        raise ApiError(422, "Invalid", str(exc)) from None
    return doc


def _merge_key(key: str, path: tuple[str, ...]) -> str | None:
    if key == "ports":
        # Container ports merge by containerPort, Service ports by port.
        return "containerPort" if path and path[-1] in ("containers", "initContainers") else "port"
    return _MERGE_KEYS.get(key)


_DELETE = object()


def strategic_merge_patch(target: Any, patch: Any, path: tuple[str, ...] = ()) -> Any:
    """Apply a strategic merge patch (described in the module docstring); shares untouched subtrees."""
    result = _smp(target, patch, path)
    return {} if result is _DELETE else result


def _smp(target: Any, patch: Any, path: tuple[str, ...]) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "delete":
        return _DELETE
    if directive == "replace":
        return _strip_directives(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys") or key.startswith("$setElementOrder/"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            name = key.split("/", 1)[1]
            if isinstance(result.get(name), list) and isinstance(value, list):
                result[name] = [item for item in result[name] if item not in value]
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list):
            result[key] = _merge_list(result.get(key), value, key, path)
        elif isinstance(value, dict):
            merged = _smp(result.get(key), value, (*path, key))
            if merged is _DELETE:
                result.pop(key, None)
            else:
                result[key] = merged
        else:
            result[key] = value
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_list(original: Any, patch: list[Any], key: str, path: tuple[str, ...]) -> list[Any]:
    if key in _PRIMITIVE_MERGE_LISTS and isinstance(original, list):
        return list(original) + [item for item in patch if item not in original]
    merge_key = _merge_key(key, path)
    if merge_key is None or not isinstance(original, list):
        return [_strip_directives(item) for item in patch if not _is_directive(item)]
    if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch):
        return [_strip_directives(item) for item in patch if not _is_directive(item)]
    result = list(original)
    for item in patch:
        if not isinstance(item, dict) or merge_key not in item:
            continue
        index = next(
            (i for i, old in enumerate(result) if isinstance(old, dict) and old.get(merge_key) == item[merge_key]),
            None,
        )
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
        elif index is None:
            result.append(_strip_directives(item))
        else:
            result[index] = _smp(result[index], item, (*path, key))
    return result


def _is_directive(item: Any) -> bool:
    return isinstance(item, dict) and set(item) == {"$patch"}


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return copy.deepcopy(value)
