"""The one rule for when a wait on a Flink job ends, shared by the operator, the sensor and the trigger."""

from __future__ import annotations

import pytest

from airflow_provider_flink.state.verdict import JobPhase, JobVerdict
from airflow_provider_flink.state.waiting import Wait, outcome


def _verdict(phase: JobPhase) -> JobVerdict:
    return JobVerdict(phase=phase, message=f"FlinkDeployment ns/job: {phase}", job_id="a" * 32)


@pytest.mark.parametrize(
    ("phase", "target", "expected"),
    [
        (JobPhase.PENDING, "running", None),
        (JobPhase.PENDING, "finished", None),
        (JobPhase.RUNNING, "running", "success"),
        (JobPhase.RUNNING, "finished", None),
        (JobPhase.FINISHED, "finished", "success"),
        # a bounded job that finished before anyone looked has certainly been running
        (JobPhase.FINISHED, "running", "success"),
        (JobPhase.FAILED, "running", "failed"),
        (JobPhase.FAILED, "finished", "failed"),
        (JobPhase.CANCELED, "finished", "failed"),
        (JobPhase.SUSPENDED, "finished", "failed"),
        (JobPhase.SUSPENDED, "suspended", "success"),
        (JobPhase.RUNNING, "suspended", None),
        (JobPhase.FINISHED, "suspended", "failed"),
        (JobPhase.FAILED, "suspended", "failed"),
    ],
)
def test_outcome_of_each_phase_for_each_target(phase, target, expected):
    assert outcome(_verdict(phase), target) == expected


def test_unknown_target_is_refused_with_the_valid_ones_named():
    with pytest.raises(ValueError, match="running, finished, suspended"):
        Wait("done")


def test_pending_past_the_startup_deadline_times_out_as_a_startup_timeout():
    wait = Wait("finished", startup_deadline=100.0, deadline=1000.0)

    event = wait.check(_verdict(JobPhase.PENDING), now=100.0)

    assert event is not None and event.status == "timeout"
    assert event.message.startswith("Startup timeout")


def test_startup_deadline_no_longer_applies_once_the_job_ran():
    wait = Wait("finished", startup_deadline=100.0)
    wait.check(_verdict(JobPhase.RUNNING), now=50.0)

    event = wait.check(_verdict(JobPhase.PENDING), now=150.0)  # e.g. restarting after a failover

    assert event is None


def test_whole_wait_deadline_ends_a_running_job_wait_with_timeout():
    wait = Wait("finished", deadline=200.0)

    event = wait.check(_verdict(JobPhase.RUNNING), now=200.0)

    assert event is not None and event.status == "timeout"
    assert "did not reach finished" in event.message


def test_success_seen_at_the_deadline_is_still_success():
    wait = Wait("finished", deadline=200.0)

    event = wait.check(_verdict(JobPhase.FINISHED), now=500.0)

    assert event is not None and event.status == "success"


def test_event_carries_job_facts_for_xcom():
    verdict = JobVerdict(JobPhase.FINISHED, "done", job_id="b" * 32, job_state="FINISHED", savepoint_path="s3://x")

    event = Wait("finished").check(verdict, now=0.0)

    assert event is not None
    assert event.to_dict() == {
        "status": "success",
        "message": "done",
        "phase": "FINISHED",
        "job_id": "b" * 32,
        "job_state": "FINISHED",
        "savepoint_path": "s3://x",
    }


@pytest.mark.parametrize(
    ("wait", "now", "expected"),
    [
        (Wait("finished"), 0.0, 10.0),
        (Wait("finished", deadline=3.0), 0.0, 3.0),
        (Wait("finished", startup_deadline=4.0, deadline=100.0), 0.0, 4.0),
        (Wait("finished", startup_deadline=4.0, deadline=100.0, started=True), 0.0, 10.0),
        (Wait("finished", deadline=3.0), 5.0, 0.0),
    ],
)
def test_sleep_is_cut_short_to_land_on_the_next_deadline(wait, now, expected):
    assert wait.sleep_for(10.0, now) == expected


def test_verdict_seen_before_the_hold_ends_is_held_then_decides():
    wait = Wait("finished", hold_until=100.0)

    held = wait.check(_verdict(JobPhase.FINISHED), now=99.0)
    decided = wait.check(_verdict(JobPhase.FINISHED), now=100.0)

    assert held is None
    assert decided is not None and decided.status == "success"


def test_sleep_during_the_hold_ends_when_the_hold_ends():
    wait = Wait("finished", hold_until=100.0)

    assert wait.sleep_for(poll_interval=30.0, now=97.5) == 2.5
    assert wait.sleep_for(poll_interval=30.0, now=100.0) == 30.0
