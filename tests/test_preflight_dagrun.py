"""The start operator's pre-flight in a real DAG run (`dag.test()` on SQLite, the emulator)."""

from __future__ import annotations

import pytest
from dagrun_support import xcom_value

pytestmark = pytest.mark.dagrun


def test_a_file_with_problems_fails_the_task_without_retries_and_uploads_nothing(
    run_dag, hubspot_connection, tmp_path
):
    csv = tmp_path / "contacts.csv"
    csv.write_text("email,lifecyclestage,date_of_birth\nnot-an-email,leed,12/31/1990\n")

    result = run_dag("test_start_preflight", {"csv_path": str(csv)})

    assert result.task_states == {"start_import": "failed"}
    assert result.try_numbers["start_import"] == 1  # retries=2, but the file will not fix itself
    report = xcom_value("test_start_preflight", result.run_id, "start_import", key="preflight_report")
    assert report["counts"] == {"INVALID_EMAIL": 1, "INVALID_ENUMERATION_OPTION": 1}
    assert [(e["kind"], e["line"]) for e in report["errors"]] == [
        ("INVALID_EMAIL", 2),
        ("INVALID_ENUMERATION_OPTION", 2),
    ]
    assert "Nothing was uploaded" in result.output
    # The lookup for an import an earlier try started (none), then the schema: no upload.
    assert [(r.method, r.path) for r in hubspot_connection.requests()] == [
        ("GET", "/crm/imports/2026-03"),
        ("GET", "/crm/properties/2026-03/0-1"),
    ]
