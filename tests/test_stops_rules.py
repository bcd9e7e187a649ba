"""The pure rules behind stops, and the sensor arguments they rest on."""

from __future__ import annotations

import itertools
import time
from datetime import timedelta

import pytest
from trigger_support import first_event

from airflow_provider_hubspot_imports.core.endings import Ending
from airflow_provider_hubspot_imports.core.stops import ending_of_task_state, next_poll_delay
from airflow_provider_hubspot_imports.sensors.imports import ImportStateSensor
from airflow_provider_hubspot_imports.testing import HubSpotEmulator
from airflow_provider_hubspot_imports.triggers.imports import ImportStateTrigger
from airflow_provider_hubspot_imports.waiting import deadline_kind, ended, ending_of, will_retry


def test_poll_delay_doubles_up_to_max_wait_only_with_backoff():
    assert [next_poll_delay(5, n, exponential=False, max_wait=None) for n in (1, 2, 3)] == [5, 5, 5]
    assert [next_poll_delay(5, n, exponential=True, max_wait=None) for n in (1, 2, 3, 4)] == [5, 10, 20, 40]
    assert [next_poll_delay(5, n, exponential=True, max_wait=12) for n in (1, 2, 3)] == [5, 10, 12]


@pytest.mark.parametrize(
    ("state", "ending"),
    [
        ("deferred", Ending.WAITED_ON_ELSEWHERE),
        ("up_for_retry", Ending.WAITED_ON_ELSEWHERE),
        ("up_for_reschedule", Ending.WAITED_ON_ELSEWHERE),
        ("success", Ending.MARKED_SUCCESS),
        ("failed", Ending.MARKED),
        ("skipped", Ending.MARKED),
        ("upstream_failed", Ending.MARKED),
        (None, Ending.CLEARED),
        ("restarting", Ending.CLEARED),
        ("scheduled", Ending.CLEARED),
        ("RUNNING", Ending.CLEARED),
    ],
)
def test_what_a_deferred_tasks_state_means_when_its_trigger_is_killed(state: str | None, ending: Ending):
    assert ending_of_task_state(state) is ending


def exceptions() -> dict[str, type[BaseException]]:
    try:
        from airflow.sdk.exceptions import AirflowSkipException, AirflowTaskTimeout
        from airflow.sdk.exceptions import TaskDeferralTimeout as DeferralTimeout
    except ImportError:  # Airflow 3.1 and 2.11
        from airflow.exceptions import AirflowSkipException, AirflowTaskTimeout  # type: ignore[no-redef]

        try:  # Airflow 3.1 has TaskDeferralTimeout in airflow.exceptions only
            from airflow.exceptions import TaskDeferralTimeout as DeferralTimeout  # type: ignore[no-redef]
        except ImportError:  # Airflow 2.11 ends a deferral at its timeout with TaskDeferralError
            from airflow.exceptions import TaskDeferralError as DeferralTimeout  # type: ignore[no-redef]
    from airflow_provider_hubspot_imports._compat import AirflowFailException, AirflowSensorTimeout

    return {
        "skip": AirflowSkipException,
        "task_timeout": AirflowTaskTimeout,
        "deferral_timeout": DeferralTimeout,
        "fail": AirflowFailException,
        "sensor_timeout": AirflowSensorTimeout,
    }


def caused(error: BaseException, cause: BaseException) -> BaseException:
    error.__cause__ = cause
    return error


def test_endings_are_told_by_type_and_cause_never_by_message():
    e = exceptions()

    def of(
        error: BaseException, *, deadline: Ending = Ending.WAIT_TIMEOUT, soft_fail: bool = False
    ) -> Ending | None:
        return ending_of(error, deadline=deadline, soft_fail=soft_fail)

    assert of(e["sensor_timeout"]("late")) is Ending.WAIT_TIMEOUT
    assert of(e["task_timeout"]()) is Ending.EXECUTION_TIMEOUT
    # Airflow ending a deferral: the kind of deadline the task deferred to, whatever its message.
    for message in ("Trigger/execution timeout", "Trigger timeout", "anything"):
        assert (
            of(e["deferral_timeout"](message), deadline=Ending.EXECUTION_TIMEOUT) is Ending.EXECUTION_TIMEOUT
        )
        assert of(e["deferral_timeout"](message)) is Ending.WAIT_TIMEOUT
    # Airflow's sensor turns the deferral's end into a sensor timeout: its cause still decides.
    sensor_timeout = caused(e["sensor_timeout"]("late"), e["deferral_timeout"]("x"))
    assert of(sensor_timeout, deadline=Ending.EXECUTION_TIMEOUT) is Ending.EXECUTION_TIMEOUT
    # soft_fail: Airflow's poke loop raises a skip without a cause at the timeout.
    assert of(e["skip"]("any words"), soft_fail=True) is Ending.WAIT_TIMEOUT
    assert of(e["skip"]("Sensor has timed out"), soft_fail=False) is None  # a skip of someone else's
    assert of(caused(e["skip"]("soft_fail"), e["sensor_timeout"]("late"))) is Ending.WAIT_TIMEOUT
    assert (
        of(caused(e["skip"]("x"), ended(e["fail"]("FAILED"), Ending.IMPORT_FAILED))) is Ending.IMPORT_FAILED
    )
    assert of(ended(e["fail"]("y"), Ending.GATE_BREACHED)) is Ending.GATE_BREACHED
    assert of(e["fail"]("any other final failure")) is Ending.PERMANENT_ERROR
    assert of(ValueError("a bug: retried as usual")) is None


