"""
When a wait on a Flink job is over, and how it ended.

One rule for the operator's own wait, the sensor and the trigger.

Pure logic over :class:`JobVerdict` and wall-clock numbers passed in: the callers fetch, call
:meth:`Wait.check` with the verdict and ``time.time()``, and act on the :class:`WaitEvent` it returns.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from airflow_provider_flink.state.verdict import JobPhase, JobVerdict

#: What a wait waits for: the job runs (streaming), the job finished (batch), or the resource is suspended.
WaitTarget = Literal["running", "finished", "suspended"]
WAIT_TARGETS: tuple[str, ...] = ("running", "finished", "suspended")


def check_seconds(name: str, value: object, *, positive: bool = False, optional: bool = False) -> None:
    """
    Refuse a waiting knob no wait can honour, when the operator is built rather than after it created something.

    :param name: The argument's name, for the message.
    :param value: The argument's value.
    :param positive: Whether 0 is refused too (a poll interval of 0 would poll the API server in a busy loop).
    :param optional: Whether ``None`` (no limit) is allowed.
    :raises ValueError: Naming the argument and the value.
    """
    if value is None and optional:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or math.isnan(value)
        or value < 0
        or (positive and value == 0)
    ):
        what = "a positive number of seconds" if positive else "a number of seconds (0 or more)"
        raise ValueError(f"{name} must be {'None or ' if optional else ''}{what}, not {value!r}")


#: How a wait ended. ``error`` is for the waiting machinery itself (resource gone, API unreachable).
EventStatus = Literal["success", "failed", "timeout", "error"]

_SUCCESS_PHASES: dict[str, frozenset[JobPhase]] = {
    # A job that already finished has certainly been running: a fast bounded job must not hang a
    # wait for "running".
    "running": frozenset({JobPhase.RUNNING, JobPhase.FINISHED}),
    "finished": frozenset({JobPhase.FINISHED}),
    "suspended": frozenset({JobPhase.SUSPENDED}),
}


def outcome(verdict: JobVerdict, target: str) -> Literal["success", "failed"] | None:
    """
    Say whether ``verdict`` ends a wait for ``target``: ``"success"``, ``"failed"`` or ``None`` (wait on).

    A terminal phase that is not the target is a failure: a job that was cancelled, failed or suspended while
    a task waited for it to run or finish will not get there by itself.
    """
    if target not in _SUCCESS_PHASES:
        raise ValueError(f"Unknown wait target {target!r}; expected one of {', '.join(WAIT_TARGETS)}")
    if verdict.phase in _SUCCESS_PHASES[target]:
        return "success"
    if verdict.is_terminal:
        return "failed"
    return None


@dataclass(frozen=True)
class WaitEvent:
    """
    The end of a wait, as a trigger event payload or a sensor/operator result.

    :param status: ``success``, ``failed``, ``timeout`` or ``error``.
    :param message: For people: what was seen and why the wait ended.
    :param phase: The last judged phase, if any.
    :param job_id: The Flink job id last seen, if any.
    :param job_state: The Flink job state last seen, if any.
    :param savepoint_path: The latest savepoint location, if any.
    """

    status: EventStatus
    message: str
    phase: str | None = None
    job_id: str | None = None
    job_state: str | None = None
    savepoint_path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> WaitEvent:
        """Rebuild the event from a trigger payload, ignoring the keys the trigger adds."""
        fields = {key: payload.get(key) for key in cls.__dataclass_fields__}
        return cls(**fields)  # type: ignore[arg-type]

    @classmethod
    def from_verdict(cls, status: EventStatus, verdict: JobVerdict, message: str | None = None) -> WaitEvent:
        return cls(
            status=status,
            message=message or verdict.message,
            phase=str(verdict.phase),
            job_id=verdict.job_id,
            job_state=verdict.job_state,
            savepoint_path=verdict.savepoint_path,
        )


@dataclass
class Wait:
    """
    One wait for a Flink job to reach ``target``, with its deadlines as absolute epoch seconds.

    Deadlines are absolute so that a wait handed from a worker to the triggerer (or re-created after a
    triggerer restart) keeps the time it had left rather than starting over.

    :param target: ``running``, ``finished`` or ``suspended``.
    :param startup_deadline: Epoch seconds by which the job must have started (left PENDING), or ``None``.
    :param deadline: Epoch seconds by which the whole wait must be over, or ``None``.
    :param started: Whether the job was seen past PENDING (then the startup deadline no longer applies).
    :param hold_until: Epoch seconds before which no event ends the wait: a verdict seen earlier is looked at
        again then. The trigger sets it in the triggerer, a few seconds after the deferral, because Airflow 3.3
        fails a resumed task whose trigger fired too soon (apache/airflow#72716; see ``FlinkJobTrigger``).
    """

    target: str
    startup_deadline: float | None = None
    deadline: float | None = None
    started: bool = False
    hold_until: float | None = None
    last: JobVerdict | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        outcome(JobVerdict(JobPhase.PENDING, ""), self.target)  # refuses an unknown target

    def check(self, verdict: JobVerdict, now: float) -> WaitEvent | None:
        """Return the event that ends the wait given ``verdict`` seen at ``now``, or ``None`` to wait on."""
        self.last = verdict
        if verdict.phase is not JobPhase.PENDING:
            self.started = True
        if self.hold_until is not None and now < self.hold_until:
            return None
        result = outcome(verdict, self.target)
        if result is not None:
            return WaitEvent.from_verdict(result, verdict)
        if not self.started and self.startup_deadline is not None and now >= self.startup_deadline:
            return WaitEvent.from_verdict(
                "timeout",
                verdict,
                f"Startup timeout: the job did not start in time. Last seen: {verdict.message}",
            )
        if self.deadline is not None and now >= self.deadline:
            return WaitEvent.from_verdict(
                "timeout",
                verdict,
                f"Timeout: the job did not reach {self.target} in time. Last seen: {verdict.message}",
            )
        return None

    def sleep_for(self, poll_interval: float, now: float) -> float:
        """How long to sleep before the next look: the poll interval, cut short by a deadline or the hold's end."""
        candidates = [poll_interval]
        hold = self.hold_until if self.hold_until is not None and now < self.hold_until else None
        for moment in (None if self.started else self.startup_deadline, self.deadline, hold):
            if moment is not None:
                candidates.append(max(moment - now, 0.0))
        return min(candidates)
