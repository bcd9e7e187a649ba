"""`HubSpotHook.validate_import` and the start operator's pre-flight against the emulator: real files,
real HTTP, the emulator's schema and its row checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_hubspot_imports._compat import AirflowFailException
from airflow_provider_hubspot_imports.errors import HubSpotRateLimitError
from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook
from airflow_provider_hubspot_imports.operators.imports import HubSpotStartImportOperator
from airflow_provider_hubspot_imports.testing import HubSpotEmulator

ROW_LIMIT = 1_048_576
HEADER = "email,firstname,lifecyclestage,date_of_birth,favourite_color\n"
GOOD_ROW = "a{n}@example.com,Ann,lead,12/31/1990,blue\n"


def _request(file_name: str = "contacts.csv", *, misspelt: bool = True) -> dict:
    columns = ["email", "firstname", "lifecyclestage", "date_of_birth", "favourite_color"]
    properties = {name: name for name in columns}
    properties["favourite_color"] = "favourite_colr" if misspelt else "favourite_color"
    return {
        "name": "Contacts",
        "dateFormat": "MONTH_DAY_YEAR",
        "files": [
            {
                "fileName": file_name,
                "fileFormat": "CSV",
                "fileImportPage": {
                    "hasHeader": True,
                    "columnMappings": [
                        {"columnName": name, "columnObjectTypeId": "0-1", "propertyName": properties[name]}
                        for name in columns
                    ],
                },
            }
        ],
    }


@pytest.fixture
def emulator_with_color(hubspot_connection: HubSpotEmulator) -> HubSpotEmulator:
    """The emulator's contacts schema with a custom `favourite_color` property."""
    with hubspot_connection.model.lock:
        hubspot_connection.model.schema["0-1"].append({"name": "favourite_color", "type": "string"})
    return hubspot_connection


def _broken_file(path: Path) -> Path:
    """A misspelt property, an option the property lacks, a date in the wrong format, a header one
    column short, and one row more than HubSpot takes."""
    with path.open("w") as handle:
        handle.write(HEADER.replace(",favourite_color", ""))
        handle.write("b@example.com,Bob,leed,12/31/1990\n")  # line 2: no such option
        handle.write("c@example.com,Cy,lead,1990-12-31\n")  # line 3: YEAR_MONTH_DAY in a MONTH_DAY_YEAR file
        handle.write(
            "d@example.com,Di,lead,12/31/1990\n" * (ROW_LIMIT - 2)
        )  # the file's last line: 1,048,577
    return path


def _fixed_file(path: Path, rows: int = 20) -> Path:
    path.write_text(HEADER + "".join(GOOD_ROW.format(n=n) for n in range(rows)))
    return path


def test_a_broken_file_gets_each_problem_with_hubspots_error_type_and_line(emulator_with_color, tmp_path):
    csv = _broken_file(tmp_path / "contacts.csv")

    report = HubSpotHook().validate_import(_request(), csv, include_values=True)

    found = {(problem.kind, problem.line, problem.column, problem.value) for problem in report.errors}
    assert found == {
        ("PROPERTY_DEFINITION_NOT_FOUND", 1, "favourite_color", None),
        ("INCORRECT_NUMBER_OF_COLUMNS", 1, None, None),
        ("INVALID_ENUMERATION_OPTION", 2, "lifecyclestage", "leed"),
        ("COULD_NOT_PARSE_DATE", 3, "date_of_birth", "1990-12-31"),
        ("FILE_ROW_LIMIT", ROW_LIMIT + 1, None, None),
    }
    assert report.files[0].rows == ROW_LIMIT and report.has_errors
    assert [request.path for request in emulator_with_color.requests()] == ["/crm/properties/2026-03/0-1"]


def test_preflight_error_uploads_nothing(emulator_with_color, tmp_path):
    csv = _broken_file(tmp_path / "contacts.csv")
    task = HubSpotStartImportOperator(
        task_id="start", import_request=_request(), files=str(csv), idempotency_key=False
    )

    with pytest.raises(AirflowFailException, match=r"Pre-flight FAILED.*Nothing was uploaded"):
        task.execute({})

    assert [(r.method, r.path) for r in emulator_with_color.requests()] == [
        ("GET", "/crm/properties/2026-03/0-1")
    ]
    assert emulator_with_color.started_imports() == []


