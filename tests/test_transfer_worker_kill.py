"""A worker SIGKILLed after part k of n was started: the retry starts parts k+1.. only, reconnects to
the ones started, and every part is imported exactly once (the emulator counts the uploads)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from transfer_kill_child import DAG_ID, TASK_ID
from transfer_support import (
    SOURCE_CONN_ID,
    contacts_table,
    context_for,
    sqlite_connection_json,
    task_instance,
)

from airflow_provider_hubspot_imports.testing import HubSpotEmulator
from airflow_provider_hubspot_imports.transfers import SqlToHubSpotImportOperator

CHILD = Path(__file__).parent / "transfer_kill_child.py"


def kill_after_part(env: dict[str, str], run_id: str, part: int, where: str) -> str:
    """Run the child until it says part `part` was started, then SIGKILL it; what it printed."""
    child = subprocess.Popen(
        [sys.executable, str(CHILD), run_id, str(part), where],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=CHILD.parent,
    )
    assert child.stdout is not None
    lines = []
    for line in child.stdout:
        lines.append(line)
        if line.startswith(f"started part {part}:"):
            break
    child.kill()  # SIGKILL: no handler, no cleanup, as the OOM killer or a lost node ends a worker
    child.wait(timeout=30)
    assert lines and lines[-1].startswith(f"started part {part}:"), "".join(lines[-30:])
    return "".join(lines)


@pytest.mark.parametrize(
    ("rows", "rows_per_file", "part", "where", "expected_rows"),
    [
        (250_000, 100_000, 1, "recorded", [100_000, 100_000, 50_000]),
        (2_500, 500, 2, "unrecorded", [500] * 5),
    ],
    ids=["250k-rows-killed-after-part-1", "killed-before-part-2-was-recorded"],
)
def test_a_worker_kill_after_part_k_starts_only_the_later_parts_on_retry(
    hubspot_connection: HubSpotEmulator,
    tmp_path: Path,
    rows: int,
    rows_per_file: int,
    part: int,
    where: str,
    expected_rows: list[int],
    logged,
):
    hubspot_connection.set_start_lifecycle([("PROCESSING", 1), ("DONE",)])
    source = contacts_table(tmp_path / "source.db", rows)
    arguments = {
        "sql": "SELECT email, firstname, lastname FROM contacts ORDER BY id",
        "conn_id": SOURCE_CONN_ID,
        "object_type": "contacts",
        "id_property": "email",
        "rows_per_file": rows_per_file,
        "max_active_imports": 3,
        "poke_interval": 0.05,
        "staging_path": str(tmp_path / "staging"),
    }
    env = {
        **os.environ,
        f"AIRFLOW_CONN_{SOURCE_CONN_ID.upper()}": sqlite_connection_json(source),
        "TRANSFER_KILL_ARGS": json.dumps(arguments),
        "PYTHONPATH": os.pathsep.join([str(CHILD.parent), os.environ.get("PYTHONPATH", "")]),
    }
    os.environ[f"AIRFLOW_CONN_{SOURCE_CONN_ID.upper()}"] = env[f"AIRFLOW_CONN_{SOURCE_CONN_ID.upper()}"]
    try:
        kill_after_part(env, "manual__kill", part, where)
        before = [started["id"] for started in hubspot_connection.started_imports()]
        assert len(before) == part  # the kill came after part k, before part k+1

        summary = SqlToHubSpotImportOperator(task_id=TASK_ID, **arguments).execute(
            context_for(task_instance(DAG_ID, "manual__kill", TASK_ID, 2))  # type: ignore[arg-type]
        )
    finally:
        os.environ.pop(f"AIRFLOW_CONN_{SOURCE_CONN_ID.upper()}", None)

    started = hubspot_connection.started_imports()
    assert [s["id"] for s in started[:part]] == before  # the earlier try's parts, not again
    assert [(s["uploads"][0].filename, s["uploads"][0].lines - 1) for s in started] == [
        (f"part-{number:05d}.csv", count) for number, count in enumerate(expected_rows, start=1)
    ]
    assert all(len(s["uploads"]) == 1 for s in started)  # each part uploaded once
    assert [p["state"] for p in summary["parts"]] == ["DONE"] * len(expected_rows)
    assert summary["rows_sent"] == rows
    output = logged()
    assert "from an earlier try): not querying again" in output
    for number, import_id in enumerate(before, start=1):
        if number < part or where == "recorded":
            assert f"Part {number}: reconnected to HubSpot import {import_id}" in output
        else:  # HubSpot had it, the staging had no record: the key's lookup adopted it
            assert f"Adopting HubSpot import {import_id} started by an earlier try" in output
