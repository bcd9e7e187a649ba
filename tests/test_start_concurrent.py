"""Two starts with one key at the same moment: both looked before either uploaded, both uploaded.

The emulator holds the starts until both uploads arrived, so neither import exists when either
lookup runs (the race, forced). The starts must settle on one import: the one created first goes
on, the later start cancels its own and adopts it, and both tasks wait on that one import.
Run through the public start operator in two worker processes, in each reading of HubSpot's import list.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import start_race_child
from list_modes import every_list_mode  # noqa: F401 (autouse: every test in each list mode)

from airflow_provider_hubspot_imports.core.start_key import own_key
from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook
from airflow_provider_hubspot_imports.starting import yield_to_an_earlier_start
from airflow_provider_hubspot_imports.testing import HubSpotEmulator

CHILD = Path(__file__).parent / "start_race_child.py"
KEY = own_key(start_race_child.KEY).for_request(start_race_child.REQUEST)
# Active long enough for the later start to cancel its import before HubSpot would process it.
LIFECYCLE = [("STARTED", 1), ("PROCESSING", 1), ("DONE",)]


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "contacts.csv"
    path.write_text("email,firstname\na@example.com,A\nb@example.com,B\n")
    return path


def start(csv_file: Path, run_id: str, mode: str) -> subprocess.Popen[str]:
    """One DAG run's start task with the shared key, in a worker process of its own."""
    return subprocess.Popen(
        [sys.executable, str(CHILD), str(csv_file), run_id, mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(worker: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = worker.communicate(timeout=180)
    assert worker.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def race(csv_file: Path, mode: str) -> list[dict[str, Any]]:
    workers = [start(csv_file, f"run_{n}", mode) for n in range(2)]
    return [finish(worker) for worker in workers]


@pytest.mark.parametrize("mode", ["wait", "start-only"])
def test_two_starts_with_one_key_at_once_settle_on_the_import_created_first(
    hubspot_connection: HubSpotEmulator, csv_file: Path, mode: str
):
    hubspot_connection.set_start_lifecycle(LIFECYCLE)
    hubspot_connection.hold_starts(2)

    records = race(csv_file, mode)

    started = hubspot_connection.started_imports()
    assert len(started) == 2, "the race was not forced: both starts must have uploaded"
    first, later = sorted(int(entry["id"]) for entry in started)
    # Both tasks go on with the import created first; the later one was canceled by its own start.
    assert {record["id"] for record in records} == {str(first)}
    assert hubspot_connection.record(later)["state"] == "CANCELED"
    assert hubspot_connection.record(first)["state"] != "CANCELED"
    cancels = [entry for entry in hubspot_connection.requests() if entry.method == "POST" and entry.import_id]
    assert [entry.import_id for entry in cancels] == [later]
    if mode == "wait":
        assert [record["state"] for record in records] == ["DONE", "DONE"]
    # Both carry the one key (narrowed to the request): the same request, not two.
    assert all(KEY.marker in entry["name"] for entry in started)


def settle(emulator: HubSpotEmulator, started_id: int) -> tuple[str, bool, str]:
    """`yield_to_an_earlier_start` for an import this start just created: (the import it goes on
    with, whether adopted, what it logged)."""
    lines: list[str] = []
    log = SimpleNamespace(
        warning=lambda message, *args: lines.append(message % args),
        error=lambda message, *args: lines.append(message % args),
    )
    hook = HubSpotHook()
    try:
        record, adopted = yield_to_an_earlier_start(hook, KEY, hook.get_import(started_id), log)
    finally:
        hook.close()
    return record.id, adopted, "\n".join(lines)


def test_a_start_that_sees_no_earlier_import_keeps_its_own(hubspot_connection: HubSpotEmulator):
    """The earlier start may look again before the later import exists: it keeps its import,
    and so does it when the later one is already listed."""
    mine = hubspot_connection.add_import(lifecycle=[("STARTED",)], importName=f"Contacts {KEY.marker}")
    assert settle(hubspot_connection, mine) == (str(mine), False, "")
    later = hubspot_connection.add_import(lifecycle=[("STARTED",)], importName=f"Contacts {KEY.marker}")
    assert settle(hubspot_connection, mine) == (str(mine), False, "")
    assert hubspot_connection.record(later)["state"] == "STARTED"  # its own start cancels it


def test_a_start_whose_import_came_second_cancels_it_and_adopts_the_first(
    hubspot_connection: HubSpotEmulator,
):
    first = hubspot_connection.add_import(lifecycle=[("PROCESSING",)], importName=f"Contacts {KEY.marker}")
    hubspot_connection.add_import(lifecycle=[("STARTED",)], importName="Another request's import")
    mine = hubspot_connection.add_import(lifecycle=[("STARTED",)], importName=f"Contacts {KEY.marker}")

    chosen, adopted, logged = settle(hubspot_connection, mine)

    assert (chosen, adopted) == (str(first), True)
    assert hubspot_connection.record(mine)["state"] == "CANCELED"
    assert f"its import {first} was created first: canceled import {mine}" in logged
    assert "HubSpot answered the cancel: {'status': 'COMPLETE'" in logged  # nothing it said is dropped


def test_an_earlier_import_that_failed_is_not_joined(hubspot_connection: HubSpotEmulator):
    """A FAILED, CANCELED or REVERTED import is never adopted: the start keeps its new import."""
    hubspot_connection.set_list_mode("history-newest-first")
    hubspot_connection.add_import(lifecycle=[("CANCELED",)], importName=f"Contacts {KEY.marker}")
    mine = hubspot_connection.add_import(lifecycle=[("STARTED",)], importName=f"Contacts {KEY.marker}")

    assert settle(hubspot_connection, mine) == (str(mine), False, "")
    assert hubspot_connection.record(mine)["state"] == "STARTED"


def test_when_its_cancel_fails_the_start_keeps_its_import_and_says_both_run(
    hubspot_connection: HubSpotEmulator,
):
    first = hubspot_connection.add_import(lifecycle=[("PROCESSING",)], importName=f"Contacts {KEY.marker}")
    # HubSpot already finished the later import: a cancel cannot stop it.
    mine = hubspot_connection.add_import(lifecycle=[("DONE",)], importName=f"Contacts {KEY.marker}")
    hubspot_connection.set_list_mode("history-oldest-first")

    chosen, adopted, logged = settle(hubspot_connection, mine)

    assert (chosen, adopted) == (str(mine), False)
    assert f"its import {first} was created first, but canceling import {mine}" in logged
    assert "both imports run" in logged
