"""One deadline, one outcome: the task ends the same whether the trigger's event reports its
deadline or Airflow's scheduler ends the deferral first; and the deferral's own timeout leaves
the trigger room to report first."""

from __future__ import annotations

import time
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider_hubspot_imports._compat import AIRFLOW_V3
from airflow_provider_hubspot_imports.core.settings import DEFAULT_RETRY_MAX_SECONDS, DEFAULT_TIMEOUT
from airflow_provider_hubspot_imports.sensors.imports import ImportStateSensor
from airflow_provider_hubspot_imports.testing import HubSpotEmulator
from airflow_provider_hubspot_imports.triggers.imports import TIMEOUT

# What each Airflow sends when its scheduler ends a deferral at its timeout.
SCHEDULER_ERROR = "Trigger timeout" if AIRFLOW_V3 else "Trigger/execution timeout"


def sensor(import_id: int, deadline: str, **kwargs: Any) -> ImportStateSensor:
    timing = (
        {"timeout": 600, "execution_timeout": timedelta(seconds=60)}
        if deadline == "execution_timeout"
        else {"timeout": 60, "execution_timeout": timedelta(seconds=600)}
    )
    return ImportStateSensor(
        task_id="wait", import_id=import_id, deferrable=True, cancel_on_timeout=True, **timing, **kwargs
    )


def ended(waiter: ImportStateSensor, context: dict[str, Any], by: str) -> type[BaseException]:
    """Resume the deferred sensor as the trigger's event (`by="trigger"`) or the scheduler's end
    of the deferral (`by="scheduler"`) would; the type of what it raised."""
    if by == "trigger":
        event = {"status": TIMEOUT, "import_id": str(waiter.import_id), "message": "late"}
        if waiter.execution_timeout is not None and waiter.execution_timeout.total_seconds() < waiter.timeout:
            event["execution_timeout"] = True
        args: tuple[str, dict[str, Any]] = ("execute_complete", {"event": event})
    else:
        args = ("__fail__", {"error": SCHEDULER_ERROR})
    try:
        waiter.resume_execution(*args, context)
    except BaseException as error:
        return type(error)
    raise AssertionError("the resumed sensor did not end")


@pytest.mark.parametrize("deadline", ["execution_timeout", "timeout"])
@pytest.mark.parametrize("tries_left", [True, False], ids=["tries left", "last try"])
@pytest.mark.parametrize("soft_fail", [False, True], ids=["fails", "soft_fail"])
def test_the_same_ending_whoever_reports_the_deadline(
    hubspot_connection: HubSpotEmulator, deadline: str, tries_left: bool, soft_fail: bool
):
    outcomes = {}
    for by in ("trigger", "scheduler"):
        import_id = hubspot_connection.add_import(lifecycle=[("PROCESSING",)])
        ti = SimpleNamespace(try_number=1, max_tries=1 if tries_left else 0)
        raised = ended(sensor(import_id, deadline, soft_fail=soft_fail), {"ti": ti}, by)
        canceled = hubspot_connection.record(import_id)["state"] == "CANCELED"
        outcomes[by] = (raised.__name__, canceled)

    assert outcomes["trigger"] == outcomes["scheduler"]
    raised_name, canceled = outcomes["trigger"]
    if deadline == "execution_timeout":  # retried while tries are left; canceled on the last try only
        assert canceled is (not tries_left)
        assert raised_name in ("AirflowTaskTimeout", "TaskDeferralError")
    else:  # the wait's timeout is final: canceled with the option, skipped with soft_fail
        assert canceled
        assert raised_name == ("AirflowSkipException" if soft_fail else "AirflowSensorTimeout")


@pytest.mark.parametrize("check_interval", [1.0, 15.0], ids=["checks every 1 s", "default 15 s"])
def test_the_deferral_outlasts_the_trigger_by_two_checks_and_a_poll(
    hubspot_connection: HubSpotEmulator, monkeypatch: pytest.MonkeyPatch, check_interval: float
):
    try:
        from airflow.sdk.exceptions import TaskDeferred
    except ImportError:  # Airflow 2.11
        from airflow.exceptions import TaskDeferred  # type: ignore[no-redef,attr-defined,unused-ignore]
    monkeypatch.setenv("AIRFLOW__SCHEDULER__TRIGGER_TIMEOUT_CHECK_INTERVAL", str(check_interval))
    import_id = hubspot_connection.add_import(lifecycle=[("PROCESSING",)])
    waiter = ImportStateSensor(task_id="wait", import_id=import_id, deferrable=True, timeout=120)

    with pytest.raises(TaskDeferred) as deferred:
        waiter.execute({})

    trigger_deadline = deferred.value.trigger.end_time
    assert deferred.value.timeout is not None
    deferral_ends = time.time() + deferred.value.timeout.total_seconds()
    margin = deferral_ends - trigger_deadline
    # The emulator's connection keeps the default timeout and retry budget: one poll's worst case.
    poll = DEFAULT_TIMEOUT + DEFAULT_RETRY_MAX_SECONDS
    assert 2 * check_interval + poll <= margin + 1 and margin <= 2 * check_interval + poll + 5
