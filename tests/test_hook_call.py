"""`HubSpotHook.call`: the first attempt runs outside tenacity; retries keep the policy's exact bounds."""

from __future__ import annotations

import pytest

from airflow_provider_hubspot_imports.errors import HubSpotServerError
from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook
from airflow_provider_hubspot_imports.testing import Fault, HubSpotEmulator

UNAVAILABLE = Fault(status=503, body="<html>Service Unavailable</html>")


@pytest.fixture
def hook(hubspot_emulator: HubSpotEmulator, monkeypatch: pytest.MonkeyPatch) -> HubSpotHook:
    monkeypatch.setenv(
        "AIRFLOW_CONN_HUBSPOT_DEFAULT", hubspot_emulator.connection_json(retry_backoff_seconds=0.01)
    )
    return HubSpotHook()


def test_success_takes_one_request(hook: HubSpotHook, hubspot_emulator: HubSpotEmulator) -> None:
    import_id = hubspot_emulator.add_import(lifecycle=[("DONE",)])

    assert hook.get_import(import_id).state.value == "DONE"
    assert len(hubspot_emulator.requests(import_id)) == 1


def test_first_failure_is_attempt_one_of_the_retries(
    hook: HubSpotHook, hubspot_emulator: HubSpotEmulator, logged
) -> None:
    import_id = hubspot_emulator.add_import(lifecycle=[("DONE",)], faults=[UNAVAILABLE, UNAVAILABLE])

    record = hook.get_import(import_id)

    assert record.state.value == "DONE"
    assert [entry.status for entry in hubspot_emulator.requests(import_id)] == [503, 503, 200]
    out, err = logged(), ""
    retries = [line for line in (out + err).splitlines() if "retrying in" in line]
    assert len(retries) == 2
    assert "attempt 1 of 6 failed" in retries[0]
    assert "attempt 2 of 6 failed" in retries[1]


def test_no_retries_means_one_request(
    hubspot_emulator: HubSpotEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", hubspot_emulator.connection_json())
    import_id = hubspot_emulator.add_import(lifecycle=[("DONE",)], faults=[UNAVAILABLE])

    with pytest.raises(HubSpotServerError):
        HubSpotHook(max_retries=0).get_import(import_id)
    assert len(hubspot_emulator.requests(import_id)) == 1


def test_the_first_attempt_counts_towards_retry_max_seconds(
    hubspot_emulator: HubSpotEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first answer takes at least 0.4 s and the backoff waits at least 0.1 s: together they reach
    # retry_max_seconds=0.5, so no second attempt may start. (A clock started after the first
    # attempt would allow one.)
    monkeypatch.setenv(
        "AIRFLOW_CONN_HUBSPOT_DEFAULT", hubspot_emulator.connection_json(retry_backoff_seconds=0.2)
    )
    slow = Fault(status=503, body="slow", delay=0.4)
    import_id = hubspot_emulator.add_import(lifecycle=[("DONE",)], faults=[slow])

    with pytest.raises(HubSpotServerError):
        HubSpotHook(retry_max_seconds=0.5).get_import(import_id)
    assert len(hubspot_emulator.requests(import_id)) == 1
