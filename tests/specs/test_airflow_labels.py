"""airflow_labels, airflow_label_selector, with_airflow_metadata: finding a task's object again on retry."""

from __future__ import annotations

import copy
import re

import pytest

from airflow_provider_flink.specs import (
    airflow_label_selector,
    airflow_labels,
    build_flink_session_job,
    validate_body,
    with_airflow_metadata,
)

# Kubernetes' rule for label values: at most 63 characters, empty or alphanumeric at both ends.
LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")

RUN_IDS = [
    "manual__2026-11-26T18:25:57.123456+00:00",
    "scheduled__2026-11-26T00:00:00+00:00",
    "backfill__2026-01-01T00:00:00+00:00",
    "asset_triggered__2026-11-26T18:25:57.123456+00:00_abcdef",
    "my run / with spaces & symbols!",
    "r" * 250,
]


@pytest.mark.parametrize("run_id", RUN_IDS)
@pytest.mark.parametrize("dag_id", ["etl", "a_very_long_dag_id_" * 10, "team.sub-team.dag"])
def test_label_values_are_valid_for_kubernetes_whatever_the_ids(dag_id, run_id):
    labels, _ = airflow_labels(dag_id, "load.to_warehouse", run_id, map_index=3, try_number=1)

    assert all(LABEL_VALUE.fullmatch(value) for value in labels.values()), labels


def test_labels_are_the_same_on_every_try_and_the_try_number_is_an_annotation():
    first = airflow_labels("etl", "load", RUN_IDS[0], map_index=-1, try_number=1)
    retry = airflow_labels("etl", "load", RUN_IDS[0], map_index=-1, try_number=2)

    assert first[0] == retry[0]
    assert (first[1]["airflow.apache.org/try_number"], retry[1]["airflow.apache.org/try_number"]) == (
        "1",
        "2",
    )
    assert not any("try_number" in key for key in first[0])


def test_raw_ids_are_kept_in_annotations_for_humans():
    _, annotations = airflow_labels("etl", "load", RUN_IDS[0], try_number=1)

    assert annotations == {
        "airflow.apache.org/dag_id": "etl",
        "airflow.apache.org/task_id": "load",
        "airflow.apache.org/run_id": "manual__2026-11-26T18:25:57.123456+00:00",
        "airflow.apache.org/try_number": "1",
    }


def test_label_values_match_cncf_kubernetes_make_safe_label_value():
    from airflow.providers.cncf.kubernetes.pod_generator import make_safe_label_value as cncf_make_safe

    labels, _ = airflow_labels("etl", "load", RUN_IDS[0])

    assert labels["airflow.apache.org/run_id"] == cncf_make_safe(RUN_IDS[0])


def test_safe_label_values_are_the_ones_cncf_kubernetes_gives_its_pods():
    # Labels written by either must find the other's objects: compare on odd and random values.
    import random

    from airflow.providers.cncf.kubernetes.pod_generator import make_safe_label_value as cncf_make_safe

    from airflow_provider_flink.specs import make_safe_label_value

    alphabet = "aZ09-_.:+ /é$"
    rng = random.Random(20261126)
    values = [*RUN_IDS, "", "-", "a-", "-a", "a$-", "é_a", "a-é-", "x" * 63, "x" * 64, "-" * 70 + "b"]
    values += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80))) for _ in range(3000)]

    assert [make_safe_label_value(v) for v in values] == [cncf_make_safe(v) for v in values]


def test_distinct_long_run_ids_give_distinct_labels():
    first, _ = airflow_labels("etl", "load", "r" * 100 + "1")
    second, _ = airflow_labels("etl", "load", "r" * 100 + "2")

    assert first["airflow.apache.org/run_id"] != second["airflow.apache.org/run_id"]


@pytest.mark.parametrize(
    ("map_index", "expected_selector"),
    [
        pytest.param(
            None,
            "airflow.apache.org/dag_id=etl,airflow.apache.org/run_id=r1,airflow.apache.org/task_id=load,"
            "!airflow.apache.org/map_index",
            id="unmapped-none",
        ),
        pytest.param(
            -1,
            "airflow.apache.org/dag_id=etl,airflow.apache.org/run_id=r1,airflow.apache.org/task_id=load,"
            "!airflow.apache.org/map_index",
            id="unmapped-minus-one",
        ),
        pytest.param(
            0,
            "airflow.apache.org/dag_id=etl,airflow.apache.org/map_index=0,airflow.apache.org/run_id=r1,"
            "airflow.apache.org/task_id=load",
            id="mapped",
        ),
    ],
)
def test_selector_matches_exactly_one_task_instance(map_index, expected_selector):
    labels, _ = airflow_labels("etl", "load", "r1", map_index=map_index, try_number=1)

    assert airflow_label_selector(labels) == expected_selector


def test_metadata_keeps_user_labels_and_ours_win_on_our_keys():
    body = {
        "metadata": {
            "name": "wc",
            "labels": {"team": "data", "airflow.apache.org/run_id": "stale-from-a-saved-manifest"},
            "annotations": {"note": "keep"},
        },
        "spec": {},
    }
    original = copy.deepcopy(body)
    labels, annotations = airflow_labels("etl", "load", "r1", try_number=2)

    result = with_airflow_metadata(body, labels, annotations)

    assert result["metadata"]["labels"] == {"team": "data", **labels}
    assert result["metadata"]["annotations"] == {"note": "keep", **annotations}
    assert body == original


def test_metadata_is_created_when_the_body_has_none():
    labels, annotations = airflow_labels("etl", "load", "r1")

    result = with_airflow_metadata({"spec": {}}, labels, annotations)

    assert result["metadata"] == {"labels": labels, "annotations": annotations}


def test_labelling_twice_gives_equal_bodies():
    labels, annotations = airflow_labels("etl", "load", RUN_IDS[0], map_index=2, try_number=1)
    once = with_airflow_metadata({"metadata": {"name": "wc"}}, labels, annotations)

    assert with_airflow_metadata(once, labels, annotations) == once


@pytest.mark.parametrize("run_id", RUN_IDS)
def test_labelled_body_passes_the_crd_metadata_checks(run_id):
    body = build_flink_session_job(None, name="report", deployment_name="session", jar_uri="https://r/j.jar")
    labels, annotations = airflow_labels("a_very_long_dag_id_" * 10, "load", run_id, map_index=0, try_number=1)

    validate_body(with_airflow_metadata(body, labels, annotations))
