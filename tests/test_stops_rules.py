"""The pure rules behind stops, and the sensor arguments they rest on."""

from __future__ import annotations

import itertools
import time
from datetime import timedelta

import pytest
from trigger_support import first_event

from airflow_provider_hubspot_imports.core.stops import abandoned_by_person, next_poll_delay
from airflow_provider_hubspot_imports.sensors.imports import ImportStateSensor
from airflow_provider_hubspot_imports.testing import HubSpotEmulator
from airflow_provider_hubspot_imports.triggers.imports import ImportStateTrigger
from airflow_provider_hubspot_imports.waiting import give_up_reason, will_retry


def test_poll_delay_doubles_up_to_max_wait_only_with_backoff():
    assert [next_poll_delay(5, n, exponential=False, max_wait=None) for n in (1, 2, 3)] == [5, 5, 5]
    assert [next_poll_delay(5, n, exponential=True, max_wait=None) for n in (1, 2, 3, 4)] == [5, 10, 20, 40]
    assert [next_poll_delay(5, n, exponential=True, max_wait=12) for n in (1, 2, 3)] == [5, 10, 12]


@pytest.mark.parametrize(
    ("state", "cancel"),
    [
        ("deferred", False),
        ("up_for_retry", False),
        ("up_for_reschedule", False),
        ("success", False),
        ("failed", True),
        ("skipped", True),
        ("upstream_failed", True),
        (None, True),
        ("restarting", True),
        ("scheduled", True),
    ],
)
def test_which_task_states_mean_a_person_gave_up(state: str | None, cancel: bool):
    assert (abandoned_by_person(state) is not None) is cancel


def exceptions() -> dict[str, type[BaseException]]:
    try:
        from airflow.sdk.exceptions import AirflowSkipException, AirflowTaskTimeout
        from airflow.sdk.exceptions import TaskDeferralTimeout as DeferralTimeout
    except ImportError:  # Airflow 2.11 ends a deferral at its timeout with this error
        from airflow.exceptions import AirflowSkipException, AirflowTaskTimeout  # type: ignore[no-redef]
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


def test_give_up_reasons():
    e = exceptions()
    assert give_up_reason(e["sensor_timeout"]("late"), retrying=True) == "the wait timed out"
    assert give_up_reason(e["task_timeout"](), retrying=True) is None
    assert give_up_reason(e["task_timeout"](), retrying=False) == "execution_timeout passed on the last try"
    assert give_up_reason(e["deferral_timeout"]("Trigger/execution timeout"), retrying=False) is not None
    assert give_up_reason(e["deferral_timeout"]("Trigger/execution timeout"), retrying=True) is None
    # soft_fail: Airflow's poke loop raises a skip saying "timed out"; the resume path chains the timeout.
    assert give_up_reason(e["skip"]("Sensor has timed out; run duration ..."), retrying=True) is not None
    assert give_up_reason(caused(e["skip"]("soft_fail"), e["sensor_timeout"]("late")), retrying=True)
    # A skip for a failed import, or any other failure, leaves the import alone.
    assert give_up_reason(caused(e["skip"]("soft_fail"), e["fail"]("FAILED")), retrying=False) is None
    assert give_up_reason(e["skip"]("skipped by a person"), retrying=False) is None
    assert give_up_reason(e["fail"]("FAILED"), retrying=False) is None
    assert give_up_reason(ValueError("bug"), retrying=False) is None


def test_unknown_task_instance_counts_as_no_retry():
    assert will_retry(None) is False


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
