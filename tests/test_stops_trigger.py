"""`ImportStateTrigger.on_kill`: Airflow 3.3 calls it when a person clears or marks a deferred task,
and when the trigger moves to another triggerer. The task instance's state, read from the metadata
database through Airflow's own supervisor channel (in-process here), tells them apart."""

from __future__ import annotations

import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from trigger_support import kill_trigger, set_task_state, stop_running_trigger

from airflow_provider_hubspot_imports._compat import AIRFLOW_V3
from airflow_provider_hubspot_imports.testing import HubSpotEmulator
from airflow_provider_hubspot_imports.triggers.imports import ImportStateTrigger

pytestmark = pytest.mark.dagrun
on_airflow_3 = pytest.mark.skipif(not AIRFLOW_V3, reason="Airflow 2.11's triggerer never calls on_kill")
on_airflow_2 = pytest.mark.skipif(AIRFLOW_V3, reason="Airflow 3 calls on_kill instead")


@pytest.fixture
def deferred_task(run_dag, hubspot_connection: HubSpotEmulator) -> Any:
    """A real task instance of a deferrable sensor in the metadata database; `set(state)` changes it."""
    done = hubspot_connection.add_import(lifecycle=[("DONE",)])
    result = run_dag("test_deferrable_gate", {"import_id": str(done)})
    ti = SimpleNamespace(dag_id=result.dag_id, run_id=result.run_id, task_id="wait_for_import", map_index=-1)

    ti.set = lambda state, trigger_timeout=None: set_task_state(ti, state, trigger_timeout)
    return ti


def killed_trigger(emulator: HubSpotEmulator, ti: Any, cancel_on_timeout: bool = True) -> int:
    import_id = emulator.add_import(lifecycle=[("PROCESSING",)])
    trigger = ImportStateTrigger(
        import_id=import_id, poll_interval=60, end_time=time.time() + 600, cancel_on_timeout=cancel_on_timeout
    )
    trigger.task_instance = ti
    kill_trigger(trigger)
    return import_id


def cancels(emulator: HubSpotEmulator, import_id: int) -> int:
    return sum(entry.method == "POST" for entry in emulator.requests(import_id))


@on_airflow_3
@pytest.mark.parametrize(
    "state",
    ["failed", "skipped", "upstream_failed"],
    ids=["marked failed", "marked skipped", "upstream marked failed"],
)
def test_a_person_marking_the_deferred_task_cancels(
    deferred_task: Any, hubspot_connection: HubSpotEmulator, state: str | None
):
    deferred_task.set(state)

    import_id = killed_trigger(hubspot_connection, deferred_task)

    assert cancels(hubspot_connection, import_id) == 1
    assert hubspot_connection.record(import_id)["state"] == "CANCELED"


@on_airflow_3
@pytest.mark.parametrize(
    "state",
    ["deferred", "up_for_retry", "success", None, "scheduled", "queued", "running"],
    ids=[
        "moved to another triggerer",
        "will be retried",
        "marked success",
        "cleared",
        "cleared, scheduled",
        "cleared, queued",
        "cleared, running",
    ],
)
def test_a_trigger_stopped_while_the_task_still_waits_or_runs_again_leaves_the_import(
    deferred_task: Any, hubspot_connection: HubSpotEmulator, state: str, logged: Callable[[], str]
):
    deferred_task.set(state)
    logged()

    import_id = killed_trigger(hubspot_connection, deferred_task)

    assert cancels(hubspot_connection, import_id) == 0
    assert hubspot_connection.record(import_id)["state"] == "PROCESSING"
    # The state was read, not guessed: the trigger names it. A clear means "do it again": the
    # re-run reconnects to the running import.
    assert f"stopped while the task is {state}: the import is left running" in logged()


@on_airflow_3
def test_without_the_option_a_marked_task_leaves_the_import(
    deferred_task: Any, hubspot_connection: HubSpotEmulator
):
    deferred_task.set("failed")

    import_id = killed_trigger(hubspot_connection, deferred_task, cancel_on_timeout=False)

    assert cancels(hubspot_connection, import_id) == 0


@on_airflow_3
def test_a_task_state_that_cannot_be_read_leaves_the_import(
    deferred_task: Any, hubspot_connection: HubSpotEmulator
):
    gone = SimpleNamespace(
        dag_id=deferred_task.dag_id, run_id="no-such-run", task_id="wait_for_import", map_index=-1
    )

    import_id = killed_trigger(hubspot_connection, gone)

    assert cancels(hubspot_connection, import_id) == 0


def stopped_by_airflow_2(emulator: HubSpotEmulator, ti: Any) -> int:
    """Airflow 2.11 stops a trigger by canceling its asyncio task (a person's action, a move, a
    triggerer shutting down and a deferral timeout alike); the trigger reads the database then."""
    import_id = emulator.add_import(lifecycle=[("PROCESSING",)])
    trigger = ImportStateTrigger(
        import_id=import_id, poll_interval=60, end_time=time.time() + 600, cancel_on_timeout=True
    )
    trigger.task_instance = ti
    stop_running_trigger(trigger, lambda: len(emulator.requests(import_id)))
    return import_id


@on_airflow_2
@pytest.mark.parametrize(
    ("state", "canceled"),
    [("failed", True), (None, False), ("deferred", False), ("up_for_retry", False)],
    ids=["marked failed", "cleared (the re-run reconnects)", "moved or triggerer stopped", "will be retried"],
)
def test_airflow_2_trigger_stopped_cancels_only_when_a_person_gave_up(
    deferred_task: Any, hubspot_connection: HubSpotEmulator, state: str | None, canceled: bool
):
    deferred_task.set(state)

    import_id = stopped_by_airflow_2(hubspot_connection, deferred_task)

    assert cancels(hubspot_connection, import_id) == (1 if canceled else 0)


@on_airflow_2
def test_airflow_2_deferral_timeout_leaves_the_decision_to_the_resumed_task(
    deferred_task: Any, hubspot_connection: HubSpotEmulator
):
    from datetime import datetime, timedelta, timezone

    deferred_task.set("scheduled", trigger_timeout=datetime.now(timezone.utc) - timedelta(seconds=1))

    import_id = stopped_by_airflow_2(hubspot_connection, deferred_task)

    assert cancels(hubspot_connection, import_id) == 0
