"""Parsing errors as the Flink Kubernetes Operator and Flink report them, and their one-line summary."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_flink.state import FlinkError, parse_flink_error

NESTED: dict[str, Any] = {
    "type": "org.apache.flink.kubernetes.operator.exception.ReconciliationException",
    "message": "org.apache.flink.client.deployment.ClusterDeploymentException: Could not create Kubernetes cluster",
    "stackTrace": "org.apache.flink.kubernetes.operator.exception.ReconciliationException: ...\n\tat ...",
    "additionalMetadata": {"labels": ["kubernetes"]},
    "throwableList": [
        {
            "type": "org.apache.flink.client.deployment.ClusterDeploymentException",
            "message": 'Could not create Kubernetes cluster "wordcount".',
            "additionalMetadata": {},
        },
        {
            "type": "io.fabric8.kubernetes.client.KubernetesClientException",
            "message": "Failure executing: POST at: "
            "https://10.96.0.1/apis/apps/v1/namespaces/analytics/deployments. Message: Forbidden!",
            "additionalMetadata": {"httpResponseCode": 403},
        },
    ],
}
TRUNCATED = '{"type": "org.apache.flink.kubernetes.operator.exception.ValidationException", "mess'
STACK_TRACE = """org.apache.flink.runtime.JobException: Recovery is suppressed by NoRestartBackoffTimeStrategy
\tat org.apache.flink.runtime.executiongraph.failover.ExecutionFailureHandler.handleFailure(...)
\tat org.apache.flink.runtime.scheduler.DefaultScheduler.handleTaskFailure(DefaultScheduler.java:279)
Caused by: java.lang.IllegalStateException: wrapped
\tat org.example.WordCount.main(WordCount.java:42)
Caused by: java.io.FileNotFoundException: s3://bucket/in does not exist
\t... 12 more"""


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(
            json.dumps(NESTED),
            FlinkError(
                type="org.apache.flink.kubernetes.operator.exception.ReconciliationException",
                message=NESTED["message"],
                root_cause="io.fabric8.kubernetes.client.KubernetesClientException: "
                + NESTED["throwableList"][-1]["message"],
            ),
            id="operator_json_root_cause_is_last_of_throwable_list",
        ),
        pytest.param(
            NESTED,
            parse_flink_error(json.dumps(NESTED)),
            id="already_decoded_document",
        ),
        pytest.param(
            json.dumps(
                {
                    "type": "org.apache.flink.kubernetes.operator.exception.DeploymentFailedException",
                    "message": '[flink-main-container] Back-off pulling image "flink:1.20-typo"',
                    "additionalMetadata": {"reason": "ImagePullBackOff"},
                    "throwableList": [],
                }
            ),
            FlinkError(
                type="org.apache.flink.kubernetes.operator.exception.DeploymentFailedException",
                message='[flink-main-container] Back-off pulling image "flink:1.20-typo"',
                reason="ImagePullBackOff",
            ),
            id="deployment_failure_reason",
        ),
        pytest.param(
            json.dumps(
                {
                    "type": "org.apache.flink.util.SerializedThrowable",
                    "message": "Recovery is suppressed by NoRestartBackoffTimeStrategy",
                    "additionalMetadata": {},
                    "throwableList": [
                        {
                            "type": "org.apache.flink.util.SerializedThrowable",
                            "message": "java.io.FileNotFoundException: s3://bucket/in does not exist",
                        }
                    ],
                }
            ),
            FlinkError(
                type=None,
                message="Recovery is suppressed by NoRestartBackoffTimeStrategy",
                root_cause="java.io.FileNotFoundException: s3://bucket/in does not exist",
            ),
            id="job_failure_drops_the_serialized_throwable_wrapper_name",
        ),
        pytest.param(
            '{"type":"java.lang.NullPointerException","additionalMetadata":{},"throwableList":[]}',
            FlinkError(type="java.lang.NullPointerException", message=""),
            id="exception_without_message",
        ),
        pytest.param(
            "Job Not Found",
            FlinkError(type=None, message="Job Not Found"),
            id="plain_sentence",
        ),
        pytest.param(
            "java.lang.IllegalArgumentException: Invalid job id",
            FlinkError(type="java.lang.IllegalArgumentException", message="Invalid job id"),
            id="plain_java_throwable_to_string",
        ),
        pytest.param(
            STACK_TRACE,
            FlinkError(
                type="org.apache.flink.runtime.JobException",
                message="Recovery is suppressed by NoRestartBackoffTimeStrategy",
                root_cause="java.io.FileNotFoundException: s3://bucket/in does not exist",
            ),
            id="stack_trace_root_cause_is_last_caused_by",
        ),
        pytest.param(TRUNCATED, FlinkError(type=None, message=TRUNCATED), id="invalid_json_is_kept_as_text"),
        pytest.param(
            '["not", "an", "object"]',
            FlinkError(type=None, message='["not", "an", "object"]'),
            id="json_list",
        ),
        pytest.param('{"unrelated": true}', FlinkError(type=None, message='{"unrelated": true}'), id="foreign_json"),
        pytest.param(None, None, id="none"),
        pytest.param("", None, id="empty"),
        pytest.param("  \n ", None, id="blank"),
    ],
)
def test_parse_flink_error(raw: Any, expected: FlinkError | None) -> None:
    assert parse_flink_error(raw) == expected


@pytest.mark.parametrize(
    ("error", "summary"),
    [
        pytest.param(
            FlinkError(type="java.lang.IllegalStateException", message="boom", root_cause="java.io.IOException: x"),
            "java.lang.IllegalStateException: boom (root cause: java.io.IOException: x)",
            id="type_message_and_root_cause",
        ),
        pytest.param(
            FlinkError(type="a.b.DeploymentFailedException", message="[jm] back-off", reason="ErrImagePull"),
            "a.b.DeploymentFailedException: [jm] back-off [ErrImagePull]",
            id="reason",
        ),
        pytest.param(FlinkError(type=None, message="Job Not Found"), "Job Not Found", id="text_only"),
        pytest.param(
            FlinkError(type="java.lang.NullPointerException", message=""),
            "java.lang.NullPointerException",
            id="type_only",
        ),
        pytest.param(
            FlinkError(type="java.io.IOException", message="disk", root_cause="java.io.IOException: disk"),
            "java.io.IOException: disk",
            id="root_cause_equal_to_error_is_not_repeated",
        ),
    ],
)
def test_summary_is_one_readable_line(error: FlinkError, summary: str) -> None:
    assert error.summary() == summary
