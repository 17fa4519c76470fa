"""
The deferral hold: in the triggerer, no event fires sooner than ``[flink] deferral_hold_seconds`` after the deferral.

Airflow 3.3 fails a resumed try when the trigger fires within seconds of the deferral (apache/airflow#72716):
``benchmarks/first_try.py`` measures that race through a real scheduler; these tests pin the mechanism.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from test_shared_watch import _create, _trigger

from airflow_provider_flink.triggers.flink import first_event


def test_trigger_in_the_triggerer_fires_no_event_before_its_hold(emulator, simulator, admin_api_client):
    _create(admin_api_client, ["held"])
    trigger = _trigger(emulator, "held", poll_interval=0.2, hold_until=time.time() + 2.0)
    trigger.trigger_id = 1  # as the triggerer sets it

    event = asyncio.run(asyncio.wait_for(first_event(trigger), 60))

    assert event["status"] == "success"
    assert time.time() >= trigger.hold_until


def test_trigger_run_in_the_worker_does_not_hold(emulator, simulator, admin_api_client):
    # A synchronous wait (and dag.test()) runs the trigger without a trigger_id: no deferral to race with.
    _create(admin_api_client, ["not-held"])
    trigger = _trigger(emulator, "not-held", poll_interval=0.2, hold_until=time.time() + 3600)

    event = asyncio.run(asyncio.wait_for(first_event(trigger), 60))

    assert event["status"] == "success"


def test_default_hold_is_the_configured_seconds_after_the_trigger_is_built(emulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW__FLINK__DEFERRAL_HOLD_SECONDS", "42")
    before = time.time()

    trigger = _trigger(emulator, "any")

    assert before + 42 <= trigger.hold_until <= time.time() + 42
    assert trigger.serialize()[1]["hold_until"] == trigger.hold_until


@pytest.mark.parametrize("value", ["0", "-5"])
def test_a_zero_or_negative_hold_turns_it_off(emulator, monkeypatch, value):
    monkeypatch.setenv("AIRFLOW__FLINK__DEFERRAL_HOLD_SECONDS", value)

    trigger = _trigger(emulator, "any")

    assert trigger.hold_until <= time.time()
