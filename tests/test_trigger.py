"""ImportStateTrigger against the emulator over real HTTP: verdicts, transient faults, permanent errors."""

from __future__ import annotations

import importlib
import time
from typing import Any

import pytest
from trigger_support import first_event

from airflow_provider_hubspot_imports.testing import Fault, HubSpotEmulator
from airflow_provider_hubspot_imports.triggers.imports import ImportStateTrigger

TRANSIENT_FAULTS = {
    "503 html": Fault(status=503, body="<html><body>503 Service Unavailable</body></html>"),
    "502 json": Fault(status=502, json={"status": "error", "message": "Bad gateway", "category": "PROXY"}),
    "429 retry-after 1": Fault(
        status=429,
        headers={"Retry-After": "1"},
        json={"status": "error", "message": "ten_secondly_rolling", "policyName": "TEN_SECONDLY_ROLLING"},
    ),
    "dropped connection": Fault(drop=True),
    "truncated json": Fault(
        status=200, body='{"id": "1", "state": "DO', headers={"Content-Type": "application/json"}
    ),
}


def trigger_for(import_id: Any, **kwargs: Any) -> ImportStateTrigger:
    kwargs.setdefault("poll_interval", 0.05)
    kwargs.setdefault("end_time", time.time() + 60)
    return ImportStateTrigger(import_id=import_id, **kwargs)


@pytest.fixture
def no_client_retries(
    hubspot_connection: HubSpotEmulator, monkeypatch: pytest.MonkeyPatch
) -> HubSpotEmulator:
    """Faults reach the trigger's own loop instead of being absorbed by the client's retries."""
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", hubspot_connection.connection_json(max_retries=0))
    return hubspot_connection


def test_serialize_round_trips():
    trigger = ImportStateTrigger(
        import_id="123",
        hubspot_conn_id="hs",
        poll_interval=5,
        end_time=1234.5,
        success_states=["DONE"],
        failure_states=["FAILED", "CANCELED"],
        first_poll_at=1200.0,
        cancel_on_timeout=True,
        exponential_backoff=True,
        max_wait=30,
        ends_at_execution_timeout=True,
        logged_state="STARTED",
    )
    classpath, kwargs = trigger.serialize()

    assert classpath == "airflow_provider_hubspot_imports.triggers.imports.ImportStateTrigger"
    assert kwargs == {
        "import_id": "123",
        "hubspot_conn_id": "hs",
        "poll_interval": 5.0,
        "end_time": 1234.5,
        "success_states": ["DONE"],
        "failure_states": ["CANCELED", "FAILED"],
        "first_poll_at": 1200.0,
        "cancel_on_timeout": True,
        "exponential_backoff": True,
        "max_wait": 30.0,
        "ends_at_execution_timeout": True,
        "logged_state": "STARTED",
    }
    module, _, name = classpath.rpartition(".")
    again = getattr(importlib.import_module(module), name)(**kwargs)
    assert again.serialize() == (classpath, kwargs)


def test_done_after_several_polls_yields_the_served_record(hubspot_connection: HubSpotEmulator):
    import_id = hubspot_connection.add_import(
        lifecycle=[("STARTED", 1), ("PROCESSING", 2), ("DONE",)], extraField={"kept": True}
    )

    event = first_event(trigger_for(import_id))

    served = hubspot_connection.requests(import_id)
    assert [entry.response_json()["state"] for entry in served] == [
        "STARTED",
        "PROCESSING",
        "PROCESSING",
        "DONE",
    ]
    assert event["status"] == "succeeded"
    assert event["import_id"] == str(import_id)
    assert event["record"] == served[-1].response_json()
    assert event["record"]["extraField"] == {"kept": True}
    assert f"import {import_id}" in event["message"]


def test_failed_import_yields_a_failure_event(hubspot_connection: HubSpotEmulator):
    import_id = hubspot_connection.add_import(lifecycle=[("PROCESSING", 1), ("FAILED",)])

    event = first_event(trigger_for(import_id))

    assert event["status"] == "failed"
    assert event["record"]["state"] == "FAILED"
    assert "FAILED is a failure state" in event["message"]
    assert len(hubspot_connection.requests(import_id)) == 2


def test_custom_states_decide_the_verdict(hubspot_connection: HubSpotEmulator):
    import_id = hubspot_connection.add_import(lifecycle=[("CANCELED",)])

    event = first_event(
        trigger_for(import_id, success_states=["DONE", "CANCELED"], failure_states=["FAILED"])
    )

    assert event["status"] == "succeeded"
    assert event["record"]["state"] == "CANCELED"


