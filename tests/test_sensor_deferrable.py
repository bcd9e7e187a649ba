"""ImportStateSensor(deferrable=True): when it defers, with which trigger, and how it resumes."""

from __future__ import annotations

import time
from typing import Any

import pytest

from airflow_provider_hubspot_imports._compat import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
)
from airflow_provider_hubspot_imports.sensors.imports import ImportStateSensor
from airflow_provider_hubspot_imports.testing import HubSpotEmulator
from airflow_provider_hubspot_imports.triggers.imports import ImportStateTrigger


def task_deferred() -> type[BaseException]:
    try:
        from airflow.sdk.exceptions import TaskDeferred
    except ImportError:  # Airflow 2.11
        from airflow.exceptions import TaskDeferred  # type: ignore[no-redef]
    return TaskDeferred


def sensor(**kwargs: Any) -> ImportStateSensor:
    kwargs.setdefault("task_id", "wait")
    kwargs.setdefault("deferrable", True)
    return ImportStateSensor(**kwargs)


def record(state: str, import_id: str = "42") -> dict[str, Any]:
    return {
        "id": import_id,
        "state": state,
        "createdAt": "2026-01-01T00:00:00.000Z",
        "updatedAt": "2026-01-01T00:05:00.000Z",
        "metadata": {"counters": {"TOTAL_ROWS": 2}},
        "newField": [1],
    }


def test_defers_with_the_right_trigger_when_not_finished(hubspot_connection: HubSpotEmulator):
    import_id = hubspot_connection.add_import(lifecycle=[("PROCESSING",)])
    waiter = sensor(
        import_id=str(import_id),
        poke_interval=7,
        timeout=600,
        success_states=["DONE"],
        failure_states=["FAILED"],
    )

    before = time.time()
    with pytest.raises(task_deferred()) as deferred:
        waiter.execute({})
    after = time.time()

    trigger = deferred.value.trigger
    assert isinstance(trigger, ImportStateTrigger)
    assert deferred.value.method_name == "execute_complete"
    _, kwargs = trigger.serialize()
    end_time = kwargs.pop("end_time")
    assert before + 600 <= end_time <= after + 600
    first_poll_at = kwargs.pop("first_poll_at")
    assert before + 7 <= first_poll_at <= after + 7  # one interval after the check, as a poke would
    assert kwargs == {
        "import_id": str(import_id),
        "hubspot_conn_id": "hubspot_default",
        "poll_interval": 7.0,
        "success_states": ["DONE"],
        "failure_states": ["FAILED"],
        "cancel_on_timeout": False,
        "exponential_backoff": False,
        "max_wait": None,
        "ends_at_execution_timeout": False,
        "logged_state": "PROCESSING",  # what the check before deferring logged
    }
    # Airflow ends the deferral even when no triggerer runs the trigger: a margin after the
    # trigger's deadline, so that the trigger reports it first (docs/stopping.md).
    assert deferred.value.timeout is not None
    margin = deferral_margin()
    assert 600 + margin - (after - before) - 1 <= deferred.value.timeout.total_seconds() <= 600 + margin
    assert len(hubspot_connection.requests(import_id)) == 1  # checked once before deferring


def deferral_margin() -> float:
    """Two scheduler checks (15 s by default) and a poll's budget (the connection's defaults)."""
    from airflow_provider_hubspot_imports.core.settings import DEFAULT_RETRY_MAX_SECONDS, DEFAULT_TIMEOUT

    return 2 * 15.0 + DEFAULT_TIMEOUT + DEFAULT_RETRY_MAX_SECONDS


def test_an_earlier_execution_timeout_ends_the_deferral(hubspot_connection: HubSpotEmulator):
    """Airflow 3 does not apply `execution_timeout` to a deferred task: the trigger does."""
    from datetime import timedelta

    import_id = hubspot_connection.add_import(lifecycle=[("PROCESSING",)])
    waiter = sensor(import_id=str(import_id), poke_interval=7, timeout=600)
    waiter.execution_timeout = timedelta(seconds=60)
    before = time.time()
    with pytest.raises(task_deferred()) as deferred:
        waiter.execute({})
    after = time.time()

    _, kwargs = deferred.value.trigger.serialize()
    assert before + 60 <= kwargs["end_time"] <= after + 60
    assert kwargs["ends_at_execution_timeout"] is True
    assert deferred.value.timeout is not None
    margin = deferral_margin()
    assert 60 + margin - (after - before) - 1 <= deferred.value.timeout.total_seconds() <= 60 + margin


