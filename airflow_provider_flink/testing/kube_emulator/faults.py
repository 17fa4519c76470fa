"""Fault injection rules and the record of served requests."""

from __future__ import annotations

import re
import threading
from dataclasses import asdict, dataclass, field, fields
from typing import Any

_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    410: "Expired",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}
_DEFAULT_MESSAGES = {
    429: "Too many requests, please try again later.",
    500: "Internal error occurred: injected fault",
    503: "the server is currently unable to handle the request",
    504: "the server was unable to return a response in the time allotted, but may still be processing the request",
}


def reason_for(status: int) -> str:
    """The Status reason the API server uses for an HTTP code."""
    return _REASONS.get(status, "InternalError" if status >= 500 else "BadRequest")


def default_message(status: int) -> str:
    return _DEFAULT_MESSAGES.get(status, f"injected fault ({status})")


@dataclass
class Fault:
    """
    A misbehaviour injected into the requests that match ``verb`` and ``path_regex``.

    :param verb: GET, POST, PUT, PATCH or DELETE (the HTTP method; GET covers every kind of GET),
        or LIST / WATCH for only those kinds of GET; None matches any request.
    :param path_regex: searched in the request path (no query string); None matches any path.
    :param status: answer with this HTTP code and a Status body (e.g. 500, 503, 429).
    :param count: how many matching requests the fault applies to (None: every one, until cleared).
    :param retry_after: seconds, sent as a ``Retry-After`` header with the error.
    :param latency: seconds slept before the request is handled (or fails).
    :param drop_connection: close the TCP connection without any response.
    :param cut_watch_after_events: a matching watch is served normally, then its connection is
        closed abruptly (no end of the chunked body) after that many events.
    :param message: the message of the error Status.
    :param skip: how many matching requests pass untouched before the fault starts (e.g. to hit a wait, not
        the submission before it).
    """

    verb: str | None = None
    path_regex: str | None = None
    status: int | None = None
    count: int | None = 1
    retry_after: float | None = None
    latency: float | None = None
    drop_connection: bool = False
    cut_watch_after_events: int | None = None
    message: str | None = None
    skip: int = 0
    hits: int = field(default=0, compare=False)
    skipped: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if self.verb is not None:
            self.verb = self.verb.upper()
        self._pattern = re.compile(self.path_regex) if self.path_regex else None

    def matches(self, method: str, kube_verb: str, path: str) -> bool:
        if self.verb is not None and self.verb not in (method, kube_verb):
            return False
        return self._pattern is None or bool(self._pattern.search(path))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        """Build a fault from JSON (the admin endpoint); unknown keys are refused."""
        names = {f.name for f in fields(cls)} - {"hits", "skipped"}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown Fault fields: {sorted(unknown)}")
        return cls(**data)


@dataclass(frozen=True)
class RequestRecord:
    """
    One request served by the emulator.

    :param verb: GET, LIST, WATCH, POST, PUT, PATCH or DELETE (the kind of GET is told apart).
    :param path: the URL path.
    :param query: the query parameters (last value wins).
    :param status: the HTTP status answered (0 when the connection was dropped).
    :param method: the HTTP method.
    :param content_type: the request's Content-Type, if any (shows which patch format was sent).
    """

    verb: str
    path: str
    query: dict[str, str]
    status: int
    method: str = ""
    content_type: str = ""


class FaultTable:
    """The active faults; thread-safe since tests add faults from outside the server's loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take(self, method: str, kube_verb: str, path: str) -> Fault | None:
        """Consume one use of the first fault matching the request, if any."""
        with self._lock:
            for fault in self._faults:
                if not fault.matches(method, kube_verb, path):
                    continue
                if fault.count is not None and fault.hits >= fault.count:
                    continue
                if fault.skipped < fault.skip:
                    fault.skipped += 1
                    return None
                fault.hits += 1
                return fault
        return None
