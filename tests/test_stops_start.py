"""`cancel_on_timeout` on `HubSpotStartImportOperator`: the sensor's stop rules for the import it
started. Canceled when the task gives up for good; left running when a retry reconnects to it."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sigterm_start_child import start_operator, task_instance
from sigterm_support import sigterm_when_ready
from stop_support import assert_canceled_only_by_the_last_try
from trigger_support import kill_trigger, set_task_state, stop_running_trigger

from airflow_provider_hubspot_imports._compat import AIRFLOW_V3
from airflow_provider_hubspot_imports.operators.imports import HubSpotStartImportOperator
from airflow_provider_hubspot_imports.testing import HubSpotEmulator
from airflow_provider_hubspot_imports.triggers.imports import ImportStateTrigger

pytestmark = pytest.mark.dagrun

CHILD = Path(__file__).parent / "sigterm_start_child.py"


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "contacts.csv"
    path.write_text("email,firstname\na@example.com,A\nb@example.com,B\n")
    return path


def cancels(emulator: HubSpotEmulator, import_id: int) -> int:
    return sum(entry.method == "POST" for entry in emulator.requests(import_id))


def the_import(emulator: HubSpotEmulator) -> int:
    """The one import started: a second would be a duplicate in the CRM."""
    started = emulator.started_imports()
    assert len(started) == 1, started
    return int(started[0]["id"])


# ---- the wait's own timeout -------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["worker", "deferred"])
@pytest.mark.parametrize(
    ("soft_fail", "task_state"), [(False, "failed"), (True, "skipped")], ids=["fails", "soft_fail"]
)
@pytest.mark.parametrize("cancel", [True, False], ids=["option on", "option off"])
def test_the_wait_timing_out_cancels_with_the_option(
    run_dag,
    hubspot_connection: HubSpotEmulator,
    csv_file: Path,
    mode: str,
    soft_fail: bool,
    task_state: str,
    cancel: bool,
):
    hubspot_connection.set_start_lifecycle([("PROCESSING",)])
    ending = "soft_fail" if soft_fail else "fails"
    dag_id = f"test_stop_start_timeout_{mode}_{ending}_{'cancel' if cancel else 'keep'}"

    result = run_dag(dag_id, {"csv_path": str(csv_file), "crash_at": ""})

    assert result.task_states == {"start_import": task_state}
    assert result.try_numbers == {"start_import": 1}  # the wait's timeout is final: retries=2 unused
    import_id = the_import(hubspot_connection)
    assert cancels(hubspot_connection, import_id) == (1 if cancel else 0)
    assert hubspot_connection.record(import_id)["state"] == ("CANCELED" if cancel else "PROCESSING")
    if cancel:
        assert f"Canceled HubSpot import {import_id} after the wait timed out" in result.output


@pytest.mark.parametrize(
    "mode",
    [
        pytest.param(
            "worker",
            marks=pytest.mark.skipif(
                not AIRFLOW_V3,
                reason="Airflow 2.11's dag.test() lets AirflowTaskTimeout (a BaseException) escape",
            ),
        ),
        "deferred",
    ],
)
def test_execution_timeout_cancels_only_on_the_last_try_and_the_retry_keeps_the_import(
    run_dag, hubspot_connection: HubSpotEmulator, csv_file: Path, mode: str
):
    hubspot_connection.set_start_lifecycle([("PROCESSING",)])
    dag_id = "test_stop_start_execution_timeout" + ("_deferred" if mode == "deferred" else "")

    result = run_dag(dag_id, {"csv_path": str(csv_file), "crash_at": ""})

    assert result.task_states == {"start_import": "failed"}
    assert result.try_numbers == {"start_import": 2}
    import_id = the_import(hubspot_connection)  # the retry went back to the first try's import
    # By the last try only, once: the retry found the import still running.
    assert_canceled_only_by_the_last_try(hubspot_connection, import_id)
    assert f"Adopting HubSpot import {import_id} started by an earlier try" in result.output
    assert "execution_timeout passed on the last try" in result.output


@pytest.mark.parametrize("soft_fail", [True, False], ids=["soft_fail", "fails"])
def test_airflow_ending_the_deferred_start_at_its_timeout_finds_and_cancels_the_import(
    hubspot_connection: HubSpotEmulator, csv_file: Path, soft_fail: bool
):
    """The triggerer was down: Airflow resumes the task in `__fail__`, without the import's id
    that `execute_complete` would have had. The operator finds it by its key, and cancels it."""
    from airflow_provider_hubspot_imports._compat import AirflowException
    from airflow_provider_hubspot_imports.waiting import exception_kinds

    hubspot_connection.set_start_lifecycle([("PROCESSING",)])
    ti = task_instance("manual__deferral_timeout", 1, retry=False)
    deferred = defer_start(csv_file, ti, soft_fail=soft_fail)
    import_id = the_import(hubspot_connection)
    operator = fresh_operator(csv_file, soft_fail=soft_fail)  # a new process resumes the task
    error = "Trigger timeout" if AIRFLOW_V3 else "Trigger/execution timeout"  # what each scheduler sends

    with pytest.raises(exception_kinds()["skip"][0] if soft_fail else AirflowException):
        operator.resume_execution("__fail__", {"error": error}, {"ti": ti})

    assert deferred.kwargs == {"import_id": str(import_id)}
    assert cancels(hubspot_connection, import_id) == 1
    assert hubspot_connection.record(import_id)["state"] == "CANCELED"


# ---- SIGTERM in the worker --------------------------------------------------------------------


def sigterm_after_first_poll(emulator: HubSpotEmulator, csv_file: Path, which_try: str, run_id: str) -> str:
    """Run the child, SIGTERM it after its first poll, SIGKILL it 5 s later as Airflow would."""
    env = dict(os.environ, AIRFLOW_CONN_HUBSPOT_DEFAULT=emulator.connection_json())
    return sigterm_when_ready([str(CHILD), str(csv_file), which_try, run_id], env, "polled")


def test_sigterm_of_a_try_that_will_be_retried_leaves_the_import_and_the_retry_adopts_it(
    hubspot_connection: HubSpotEmulator, csv_file: Path, logged: Callable[[], str]
):
    hubspot = hubspot_connection
    hubspot.set_start_lifecycle([("PROCESSING", 3), ("DONE",)])
    run_id = "manual__warm_shutdown"

    output = sigterm_after_first_poll(hubspot, csv_file, "retry", run_id)

    assert "on_kill took" in output, output
    import_id = the_import(hubspot)
    assert cancels(hubspot, import_id) == 0
    assert hubspot.record(import_id)["state"] == "PROCESSING"
    assert f"import {import_id} is left running: a retry of this task waits on it" in output
    logged()

    # The retry (another process, no task state store: the lookup by key) waits on the same import.
    record = start_operator(str(csv_file)).execute({"ti": task_instance(run_id, 2, retry=False)})  # type: ignore[arg-type]

    assert the_import(hubspot) == import_id
    assert record["id"] == str(import_id) and record["state"] == "DONE"
    assert f"Adopting HubSpot import {import_id} started by an earlier try" in logged()


def test_sigterm_on_the_last_try_cancels_without_a_connection_lookup(
    hubspot_connection: HubSpotEmulator, csv_file: Path
):
    hubspot_connection.set_start_lifecycle([("PROCESSING",)])

    output = sigterm_after_first_poll(hubspot_connection, csv_file, "last", "manual__last_try")

    assert "SIGKILL" not in output, output
    import_id = the_import(hubspot_connection)
    assert cancels(hubspot_connection, import_id) == 1, output
    assert hubspot_connection.record(import_id)["state"] == "CANCELED"
    assert "killed on its last try" in output
    assert hubspot_connection.token not in output


# ---- a person stopping the deferred start -----------------------------------------------------


def fresh_operator(csv_file: Path, **args: Any) -> HubSpotStartImportOperator:
    operator = start_operator(str(csv_file))
    operator.deferrable = True
    for name, value in args.items():
        setattr(operator, name, value)
    return operator


def defer_start(csv_file: Path, ti: Any, **args: Any) -> Any:
    """Start the import and defer, as the task's first try does: Airflow's `TaskDeferred`."""
    try:
        from airflow.sdk.exceptions import TaskDeferred
    except ImportError:  # Airflow 2.11
        from airflow.exceptions import TaskDeferred  # type: ignore[no-redef,attr-defined,unused-ignore]

    with pytest.raises(TaskDeferred) as deferred:
        fresh_operator(csv_file, **args).execute({"ti": ti})
    return deferred.value


@pytest.fixture
def deferred_start(run_dag, hubspot_connection: HubSpotEmulator, csv_file: Path) -> Any:
    """A start operator's task instance in the metadata database (`set(state)` changes it), and
    the trigger its deferral hands the wait to."""
    hubspot_connection.set_start_lifecycle([("DONE",)])
    result = run_dag("test_start_once_deferred", {"csv_path": str(csv_file), "crash_at": ""})
    ti = SimpleNamespace(dag_id=result.dag_id, run_id=result.run_id, task_id="start_import", map_index=-1)
    hubspot_connection.set_start_lifecycle([("PROCESSING",)])
    deferred = defer_start(csv_file, task_instance("manual__person", 1, retry=True))
    trigger = deferred.trigger
    assert isinstance(trigger, ImportStateTrigger)
    trigger.task_instance = ti

    return SimpleNamespace(
        trigger=trigger,
        set=lambda state: set_task_state(ti, state),
        import_id=int(deferred.kwargs["import_id"]),
    )


def stop_trigger(trigger: ImportStateTrigger, emulator: HubSpotEmulator) -> None:
    """Airflow 3.3 calls the trigger's `on_kill`; Airflow 2.11 cancels its asyncio task."""
    if AIRFLOW_V3:
        kill_trigger(trigger)
        return
    trigger.first_poll_at = None  # poll at once, then be stopped
    stop_running_trigger(trigger, lambda: len(emulator.requests(int(trigger.import_id))))


