"""The hook's workflow methods against the emulator: real HTTP, real pagination, real uploads."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from airflow_provider_hubspot_imports.errors import (
    HubSpotClientError,
    HubSpotInputError,
    HubSpotRateLimitError,
    HubSpotServerError,
)
from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook
from airflow_provider_hubspot_imports.testing import Fault, HubSpotEmulator, make_errors


@pytest.fixture
def hook(hubspot_connection: HubSpotEmulator):
    hook = HubSpotHook()
    yield hook
    hook.close()


def _csv(path: Path, rows: int) -> Path:
    with path.open("w") as handle:
        handle.write("email,firstname\n")
        for row in range(rows):
            handle.write(f"person{row}@example.com,Person {row}\n")
    return path


def _request(*names: str) -> dict:
    return {
        "name": "Contacts from the warehouse",
        "files": [
            {
                "fileName": name,
                "fileFormat": "CSV",
                "fileImportPage": {"hasHeader": True, "columnMappings": []},
            }
            for name in names
        ],
    }


def test_list_imports_follows_every_page(hook, hubspot_connection: HubSpotEmulator):
    active = [hubspot_connection.add_import(lifecycle=[("PROCESSING",)]) for _ in range(252)]
    hubspot_connection.add_import(lifecycle=[("DONE",)])  # finished: not listed

    records = list(hook.list_imports())

    assert [int(record.id) for record in records] == active
    pages = hubspot_connection.model.requests_for(path_suffix="/crm/imports/2026-03")
    assert len(pages) == 3
    assert [entry.query.get("after") for entry in pages] == [None, ["100"], ["200"]]
    assert records[0].raw == pages[0].response_json()["results"][0]


def test_list_imports_limit_caps_the_total_and_the_requests(hook, hubspot_connection: HubSpotEmulator):
    for _ in range(150):
        hubspot_connection.add_import(lifecycle=[("PROCESSING",)])

    assert len(list(hook.list_imports(limit=120))) == 120
    assert len(list(hook.list_imports(limit=0))) == 0
    pages = hubspot_connection.model.requests_for(path_suffix="/crm/imports/2026-03")
    assert [entry.query["limit"] for entry in pages] == [["100"], ["20"]]


def test_get_import_errors_pages_through_all_errors_as_sent(hook, hubspot_connection: HubSpotEmulator):
    import_id = hubspot_connection.add_import(lifecycle=[("DONE",)], errors=make_errors(230))

    errors = list(hook.get_import_errors(import_id, include_row_data=True))

    assert len(errors) == 230
    assert [error["sourceData"]["lineNumber"] for error in errors] == list(range(2, 232))
    served = hubspot_connection.model.requests_for(path_suffix="/errors")
    assert len(served) == 3
    assert errors[:100] == served[0].response_json()["results"]
    assert served[0].query["includeRowData"] == ["true"]
    assert errors[0]["sourceData"]["rowData"] == ["not-an-email-2", "Row 2"]


def test_get_import_errors_limit_and_flags(hook, hubspot_connection: HubSpotEmulator):
    import_id = hubspot_connection.add_import(lifecycle=[("DONE",)], errors=make_errors(30))

    errors = list(hook.get_import_errors(import_id, include_error_message=False, limit=10))

    assert len(errors) == 10
    assert all("errorMessage" not in error and error["sourceData"]["rowData"] == [] for error in errors)
    assert hubspot_connection.model.requests_for(path_suffix="/errors")[0].query["limit"] == ["10"]


def test_cancel_turns_processing_into_canceled(hook, hubspot_connection: HubSpotEmulator):
    import_id = hubspot_connection.add_import(lifecycle=[("PROCESSING",)])

    answer = hook.cancel_import(import_id)

    assert answer["status"] == "COMPLETE"
    assert {"startedAt", "completedAt"} <= set(answer)
    assert hook.get_import(import_id).state.value == "CANCELED"


def test_cancel_of_a_finished_import_reports_hubspots_refusal(hook, hubspot_connection: HubSpotEmulator):
    import_id = hubspot_connection.add_import(lifecycle=[("DONE",)])

    with pytest.raises(HubSpotClientError, match="is DONE and cannot be canceled"):
        hook.cancel_import(import_id)
    assert len(hubspot_connection.model.requests_for(path_suffix="/cancel")) == 1


def test_start_uploads_a_csv_and_returns_the_new_import(hook, hubspot_connection: HubSpotEmulator, tmp_path):
    csv = _csv(tmp_path / "contacts.csv", 90_000)
    assert csv.stat().st_size > 3 * 10**6

    record = hook.start_import(_request("contacts.csv"), [csv])

    uploads = hubspot_connection.uploads(int(record.id))
    assert [(upload.filename, upload.size) for upload in uploads] == [("contacts.csv", csv.stat().st_size)]
    assert uploads[0].sha256 == hashlib.sha256(csv.read_bytes()).hexdigest()
    assert uploads[0].content_type == "text/csv"
    assert record.state.value == "STARTED"
    assert record.counters["TOTAL_ROWS"] == 90_000
    assert record.raw["importRequestJson"] == _request("contacts.csv")
    assert hook.get_import(record.id).raw["importName"] == "Contacts from the warehouse"


def test_start_accepts_object_storage_paths_and_json_text(
    hook, hubspot_connection: HubSpotEmulator, tmp_path
):
    try:
        from airflow.sdk import ObjectStoragePath
    except ImportError:  # Airflow 2.11
        from airflow.io.path import ObjectStoragePath  # type: ignore[no-redef]

    first = _csv(tmp_path / "a.csv", 5)
    second = _csv(tmp_path / "b.csv", 7)

    record = hook.start_import(
        json.dumps(_request("a.csv", "b.csv")), [ObjectStoragePath(f"file://{first}"), str(second)]
    )

    assert record.counters["TOTAL_ROWS"] == 12
    assert [upload.filename for upload in hubspot_connection.uploads(int(record.id))] == ["a.csv", "b.csv"]


@pytest.mark.parametrize(
    ("request_body", "files", "message"),
    [
        (_request("a.csv"), [], "No files to import"),
        (_request("other.csv"), ["a.csv"], r"do not match import_request files\[\].fileName"),
        ({"files": [{"fileName": "a.csv", "fileFormat": ["CSV"]}]}, ["a.csv"], "leave it out for CSV"),
        ({"name": "x"}, ["a.csv"], "has no 'files' list"),
        ("{not json", ["a.csv"], "not valid JSON"),
        ("{{ params.req }}", ["a.csv"], "never rendered"),
        (_request("missing.csv"), ["missing.csv"], "does not exist"),
    ],
)
def test_start_refuses_bad_input_before_any_request(
    hook, hubspot_connection: HubSpotEmulator, tmp_path, monkeypatch, request_body, files, message
):
    _csv(tmp_path / "a.csv", 1)
    monkeypatch.chdir(tmp_path)

    with pytest.raises(HubSpotInputError, match=message):
        hook.start_import(request_body, files)
    assert hubspot_connection.requests() == []


def test_start_is_not_retried_after_a_server_error(hook, hubspot_connection: HubSpotEmulator, tmp_path):
    """A 5xx may come after HubSpot created the import: retrying could start it twice."""
    hubspot_connection.add_start_faults([Fault(503, json={"status": "error", "message": "try later"})])

    with pytest.raises(HubSpotServerError, match="HTTP 503") as raised:
        hook.start_import(_request("a.csv"), [_csv(tmp_path / "a.csv", 3)])
    assert "may have created the import before this failure" in str(raised.value)
    assert [entry.status for entry in hubspot_connection.requests()] == [503]


def test_start_is_not_retried_after_an_import_row_limit(hook, hubspot_connection: HubSpotEmulator, tmp_path):
    body = {"status": "error", "message": "Row limit reached", "errorType": "FREE_PORTAL_IMPORT_ROWS_LIMIT"}
    hubspot_connection.add_start_faults([Fault(429, json=body)])

    with pytest.raises(HubSpotRateLimitError, match="FREE_PORTAL_IMPORT_ROWS_LIMIT") as raised:
        hook.start_import(_request("a.csv"), [_csv(tmp_path / "a.csv", 3)])
    assert "may have created" not in str(raised.value)  # a refusal, not an ambiguous failure
    assert [entry.status for entry in hubspot_connection.requests()] == [429]


def test_start_is_retried_after_a_rate_limit(hook, hubspot_connection: HubSpotEmulator, tmp_path):
    """HubSpot refuses a rate-limited call before handling it, so a start may safely try again."""
    body = {"status": "error", "message": "limit", "errorType": "RATE_LIMIT", "policyName": "SECONDLY"}
    hubspot_connection.add_start_faults([Fault(429, json=body, headers={"Retry-After": "0"})])

    record = hook.start_import(_request("a.csv"), [_csv(tmp_path / "a.csv", 3)])

    assert [entry.status for entry in hubspot_connection.requests()] == [429, 200]
    assert record.counters["TOTAL_ROWS"] == 3
    assert len(hubspot_connection.uploads(int(record.id))) == 1


def test_start_is_retried_when_the_connection_was_refused(tmp_path, monkeypatch, logged):
    """Nothing reached HubSpot, so trying again cannot start a second import."""
    from airflow_provider_hubspot_imports.errors import HubSpotNotSentError

    with HubSpotEmulator() as gone:
        url = gone.base_url
    monkeypatch.setenv(
        "AIRFLOW_CONN_HUBSPOT_DEFAULT",
        json.dumps(
            {
                "conn_type": "hubspot",
                "host": url,
                "password": "pat-na1-x",
                "extra": {"max_retries": 2, "retry_backoff_seconds": 0.01},
            }
        ),
    )
    hook = HubSpotHook()

    with pytest.raises(HubSpotNotSentError, match="nothing was sent") as raised:
        hook.start_import(_request("a.csv"), [_csv(tmp_path / "a.csv", 3)])
    assert "pat-na1-x" not in str(raised.value)
    out, err = logged(), ""
    retries = [line for line in (out + err).splitlines() if "failed, retrying" in line]
    assert len(retries) == 2 and "attempt 2 of 3" in retries[1]
