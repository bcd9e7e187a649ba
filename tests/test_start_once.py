"""One import per task instance, whatever kills a try: the crash-point matrix, run with dag.test()
against the emulator, in both wait modes, on every Airflow this package supports.

Every cell checks exactly one import started for the task instance (the emulator's own list of
started imports), the task's success, and the XCom of an uninterrupted run: the import's DONE
record exactly as HubSpot served it.
"""

from __future__ import annotations

import airflow
import pytest
from list_modes import every_list_mode  # noqa: F401 (autouse: every test in each list mode)
from packaging.version import Version

from airflow_provider_hubspot_imports.core.start_key import task_instance_key
from airflow_provider_hubspot_imports.testing import HubSpotEmulator

pytestmark = pytest.mark.dagrun

# Long enough that an import is still active when a later try looks for it.
LIFECYCLE = [("STARTED", 1), ("PROCESSING", 3), ("DONE",)]
# Crash points scripted in tests/dags/start_once_dags.py (the first try fails there).
BEFORE_UPLOAD = "before_upload"
NOT_SAVED = "answer_not_saved"
WAITING = "waiting_in_worker"
DEFERRED = "deferred"
# Crash points the emulator makes.
MID_UPLOAD = "mid_upload"  # the connection drops while the body is sent: nothing is created
ANSWER_LOST = "answer_lost"  # HubSpot created the import; its answer never arrived
UNINTERRUPTED = "uninterrupted"

# (crash point, wait mode) -> tries the task takes; a point that cannot happen in a mode is left out.
CELLS = [
    (UNINTERRUPTED, "worker", 1),
    (UNINTERRUPTED, "deferred", 1),
    (BEFORE_UPLOAD, "worker", 2),
    (BEFORE_UPLOAD, "deferred", 2),
    (MID_UPLOAD, "worker", 1),  # resolved in the same try: the lookup finds nothing, upload again
    (MID_UPLOAD, "deferred", 1),
    (ANSWER_LOST, "worker", 1),  # resolved in the same try: the lookup finds it, adopted
    (ANSWER_LOST, "deferred", 1),
    (NOT_SAVED, "worker", 2),
    (NOT_SAVED, "deferred", 2),
    (WAITING, "worker", 2),
    (DEFERRED, "deferred", 2),
]

# The task state store, which keeps a started import's id for later tries, exists from Airflow 3.3.
HAS_TASK_STATE_STORE = Version(Version(airflow.__version__).base_version) >= Version("3.3")