def test_the_deferred_start_hands_the_option_to_its_trigger(
    hubspot_connection: HubSpotEmulator, csv_file: Path
):
    hubspot_connection.set_start_lifecycle([("PROCESSING",)])

    deferred = defer_start(csv_file, task_instance("manual__option", 1, retry=True), cancel_on_timeout=True)

    _, kwargs = deferred.trigger.serialize()
    assert kwargs["cancel_on_timeout"] is True
    assert kwargs["import_id"] == str(the_import(hubspot_connection))
    assert kwargs["poll_interval"] == 0.2


@pytest.mark.parametrize(
    ("state", "canceled"),
    [("failed", True), (None, False), ("deferred", False), ("up_for_retry", False)],
    ids=["marked failed", "cleared (the re-run reconnects)", "moved to another triggerer", "will be retried"],
)
def test_a_person_marking_the_deferred_start_cancels_a_clear_or_a_move_does_not(
    deferred_start: Any, hubspot_connection: HubSpotEmulator, state: str | None, canceled: bool
):
    deferred_start.set(state)

    stop_trigger(deferred_start.trigger, hubspot_connection)

    import_id = deferred_start.import_id
    assert cancels(hubspot_connection, import_id) == (1 if canceled else 0)
    assert hubspot_connection.record(import_id)["state"] == ("CANCELED" if canceled else "PROCESSING")


