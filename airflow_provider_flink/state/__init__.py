"""
Judging a Flink job's state: pure functions over plain data, shared by operators, sensors and triggers.

:func:`judge_custom_resource` reads a FlinkDeployment or FlinkSessionJob object; every judge returns
a :class:`JobVerdict` whose :class:`JobPhase` is what a waiting task acts on.
"""

from __future__ import annotations

from airflow_provider_flink.state.custom_resource import judge_custom_resource
from airflow_provider_flink.state.verdict import FlinkError, JobPhase, JobVerdict, parse_flink_error

__all__ = ["FlinkError", "JobPhase", "JobVerdict", "judge_custom_resource", "parse_flink_error"]
