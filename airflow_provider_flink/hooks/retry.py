"""
One retry policy for every call this provider makes to the Kubernetes API server, sync and async.

The policy itself is pure: it classifies an error and says how long to wait before the next
attempt (bounded exponential backoff with jitter, honouring ``Retry-After``), or that the budget
of attempts / total time is spent. :func:`call_with_retries` and :func:`acall_with_retries` are the
two small loops that apply it, with an injectable sleep so tests can record the waits.
"""

from __future__ import annotations

import asyncio
import email.utils
import enum
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import aiohttp
import urllib3.exceptions
from kubernetes.client.exceptions import ApiException as SyncApiException
from kubernetes_asyncio.client.exceptions import ApiException as AsyncApiException

T = TypeVar("T")

#: Statuses worth another attempt: throttling and the API server's (or its proxy's) temporary failures.
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})


class Transience(enum.Enum):
    """How an error relates to retrying."""

    #: Retrying will not help (4xx, bad configuration, TLS failure...).
    PERMANENT = "permanent"
    #: The server certainly did not act on the request (connection never made, throttled):
    #: safe to repeat any request.
    NOT_DELIVERED = "not-delivered"
    #: The server may have acted before the failure (5xx, reset or timeout after sending):
    #: safe to repeat only an idempotent request.
    MAYBE_DELIVERED = "maybe-delivered"


def http_status(error: BaseException) -> int | None:
    """Return the HTTP status carried by a Kubernetes client error, ``None`` for network errors."""
    if isinstance(error, SyncApiException | AsyncApiException):
        return error.status or None
    if isinstance(error, aiohttp.ClientResponseError):
        return error.status
    return None


def classify(error: BaseException) -> Transience:
    """
    Classify an error raised by the sync (urllib3) or async (aiohttp) Kubernetes client.

    :param error: The exception raised by one attempt.
    """
    if isinstance(error, urllib3.exceptions.MaxRetryError) and error.reason is not None:
        return classify(error.reason)
    status = http_status(error)
    if status is not None:
        if status == 429:
            # Priority-and-fairness rejects before doing anything.
            return Transience.NOT_DELIVERED
        return Transience.MAYBE_DELIVERED if status in TRANSIENT_STATUSES else Transience.PERMANENT
    if isinstance(error, SyncApiException | AsyncApiException):
        # status 0: the client refused to build or send the request (e.g. TLS setup failed).
        return Transience.PERMANENT
    # Connection never established: nothing reached the server. urllib3's NewConnectionError is a
    # ConnectTimeoutError; aiohttp's ClientConnectorError and ConnectionTimeoutError likewise.
    not_delivered: tuple[type[BaseException], ...] = (
        urllib3.exceptions.ConnectTimeoutError,
        urllib3.exceptions.NewConnectionError,
        aiohttp.ClientConnectorError,
        ConnectionRefusedError,
    )
    if hasattr(aiohttp, "ConnectionTimeoutError"):
        not_delivered += (aiohttp.ConnectionTimeoutError,)
    if isinstance(error, not_delivered):
        return Transience.NOT_DELIVERED
    if isinstance(error, urllib3.exceptions.SSLError | aiohttp.ClientSSLError):
        return Transience.PERMANENT
    maybe_delivered = (
        urllib3.exceptions.ProtocolError,  # connection reset / remote end closed without answer
        urllib3.exceptions.TimeoutError,  # read timeout
        aiohttp.ClientConnectionError,  # server disconnected, OS error, socket read timeout
        aiohttp.ClientPayloadError,  # body cut short
        ConnectionError,
        TimeoutError,  # asyncio.TimeoutError is this builtin since Python 3.11
    )
    if isinstance(error, maybe_delivered):
        return Transience.MAYBE_DELIVERED
    return Transience.PERMANENT


def retry_after_seconds(error: BaseException, *, now: datetime | None = None) -> float | None:
    """
    Return the wait the server asked for in a ``Retry-After`` header (seconds or HTTP date).

    :param error: The exception raised by one attempt.
    :param now: Current time, for an HTTP-date header; defaults to the wall clock.
    """
    headers = getattr(error, "headers", None)
    if not headers:
        return None
    try:
        value = headers.get("Retry-After")
    except AttributeError:
        return None
    if value is None:
        return None
    value = str(value).strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass(frozen=True)
