"""The deferrable gate, run for real with `dag.test()` (triggers run inline) against the emulator."""

from __future__ import annotations

import json

import pytest

from airflow_provider_hubspot_imports.testing import Fault, HubSpotEmulator

pytestmark = pytest.mark.dagrun

HTML_503 = Fault(
    status=503, body="<html><head><title>503 Service Temporarily Unavailable</title></head></html>"
)
RATE_LIMITED = Fault(
    status=429,
    headers={"Retry-After": "1"},
    json={
        "status": "error",
        "message": "You have reached your ten_secondly_rolling limit.",
        "errorType": "RATE_LIMIT",
        "policyName": "TEN_SECONDLY_ROLLING",
    },
)
JSON_502 = Fault(status=502, json={"status": "error", "message": "Bad Gateway", "correlationId": "c-502"})


def test_defers_through_faults_and_hands_the_served_record_downstream(
    run_dag, hubspot_connection: HubSpotEmulator, monkeypatch: pytest.MonkeyPatch
):
    # No client-side retries: each fault reaches the waiting code itself (the first check, then
    # the trigger's loop), which must log it and keep waiting.
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", hubspot_connection.connection_json(max_retries=0))
    import_id = hubspot_connection.add_import(
        lifecycle=[("PROCESSING", 1), ("DONE",)],
        counters={"TOTAL_ROWS": 3, "CREATED_OBJECTS": 3},
        faults=[HTML_503, RATE_LIMITED, JSON_502],
        laterField={"x": 1},
    )

    result = run_dag("test_deferrable_gate", {"import_id": str(import_id)})

    assert result.state == "success"
    assert result.task_states == {"wait_for_import": "success", "load": "success"}
    served = hubspot_connection.requests(import_id)
    assert [entry.status for entry in served] == [503, 429, 502, 200, 200]
    assert [entry.response_json()["state"] for entry in served[3:]] == ["PROCESSING", "DONE"]
    assert served[2].at - served[1].at >= 1.0  # Retry-After: 1 was honoured
    assert result.xcoms["wait_for_import"] == served[-1].response_json()
    assert result.xcoms["load"] == served[-1].response_json()
    assert result.xcoms["load"]["laterField"] == {"x": 1}
    assert f"loading after import {import_id} ended DONE" in result.output
    assert "this time; polling again in 1 s" in result.output  # the trigger's words: it deferred
    assert "HTTP 429 RATE_LIMIT" in result.output and "HTTP 502" in result.output
    assert hubspot_connection.token not in result.output


def test_already_done_import_succeeds_without_deferring(run_dag, hubspot_connection: HubSpotEmulator):
    import_id = hubspot_connection.add_import(lifecycle=[("DONE",)])

    result = run_dag("test_deferrable_gate", {"import_id": str(import_id)})

    assert result.state == "success"
    served = hubspot_connection.requests(import_id)
    assert len(served) == 1  # the first check saw DONE: no trigger ever polled
    assert result.xcoms["load"] == served[0].response_json()


def test_failed_import_fails_like_reschedule_mode(run_dag, hubspot_connection: HubSpotEmulator):
    import_id = hubspot_connection.add_import(
        lifecycle=[("PROCESSING", 1), ("FAILED",)], counters={"TOTAL_ROWS": 5, "ERRORS": 5}
    )

    result = run_dag("test_deferrable_gate", {"import_id": str(import_id)})

    assert result.state == "failed"
    assert result.task_states["wait_for_import"] == "failed"
    assert result.try_numbers["wait_for_import"] == 1  # retries=2, yet no second try
    assert result.task_states["load"] == "upstream_failed"
    summary = f"import {import_id} (Emulated import {import_id}) is FAILED; counters: ERRORS=5, TOTAL_ROWS=5"
    assert summary in result.output
    assert "FAILED is a failure state" in result.output


def test_connection_stored_in_the_database(run_dag, hubspot_emulator: HubSpotEmulator):
    """`aget_connection` fails for DB connections under dag.test on 3.3.2: the fallback must find it."""
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session

    with create_session() as session:
        session.query(Connection).filter(Connection.conn_id == "hubspot_in_db").delete()
        session.add(
            Connection(
                conn_id="hubspot_in_db",
                conn_type="hubspot",
                host=hubspot_emulator.base_url,
                password=hubspot_emulator.token,
                extra=json.dumps({"retry_backoff_seconds": 0.05}),
            )
        )
    import_id = hubspot_emulator.add_import(lifecycle=[("PROCESSING", 2), ("DONE",)])

    result = run_dag("test_deferrable_gate_db_conn", {"import_id": str(import_id)})

    assert result.state == "success"
    served = hubspot_emulator.requests(import_id)
    assert [entry.response_json()["state"] for entry in served] == ["PROCESSING", "PROCESSING", "DONE"]
    assert result.xcoms["wait_for_import"] == served[-1].response_json()
    assert hubspot_emulator.token not in result.output
