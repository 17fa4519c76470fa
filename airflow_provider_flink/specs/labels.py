"""
Labels and annotations that tie a Flink custom resource to the Airflow task instance that made it.

The labels identify the task instance *across tries* (dag_id, task_id, run_id, map_index): a retry
or a restarted worker finds the object it created before with :func:`airflow_label_selector`
instead of creating a second one. The try number changes on every retry, so it is an annotation,
never a label. Label values are made safe exactly as cncf-kubernetes makes them for its pods; the
raw values go into annotations for humans, since a long or odd run_id is shortened and hashed.

Keys carry the ``airflow.apache.org/`` prefix: the plain ``dag_id``/``task_id`` keys that
KubernetesPodOperator uses could collide with a user's own labels on a long-lived Flink
deployment, and a prefixed key says who wrote it.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Mapping
from typing import Any

AIRFLOW_LABEL_PREFIX = "airflow.apache.org/"
DAG_ID_KEY = AIRFLOW_LABEL_PREFIX + "dag_id"
TASK_ID_KEY = AIRFLOW_LABEL_PREFIX + "task_id"
RUN_ID_KEY = AIRFLOW_LABEL_PREFIX + "run_id"
MAP_INDEX_KEY = AIRFLOW_LABEL_PREFIX + "map_index"
TRY_NUMBER_KEY = AIRFLOW_LABEL_PREFIX + "try_number"
MAX_LABEL_LENGTH = 63
_LABEL_REFUSED = re.compile(r"[^A-Za-z0-9_.-]")
_LABEL_EDGES = re.compile(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$")


def make_safe_label_value(value: str) -> str:
    """
    Make ``value`` a valid Kubernetes label value, with the same result as cncf-kubernetes gives its pods.

    Characters a label value refuses are dropped and it is trimmed to start and end with a letter or digit;
    a value that this changed, or that is longer than 63 characters, is cut and suffixed with a short hash
    of the original, so distinct inputs stay distinct and the same input always gives the same value.
    Written here rather than imported: cncf-kubernetes' pod_generator costs a task about a second to import.

    :param value: Any string.
    """
    kept = _LABEL_REFUSED.sub("", value)
    safe = _LABEL_EDGES.sub("", kept)
    if safe == value and len(safe) <= MAX_LABEL_LENGTH:
        return safe
    suffix = hashlib.md5(value.encode(), usedforsecurity=False).hexdigest()[:9]
    return f"{safe[: MAX_LABEL_LENGTH - len(suffix) - 1]}-{suffix}"


def airflow_labels(
    dag_id: str,
    task_id: str,
    run_id: str,
    map_index: int | None = None,
    try_number: int | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    """
    Return the labels and annotations that mark a custom resource as made by this task instance.

    Labels (``airflow.apache.org/`` + ``dag_id``, ``task_id``, ``run_id``, and ``map_index`` for a
    mapped task) hold label-safe values and are the same on every try. Annotations hold the raw
    ``dag_id``, ``task_id`` and ``run_id`` under the same keys, and ``try_number``.

    :param dag_id: The DAG's id.
    :param task_id: The task's id.
    :param run_id: The DAG run's id, e.g. ``manual__2026-11-26T18:25:57.123456+00:00``.
    :param map_index: The map index; ``None`` or a negative value (``-1``) for an unmapped task,
        which gets no map_index label (``-1`` is not a valid label value).
    :param try_number: The try number, annotated only.
    :return: ``(labels, annotations)``, two new dicts.
    """
    labels = {
        DAG_ID_KEY: make_safe_label_value(str(dag_id)),
        TASK_ID_KEY: make_safe_label_value(str(task_id)),
        RUN_ID_KEY: make_safe_label_value(str(run_id)),
    }
    if map_index is not None and map_index >= 0:
        labels[MAP_INDEX_KEY] = str(map_index)
    annotations = {DAG_ID_KEY: str(dag_id), TASK_ID_KEY: str(task_id), RUN_ID_KEY: str(run_id)}
    if try_number is not None:
        annotations[TRY_NUMBER_KEY] = str(try_number)
    return labels, annotations


def airflow_label_selector(labels: Mapping[str, str]) -> str:
    """
    Return a label selector that matches exactly the objects carrying ``labels``.

    For an unmapped task (no ``airflow.apache.org/map_index`` in ``labels``) the selector also
    requires that label to be absent, so it cannot match a mapped instance of a task with the same ids.

    :param labels: Labels from :func:`airflow_labels`.
    """
    terms = [f"{key}={value}" for key, value in sorted(labels.items())]
    if DAG_ID_KEY in labels and MAP_INDEX_KEY not in labels:
        terms.append(f"!{MAP_INDEX_KEY}")
    return ",".join(terms)


def with_airflow_metadata(
    body: Mapping[str, Any], labels: Mapping[str, str], annotations: Mapping[str, str]
) -> dict[str, Any]:
    """
    Return a copy of ``body`` with the Airflow labels and annotations added to its metadata.

    The user's own labels and annotations stay. On the ``airflow.apache.org/`` keys ours win: a
    retry finds the object by them, and a manifest saved from an earlier run with ``kubectl get``
    carries that run's values, which must not be kept.

    :param body: A FlinkDeployment or FlinkSessionJob body; not modified.
    :param labels: Labels from :func:`airflow_labels`.
    :param annotations: Annotations from :func:`airflow_labels`.
    """
    result = copy.deepcopy(dict(body))
    metadata = dict(result.get("metadata") or {})
    metadata["labels"] = {**(metadata.get("labels") or {}), **labels}
    metadata["annotations"] = {**(metadata.get("annotations") or {}), **annotations}
    result["metadata"] = metadata
    return result