def test_deadline_yields_a_timeout_event(hubspot_connection: HubSpotEmulator):
    """Polling goes on every interval until the deadline, which then ends the wait."""
    warm = hubspot_connection.add_import(lifecycle=[("DONE",)])
    first_event(trigger_for(warm))  # the cold first poll (imports, the pool) is not the point here
    import_id = hubspot_connection.add_import(lifecycle=[("PROCESSING",)])
    polls, interval = 3, 0.05
    window = polls * interval * 10  # three intervals of the design, with a tenfold margin

    event = first_event(trigger_for(import_id, poll_interval=interval, end_time=time.time() + window))

    assert event["status"] == "timeout"
    assert "before the sensor's timeout" in event["message"]
    assert "record" not in event
    assert len(hubspot_connection.requests(import_id)) >= polls
    assert "execution_timeout" not in event


def test_the_deadline_cuts_the_wait_between_two_polls(hubspot_connection: HubSpotEmulator):
    """A deadline inside a poll interval ends the wait then, not at the next poll: with a 10-minute
    interval, `first_event`'s 30 s bound fails the test if the trigger sleeps the interval out."""
    import_id = hubspot_connection.add_import(lifecycle=[("PROCESSING",)])

    event = first_event(trigger_for(import_id, poll_interval=600, end_time=time.time() + 0.2), timeout=30)

    assert event["status"] == "timeout"
    assert len(hubspot_connection.requests(import_id)) == 2  # the first poll and a last one at the deadline


def test_a_deadline_that_is_the_execution_timeout_says_so(hubspot_connection: HubSpotEmulator):
    import_id = hubspot_connection.add_import(lifecycle=[("PROCESSING",)])
    trigger = trigger_for(import_id, poll_interval=0.1, end_time=time.time() + 0.3)
    trigger.ends_at_execution_timeout = True

    event = first_event(trigger)

    assert event["status"] == "timeout"
    assert event["execution_timeout"] is True  # the task ends as an execution timeout: retried
    assert "before the task's execution_timeout" in event["message"]


@pytest.mark.parametrize("fault", list(TRANSIENT_FAULTS.values()), ids=list(TRANSIENT_FAULTS))
def test_transient_fault_is_retried_by_the_client(hubspot_connection: HubSpotEmulator, fault: Fault):
    import_id = hubspot_connection.add_import(lifecycle=[("PROCESSING", 1), ("DONE",)], faults=[fault])

    event = first_event(trigger_for(import_id))

    served = hubspot_connection.requests(import_id)
    assert served[0].status == (0 if fault.drop else fault.status)
    assert [entry.status for entry in served[1:]] == [200, 200]
    assert event["status"] == "succeeded"
    assert event["record"] == served[-1].response_json()


@pytest.mark.parametrize(
    ("logged_state", "processing_lines"),
    [
        ("PROCESSING", 0),  # the task logged PROCESSING before it deferred: nothing new
        ("STARTED", 1),  # the change the trigger saw, once for three polls
        (None, 1),  # unknown before: the first state seen
    ],
)
def test_the_trigger_logs_each_state_change_once_and_leaves_the_outcome_to_the_task(
    hubspot_connection: HubSpotEmulator, logged, logged_state: str | None, processing_lines: int
):
    import_id = hubspot_connection.add_import(lifecycle=[("PROCESSING", 3), ("DONE",)])
    logged()  # what came before

    event = first_event(trigger_for(import_id, logged_state=logged_state))

    output = logged()
    assert output.count(" is PROCESSING; counters") == processing_lines
    assert " is DONE" not in output  # the outcome is the event's message: the resumed task logs it
    assert event["status"] == "succeeded"
    assert event["message"].startswith(f"HubSpot import {import_id}")
    assert " is DONE; counters" in event["message"]


@pytest.mark.parametrize("fault", list(TRANSIENT_FAULTS.values()), ids=list(TRANSIENT_FAULTS))
def test_transient_fault_outlasting_retries_keeps_the_trigger_waiting(
    no_client_retries: HubSpotEmulator, fault: Fault, logged
):
    import_id = no_client_retries.add_import(lifecycle=[("DONE",)], faults=[fault, fault])

    event = first_event(trigger_for(import_id))
    output = logged()

    served = no_client_retries.requests(import_id)
    assert [entry.status for entry in served] == [0 if fault.drop else fault.status] * 2 + [200]
    assert event["status"] == "succeeded"
    assert event["record"] == served[-1].response_json()
    assert output.count(f"Could not read import {import_id} this time") == 2
    assert no_client_retries.token not in output
    if fault.headers.get("Retry-After"):
        assert served[1].at - served[0].at >= 1.0  # HubSpot's Retry-After outranks poll_interval