def test_does_not_defer_when_already_done(hubspot_connection: HubSpotEmulator):
    import_id = hubspot_connection.add_import(lifecycle=[("DONE",)])

    result = sensor(import_id=import_id).execute({})

    assert result == hubspot_connection.requests(import_id)[0].response_json()


def test_fails_without_deferring_when_already_failed(hubspot_connection: HubSpotEmulator):
    import_id = hubspot_connection.add_import(lifecycle=[("CANCELED",)])

    with pytest.raises(AirflowFailException, match="CANCELED is a failure state"):
        sensor(import_id=import_id).execute({})


def test_permanent_error_on_the_first_check_fails_without_deferring(hubspot_connection: HubSpotEmulator):
    with pytest.raises(AirflowFailException, match="HTTP 404"):
        sensor(import_id=999).execute({})


def test_bad_import_id_fails_before_any_request(hubspot_connection: HubSpotEmulator):
    with pytest.raises(AirflowFailException, match="not a valid HubSpot import id"):
        sensor(import_id="-5").execute({})
    assert hubspot_connection.requests() == []


def test_execute_complete_returns_the_record_on_success():
    served = record("DONE")

    assert sensor(import_id=42).execute_complete({}, {"status": "succeeded", "record": served}) == served


def test_execute_complete_fails_with_the_reschedule_mode_message():
    failed = record("FAILED")
    waiter = sensor(import_id=42)
    with pytest.raises(AirflowFailException) as via_poke:
        waiter._judge(failed)

    with pytest.raises(AirflowFailException) as via_event:
        waiter.execute_complete({}, {"status": "failed", "record": failed, "message": "ignored"})

    assert str(via_event.value) == str(via_poke.value)
    assert "import 42 is FAILED; counters: TOTAL_ROWS=2" in str(via_event.value)


def test_execute_complete_times_out_as_a_sensor():
    with pytest.raises(AirflowSensorTimeout, match="did not reach DONE"):
        sensor(import_id=42).execute_complete(
            {}, {"status": "timeout", "message": "Import 42 did not reach DONE or a failure state"}
        )


def test_timeout_with_soft_fail_skips():
    try:
        from airflow.sdk.exceptions import AirflowSkipException
    except ImportError:
        from airflow.exceptions import AirflowSkipException  # type: ignore[no-redef]
    waiter = sensor(import_id=42, soft_fail=True)

    with pytest.raises(AirflowSkipException):
        waiter.resume_execution("execute_complete", {"event": {"status": "timeout", "message": "late"}}, {})


def test_execute_complete_fails_on_an_error_event():
    with pytest.raises(AirflowFailException, match="HTTP 401"):
        sensor(import_id=42).execute_complete(
            {}, {"status": "error", "message": "GET import 42 failed: HTTP 401"}
        )


@pytest.mark.parametrize(
    "event",
    [
        None,
        {},
        {"status": "surprise"},
        {"status": "succeeded"},
        {"status": "succeeded", "record": record("PROCESSING")},
    ],
    ids=["none", "empty", "unknown status", "no record", "record not terminal"],
)
def test_execute_complete_refuses_a_malformed_event(event: Any):
    with pytest.raises(AirflowException) as raised:
        sensor(import_id=42).execute_complete({}, event)
    assert not isinstance(raised.value, (AirflowFailException, AirflowSensorTimeout))
    assert "trigger" in str(raised.value).lower()


def test_deferrable_defaults_to_the_airflow_setting(monkeypatch: pytest.MonkeyPatch):
    assert sensor(import_id=1, deferrable=None).deferrable is False
    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", "True")
    assert sensor(import_id=1, deferrable=None).deferrable is True
    assert sensor(import_id=1, deferrable=False).deferrable is False