@pytest.fixture
def csv_file(tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text("email,firstname\na@example.com,A\nb@example.com,B\n")
    return path


@pytest.mark.parametrize(("crash_at", "mode", "tries"), CELLS, ids=[f"{c}-{m}" for c, m, _ in CELLS])
def test_one_import_whatever_kills_a_try(
    crash_at: str, mode: str, tries: int, run_dag, hubspot_connection: HubSpotEmulator, csv_file
):
    hubspot = hubspot_connection
    hubspot.set_start_lifecycle(LIFECYCLE)
    if crash_at == MID_UPLOAD:
        hubspot.cut_uploads(100)
    if crash_at == ANSWER_LOST:
        hubspot.lose_start_answers()
    dag_id = f"test_start_once_{mode}"

    result = run_dag(dag_id, {"csv_path": str(csv_file), "crash_at": crash_at})

    started = hubspot.started_imports()
    assert len(started) == 1, started
    key = task_instance_key(dag_id, result.run_id, "start_import", -1)
    key = key.for_request(started[0]["import_request"])
    assert started[0]["name"] == f"Contacts {key.marker}"
    assert started[0]["import_request"]["name"] == f"Contacts {key.marker}"
    assert result.task_states == {"start_import": "success"}
    assert result.try_numbers["start_import"] == tries
    import_id = started[0]["id"]
    gets = [entry for entry in hubspot.requests(import_id) if entry.method == "GET"]
    assert gets[-1].response_json()["state"] == "DONE"
    assert result.xcoms["start_import"] == gets[-1].response_json()
    if crash_at in (UNINTERRUPTED, BEFORE_UPLOAD, MID_UPLOAD):  # no import existed to adopt
        assert "Adopting HubSpot import" not in result.output
    else:
        assert f"Adopting HubSpot import {import_id} " in result.output
        assert f"(key {key.marker}, task instance {dag_id}/{result.run_id}/start_import)" in result.output
    if crash_at == MID_UPLOAD:
        assert [entry.status for entry in hubspot.requests() if entry.method == "POST"] == [0, 200]
        assert "No active import carries key" in result.output


def test_a_retry_reconnects_through_the_state_store_without_listing(
    run_dag, hubspot_connection: HubSpotEmulator, csv_file
):
    """Airflow 3.3+: the id saved by try 1 brings try 2 back to the import without a list lookup."""
    if not HAS_TASK_STATE_STORE:
        pytest.skip("task_state_store exists from Airflow 3.3")
    hubspot = hubspot_connection
    hubspot.set_start_lifecycle(LIFECYCLE)

    result = run_dag("test_start_once_worker", {"csv_path": str(csv_file), "crash_at": WAITING})

    assert result.task_states == {"start_import": "success"}
    lists = [entry for entry in hubspot.requests() if entry.method == "GET" and entry.import_id is None]
    # The first try's lookups only (before its upload and after it); the retry read the stored id.
    assert len(lists) == 2
    assert "it is STARTED." in result.output


def test_without_a_key_each_try_uploads_again(run_dag, hubspot_connection: HubSpotEmulator, csv_file):
    """idempotency_key=False: the documented opt-out, where a retry starts a second import."""
    hubspot = hubspot_connection
    hubspot.set_start_lifecycle(LIFECYCLE)

    result = run_dag("test_start_no_key", {"csv_path": str(csv_file), "crash_at": WAITING})

    assert result.task_states == {"start_import": "success"}
    started = hubspot.started_imports()
    assert [entry["name"] for entry in started] == ["Contacts", "Contacts"]
    assert not [entry for entry in hubspot.requests() if entry.method == "GET" and entry.import_id is None]


def test_acceptance_deferred_start_adopts_its_import_behind_pages_of_older_ones(
    run_dag, hubspot_connection: HubSpotEmulator, csv_file
):
    """Deferrable, wait_for_completion, retries=2, the first answer lost, and the list served
    oldest first two a page behind five older active imports: one import, success, its DONE record."""
    hubspot = hubspot_connection
    hubspot.set_start_lifecycle(LIFECYCLE)
    hubspot.set_list_page_size(2)
    older = [hubspot.add_import(lifecycle=[("PROCESSING",)], importName=f"Older {n}") for n in range(4)]
    older.append(
        hubspot.add_import(lifecycle=[("DEFERRED",)], importName="Another task [airflow:0123456789abcdef]")
    )
    hubspot.lose_start_answers()

    result = run_dag("test_start_once_deferred", {"csv_path": str(csv_file), "crash_at": ""})

    started = hubspot.started_imports()
    assert len(started) == 1
    import_id = started[0]["id"]
    assert result.task_states == {"start_import": "success"}
    assert result.try_numbers["start_import"] == 1
    gets = [entry for entry in hubspot.requests(import_id) if entry.method == "GET"]
    assert result.xcoms["start_import"] == gets[-1].response_json()
    assert result.xcoms["start_import"]["state"] == "DONE"
    lists = [entry for entry in hubspot.requests() if entry.method == "GET" and entry.import_id is None]
    # Two lookups (before the upload, after the lost answer), each across the pages of 2.
    assert [entry.query.get("after") for entry in lists] == [None, ["2"], ["4"], None, ["2"], ["4"]]
    assert f"Adopting HubSpot import {import_id} created by this try although HubSpot's answer was lost" in (
        result.output
    )
    assert all(hubspot.record(other)["state"] in ("PROCESSING", "DEFERRED") for other in older)


@pytest.mark.parametrize("mode", ["worker", "deferred"])
def test_the_quality_gate_fails_alike_in_both_modes(
    mode: str, run_dag, hubspot_connection: HubSpotEmulator, csv_file
):
    hubspot = hubspot_connection
    hubspot.set_start_lifecycle([("STARTED", 1), ("DONE", None, {"TOTAL_ROWS": 2, "ERRORS": 1})])

    result = run_dag(f"test_start_gate_{mode}", {"csv_path": str(csv_file), "crash_at": ""})

    assert result.task_states == {"start_import": "failed"}
    assert result.try_numbers["start_import"] == 1  # a gate breach is final: retries=2 unused
    (started,) = hubspot.started_imports()
    assert f"import {started['id']} (Contacts [airflow:" in result.output
    assert (
        f"HubSpot import {started['id']} is DONE but fails the quality gate: 1 error rows, more than "
        f"max_error_rows=0" in result.output
    )


@pytest.mark.parametrize(("final", "task_state"), [("DONE", "success"), ("FAILED", "failed")])
def test_a_retry_after_the_import_finished_reuses_a_done_one_and_replaces_a_failed_one(
    final: str,
    task_state: str,
    run_dag,
    hubspot_connection: HubSpotEmulator,
    csv_file,
    every_list_mode: str,  # noqa: F811 (the fixture imported above)
):
    """The first try is lost as it resumes, the import already finished. Airflow 3.3+: the retry
    reads the stored id; a DONE import ends the task as the first try would have, without
    uploading; a FAILED one is never reused ("do it again"): a new import is started. Before 3.3
    the lookup finds a DONE import only if the list shows finished imports."""
    hubspot = hubspot_connection
    hubspot.set_start_lifecycle([("STARTED", 1), (final,)])

    result = run_dag("test_start_once_deferred", {"csv_path": str(csv_file), "crash_at": "finished"})

    started = hubspot.started_imports()
    assert result.task_states == {"start_import": task_state}
    assert result.try_numbers["start_import"] == 2
    if final == "FAILED":
        assert len(started) == 2  # never adopted: the retry started the import again
        first, second = (entry["id"] for entry in started)
        if HAS_TASK_STATE_STORE:
            assert f"HubSpot import {first}, started by an earlier try" in result.output
            assert "is FAILED: starting a new import instead of adopting it" in result.output
        assert f"Started HubSpot import {second}" in result.output
        assert "FAILED is a failure state" in result.output
        return
    if not HAS_TASK_STATE_STORE and every_list_mode == "active":
        assert len(started) == 2  # docs/starting.md: a DONE import is not listed then
        return
    assert len(started) == 1
    if HAS_TASK_STATE_STORE:
        assert f"instead of starting another: it is {final}." in result.output
        gets = [entry for entry in hubspot.requests(started[0]["id"]) if entry.method == "GET"]
        assert result.xcoms["start_import"] == gets[-1].response_json()
    else:  # adopted from the list, which shows finished imports in this mode
        assert f"Adopting HubSpot import {started[0]['id']} started by an earlier try" in result.output
        assert result.xcoms["start_import"]["id"] == str(started[0]["id"])
        assert result.xcoms["start_import"]["state"] == "DONE"
