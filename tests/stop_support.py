"""What tells a right stop from a wrong one: the import is canceled once, by the last try, after
every earlier try (and the last one) found it still running."""

from __future__ import annotations

from airflow_provider_hubspot_imports.testing import HubSpotEmulator

RUNNING = {"STARTED", "PROCESSING", "DEFERRED"}


def assert_canceled_only_by_the_last_try(emulator: HubSpotEmulator, import_id: int) -> None:
    """No try before the last canceled the import: every poll, the retry's included, found it
    running, and the one cancel request came after the last poll. A first try that canceled
    (e.g. every `execution_timeout` canceling) makes the retry's polls read CANCELED."""
    served = emulator.requests(import_id)
    gets = [entry for entry in served if entry.method == "GET"]
    posts = [entry for entry in served if entry.method == "POST"]
    assert len(posts) == 1, [(entry.method, entry.path) for entry in served]
    states = [entry.response_json()["state"] for entry in gets]
    assert states and set(states) <= RUNNING, states
    assert posts[0].at >= gets[-1].at, "the cancel came before the last try's polls"
    assert emulator.record(import_id)["state"] == "CANCELED"
