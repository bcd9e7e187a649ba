"""The workflow run for real with `dag.test()` against the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagrun_support import xcom_value

from airflow_provider_hubspot_imports.extra_links import HubSpotImportLink
from airflow_provider_hubspot_imports.testing import make_errors

pytestmark = pytest.mark.dagrun


def _csv(path: Path, rows: int) -> Path:
    path.write_text("email,firstname\n" + "".join(f"p{row}@example.com,P{row}\n" for row in range(rows)))
    return path


def test_quality_gate_fails_a_done_import_with_too_many_error_rows(run_dag, hubspot_connection):
    import_id = hubspot_connection.add_import(
        lifecycle=[("PROCESSING", 1), ("DONE",)],
        counters={"TOTAL_ROWS": 100, "CREATED_OBJECTS": 77, "ERRORS": 23},
        errors=make_errors(23, error_type="INVALID_EMAIL"),
    )

    result = run_dag("test_quality_gate", {"import_id": str(import_id)})

    assert result.state == "failed"
    assert result.try_numbers["wait_for_import"] == 1  # retries=2, yet not retried: more polls cannot help
    assert result.xcoms["wait_for_import"] is None
    expected = (
        f"HubSpot import {import_id} is DONE but fails the quality gate: 23 of 100 rows failed (23.0%), "
        f"more than max_error_ratio=0.05 (5.0%)."
    )
    assert expected in result.output
    assert "INVALID_EMAIL at line 2, invalid value 'not-an-email-2'" in result.output
    assert "INVALID_EMAIL at line 11, invalid value 'not-an-email-11'" in result.output
    assert "line 12," not in result.output  # at most ten errors listed
    error_reads = hubspot_connection.model.requests_for(import_id, path_suffix="/errors")
    assert [entry.query["limit"] for entry in error_reads] == [["10"]]
    assert error_reads[0].query["includeRowData"] == ["false"]
    assert hubspot_connection.token not in result.output


def test_quality_gate_counts_error_rows_when_the_counters_lack_errors(run_dag, hubspot_connection):
    """HubSpot's counters have no documented keys: without ERRORS, the errors endpoint decides."""
    import_id = hubspot_connection.add_import(
        lifecycle=[("DONE",)], counters={"TOTAL_ROWS": 100, "CREATED_OBJECTS": 92}, errors=make_errors(8)
    )

    result = run_dag("test_quality_gate", {"import_id": str(import_id)})

    assert result.state == "failed"
    assert result.try_numbers["wait_for_import"] == 1
    assert (
        "8 of 100 rows failed (8.0%) (8 counted from the errors endpoint: the counters have no ERRORS)"
        in result.output
    )
    assert "the counters have no ERRORS; counted 8 error rows from the errors endpoint" in result.output
    error_reads = hubspot_connection.model.requests_for(import_id, path_suffix="/errors")
    assert len(error_reads) == 1  # the rows counted are the rows listed


def test_quality_gate_lets_a_clean_enough_import_through(run_dag, hubspot_connection):
    import_id = hubspot_connection.add_import(
        lifecycle=[("DONE",)], counters={"TOTAL_ROWS": 100, "ERRORS": 5}, errors=make_errors(5)
    )

    result = run_dag("test_quality_gate", {"import_id": str(import_id)})

    assert result.state == "success"
    assert result.xcoms["wait_for_import"] == hubspot_connection.requests(import_id)[-1].response_json()
    assert hubspot_connection.model.requests_for(import_id, path_suffix="/errors") == []


def test_cancel_on_timeout_cancels_the_import_then_fails(run_dag, hubspot_connection):
    import_id = hubspot_connection.add_import(lifecycle=[("PROCESSING",)])

    result = run_dag("test_cancel_on_timeout", {"import_id": str(import_id)})

    assert result.state == "failed"
    assert result.task_states["wait_for_import"] == "failed"
    cancels = hubspot_connection.model.requests_for(import_id, path_suffix="/cancel")
    assert [entry.status for entry in cancels] == [200]
    assert hubspot_connection.record(import_id)["state"] == "CANCELED"
    assert f"Canceled HubSpot import {import_id} after the wait timed out" in result.output
    assert "Sensor has timed out" in result.output


