"""
Judging a Flink job's state: pure functions over plain data, shared by operators, sensors and triggers.

:func:`judge_custom_resource` reads a FlinkDeployment or FlinkSessionJob object; every judge returns
a :class:`JobVerdict` whose :class:`JobPhase` is what a waiting task acts on.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_flink.state.custom_resource import judge_custom_resource
    from airflow_provider_flink.state.verdict import FlinkError, JobPhase, JobVerdict, parse_flink_error

__all__ = ["FlinkError", "JobPhase", "JobVerdict", "judge_custom_resource", "parse_flink_error"]

# Loaded on first use: a DAG file that imports an operator (which needs state.waiting) must not pay for the judges.
_HOMES = {name: "verdict" for name in ("FlinkError", "JobPhase", "JobVerdict", "parse_flink_error")}
_HOMES["judge_custom_resource"] = "custom_resource"


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
