"""SqlToHubSpotImportOperator in real DAG runs (`dag.test()` on SQLite, triggers inline): deferred
between checks with every part's error rows exported, and an incremental watermark that advances
only when every part ended DONE within the gate."""

from __future__ import annotations

import csv
import json
import sqlite3
import threading
from pathlib import Path

import pytest
from lineage_support import asset_event_extras, last_asset_event_id
from transfer_support import SOURCE_CONN_ID, contacts_table, sqlite_connection_json

from airflow_provider_hubspot_imports._compat import AIRFLOW_V3
from airflow_provider_hubspot_imports.testing import HubSpotEmulator, make_errors

pytestmark = pytest.mark.dagrun


@pytest.fixture
def source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = contacts_table(tmp_path / "source.db", 2500)
    monkeypatch.setenv(f"AIRFLOW_CONN_{SOURCE_CONN_ID.upper()}", sqlite_connection_json(path))
    return path


def add_errors_as_parts_start(emulator: HubSpotEmulator, parts: int, stop: threading.Event) -> None:
    """Give each started import two error rows, well before it ends (1 s after its first check)."""
    given: set[int] = set()
    while len(given) < parts and not stop.wait(0.005):
        for started in emulator.started_imports():
            if started["id"] not in given:
                emulator.add_errors(started["id"], make_errors(2, first_line=10 * len(given) + 2))
                given.add(started["id"])


def test_deferred_transfer_exports_every_parts_error_rows(run_dag, hubspot_connection, source, tmp_path):
    hubspot_connection.set_start_lifecycle([{"state": "PROCESSING", "seconds": 1.0}, "DONE"])
    stop = threading.Event()
    helper = threading.Thread(target=add_errors_as_parts_start, args=(hubspot_connection, 3, stop))
    helper.start()
    destination = tmp_path / "failed_rows.csv"
    try:
        result = run_dag(
            "test_transfer_deferrable",
            {"staging": str(tmp_path / "staging"), "failed_rows": str(destination)},
        )
    finally:
        stop.set()
        helper.join()

    assert result.task_states == {"to_hubspot": "success"}, result.output[-3000:]
    started = hubspot_connection.started_imports()
    assert [(s["uploads"][0].filename, len(s["uploads"])) for s in started] == [
        ("part-00001.csv", 1),
        ("part-00002.csv", 1),
        ("part-00003.csv", 1),
    ]
    assert "Deferring until part 1 (part-00001.csv, import" in result.output
    summary = result.xcoms["to_hubspot"]
    assert [p["state"] for p in summary["parts"]] == ["DONE"] * 3
    # The counters have no ERRORS: the gate counted each part's rows from the errors endpoint.
    assert "no ERRORS counter; counted 2 error rows from the errors endpoint" in result.output
    with destination.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 6 and summary["failed_rows"]["rows"] == 6
    by_part = sorted((json.loads(row["other"])["part"], json.loads(row["other"])["importId"]) for row in rows)
    assert by_part == sorted((n, str(s["id"])) for n, s in enumerate(started, start=1) for _ in range(2))
    assert all(row["lineNumber"] for row in rows)


def test_the_watermark_advances_only_after_a_run_within_the_gate(
    run_dag, hubspot_connection: HubSpotEmulator, source, tmp_path
):
    from airflow.models import Variable

    key = "hubspot_transfer_watermark.test_transfer_incremental.to_hubspot"
    Variable.delete(key)
    params = {"staging": str(tmp_path / "staging")}
    hubspot_connection.set_start_lifecycle([("DONE",)])
    events_before = last_asset_event_id()

    first = run_dag("test_transfer_incremental", params)

    assert first.task_states == {"to_hubspot": "success"}
    assert first.xcoms["to_hubspot"]["rows_sent"] == 2500
    assert json.loads(Variable.get(key)) == "2026-01-28" == first.xcoms["to_hubspot"]["watermark"]
    if AIRFLOW_V3:  # Airflow 2.11's dag.test() records no dataset event for a dataset not serialized
        (extra,) = asset_event_extras("hubspot://transfer-tests/contacts", after_id=events_before)
        assert extra["rows_sent"] == 2500 and extra["created"] == 2500 and extra["object_type_id"] == "0-1"
        assert [part["import_id"] for part in extra["parts"]] == [
            p["import_id"] for p in first.xcoms["to_hubspot"]["parts"]
        ]
        assert "record" not in extra["parts"][0]  # the summary, without HubSpot's records

    with sqlite3.connect(source) as db:
        db.executemany(
            "INSERT INTO contacts VALUES (?, ?, ?, ?, ?)",
            [(3000 + n, f"new{n}@example.com", "New", "Row", "2026-02-01") for n in range(5)],
        )
    # Too many error rows: the run fails, and the watermark stays where it was.
    hubspot_connection.set_start_lifecycle([("DONE", None, {"TOTAL_ROWS": 5, "ERRORS": 3})])
    breached = run_dag("test_transfer_incremental", params)
    assert breached.task_states == {"to_hubspot": "failed"}
    assert json.loads(Variable.get(key)) == "2026-01-28"

    hubspot_connection.set_start_lifecycle([("DONE",)])
    second = run_dag("test_transfer_incremental", params)

    assert second.task_states == {"to_hubspot": "success"}
    uploads = [s["uploads"][0] for s in hubspot_connection.started_imports()]
    assert [upload.lines - 1 for upload in uploads] == [2500, 5, 5]  # only the rows past the watermark
    assert json.loads(Variable.get(key)) == "2026-02-01"
    Variable.delete(key)
