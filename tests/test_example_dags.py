"""The DAGs in example_dags/, parsed as Airflow parses them and run with dag.test() on the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagrun_support import xcom_value

pytestmark = pytest.mark.dagrun
EXAMPLES = Path(__file__).parent.parent / "example_dags"


def _csv(path: Path, rows: int) -> Path:
    path.write_text(
        "email,firstname,lastname\n" + "".join(f"p{row}@example.com,P{row},L{row}\n" for row in range(rows))
    )
    return path


@pytest.fixture
def done_at_once(hubspot_connection):
    """Imports the emulator starts are DONE at the first check: no reschedule wait of 60 s."""
    hubspot_connection.set_start_lifecycle([("DONE",)])
    return hubspot_connection


def test_example_dags_parse_without_errors(example_dagbag):
    assert example_dagbag.import_errors == {}
    assert (
        set(example_dagbag.dag_ids)
        == {path.stem for path in EXAMPLES.glob("example_*.py")}
        == {
            "example_hubspot_import_gate",
            "example_hubspot_import",
            "example_hubspot_many_imports",
            "example_hubspot_failed_rows",
            "example_hubspot_import_watch",
            "example_hubspot_preflight",
            "example_hubspot_sql_transfer",
        }
    )


def test_gate_example_end_to_end(run_example_dag, example_dagbag, hubspot_connection, monkeypatch):
    import_id = hubspot_connection.add_import(
        lifecycle=[("PROCESSING", 1), ("DONE",)], counters={"TOTAL_ROWS": 7}
    )
    for task in example_dagbag.get_dag("example_hubspot_import_gate").tasks:
        if hasattr(task, "poke_interval"):  # the example polls every 10 s; the test need not wait that long
            monkeypatch.setattr(task, "poke_interval", 1)

    result = run_example_dag("example_hubspot_import_gate", {"import_id": str(import_id)})

    assert result.task_states == {"wait_for_import": "success", "report_counters": "success"}
    assert result.xcoms["wait_for_import"] == hubspot_connection.requests(import_id)[-1].response_json()
    assert result.xcoms["report_counters"] == {"TOTAL_ROWS": 7}


def test_start_wait_then_load(run_example_dag, done_at_once, tmp_path):
    csv = _csv(tmp_path / "contacts.csv", 25)

    result = run_example_dag("example_hubspot_import", {"csv_path": str(csv)})

    assert result.state == "success"
    assert result.task_states == {
        "start_import": "success",
        "wait_for_import": "success",
        "load_downstream": "success",
    }
    import_id = result.xcoms["start_import"]["id"]
    uploads = done_at_once.uploads(int(import_id))
    assert [(upload.filename, upload.size) for upload in uploads] == [("contacts.csv", csv.stat().st_size)]
    assert result.xcoms["start_import"]["importRequestJson"]["files"][0]["fileName"] == "contacts.csv"
    assert result.xcoms["wait_for_import"]["state"] == "DONE"
    assert result.xcoms["load_downstream"] == 25
    assert f"Import {import_id} wrote 25 contacts; loading them downstream." in result.output


def test_many_imports_with_mapped_sensors(run_example_dag, done_at_once, tmp_path):
    paths = [str(_csv(tmp_path / f"part{index}.csv", 10 + index)) for index in range(3)]

    result = run_example_dag("example_hubspot_many_imports", {"csv_paths": paths})

    assert result.state == "success"
    for index in range(3):
        assert result.task_states[f"start_import[{index}]"] == "success"
        assert result.task_states[f"wait_for_import[{index}]"] == "success"
    started = [result.xcoms[f"start_import[{index}]"]["id"] for index in range(3)]
    waited = [result.xcoms[f"wait_for_import[{index}]"]["id"] for index in range(3)]
    assert started == waited and len(set(started)) == 3
    assert result.xcoms["report"] == {started[index]: 10 + index for index in range(3)}
    for index, import_id in enumerate(started):
        assert [upload.filename for upload in done_at_once.uploads(int(import_id))] == [f"part{index}.csv"]


PREFLIGHT_HEADER = "email,firstname,lastname,lifecyclestage,date_of_birth\n"


def test_preflight_example_checks_then_imports(run_example_dag, done_at_once, tmp_path):
    csv = tmp_path / "contacts.csv"
    csv.write_text(PREFLIGHT_HEADER + "".join(f"p{n}@example.com,P,L,lead,12/31/1990\n" for n in range(12)))

    result = run_example_dag("example_hubspot_preflight", {"csv_path": str(csv)})

    assert result.task_states == {"validate": "success", "start_import": "success"}
    report = result.xcoms["validate"]
    assert report["has_errors"] is False and report["skipped"] == []
    assert report["files"][0]["rows"] == 12
    assert (
        xcom_value("example_hubspot_preflight", result.run_id, "validate", key="preflight_report") == report
    )
    assert result.xcoms["start_import"]["state"] == "DONE"
    assert result.xcoms["start_import"]["metadata"]["counters"] == {"TOTAL_ROWS": 12, "CREATED_OBJECTS": 12}


def test_preflight_example_stops_a_broken_file_before_the_upload(run_example_dag, done_at_once, tmp_path):
    csv = tmp_path / "contacts.csv"
    csv.write_text(PREFLIGHT_HEADER + "p@example.com,P,L,Leed,1990-12-31\n")

    result = run_example_dag("example_hubspot_preflight", {"csv_path": str(csv)})

    assert result.task_states == {"validate": "failed", "start_import": "upstream_failed"}
    report = xcom_value("example_hubspot_preflight", result.run_id, "validate", key="preflight_report")
    assert [(e["kind"], e["line"], e["column"]) for e in report["errors"]] == [
        ("INVALID_ENUMERATION_OPTION", 2, "lifecyclestage"),
        ("COULD_NOT_PARSE_DATE", 2, "date_of_birth"),
    ]
    assert "Pre-flight FAILED: 2 error(s)" in result.output
    assert [request.method for request in done_at_once.requests()] == ["GET"]  # the schema, no upload


def test_sql_transfer_moves_a_sqlite_table_into_contacts(
    run_example_dag, example_dagbag, done_at_once, tmp_path, monkeypatch
):
    import json

    monkeypatch.setenv(
        "AIRFLOW_CONN_SQLITE_DEFAULT",
        json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "default.db")}),
    )
    transfer = example_dagbag.get_dag("example_hubspot_sql_transfer").get_task("contacts_to_hubspot")
    monkeypatch.setattr(transfer, "poke_interval", 0.1)  # the example checks every 10 s
    monkeypatch.setattr(transfer, "staging_path", str(tmp_path / "staging"))

    result = run_example_dag("example_hubspot_sql_transfer", {"rows": 2500})

    assert result.task_states == {"fill_sample_table": "success", "contacts_to_hubspot": "success"}
    summary = result.xcoms["contacts_to_hubspot"]
    started = done_at_once.started_imports()
    assert [(s["uploads"][0].filename, s["uploads"][0].lines - 1) for s in started] == [
        ("part-00001.csv", 1000),
        ("part-00002.csv", 1000),
        ("part-00003.csv", 500),
    ]
    assert [p["import_id"] for p in summary["parts"]] == [str(s["id"]) for s in started]
    assert summary["rows_sent"] == 2500 and summary["created"] == 2500
    mappings = started[0]["import_request"]["files"][0]["fileImportPage"]["columnMappings"]
    assert [m["propertyName"] for m in mappings] == ["email", "firstname", "lastname"]
    assert "Imported 2500 rows in 3 part(s): 2500 created, 0 updated, 0 error rows." in result.output