def test_the_deadline_kind_comes_from_the_settings():
    sensor = ImportStateSensor(
        task_id="wait", import_id=1, timeout=600, execution_timeout=timedelta(seconds=60)
    )
    assert deadline_kind(sensor) is Ending.EXECUTION_TIMEOUT
    sensor = ImportStateSensor(
        task_id="wait", import_id=1, timeout=60, execution_timeout=timedelta(seconds=600)
    )
    assert deadline_kind(sensor) is Ending.WAIT_TIMEOUT
    assert deadline_kind(ImportStateSensor(task_id="wait", import_id=1, timeout=60)) is Ending.WAIT_TIMEOUT


def test_retries_are_read_from_public_task_instance_fields():
    from types import SimpleNamespace

    assert will_retry(None) is False  # unknown: no retry
    assert will_retry(SimpleNamespace(try_number=1, max_tries=1)) is True
    assert will_retry(SimpleNamespace(try_number=2, max_tries=1)) is False
    assert will_retry(SimpleNamespace(try_number=1, max_tries=0)) is False
    assert will_retry(SimpleNamespace(is_eligible_to_retry=lambda: True)) is True  # Airflow 2.11's method


@pytest.mark.parametrize("interval", [0, timedelta(0)], ids=["0", "timedelta(0)"])
def test_poke_interval_zero_is_refused_at_parse_time(interval: object):
    with pytest.raises(ValueError, match=r"poke_interval .* more than 0 seconds"):
        ImportStateSensor(task_id="wait", import_id=1, poke_interval=interval)


def test_deferred_sensor_hands_backoff_and_the_option_to_its_trigger():
    sensor = ImportStateSensor(
        task_id="wait",
        import_id=1,
        deferrable=True,
        poke_interval=5,
        exponential_backoff=True,
        max_wait=timedelta(minutes=2),
        cancel_on_timeout=True,
    )

    _, kwargs = sensor._trigger(time.time() + 60).serialize()

    assert kwargs["exponential_backoff"] is True
    assert kwargs["max_wait"] == 120.0
    assert kwargs["cancel_on_timeout"] is True


def test_trigger_backs_off_between_polls(hubspot_connection: HubSpotEmulator):
    import_id = hubspot_connection.add_import(lifecycle=[("PROCESSING", 4), ("DONE",)])
    trigger = ImportStateTrigger(
        import_id=import_id,
        poll_interval=0.1,
        end_time=time.time() + 60,
        exponential_backoff=True,
        max_wait=0.3,
    )

    assert first_event(trigger)["status"] == "succeeded"

    at = [entry.at for entry in hubspot_connection.requests(import_id)]
    gaps = [later - earlier for earlier, later in itertools.pairwise(at)]
    assert len(gaps) == 4
    assert gaps[1] >= 0.2 and gaps[2] >= 0.3 and gaps[3] >= 0.3  # 0.1, 0.2, 0.4 capped at 0.3


@pytest.mark.parametrize("soft_fail", [True, False], ids=["soft_fail", "fails"])
def test_airflow_ending_the_deferral_at_its_timeout_cancels(
    hubspot_connection: HubSpotEmulator, soft_fail: bool
):
    """The triggerer was down: Airflow's scheduler ended the deferral (`defer(timeout=...)`) and the
    task resumes in `__fail__`, through Airflow's own `resume_execution`."""
    from airflow_provider_hubspot_imports._compat import AIRFLOW_V3, AirflowException

    import_id = hubspot_connection.add_import(lifecycle=[("PROCESSING",)])
    sensor = ImportStateSensor(
        task_id="wait", import_id=import_id, deferrable=True, soft_fail=soft_fail, cancel_on_timeout=True
    )
    error = "Trigger timeout" if AIRFLOW_V3 else "Trigger/execution timeout"  # what each scheduler sends
    skip = exceptions()["skip"]

    with pytest.raises(skip if soft_fail else AirflowException):
        sensor.resume_execution("__fail__", {"error": error}, {})

    assert [entry.method for entry in hubspot_connection.requests(import_id)] == ["POST"]
    assert hubspot_connection.record(import_id)["state"] == "CANCELED"
