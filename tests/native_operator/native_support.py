"""Shared constants and helpers of the native-mode tests (a module, since conftest modules are not importable)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

NAMESPACE = "flink-native"
JAR_URI = "local:///opt/flink/usrlib/testjobs.jar"
ENTRY_CLASS = "airflowtest.TestJobs"
IMAGE = "flink:2.3.0-java17"
#: The CLI's JVM starts faster this way, and fails at once instead of retrying when the API server says no.
CLI_ENV = {"JVM_ARGS": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Dkubernetes.request.retry.backoffLimit=0"}


def deployment_posts(emulator: Any) -> list[str]:
    """Paths of the Deployment creations the emulator served: one per submission."""
    return [r.path for r in emulator.requests if r.verb == "POST" and r.path.endswith("/deployments")]


def wait_until(condition: Callable[[], Any], timeout: float = 60.0, interval: float = 0.2) -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")