def test_the_fixed_file_passes_and_imports_without_error_rows(emulator_with_color, tmp_path):
    emulator_with_color.set_start_lifecycle([("DONE",)])
    csv = _fixed_file(tmp_path / "contacts.csv")
    request = _request(misspelt=False)

    hook = HubSpotHook()
    report = hook.validate_import(request, csv)
    record = HubSpotStartImportOperator(
        task_id="start", import_request=request, files=str(csv), idempotency_key=False
    ).execute({})

    assert not report.has_errors and report.errors == [] and report.skipped == []
    assert hook.get_import(record["id"]).counters == {"TOTAL_ROWS": 20, "CREATED_OBJECTS": 20}
    assert list(hook.get_import_errors(record["id"])) == []


def test_the_emulator_reports_what_preflight_finds_as_error_rows(emulator_with_color, tmp_path):
    """The emulator applies the same rules when it processes an import: pre-flight's lines and
    HubSpot's error types come back from the errors endpoint."""
    emulator_with_color.set_start_lifecycle([("DONE",)])
    csv = tmp_path / "contacts.csv"
    csv.write_text(HEADER + GOOD_ROW.format(n=1) + "x@example.com,X,leed,31/12/1990,red\n")
    request = _request(misspelt=False)
    hook = HubSpotHook()
    expected = {(p.kind, p.line) for p in hook.validate_import(request, csv).errors}

    record = hook.start_import(request, [csv])

    errors = list(hook.get_import_errors(record.id))
    assert (
        {(e["errorType"], e["sourceData"]["lineNumber"]) for e in errors}
        == expected
        == {
            ("INVALID_ENUMERATION_OPTION", 3),
            ("COULD_NOT_PARSE_DATE", 3),
        }
    )
    assert hook.get_import(record.id).counters == {"TOTAL_ROWS": 2, "CREATED_OBJECTS": 1, "ERRORS": 2}


def test_a_header_that_does_not_match_fails_the_import_on_the_emulator(emulator_with_color, tmp_path):
    emulator_with_color.set_start_lifecycle([("DONE",)])
    csv = tmp_path / "contacts.csv"
    csv.write_text(HEADER.replace(",favourite_color", "") + "a@example.com,A,lead,12/31/1990\n")

    record = HubSpotHook().start_import(_request(misspelt=False), [csv])

    assert HubSpotHook().get_import(record.id).state.value == "FAILED"


def test_without_the_schema_scope_local_checks_run_and_schema_checks_are_skipped(tmp_path, monkeypatch):
    with HubSpotEmulator(tokens={"import-only": ["crm.import"]}) as emulator:
        monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", emulator.connection_json("import-only"))
        csv = tmp_path / "contacts.csv"
        csv.write_text(HEADER + "not-an-email,A,leed,1990-12-31,blue\n")

        report = HubSpotHook().validate_import(_request(), csv)

        assert [(p.kind, p.line) for p in report.errors] == [
            ("INVALID_EMAIL", 2)
        ]  # no enumeration, no date type
        assert [(s.check, s.reason) for s in report.skipped] == [
            (
                "schema checks of 0-1",
                "the token may not read the schema of 0-1: grant crm.schemas.contacts.read to run these "
                "checks",
            )
        ]
        assert [r.status for r in emulator.requests()] == [403]
        assert "skipped: schema checks of 0-1" in report.summary()


def test_the_schema_is_read_once_per_object_type_and_hook(emulator_with_color, tmp_path):
    csv = _fixed_file(tmp_path / "contacts.csv", rows=3)
    hook = HubSpotHook()

    for _ in range(3):
        hook.validate_import(_request(misspelt=False), csv, rows=2)

    assert len(emulator_with_color.requests()) == 1
    assert hook.get_properties("0-2")[0]["name"] == "name"
    assert len(emulator_with_color.requests()) == 2


