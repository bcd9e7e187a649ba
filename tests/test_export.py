"""An import's error rows exported to files against the emulator: real pages, real files."""

from __future__ import annotations

import csv
import json

import pytest

from airflow_provider_hubspot_imports.errors import HubSpotInputError
from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook
from airflow_provider_hubspot_imports.operators.imports import HubSpotExportImportErrorsOperator
from airflow_provider_hubspot_imports.testing import HubSpotEmulator, make_errors

ERRORS = make_errors(200, error_type="INVALID_EMAIL") + make_errors(
    30, error_type="COULD_NOT_PARSE_DATE", first_line=500
)


@pytest.fixture
def hook(hubspot_connection: HubSpotEmulator):
    hook = HubSpotHook()
    yield hook
    hook.close()


def _error_reads(emulator: HubSpotEmulator, import_id: int):
    return emulator.model.requests_for(import_id, path_suffix="/errors")


def test_230_error_rows_to_csv_page_by_page_without_row_data(hook, hubspot_connection, tmp_path):
    import_id = hubspot_connection.add_import(lifecycle=[("DONE",)], errors=ERRORS)
    destination = tmp_path / "out" / "errors.csv"

    summary = hook.export_import_errors(import_id, destination)

    assert summary == {
        "import_id": str(import_id),
        "rows": 230,
        "by_error_type": {"COULD_NOT_PARSE_DATE": 30, "INVALID_EMAIL": 200},
        "destination": str(destination),
        "format": "csv",
    }
    with destination.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 230
    assert rows[0]["errorType"] == "INVALID_EMAIL" and rows[0]["lineNumber"] == "2"
    assert rows[0]["invalidValue"] == "not-an-email-2" and rows[0]["fileId"] == "101"
    assert rows[-1]["errorType"] == "COULD_NOT_PARSE_DATE" and rows[-1]["lineNumber"] == "529"
    # Row data was never asked for: HubSpot's rows then carry an empty rowData list, written as sent.
    assert {row["rowData"] for row in rows} == {"[]"}
    reads = _error_reads(hubspot_connection, import_id)
    assert len(reads) == 3  # 100 + 100 + 30: one request per page
    assert {entry.query["includeRowData"][0] for entry in reads} == {"false"}


def test_jsonl_with_row_data_keeps_every_field_as_sent(hook, hubspot_connection, tmp_path):
    import_id = hubspot_connection.add_import(lifecycle=[("DONE",)], errors=ERRORS)
    destination = tmp_path / "errors.jsonl"

    summary = hook.export_import_errors(import_id, destination, include_row_data=True)

    lines = [json.loads(line) for line in destination.read_text().splitlines()]
    served = [
        item
        for entry in _error_reads(hubspot_connection, import_id)
        for item in entry.response_json()["results"]
    ]
    assert lines == served and len(lines) == 230
    assert lines[0]["sourceData"]["rowData"] == ["not-an-email-2", "Row 2"]
    assert summary["rows"] == 230 and summary["format"] == "jsonl"


def test_object_storage_destination(hook, hubspot_connection, tmp_path):
    try:
        from airflow.sdk import ObjectStoragePath
    except ImportError:  # Airflow 2.11
        from airflow.io.path import ObjectStoragePath  # type: ignore[no-redef]
    import_id = hubspot_connection.add_import(lifecycle=[("DONE",)], errors=make_errors(5))
    destination = ObjectStoragePath(f"file://{tmp_path}/errors.csv")

    summary = hook.export_import_errors(import_id, destination)

    assert summary["rows"] == 5
    assert len((tmp_path / "errors.csv").read_text().splitlines()) == 1 + 5


@pytest.mark.parametrize("destination", ["errors.txt", "errors", 42])
def test_a_destination_without_csv_or_jsonl_is_refused_before_any_request(
    hook, hubspot_connection, tmp_path, destination
):
    import_id = hubspot_connection.add_import(lifecycle=[("DONE",)], errors=make_errors(5))
    target = destination if isinstance(destination, int) else tmp_path / destination

    with pytest.raises(HubSpotInputError, match=r"\.csv or \.jsonl"):
        hook.export_import_errors(import_id, target)

    assert _error_reads(hubspot_connection, import_id) == []
    with pytest.raises(HubSpotInputError, match=r"\.csv or \.jsonl"):
        HubSpotExportImportErrorsOperator(task_id="export", import_id=import_id, destination=target)


def test_a_failed_read_leaves_no_partial_file(hook, hubspot_connection, tmp_path):
    destination = tmp_path / "errors.csv"

    from airflow_provider_hubspot_imports.errors import HubSpotNotFoundError

    with pytest.raises(HubSpotNotFoundError):
        hook.export_import_errors(987654321, destination)

    assert not destination.exists()


@pytest.mark.dagrun
def test_example_gate_fails_then_failed_rows_are_exported_and_reported(
    run_example_dag, example_dagbag, hubspot_connection, monkeypatch, tmp_path
):
    import_id = hubspot_connection.add_import(
        lifecycle=[("DONE",)],
        counters={"TOTAL_ROWS": 100, "CREATED_OBJECTS": 77, "ERRORS": 23},
        errors=make_errors(20) + make_errors(3, error_type="COULD_NOT_PARSE_DATE", first_line=90),
    )

    result = run_example_dag(
        "example_hubspot_failed_rows", {"import_id": str(import_id), "export_dir": str(tmp_path)}
    )

    assert result.task_states == {
        "wait_for_import": "failed",
        "export_failed_rows": "success",
        "notify": "success",
    }
    exported = tmp_path / f"hubspot-import-{import_id}-errors.csv"
    assert result.xcoms["export_failed_rows"]["by_error_type"] == {
        "COULD_NOT_PARSE_DATE": 3,
        "INVALID_EMAIL": 20,
    }
    assert len(exported.read_text().splitlines()) == 1 + 23
    assert result.xcoms["notify"] == (
        f"HubSpot import {import_id} failed its quality gate: 23 rows were refused (3 COULD_NOT_PARSE_DATE, "
        f"20 INVALID_EMAIL). They are in {exported}."
    )
