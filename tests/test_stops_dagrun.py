"""What `cancel_on_timeout` cancels, and what it leaves running, in real DAG runs (`dag.test()`)."""

from __future__ import annotations

import pytest
from stop_support import assert_canceled_only_by_the_last_try

from airflow_provider_hubspot_imports._compat import AIRFLOW_V3
from airflow_provider_hubspot_imports.testing import HubSpotEmulator

pytestmark = pytest.mark.dagrun


def cancels(emulator: HubSpotEmulator, import_id: int) -> list[float]:
    """When the import's cancel requests reached the emulator."""
    return [entry.at for entry in emulator.requests(import_id) if entry.method == "POST"]


def polls(emulator: HubSpotEmulator, import_id: int) -> list[float]:
    return [entry.at for entry in emulator.requests(import_id) if entry.method == "GET"]


@pytest.mark.skipif(
    not AIRFLOW_V3, reason="Airflow 2.11's dag.test() lets AirflowTaskTimeout (a BaseException) escape"
)
def test_execution_timeout_cancels_only_on_the_last_try(run_dag, hubspot_connection: HubSpotEmulator):
    import_id = hubspot_connection.add_import(lifecycle=[("PROCESSING",)])

    result = run_dag("test_stop_execution_timeout_poke", {"import_id": str(import_id)})

    assert result.task_states == {"wait_for_import": "failed"}
    assert result.try_numbers == {"wait_for_import": 2}
    # Once: not by the first try (the retry found the import running), not again by on_kill.
    assert_canceled_only_by_the_last_try(hubspot_connection, import_id)
    assert "execution_timeout passed on the last try" in result.output


def test_execution_timeout_while_deferred_ends_the_wait_and_cancels(
    run_dag, hubspot_connection: HubSpotEmulator
):
    import_id = hubspot_connection.add_import(lifecycle=[("PROCESSING",)])

    result = run_dag("test_stop_execution_timeout_deferred", {"import_id": str(import_id)})

    assert result.task_states == {"wait_for_import": "failed"}
    assert len(cancels(hubspot_connection, import_id)) == 1
    assert hubspot_connection.record(import_id)["state"] == "CANCELED"
    gets = polls(hubspot_connection, import_id)
    assert gets[-1] - gets[0] < 10  # ended near execution_timeout=3 s, not the 600 s timeout


def test_execution_timeout_while_deferred_is_retried_and_only_the_last_try_cancels(
    run_dag, hubspot_connection: HubSpotEmulator
):
    import_id = hubspot_connection.add_import(lifecycle=[("PROCESSING",)])

    result = run_dag("test_stop_execution_timeout_deferred_retried", {"import_id": str(import_id)})

    assert result.task_states == {"wait_for_import": "failed"}
    assert result.try_numbers == {"wait_for_import": 2}  # an execution timeout is retried
    # The retry found the import still PROCESSING (the first try left it) and waited on it.
    assert_canceled_only_by_the_last_try(hubspot_connection, import_id)
    served = polls(hubspot_connection, import_id)
    assert served[-1] - served[0] > 4  # two tries of about 3 s each
    assert "execution_timeout passed on the last try" in result.output


@pytest.mark.parametrize("mode", ["reschedule", "deferrable"])
@pytest.mark.parametrize("cancel", [True, False], ids=["option on", "option off"])
def test_soft_fail_timeout_skips_and_cancels_with_the_option(
    run_dag, hubspot_connection: HubSpotEmulator, mode: str, cancel: bool
):
    import_id = hubspot_connection.add_import(lifecycle=[("PROCESSING",)])
    dag_id = f"test_stop_soft_fail_timeout_{mode}_{'cancel' if cancel else 'keep'}"

    result = run_dag(dag_id, {"import_id": str(import_id)})

    assert result.task_states == {"wait_for_import": "skipped"}
    assert len(cancels(hubspot_connection, import_id)) == (1 if cancel else 0)
    assert hubspot_connection.record(import_id)["state"] == ("CANCELED" if cancel else "PROCESSING")


@pytest.mark.parametrize("mode", ["poke", "reschedule", "deferrable"])
@pytest.mark.parametrize(
    ("flag", "expected"),
    [("soft_fail", "skipped"), ("never_fail", "skipped"), ("silent_fail", "failed")],
)
@pytest.mark.parametrize(
    "lifecycle",
    [[("FAILED",)], [("PROCESSING", 1), ("FAILED",)]],
    ids=["first check sees it", "a later poll sees it"],
)
def test_a_failed_import_ends_alike_in_every_mode(
    run_dag, hubspot_connection: HubSpotEmulator, mode: str, flag: str, expected: str, lifecycle: list
):
    import_id = hubspot_connection.add_import(lifecycle=lifecycle)

    result = run_dag(f"test_parity_{mode}_{flag}", {"import_id": str(import_id)})

    assert result.task_states == {"wait_for_import": expected}
    assert len(polls(hubspot_connection, import_id)) == len(lifecycle)
