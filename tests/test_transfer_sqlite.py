"""SqlToHubSpotImportOperator from a SQLite table to the emulator: split, imported once per part,
at most `max_active_imports` at a time, gated over the sum of the parts, and the faults that must
end right before anything is imported."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from transfer_support import (
    SOURCE_CONN_ID,
    contacts_table,
    context_for,
    sqlite_connection_json,
    task_instance,
)

from airflow_provider_hubspot_imports._compat import AirflowFailException, AirflowSensorTimeout
from airflow_provider_hubspot_imports.errors import HubSpotInputError
from airflow_provider_hubspot_imports.models import TERMINAL_STATES, ImportState
from airflow_provider_hubspot_imports.testing import HubSpotEmulator
from airflow_provider_hubspot_imports.transfers import SqlToHubSpotImportOperator

QUERY = "SELECT email, firstname, lastname FROM contacts ORDER BY id"


@pytest.fixture
def source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = contacts_table(tmp_path / "source.db", 2500)
    monkeypatch.setenv(f"AIRFLOW_CONN_{SOURCE_CONN_ID.upper()}", sqlite_connection_json(path))
    return path


def operator(tmp_path: Path, **kwargs: Any) -> SqlToHubSpotImportOperator:
    arguments: dict[str, Any] = {
        "task_id": "to_hubspot",
        "sql": QUERY,
        "conn_id": SOURCE_CONN_ID,
        "object_type": "contacts",
        "id_property": "email",
        "rows_per_file": 1000,
        "poke_interval": 0.05,
        "staging_path": str(tmp_path / "staging"),
        **kwargs,
    }
    return SqlToHubSpotImportOperator(**arguments)


def run(op: SqlToHubSpotImportOperator, run_id: str = "manual__1", try_number: int = 1) -> Any:
    return op.execute(context_for(task_instance("transfer_dag", run_id, op.task_id, try_number)))  # type: ignore[arg-type]


def uploads_by_import(emulator: HubSpotEmulator) -> list[tuple[str, int]]:
    """(file name, data rows) of each started import, in start order: one file per import."""
    found = []
    for started in emulator.started_imports():
        (upload,) = started["uploads"]
        found.append((upload.filename, upload.lines - 1))
    return found


def test_rows_become_parts_each_imported_once(hubspot_connection, source, tmp_path):
    hubspot_connection.set_start_lifecycle([("PROCESSING", 1), ("DONE",)])

    summary = run(operator(tmp_path, import_name="Warehouse contacts"))

    assert uploads_by_import(hubspot_connection) == [
        ("part-00001.csv", 1000),
        ("part-00002.csv", 1000),
        ("part-00003.csv", 500),
    ]
    started = hubspot_connection.started_imports()
    assert [s["import_request"]["name"].split(" [airflow:")[0] for s in started] == [
        f"Warehouse contacts part {n}/3" for n in (1, 2, 3)
    ]
    assert summary["rows_sent"] == summary["rows_staged"] == 2500
    assert summary["created"] == 2500 and summary["errors"] == 0
    assert [(p["part"], p["rows"], p["import_id"], p["state"]) for p in summary["parts"]] == [
        (n, rows, str(s["id"]), "DONE")
        for n, rows, s in zip((1, 2, 3), (1000, 1000, 500), started, strict=True)
    ]
    last_read = [r for r in hubspot_connection.requests(started[0]["id"]) if r.method == "GET"][-1]
    assert summary["parts"][0]["record"] == last_read.response_json()  # HubSpot's record as sent
    assert not (tmp_path / "staging").exists() or not any((tmp_path / "staging").iterdir())


def test_at_most_max_active_imports_run_at_once(hubspot_connection, source, tmp_path):
    hubspot_connection.set_start_lifecycle([("PROCESSING", 2), ("DONE",)])

    run(operator(tmp_path, rows_per_file=500, max_active_imports=2))

    assert len(hubspot_connection.started_imports()) == 5
    state: dict[int, str] = {}
    most = 0
    for request in hubspot_connection.requests():
        if request.method == "POST" and request.import_id is None and request.status == 200:
            active = [i for i, s in state.items() if ImportState(s) not in TERMINAL_STATES]
            most = max(most, len(active))
            assert len(active) < 2, f"a start while {active} were active"
            state[int(request.response_json()["id"])] = "STARTED"
        elif request.method == "GET" and request.import_id is not None and request.status == 200:
            state[request.import_id] = request.response_json()["state"]
    assert most == 1  # a start came while another part was active: two at once, never three


def test_zero_rows_succeed_without_an_import(hubspot_connection, source, tmp_path, logged):
    summary = run(operator(tmp_path, sql="SELECT email FROM contacts WHERE id < 0"))

    assert hubspot_connection.started_imports() == []
    assert summary["parts"] == [] and summary["rows_sent"] == 0
    assert "The query returned no rows: nothing to import, no HubSpot import was started." in logged()


def test_a_failed_part_fails_the_task_naming_the_parts(hubspot_connection, source, tmp_path):
    hubspot_connection.set_start_lifecycle([("PROCESSING", 1), ("FAILED",)])

    with pytest.raises(AirflowFailException) as failure:
        run(operator(tmp_path, max_active_imports=1))

    (started,) = hubspot_connection.started_imports()  # no part is started after a failed one
    message = str(failure.value)
    assert f"part 1 (part-00001.csv, import {started['id']}) is FAILED" in message
    assert "Not started after that: part 2 (part-00002.csv, not started), part 3 (part-00003.csv" in message


def test_the_quality_gate_holds_on_the_sum_of_the_parts(hubspot_connection, source, tmp_path):
    # Each part has 10 error rows: within max_error_rows=25 alone, 30 together.
    counters = {"TOTAL_ROWS": 1000, "CREATED_OBJECTS": 990, "ERRORS": 10}
    hubspot_connection.set_start_lifecycle([("DONE", None, counters)])

    with pytest.raises(AirflowFailException) as failure:
        run(operator(tmp_path, max_error_rows=25))

    ids = [s["id"] for s in hubspot_connection.started_imports()]
    message = str(failure.value)
    assert "The transfer's 3 parts fail the quality gate together: 30 error rows" in message
    assert "more than max_error_rows=25" in message
    for number, import_id in enumerate(ids, start=1):
        assert f"part {number} (part-0000{number}.csv, import {import_id}): 10 error rows" in message
    assert (tmp_path / "staging").exists()  # kept after a failure

    hubspot_connection.set_start_lifecycle([("DONE", None, counters)])
    summary = run(operator(tmp_path, max_error_rows=30), run_id="manual__2")
    assert summary["errors"] == 60 - 30 and summary["created"] == 2970


def test_an_unwritable_staging_fails_before_the_query_and_any_import(hubspot_connection, source, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")

    with pytest.raises(
        HubSpotInputError, match=r"is not writable .*Pass a staging_path this worker can write"
    ):
        run(operator(tmp_path, staging_path=str(blocker / "staging")))

    assert hubspot_connection.started_imports() == []


def test_a_staging_location_that_fills_up_fails_before_any_import(hubspot_connection, source, tmp_path):
    """The kernel refuses the part file's write past a size limit (EFBIG, as ENOSPC on a full disk):
    a clear error, nothing imported."""
    import resource
    import signal

    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, hard))  # the probe fits; the parts do not
    try:
        with pytest.raises(
            HubSpotInputError, match=r"failed .*is the location full or read-only\? Nothing was"
        ):
            run(operator(tmp_path, rows_per_file=2500))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)

    assert hubspot_connection.started_imports() == []
    assert hubspot_connection.requests() == []


def test_a_retry_after_a_complete_staging_does_not_query_again(hubspot_connection, source, tmp_path, logged):
    # The parts run longer than the first try waits; the retry reconnects to them.
    hubspot_connection.set_start_lifecycle([{"state": "PROCESSING", "seconds": 1.0}, "DONE"])
    with pytest.raises(AirflowSensorTimeout, match=r"part 1 .* is PROCESSING"):
        run(operator(tmp_path, timeout=0.3))
    started = [s["id"] for s in hubspot_connection.started_imports()]
    assert len(started) == 3
    with sqlite3.connect(source) as db:  # a query now would fail
        db.execute("DROP TABLE contacts")

    summary = run(operator(tmp_path), try_number=2)

    assert [s["id"] for s in hubspot_connection.started_imports()] == started  # no part imported twice
    assert [p["state"] for p in summary["parts"]] == ["DONE"] * 3
    output = logged()
    assert "from an earlier try): not querying again" in output
    for number, import_id in enumerate(started, start=1):
        assert f"Part {number}: reconnected to HubSpot import {import_id} started by an earlier try" in output


def test_preflight_errors_stop_the_transfer_before_the_first_part(
    hubspot_connection, source, tmp_path, logged
):
    with sqlite3.connect(source) as db:  # one bad address, in the second part
        db.execute("UPDATE contacts SET email = 'not-an-email' WHERE id = 1500")

    # A problem HubSpot would fail rows for is permanent: the task fails without retries.
    with pytest.raises(AirflowFailException, match=r"INVALID_EMAIL") as failure:
        run(operator(tmp_path))
    assert "part-00002.csv" in str(failure.value)
    assert hubspot_connection.started_imports() == []  # part 1 was fine, yet not started either

    summary = run(operator(tmp_path, preflight="warn"), try_number=2)
    assert len(summary["parts"]) == 3
    assert "Uploading anyway (preflight='warn')" in logged()


def test_without_waiting_the_task_ends_once_every_part_started_within_the_slots(
    hubspot_connection, source, tmp_path
):
    hubspot_connection.set_start_lifecycle([("PROCESSING", 2), ("DONE",)])

    summary = run(operator(tmp_path, rows_per_file=500, max_active_imports=2, wait_for_completion=False))

    started = hubspot_connection.started_imports()
    assert len(started) == 5 == len(summary["parts"])  # parts 3 to 5 waited for a free slot
    assert [p["import_id"] for p in summary["parts"]] == [str(s["id"]) for s in started]
    assert summary["parts"][-1]["state"] == "PROCESSING"  # not waited for
    assert summary["parts"][0]["state"] == "DONE"  # its slot went to a later part
    assert (tmp_path / "staging").exists()  # kept: a retry of this task instance finds the parts there


def test_a_retry_with_another_mapping_stages_again_unless_parts_were_imported(
    hubspot_connection, source, tmp_path, logged
):
    with pytest.raises(AirflowFailException, match=r"PROPERTY_DEFINITION_NOT_FOUND"):
        run(operator(tmp_path, properties={"lastname": "surname"}))  # contacts have no such property

    fixed = operator(tmp_path, properties={"firstname": "firstname"})
    summary = run(fixed, try_number=2)  # the mapping was fixed: the staging is made again

    assert "(it was made from another query, parameters or mapping): staging again" in logged()
    mappings = hubspot_connection.started_imports()[0]["import_request"]["files"][0]["fileImportPage"]
    assert [m["propertyName"] for m in mappings["columnMappings"]] == ["email", "firstname", "lastname"]
    assert len(summary["parts"]) == 3

    hubspot_connection.set_start_lifecycle([("PROCESSING",)])
    with pytest.raises(AirflowSensorTimeout):
        # Parts started, still running when the try gives up.
        run(operator(tmp_path, properties={"firstname": "firstname"}, timeout=0.3), run_id="manual__2")
    with pytest.raises(HubSpotInputError, match="has parts imported already, but it was made from another"):
        run(
            operator(tmp_path, sql=QUERY + " LIMIT 10", properties={"firstname": "firstname"}),
            run_id="manual__2",
            try_number=2,
        )