def test_without_the_option_a_person_stopping_the_deferred_start_leaves_the_import(
    deferred_start: Any, hubspot_connection: HubSpotEmulator
):
    deferred_start.trigger.cancel_on_timeout = False
    deferred_start.set("failed")

    stop_trigger(deferred_start.trigger, hubspot_connection)

    assert cancels(hubspot_connection, deferred_start.import_id) == 0


def test_on_kill_after_the_try_ended_does_nothing(hubspot_connection: HubSpotEmulator, csv_file: Path):
    """Airflow calls `on_kill` after `execution_timeout` too, once `execute` has already decided."""
    hubspot_connection.set_start_lifecycle([("DONE",)])
    operator = start_operator(str(csv_file))
    operator.execute({"ti": task_instance("manual__done", 1, retry=False)})  # type: ignore[arg-type]

    operator.on_kill()

    assert cancels(hubspot_connection, the_import(hubspot_connection)) == 0


@pytest.mark.parametrize("busy", [False, True], ids=["re-run before the trigger stops", "re-run after it"])
def test_a_cleared_deferred_start_is_done_again_on_its_running_import(
    run_dag, hubspot_connection: HubSpotEmulator, csv_file: Path, busy: bool
):
    """A clear means "do it again": the trigger leaves the import running and the re-run (the next
    try of the same task instance) reconnects to it and succeeds, whether it runs before the
    trigger is stopped (an idle worker) or after (a busy one). Never a cancel of its own making,
    never two imports of one request running."""
    hubspot = hubspot_connection
    hubspot.set_start_lifecycle([("DONE",)])
    result = run_dag("test_start_once_deferred", {"csv_path": str(csv_file), "crash_at": ""})
    ti = SimpleNamespace(dag_id=result.dag_id, run_id=result.run_id, task_id="start_import", map_index=-1)
    hubspot.set_start_lifecycle([("PROCESSING", 10), ("DONE",)])
    deferred = defer_start(csv_file, task_instance("manual__cleared", 1, retry=False), cancel_on_timeout=True)
    trigger = deferred.trigger
    trigger.task_instance = ti
    import_id = int(deferred.kwargs["import_id"])
    set_task_state(ti, None)  # cleared

    def re_run() -> dict[str, Any]:
        operator = start_operator(str(csv_file))
        return operator.execute({"ti": task_instance("manual__cleared", 2, retry=False)})  # type: ignore[arg-type]

    if busy:
        stop_trigger(trigger, hubspot)
        record = re_run()
    else:  # the re-run is already waiting on the import when the trigger is stopped

        def stop_once_the_re_run_waits() -> None:
            while len(hubspot.requests(import_id)) < 2:  # until the re-run has read the import
                time.sleep(0.05)
            stop_trigger(trigger, hubspot)

        with ThreadPoolExecutor(max_workers=1) as pool:
            stopped = pool.submit(stop_once_the_re_run_waits)
            record = re_run()  # Airflow 2.11 runs an operator in the thread that made it
            stopped.result(timeout=60)

    assert record["id"] == str(import_id) and record["state"] == "DONE"
    assert cancels(hubspot, import_id) == 0
    started = [entry for entry in hubspot.started_imports() if entry["id"] != int(the_first(result))]
    assert [entry["id"] for entry in started] == [import_id]  # one import of this request


def the_first(result: Any) -> str:
    """The import the set-up run started (another task instance: another key)."""
    return str(result.xcoms["start_import"]["id"])
