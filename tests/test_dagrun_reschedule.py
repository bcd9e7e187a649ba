"""The reschedule-mode gate, run for real with `dag.test()` against the emulator."""

from __future__ import annotations

import pytest

from airflow_provider_hubspot_imports.testing import HubSpotEmulator

pytestmark = pytest.mark.dagrun


def test_done_after_several_pokes_pushes_the_served_record(run_dag, hubspot_connection: HubSpotEmulator):
    import_id = hubspot_connection.add_import(
        lifecycle=[("STARTED", 1), ("PROCESSING", 2), ("DONE",)],
        counters={"TOTAL_ROWS": 10, "CREATED_OBJECTS": 9, "ERRORS": 1},
        someFieldHubSpotAddsLater={"nested": [1, 2, 3]},
    )

    result = run_dag("test_reschedule_gate", {"import_id": str(import_id)})

    assert result.state == "success"
    assert result.task_states == {"wait_for_import": "success", "get_import": "success"}
    gets = hubspot_connection.requests(import_id)
    assert [entry.status for entry in gets] == [200] * 5  # four pokes, one operator GET
    states = [entry.response_json()["state"] for entry in gets]
    assert states == ["STARTED", "PROCESSING", "PROCESSING", "DONE", "DONE"]
    assert result.xcoms["wait_for_import"] == gets[3].response_json()
    assert result.xcoms["get_import"] == gets[4].response_json()
    assert result.xcoms["wait_for_import"]["someFieldHubSpotAddsLater"] == {"nested": [1, 2, 3]}
    assert "is PROCESSING; counters: CREATED_OBJECTS=9, ERRORS=1, TOTAL_ROWS=10" in result.output
    assert hubspot_connection.token not in result.output


def test_failed_import_fails_the_sensor_once_without_retries(run_dag, hubspot_connection: HubSpotEmulator):
    import_id = hubspot_connection.add_import(
        lifecycle=[("PROCESSING", 1), ("FAILED",)], counters={"TOTAL_ROWS": 5, "ERRORS": 5}
    )

    result = run_dag("test_reschedule_gate", {"import_id": str(import_id)})

    assert result.state == "failed"
    assert result.task_states["wait_for_import"] == "failed"
    assert result.try_numbers["wait_for_import"] == 1  # retries=2 on the task, yet no second try
    assert result.task_states["get_import"] == "upstream_failed"
    served = [entry.response_json()["state"] for entry in hubspot_connection.requests(import_id)]
    assert served == ["PROCESSING", "FAILED"]  # exactly one GET of the FAILED state
    summary = f"import {import_id} (Emulated import {import_id}) is FAILED; counters: ERRORS=5, TOTAL_ROWS=5"
    assert summary in result.output
    assert "FAILED is a failure state" in result.output
    assert hubspot_connection.token not in result.output


def test_unknown_import_fails_at_once_with_hubspots_reason(run_dag, hubspot_connection: HubSpotEmulator):
    result = run_dag("test_reschedule_gate", {"import_id": "424242"})

    assert result.state == "failed"
    assert result.try_numbers["wait_for_import"] == 1
    entries = hubspot_connection.requests(424242)
    assert [entry.status for entry in entries] == [404]
    assert "HTTP 404 OBJECT_NOT_FOUND: Import 424242 was not found" in result.output
    assert hubspot_connection.token not in result.output
