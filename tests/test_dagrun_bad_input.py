"""Bad import ids reaching a DAG run fail the sensor at once, before any request."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.dagrun


@pytest.mark.parametrize(
    ("import_id", "fragment"),
    [
        ("abc", "only the digits 0-9"),
        ("0", "greater than zero"),
        ("12/34", "only the digits 0-9"),
        ("{{ params.nope }}", "Jinja template"),
    ],
)
def test_bad_import_id_fails_without_a_request(run_dag, hubspot_connection, import_id, fragment):
    result = run_dag("test_reschedule_gate", {"import_id": import_id})
    assert result.task_states["wait_for_import"] == "failed"
    assert result.try_numbers["wait_for_import"] == 1
    assert fragment in result.output
    assert hubspot_connection.requests() == []