def test_start_and_wait_uploads_then_returns_the_final_record(run_dag, hubspot_connection, tmp_path):
    csv = _csv(tmp_path / "people.csv", 40)

    result = run_dag("test_start_and_wait", {"csv_path": str(csv)})

    assert result.state == "success"
    record = result.xcoms["start_import"]
    assert record["state"] == "DONE"
    assert record["metadata"]["counters"]["TOTAL_ROWS"] == 40
    import_id = int(record["id"])
    assert [upload.filename for upload in hubspot_connection.uploads(import_id)] == ["people.csv"]
    reads = [entry for entry in hubspot_connection.requests(import_id) if not entry.path.endswith("/errors")]
    served = [entry.response_json()["state"] for entry in reads]
    assert served == ["STARTED", "PROCESSING", "DONE"]  # the emulator's lifecycle of a started import
    assert record == reads[-1].response_json()
    # The started import's counters have no ERRORS: max_error_rows=0 is checked on the errors endpoint.
    assert len(hubspot_connection.model.requests_for(import_id, path_suffix="/errors")) == 1


def test_start_and_wait_cancels_the_import_when_the_wait_times_out(run_dag, hubspot_connection, tmp_path):
    hubspot_connection.set_start_lifecycle([("PROCESSING",)])
    csv = _csv(tmp_path / "slow.csv", 3)

    result = run_dag("test_start_wait_timeout", {"csv_path": str(csv)})

    assert result.state == "failed"
    assert result.try_numbers["start_import"] == 1  # retries=2, yet a timeout does not start it again
    (started,) = hubspot_connection.model.imports
    assert hubspot_connection.record(started)["state"] == "CANCELED"
    assert (
        len([entry for entry in hubspot_connection.requests() if entry.method == "POST"]) == 2
    )  # start, cancel
    assert f"Canceled HubSpot import {started} after the wait timed out" in result.output
    assert f"HubSpot import {started} did not finish within timeout=1 s." in result.output


def test_on_kill_of_a_sensor_leaves_the_watched_import_for_its_re_run(hubspot_connection, capfd):
    """A kill cannot tell a clear from a mark, and a cleared sensor waits on the same import."""
    from airflow_provider_hubspot_imports.sensors.imports import ImportStateSensor

    import_id = hubspot_connection.add_import(lifecycle=[("PROCESSING",)])
    sensor = ImportStateSensor(task_id="watch", import_id=str(import_id), cancel_on_timeout=True)
    assert sensor.poke({}) is False

    sensor.on_kill()  # no task instance: counts as the last try

    assert hubspot_connection.record(import_id)["state"] == "PROCESSING"
    assert [entry.method for entry in hubspot_connection.requests()] == ["GET"]  # the poke only
    assert "a cleared sensor waits on the same import" in capfd.readouterr().err


def test_a_kill_cancel_without_kept_credentials_sends_nothing_and_says_why(hubspot_connection, capfd):
    """A cancel would need the connection looked up inside the signal handler (a message to the
    supervisor, whose lock the interrupted code may hold): none is sent, and stderr says so."""
    from airflow_provider_hubspot_imports.canceling import cancel_in_signal_handler

    import_id = hubspot_connection.add_import(lifecycle=[("PROCESSING",)])
    assert cancel_in_signal_handler(None, None, import_id, "the task was killed on its last try") is None

    assert hubspot_connection.record(import_id)["state"] == "PROCESSING"
    assert hubspot_connection.requests() == []
    assert f"Could not cancel HubSpot import {import_id}" in capfd.readouterr().err


def test_on_kill_leaves_the_import_alone_by_default(hubspot_connection):
    from airflow_provider_hubspot_imports.sensors.imports import ImportStateSensor

    import_id = hubspot_connection.add_import(lifecycle=[("PROCESSING",)])

    ImportStateSensor(task_id="watch", import_id=str(import_id)).on_kill()

    assert hubspot_connection.record(import_id)["state"] == "PROCESSING"
    assert hubspot_connection.requests() == []


def test_start_refuses_a_mismatched_file_without_retries_or_requests(run_dag, hubspot_connection, tmp_path):
    result = run_dag("test_start_and_wait", {"csv_path": str(tmp_path / "missing.csv")})

    assert result.state == "failed"
    assert result.try_numbers["start_import"] == 1
    assert "missing.csv' to import does not exist" in result.output
    assert hubspot_connection.requests() == []


def test_cancel_operator_and_the_import_link(run_dag, hubspot_connection, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_HUBSPOT_DEFAULT",
        hubspot_connection.connection_json(retry_backoff_seconds=0.05, portal_id="4455667"),
    )
    import_id = hubspot_connection.add_import(lifecycle=[("DEFERRED",)])

    result = run_dag("test_cancel_import", {"import_id": str(import_id)})

    assert result.state == "success"
    assert (
        result.xcoms["cancel_import"]
        == hubspot_connection.model.requests_for(import_id, path_suffix="/cancel")[0].response_json()
    )
    assert hubspot_connection.record(import_id)["state"] == "CANCELED"
    link = xcom_value("test_cancel_import", result.run_id, "cancel_import", key=HubSpotImportLink().xcom_key)
    assert link == "https://app.hubspot.com/import/4455667"
