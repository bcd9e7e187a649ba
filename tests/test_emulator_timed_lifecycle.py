"""Lifecycle steps that last a number of seconds (from the first GET) rather than a number of polls."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from airflow_provider_hubspot_imports.testing.model import EmulatedImport, Step


def emulated(*steps: object) -> EmulatedImport:
    return EmulatedImport(
        import_id=1,
        steps=[Step.parse(step) for step in steps],  # type: ignore[arg-type]
        counters={},
        fields={},
        created_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
    )


def test_the_clock_starts_at_the_first_poll_not_at_creation() -> None:
    job = emulated({"state": "PROCESSING", "seconds": 6}, "DONE")

    assert job.current_step(now=1000.0).state == "PROCESSING"  # never polled: no clock yet
    assert job.poll(100.0)["state"] == "PROCESSING"
    assert job.poll(105.9)["state"] == "PROCESSING"
    assert job.poll(106.0)["state"] == "DONE"
    assert job.polls == 3


def test_durations_add_up_along_the_lifecycle() -> None:
    job = emulated({"state": "STARTED", "seconds": 1}, {"state": "PROCESSING", "seconds": 2.5}, ("DONE",))

    states = [job.poll(at)["state"] for at in (0.0, 0.99, 1.0, 3.49, 3.5, 50.0)]

    assert states == ["STARTED", "STARTED", "PROCESSING", "PROCESSING", "DONE", "DONE"]


def test_poll_counted_steps_are_unchanged() -> None:
    job = emulated(("PROCESSING", 2), ("DONE",))

    assert [job.poll(float(at))["state"] for at in range(4)] == ["PROCESSING", "PROCESSING", "DONE", "DONE"]


def test_a_step_takes_polls_or_seconds_not_both() -> None:
    with pytest.raises(ValueError, match="polls or seconds"):
        Step.parse({"state": "PROCESSING", "polls": 2, "seconds": 3})


def test_timed_lifecycle_over_http_from_a_scenario() -> None:
    from airflow_provider_hubspot_imports.testing import HubSpotEmulator

    with HubSpotEmulator() as hubspot:
        (import_id,) = hubspot.load_scenario(
            {"imports": [{"lifecycle": [{"state": "PROCESSING", "seconds": 3600}, ["DONE"]]}]}
        )
        import requests

        answer = requests.get(
            f"{hubspot.base_url}/crm/imports/2026-03/{import_id}",
            headers={"Authorization": f"Bearer {hubspot.token}"},
            timeout=10,
        )
    assert answer.json()["state"] == "PROCESSING"
    assert hubspot.model.imports[import_id].first_polled_at is not None