def test_wrong_token_yields_an_error_naming_the_cause(
    hubspot_connection: HubSpotEmulator, monkeypatch: pytest.MonkeyPatch
):
    wrong = "pat-na1-00000000-wrong-token"
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", hubspot_connection.connection_json(token=wrong))
    import_id = hubspot_connection.add_import(lifecycle=[("DONE",)])

    event = first_event(trigger_for(import_id))

    assert event["status"] == "error"
    assert "HTTP 401" in event["message"]
    assert "did not accept the access token of connection 'hubspot_default'" in event["message"]
    assert wrong not in repr(event)
    assert [entry.status for entry in hubspot_connection.requests(import_id)] == [401]


def test_unknown_import_yields_an_error(hubspot_connection: HubSpotEmulator):
    event = first_event(trigger_for(777777))

    assert event["status"] == "error"
    assert "HTTP 404 OBJECT_NOT_FOUND: Import 777777 was not found" in event["message"]
    assert [entry.status for entry in hubspot_connection.requests(777777)] == [404]


def test_malformed_record_is_retried_then_reported(hubspot_connection: HubSpotEmulator):
    # A 200 without the required fields is a bad answer: retried by the client, then polled again.
    import_id = hubspot_connection.add_import(
        lifecycle=[("DONE",)], faults=[Fault(status=200, json={"id": "1"})]
    )

    event = first_event(trigger_for(import_id))

    assert event["status"] == "succeeded"
    assert [entry.status for entry in hubspot_connection.requests(import_id)] == [200, 200]


def test_bad_import_id_is_refused_before_any_request(hubspot_connection: HubSpotEmulator):
    event = first_event(trigger_for("12 34"))

    assert event["status"] == "error"
    assert "is not a valid HubSpot import id" in event["message"]
    assert hubspot_connection.requests() == []


def test_missing_connection_yields_an_error(hubspot_connection: HubSpotEmulator):
    event = first_event(trigger_for(1, hubspot_conn_id="no_such_hubspot_conn"))

    assert event["status"] == "error"
    assert "Connection 'no_such_hubspot_conn' is not defined" in event["message"]
    assert hubspot_connection.requests() == []


def test_invalid_states_are_refused():
    with pytest.raises(ValueError, match="in both success_states and failure_states"):
        ImportStateTrigger(import_id=1, success_states=["DONE"], failure_states=["DONE"])


def test_emulator_stats_count_the_request_log(hubspot_connection: HubSpotEmulator):
    import json
    import urllib.request

    import_id = hubspot_connection.add_import(lifecycle=[("DONE",)], faults=[Fault(status=503, body="down")])
    first_event(trigger_for(import_id))

    with urllib.request.urlopen(f"{hubspot_connection.base_url}/__emulator__/stats") as answer:
        stats = json.load(answer)

    assert stats == {"requests": 2, "by_status": {"503": 1, "200": 1}}
    assert len(hubspot_connection.requests()) == 2  # reading the stats is not itself logged


def test_many_triggers_in_one_loop_share_one_pool(hubspot_connection: HubSpotEmulator):
    import asyncio

    from airflow_provider_hubspot_imports.hooks import hubspot_async

    ids = [hubspot_connection.add_import(lifecycle=[("PROCESSING", 2), ("DONE",)]) for _ in range(20)]
    seen_pools: set[int] = set()

    async def main() -> list[Any]:
        runs = asyncio.gather(*(anext(trigger_for(import_id).run()) for import_id in ids))
        while not runs.done():
            seen_pools.add(hubspot_async.open_pools())
            await asyncio.sleep(0.01)
        return [event.payload for event in await runs]

    events = asyncio.run(main())

    assert [event["status"] for event in events] == ["succeeded"] * 20
    assert seen_pools <= {0, 1} and 1 in seen_pools
    assert len(hubspot_connection.requests()) == 20 * 3  # one request per poll, three polls each


def test_first_poll_waits_for_first_poll_at(hubspot_connection: HubSpotEmulator):
    """The sensor has just read the import: the trigger's first poll comes one interval later."""
    import_id = hubspot_connection.add_import(lifecycle=[("DONE",)])
    deferred_at = time.monotonic()  # the emulator logs request times on the monotonic clock

    event = first_event(trigger_for(import_id, first_poll_at=time.time() + 0.5))

    assert event["status"] == "succeeded"
    (served,) = hubspot_connection.requests(import_id)
    assert served.at - deferred_at >= 0.45  # not before first_poll_at (a little clock slack)


def test_a_past_first_poll_at_polls_at_once(hubspot_connection: HubSpotEmulator):
    """After a triggerer restart the first poll is overdue: it happens right away."""
    import_id = hubspot_connection.add_import(lifecycle=[("DONE",)])
    assert first_event(trigger_for(import_id, first_poll_at=time.time() - 3600))["status"] == "succeeded"
    assert len(hubspot_connection.requests(import_id)) == 1
