"""The shared retry policy: which errors are transient, how long to wait, when to give up."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from types import SimpleNamespace

import aiohttp
import pytest
import urllib3.exceptions
from kubernetes.client.exceptions import ApiException as SyncApiException
from kubernetes_asyncio.client.exceptions import ApiException as AsyncApiException

from airflow_provider_flink.hooks.retry import (
    RetryExhausted,
    RetryPolicy,
    Transience,
    acall_with_retries,
    call_with_retries,
    classify,
    retry_after_seconds,
)


def _api_error(status: int, retry_after: str | None = None) -> SyncApiException:
    error = SyncApiException(status=status, reason="x")
    error.headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return error


def _connector_error() -> aiohttp.ClientConnectorError:
    key = SimpleNamespace(ssl=None, host="127.0.0.1", port=1)
    return aiohttp.ClientConnectorError(key, OSError(111, "Connection refused"))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (_api_error(429), Transience.NOT_DELIVERED),
        (_api_error(500), Transience.MAYBE_DELIVERED),
        (_api_error(502), Transience.MAYBE_DELIVERED),
        (_api_error(503), Transience.MAYBE_DELIVERED),
        (_api_error(504), Transience.MAYBE_DELIVERED),
        (AsyncApiException(status=503, reason="x"), Transience.MAYBE_DELIVERED),
        (_api_error(400), Transience.PERMANENT),
        (_api_error(403), Transience.PERMANENT),
        (_api_error(404), Transience.PERMANENT),
        (_api_error(409), Transience.PERMANENT),
        (_api_error(422), Transience.PERMANENT),
        (SyncApiException(status=0, reason="SSLError"), Transience.PERMANENT),
        (urllib3.exceptions.NewConnectionError(None, "refused"), Transience.NOT_DELIVERED),  # type: ignore[arg-type]
        (urllib3.exceptions.ConnectTimeoutError("slow connect"), Transience.NOT_DELIVERED),
        (
            urllib3.exceptions.MaxRetryError(None, "/x", urllib3.exceptions.NewConnectionError(None, "no")),  # type: ignore[arg-type]
            Transience.NOT_DELIVERED,
        ),
        (
            urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError()),
            Transience.MAYBE_DELIVERED,
        ),
        (urllib3.exceptions.ReadTimeoutError(None, "/x", "read timed out"), Transience.MAYBE_DELIVERED),  # type: ignore[arg-type]
        (urllib3.exceptions.SSLError("bad certificate"), Transience.PERMANENT),
        (_connector_error(), Transience.NOT_DELIVERED),
        (aiohttp.ServerDisconnectedError(), Transience.MAYBE_DELIVERED),
        (aiohttp.ClientPayloadError("cut"), Transience.MAYBE_DELIVERED),
        (TimeoutError(), Transience.MAYBE_DELIVERED),
        (ConnectionRefusedError(), Transience.NOT_DELIVERED),
        (ConnectionResetError(), Transience.MAYBE_DELIVERED),
        (ValueError("bug"), Transience.PERMANENT),
        (FileNotFoundError("kubeconfig"), Transience.PERMANENT),
    ],
)
def test_classify_tells_transient_from_permanent_and_whether_the_server_may_have_acted(
    error: BaseException, expected: Transience
) -> None:
    assert classify(error) is expected


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    date = format_datetime(now + timedelta(seconds=7), usegmt=True)

    assert retry_after_seconds(_api_error(429, "3")) == 3.0
    assert retry_after_seconds(_api_error(429, date), now=now) == 7.0
    assert retry_after_seconds(_api_error(429, "soon")) is None
    assert retry_after_seconds(_api_error(429)) is None


def test_backoff_doubles_per_attempt_up_to_the_cap() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=3.0, jitter=0.0)

    assert [policy.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_jitter_only_shortens_the_wait_by_at_most_its_fraction() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=10.0, jitter=0.25)

    assert policy.backoff(1, rand=0.0) == 1.0
    assert policy.backoff(1, rand=0.999) == pytest.approx(0.75, abs=0.001)


def test_retry_after_longer_than_the_backoff_is_honoured() -> None:
    policy = RetryPolicy(base_delay=0.1, jitter=0.0)

    assert policy.next_delay(_api_error(429, "4"), attempt=1, elapsed=0.0) == 4.0
    assert policy.next_delay(_api_error(503, "0"), attempt=1, elapsed=0.0) == 0.1


def test_gives_up_after_max_attempts() -> None:
    policy = RetryPolicy(max_attempts=3, base_delay=0.1, jitter=0.0)

    assert policy.next_delay(_api_error(503), attempt=2, elapsed=0.0) == 0.2
    assert policy.next_delay(_api_error(503), attempt=3, elapsed=0.0) is None


def test_gives_up_when_the_wait_would_overrun_the_time_budget() -> None:
    policy = RetryPolicy(base_delay=1.0, max_total=10.0, jitter=0.0)

    assert policy.next_delay(_api_error(503), attempt=1, elapsed=8.5) == 1.0
    assert policy.next_delay(_api_error(503), attempt=1, elapsed=9.5) is None
    assert policy.next_delay(_api_error(429, "30"), attempt=1, elapsed=0.0) is None


def test_non_idempotent_request_is_retried_only_when_it_surely_did_not_arrive() -> None:
    policy = RetryPolicy(base_delay=0.1, jitter=0.0)

    assert policy.next_delay(_api_error(503), 1, 0.0, idempotent=False) is None
    assert policy.next_delay(ConnectionResetError(), 1, 0.0, idempotent=False) is None
    assert policy.next_delay(_api_error(429), 1, 0.0, idempotent=False) == 0.1
    assert policy.next_delay(ConnectionRefusedError(), 1, 0.0, idempotent=False) == 0.1


def test_invalid_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)


def test_call_with_retries_returns_the_first_success_after_transient_failures() -> None:
    outcomes: list[BaseException | str] = [_api_error(503), ConnectionResetError(), "ok"]
    waits: list[float] = []

    def attempt() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    result = call_with_retries(attempt, RetryPolicy(base_delay=0.1, jitter=0.0), sleep=waits.append)

    assert result == "ok"
    assert waits == [0.1, 0.2]


def test_call_with_retries_raises_a_permanent_error_at_once() -> None:
    calls: list[int] = []

    def attempt() -> None:
        calls.append(1)
        raise _api_error(422)

    with pytest.raises(SyncApiException) as raised:
        call_with_retries(attempt, RetryPolicy(), sleep=lambda _: None)

    assert raised.value.status == 422
    assert len(calls) == 1


def test_call_with_retries_reports_exhaustion_with_the_last_error_and_attempts() -> None:
    def attempt() -> None:
        raise _api_error(500)

    with pytest.raises(RetryExhausted) as raised:
        call_with_retries(attempt, RetryPolicy(max_attempts=3, base_delay=0.0), sleep=lambda _: None)

    assert raised.value.attempts == 3
    assert isinstance(raised.value.last_error, SyncApiException)
    assert raised.value.last_error.status == 500


def test_acall_with_retries_waits_with_the_injected_async_sleep() -> None:
    outcomes: list[BaseException | str] = [_api_error(429, "2"), "ok"]
    waits: list[float] = []

    async def attempt() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    result = asyncio.run(acall_with_retries(attempt, RetryPolicy(base_delay=0.1, jitter=0.0), sleep=sleep))

    assert result == "ok"
    assert waits == [2.0]
