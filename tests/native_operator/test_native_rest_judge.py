"""
Judging a native cluster's job from Flink REST answers and from its JobManager pods: table-driven.

The REST answers in ``fixtures/rest`` were saved from a real Flink 2.3.0 cluster running the test jobs of
``airflow_provider_flink.testing.native_cluster_simulator`` (bounded: FINISHED, failing: FAILED, unbounded:
RUNNING then cancelled: CANCELED, restarting: RESTARTING). Overviews with several jobs are narrowed to one job
per case below; ``overview_restarting.json`` was narrowed the same way when it was saved.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_flink.state.rest import judge_jobmanager_pods, judge_rest, select_job
from airflow_provider_flink.state.verdict import JobPhase

FIXTURES = Path(__file__).parent / "fixtures" / "rest"
FAILED_JOB = "7abc7c9ae4c7727d30d43e2fb2cbcacf"
FINISHED_JOB = "b2e58a9bfa0acff7003eddb29cc0c482"
STREAMING_JOB = "98fc3ec7ccf6f7d3ccb3fce6c9651cca"


def load(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def only(overview_name: str, job_id: str) -> dict[str, Any]:
    overview = load(overview_name)
    return {"jobs": [job for job in overview["jobs"] if job["jid"] == job_id]}


@pytest.mark.parametrize(
    ("overview", "job", "exceptions", "result", "phase", "state", "text"),
    [
        (
            only("overview_running", FINISHED_JOB),
            "job_finished",
            None,
            "execution_result_finished",
            JobPhase.FINISHED,
            "FINISHED",
            "FINISHED.",
        ),
        (
            only("overview_running", FAILED_JOB),
            "job_failed",
            "exceptions_failed",
            "execution_result_failed",
            JobPhase.FAILED,
            "FAILED",
            "root cause: java.lang.IllegalStateException: Simulated bad record 42",
        ),
        (
            only("overview_all_terminal", STREAMING_JOB),
            "job_canceled",
            None,
            "execution_result_canceled",
            JobPhase.CANCELED,
            "CANCELED",
            "was CANCELED (not by this task)",
        ),
        (
            only("overview_running", STREAMING_JOB),
            "job_running",
            None,
            "execution_result_running",
            JobPhase.RUNNING,
            "RUNNING",
            "is RUNNING",
        ),
        (load("overview_restarting"), None, None, None, JobPhase.PENDING, "RESTARTING", "RESTARTING after a failure"),
    ],
    ids=["finished", "failed", "canceled", "running", "restarting"],
)
def test_rest_answers_of_real_jobs_are_judged(overview, job, exceptions, result, phase, state, text):
    verdict = judge_rest(
        "wc",
        overview,
        load(job) if job else None,
        load(exceptions) if exceptions else None,
        load(result) if result else None,
        namespace="ns",
    )

    assert verdict.phase is phase
    assert verdict.job_state == state
    assert text in verdict.message
    assert verdict.message.startswith("Flink application cluster ns/wc: Flink job ")


def test_failed_job_carries_flinks_exception_as_error():
    verdict = judge_rest(
        "wc", only("overview_running", FAILED_JOB), load("job_failed"), load("exceptions_failed"), None
    )

    assert verdict.error is not None
    assert verdict.error.type == "org.apache.flink.runtime.JobException"
    assert verdict.error.message == "Recovery is suppressed by NoRestartBackoffTimeStrategy"
    assert verdict.error.root_cause == "java.lang.IllegalStateException: Simulated bad record 42"
    assert verdict.job_id == FAILED_JOB


def test_failure_cause_of_the_execution_result_is_used_without_exception_history():
    verdict = judge_rest("wc", only("overview_running", FAILED_JOB), None, None, load("execution_result_failed"))

    assert verdict.phase is JobPhase.FAILED
    assert verdict.error is not None and verdict.error.root_cause is not None
    assert "Simulated bad record 42" in verdict.error.root_cause


def test_root_exception_of_flink_1x_is_read():
    # Flink 1.x also sent the latest failure as "root-exception" (a stack trace string); 2.0 dropped it.
    trace = load("exceptions_failed")["exceptionHistory"]["entries"][0]["stacktrace"]
    exceptions = {"root-exception": trace, "timestamp": 1, "all-exceptions": [], "truncated": False}

    verdict = judge_rest("wc", only("overview_running", FAILED_JOB), None, exceptions, None)

    assert verdict.error is not None
    assert verdict.error.root_cause == "java.lang.IllegalStateException: Simulated bad record 42"


def test_completed_execution_result_decides_over_a_stale_overview():
    overview = only("overview_running", FINISHED_JOB)
    overview["jobs"][0]["state"] = "RUNNING"  # read a moment before the job ended

    verdict = judge_rest("wc", overview, None, None, load("execution_result_finished"))

    assert verdict.phase is JobPhase.FINISHED


@pytest.mark.parametrize(
    ("overview", "text"),
    [
        (None, "the REST API does not answer yet"),
        (load("overview_empty"), "no job yet"),
    ],
    ids=["no-rest", "no-job"],
)
def test_cluster_without_a_job_yet_is_pending(overview, text):
    verdict = judge_rest("wc", overview)

    assert verdict.phase is JobPhase.PENDING
    assert text in verdict.message
    assert verdict.job_id is None


def test_running_job_without_any_running_task_is_still_pending():
    overview = only("overview_running", STREAMING_JOB)
    tasks = overview["jobs"][0]["tasks"]
    tasks["running"], tasks["scheduled"] = 0, tasks["total"]

    verdict = judge_rest("wc", overview)

    assert verdict.phase is JobPhase.PENDING
    assert "waiting for TaskManager slots" in verdict.message


def test_previous_job_is_ignored_and_the_newest_job_is_chosen():
    overview = load("overview_running")  # FINISHED, FAILED and RUNNING jobs, the streaming one newest

    newest, before = select_job(overview), select_job(overview, previous_job_id=STREAMING_JOB)

    assert newest is not None and newest["jid"] == STREAMING_JOB
    assert before is not None and before["jid"] == FAILED_JOB
    assert judge_rest("wc", only("overview_running", FAILED_JOB), previous_job_id=FAILED_JOB).phase is JobPhase.PENDING


# ----------------------------------------------------------------------------------------------------
# JobManager pods, while REST does not answer
# ----------------------------------------------------------------------------------------------------


def pod(state: dict[str, Any] | None = None, phase: str = "Pending", **status: Any) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "flink-main-container", "restartCount": status.pop("restarts", 0)}
    if state is not None:
        container["state"] = state
    if "last" in status:
        container["lastState"] = {"terminated": status.pop("last")}
    return {
        "metadata": {"name": "wc-5d8f7c9b4-abcde", "namespace": "ns"},
        "status": {"phase": phase, "containerStatuses": [container] if state is not None else [], **status},
    }


CRASHED = {"exitCode": 1, "reason": "Error"}


@pytest.mark.parametrize(
    ("pods", "phase", "reason", "text"),
    [
        ([], JobPhase.PENDING, None, "no JobManager pod yet"),
        ([pod({"waiting": {"reason": "ContainerCreating"}})], JobPhase.PENDING, None, "Pending (ContainerCreating)"),
        (
            [pod(None, conditions=[{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}])],
            JobPhase.PENDING,
            None,
            "PodScheduled Unschedulable",
        ),
        ([pod({"running": {}}, "Running")], JobPhase.PENDING, None, "REST API does not answer yet"),
        (
            [pod({"waiting": {"reason": "ErrImagePull", "message": "manifest unknown"}})],
            JobPhase.FAILED,
            "ErrImagePull",
            "cannot start: ErrImagePull: manifest unknown",
        ),
        ([pod({"waiting": {"reason": "ImagePullBackOff"}})], JobPhase.FAILED, "ImagePullBackOff", "ImagePullBackOff"),
        (
            [pod({"waiting": {"reason": "CrashLoopBackOff"}}, "Running", restarts=3, last=CRASHED)],
            JobPhase.FAILED,
            "CrashLoopBackOff",
            "CrashLoopBackOff: exit code 1, Error",
        ),
        (
            [pod({"waiting": {"reason": "CreateContainerConfigError", "message": 'secret "s3" not found'}})],
            JobPhase.FAILED,
            "CreateContainerConfigError",
            'secret "s3" not found',
        ),
        (
            [pod({"terminated": {"exitCode": 137, "reason": "OOMKilled"}}, "Running")],
            JobPhase.FAILED,
            "OOMKilled",
            "exit code 137",
        ),
    ],
    ids=[
        "no-pod",
        "creating",
        "unschedulable",
        "starting",
        "image-pull-error",
        "image-pull-backoff",
        "crash-loop",
        "config-error",
        "oom-killed",
    ],
)
def test_jobmanager_pod_decides_while_rest_does_not_answer(pods, phase, reason, text):
    verdict = judge_jobmanager_pods("wc", copy.deepcopy(pods), namespace="ns", rest_problem="HTTP 503")

    assert verdict.phase is phase
    assert text in verdict.message
    assert (verdict.error.reason if verdict.error else None) == reason