def test_the_legacy_api_version_reads_the_v3_properties_path(hubspot_emulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", hubspot_emulator.connection_json(api_version="v3"))

    names = {prop["name"] for prop in HubSpotHook().get_properties("contacts")}

    assert {"email", "lifecyclestage"} <= names and "legacy_score" not in names  # archived: not listed
    assert [r.path for r in hubspot_emulator.requests()] == ["/crm/v3/properties/contacts"]


FILE_LIMIT_429 = {
    "status": 429,
    "json": {
        "status": "error",
        "message": "Import file exceeds the row limit of 1048576 rows",
        "errorType": "FREE_PORTAL_IMPORT_ROWS_LIMIT",
        "correlationId": "c0ffee",
    },
}


def test_a_file_limit_429_is_not_retried(hubspot_connection, tmp_path):
    csv = _fixed_file(tmp_path / "contacts.csv", rows=2)
    hubspot_connection.add_start_faults([FILE_LIMIT_429])

    with pytest.raises(HubSpotRateLimitError, match=r"per-file limit.*split the file") as caught:
        HubSpotHook().start_import(_request(misspelt=False), [csv])

    assert caught.value.category == "FREE_PORTAL_IMPORT_ROWS_LIMIT"
    assert [(r.method, r.status) for r in hubspot_connection.requests()] == [("POST", 429)]


def test_a_file_limit_429_on_a_read_is_not_retried_either(hubspot_connection):
    import_id = hubspot_connection.add_import(faults=[FILE_LIMIT_429])

    with pytest.raises(HubSpotRateLimitError, match="per-file limit"):
        HubSpotHook().get_import(import_id)

    assert len(hubspot_connection.requests(import_id)) == 1


def test_preflight_warn_uploads_and_keeps_the_report(emulator_with_color, tmp_path, logged):
    csv = tmp_path / "contacts.csv"
    csv.write_text(HEADER + "a@example.com,A,leed,12/31/1990,blue\n")
    pushed = {}

    class TaskInstance:
        def xcom_push(self, key, value):
            pushed[key] = value

    record = HubSpotStartImportOperator(
        task_id="start",
        import_request=_request(misspelt=False),
        files=str(csv),
        idempotency_key=False,
        preflight="warn",
    ).execute({"ti": TaskInstance()})

    assert record["id"] and len(emulator_with_color.started_imports()) == 1
    assert pushed["preflight_report"]["counts"] == {"INVALID_ENUMERATION_OPTION": 1}
    assert "Uploading anyway (preflight='warn')" in logged()


def test_preflight_off_sends_no_schema_request(hubspot_connection, tmp_path):
    csv = _fixed_file(tmp_path / "contacts.csv", rows=2)

    HubSpotStartImportOperator(
        task_id="start", import_request=_request(), files=str(csv), idempotency_key=False, preflight="off"
    ).execute({})

    assert [r.method for r in hubspot_connection.requests()] == ["POST"]


def test_preflight_mode_is_checked_when_the_dag_is_parsed():
    with pytest.raises(ValueError, match="preflight is 'strict'; pass 'error'"):
        HubSpotStartImportOperator(
            task_id="start", import_request=_request(), files="x.csv", preflight="strict"
        )


def test_an_excel_workbook_is_checked_like_a_csv(emulator_with_color, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    from datetime import datetime

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER.strip().split(","))
    sheet.append(["a@example.com", "Ann", "lead", datetime(1990, 12, 31), "blue"])
    sheet.append(["b@example.com", "Bob", "leed", "1990-12-31", "red"])
    book.create_sheet("notes").append(["not imported"])
    path = tmp_path / "contacts.xlsx"
    book.save(path)
    request = _request("contacts.xlsx", misspelt=False)
    request["files"][0]["fileFormat"] = "SPREADSHEET"

    report = HubSpotHook().validate_import(request, path, include_values=True)

    assert [(p.kind, p.line, p.value) for p in report.errors] == [
        ("INVALID_ENUMERATION_OPTION", 3, "leed"),
        ("COULD_NOT_PARSE_DATE", 3, "1990-12-31"),
    ]
    assert [p.kind for p in report.warnings] == ["MORE_THAN_ONE_SHEET"]
    assert report.files[0].rows == 2 and report.files[0].columns == 5