class RetryPolicy:
    """
    Which failures to retry and how long to wait between attempts.

    The wait before attempt ``n + 1`` is ``min(max_delay, base_delay * 2 ** (n - 1))`` reduced by up
    to ``jitter`` (a fraction) at random, and never less than the server's ``Retry-After``. Retrying
    stops after ``max_attempts`` attempts, or when the next wait would end past ``max_total`` seconds
    since the first attempt.

    :param max_attempts: Attempts in total, the first one included.
    :param base_delay: Wait after the first failure, in seconds.
    :param max_delay: Cap of the exponential wait, in seconds (``Retry-After`` may exceed it).
    :param max_total: Time budget from the first attempt, in seconds.
    :param jitter: Fraction of the wait randomly taken off, so that many clients do not retry in step.
    """

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 15.0
    max_total: float = 60.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.max_total < 0:
            raise ValueError("delays must not be negative")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")

    def backoff(self, attempt: int, rand: float = 0.0) -> float:
        """
        Return the exponential wait after failed attempt number ``attempt`` (1-based).

        :param attempt: Number of the attempt that just failed.
        :param rand: A number in [0, 1) choosing how much jitter to take off.
        """
        delay = min(self.max_delay, self.base_delay * (2 ** max(0, attempt - 1)))
        return delay * (1.0 - self.jitter * rand)

    def next_delay(
        self,
        error: BaseException,
        attempt: int,
        elapsed: float,
        *,
        idempotent: bool = True,
        rand: float = 0.0,
    ) -> float | None:
        """
        Return how long to wait before retrying, or ``None`` to give up.

        :param error: The exception raised by the attempt.
        :param attempt: Number of the attempt that failed (1-based).
        :param elapsed: Seconds since the first attempt started.
        :param idempotent: Whether repeating the request is harmless even if the server acted on it.
        :param rand: A number in [0, 1) choosing the jitter.
        """
        transience = classify(error)
        if transience is Transience.PERMANENT:
            return None
        if transience is Transience.MAYBE_DELIVERED and not idempotent:
            return None
        if attempt >= self.max_attempts:
            return None
        delay = self.backoff(attempt, rand)
        asked = retry_after_seconds(error)
        if asked is not None:
            delay = max(delay, asked)
        if elapsed + delay > self.max_total:
            return None
        return delay


class RetryExhausted(Exception):
    """
    Raised by the retry loops when a transient failure outlived the policy's budget.

    :param last_error: The error of the last attempt.
    :param attempts: Attempts made.
    :param elapsed: Seconds spent.
    """

    def __init__(self, last_error: BaseException, attempts: int, elapsed: float) -> None:
        super().__init__(f"gave up after {attempts} attempt(s) in {elapsed:.1f}s: {last_error!r}")
        self.last_error = last_error
        self.attempts = attempts
        self.elapsed = elapsed


@dataclass
class RetryState:
    """
    Bookkeeping of one retried operation: attempts made and time spent.

    :param policy: The policy deciding the waits.
    :param clock: Monotonic clock, injectable for tests.
    :param rng: Source of jitter, injectable for tests.
    """

    policy: RetryPolicy
    clock: Callable[[], float] = time.monotonic
    rng: Callable[[], float] = random.random
    attempts: int = 0
    started: float = field(default=-1.0)

    def begin_attempt(self) -> None:
        """Record that an attempt starts."""
        if self.attempts == 0:
            self.started = self.clock()
        self.attempts += 1

    @property
    def elapsed(self) -> float:
        return 0.0 if self.attempts == 0 else self.clock() - self.started

    def delay_or_raise(self, error: BaseException, *, idempotent: bool = True) -> float:
        """
        Return the wait before the next attempt; raise when retrying is not allowed.

        A permanent error is re-raised as is; a transient one past the budget becomes
        :class:`RetryExhausted`.

        :param error: The exception raised by the attempt.
        :param idempotent: Whether repeating the request is harmless even if the server acted on it.
        """
        delay = self.policy.next_delay(error, self.attempts, self.elapsed, idempotent=idempotent, rand=self.rng())
        if delay is not None:
            return delay
        if classify(error) is Transience.PERMANENT or (
            classify(error) is Transience.MAYBE_DELIVERED and not idempotent
        ):
            raise error
        raise RetryExhausted(error, self.attempts, self.elapsed) from error


OnRetry = Callable[[BaseException, int, float], Any]


def call_with_retries(
    func: Callable[[], T],
    policy: RetryPolicy,
    *,
    idempotent: bool = True,
    sleep: Callable[[float], Any] = time.sleep,
    on_retry: OnRetry | None = None,
    state: RetryState | None = None,
) -> T:
    """
    Call ``func`` until it succeeds, a permanent error occurs or the policy's budget is spent.

    :param func: The attempt, without arguments.
    :param policy: The retry policy.
    :param idempotent: Whether ``func`` may be repeated after a failure the server may have acted on.
    :param sleep: Wait function, injectable for tests.
    :param on_retry: Called with (error, failed attempt number, wait) before each wait, e.g. to log.
    :param state: Bookkeeping to share with the caller; a fresh one by default.
    """
    state = state or RetryState(policy)
    while True:
        state.begin_attempt()
        try:
            return func()
        except Exception as error:
            delay = state.delay_or_raise(error, idempotent=idempotent)
            if on_retry is not None:
                on_retry(error, state.attempts, delay)
            sleep(delay)


async def acall_with_retries(
    func: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    idempotent: bool = True,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    on_retry: OnRetry | None = None,
    state: RetryState | None = None,
) -> T:
    """
    Await ``func()`` until it succeeds, a permanent error occurs or the policy's budget is spent.

    Same contract as :func:`call_with_retries`, waiting with ``asyncio.sleep`` by default.
    """
    state = state or RetryState(policy)
    while True:
        state.begin_attempt()
        try:
            return await func()
        except Exception as error:
            delay = state.delay_or_raise(error, idempotent=idempotent)
            if on_retry is not None:
                on_retry(error, state.attempts, delay)
            await sleep(delay)
