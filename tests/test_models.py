from __future__ import annotations

import logging
import uuid
from datetime import datetime, timezone

import pytest

from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook
from airflow_provider_hubspot_imports.models import (
    FAILURE_STATES,
    SUCCESS_STATES,
    TERMINAL_STATES,
    ImportRecord,
    ImportState,
    parse_states,
)
from airflow_provider_hubspot_imports.testing import HubSpotEmulator

RAW = {
    "id": "99",
    "state": "PROCESSING",
    "createdAt": "2026-03-30T10:00:00.123Z",
    "updatedAt": "2026-03-30T10:05:00Z",
    "importName": "contacts",
    "metadata": {"counters": {"TOTAL_ROWS": 10, "ERRORS": 2}},
    "mappedObjectTypeIds": ["0-1"],
    "optOutImport": False,
    "brandNewField": {"a": 1},
}


def test_state_sets():
    assert {s.value for s in SUCCESS_STATES} == {"DONE"}
    assert {s.value for s in FAILURE_STATES} == {"FAILED", "CANCELED", "REVERTED"}
    assert TERMINAL_STATES == SUCCESS_STATES | FAILURE_STATES
    assert len(ImportState) == 7


def _new_state_name() -> str:
    """A state no earlier test in this process has seen: the warning is once per process."""
    return f"ARCHIVED_{uuid.uuid4().hex[:8].upper()}"


def test_unknown_state_is_tolerated_logged_once_and_never_terminal(caplog):
    name = _new_state_name()
    with caplog.at_level(logging.WARNING):
        first = ImportState(name)
        second = ImportState(name)
    assert first.value == name and not first.is_known
    assert first == second == name
    assert first not in TERMINAL_STATES
    assert sum(name in r.getMessage() for r in caplog.records) == 1
    assert ImportRecord({**RAW, "state": name}).is_terminal is False


def test_an_unknown_state_read_from_hubspot_again_and_again_is_warned_about_once(
    hubspot_connection: HubSpotEmulator, caplog: pytest.LogCaptureFixture
):
    """docs/waiting.md: a state HubSpot adds later is waited on and logged once as a warning, not
    at every poll; another new state gets its own warning."""
    name, other = _new_state_name(), _new_state_name()
    import_id = hubspot_connection.add_import(lifecycle=[(name,)])
    other_id = hubspot_connection.add_import(lifecycle=[(other,)])
    hook = HubSpotHook()
    with caplog.at_level(logging.WARNING, logger="airflow_provider_hubspot_imports.models"):
        states = [hook.get_import(import_id).state for _ in range(3)] + [hook.get_import(other_id).state]

    assert [state.value for state in states] == [name, name, name, other]
    assert not set(states) & TERMINAL_STATES  # waited on
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert [message for message in warnings if name in message] == [
        f"HubSpot reported import state {name!r}, which this package does not know; "
        "treating it as not finished and waiting on."
    ]
    assert sum(other in message for message in warnings) == 1


def test_record_accessors_over_the_untouched_raw_dict():
    record = ImportRecord(RAW)
    assert record.raw is RAW
    assert (record.id, record.state, record.import_name) == ("99", ImportState.PROCESSING, "contacts")
    assert record.counters == {"TOTAL_ROWS": 10, "ERRORS": 2}
    assert (record.error_rows, record.total_rows) == (2, 10)
    assert record.created_at == datetime(2026, 3, 30, 10, 0, 0, 123000, tzinfo=timezone.utc)
    assert record.updated_at == datetime(2026, 3, 30, 10, 5, tzinfo=timezone.utc)
    assert record.mapped_object_type_ids == ["0-1"] and record.opt_out_import is False
    assert record.summary() == "import 99 (contacts) is PROCESSING; counters: ERRORS=2, TOTAL_ROWS=10"


def test_counters_may_be_missing():
    record = ImportRecord({"id": "1", "state": "STARTED", "metadata": {}})
    assert record.counters == {} and record.error_rows == 0 and record.total_rows is None
    assert record.summary().endswith("counters: none yet")


def test_parse_states_normalises_and_refuses_typos():
    assert parse_states(["done", " Failed "], SUCCESS_STATES, name="s") == {
        ImportState.DONE,
        ImportState.FAILED,
    }
    assert parse_states(None, SUCCESS_STATES, name="s") is SUCCESS_STATES
    assert parse_states([], SUCCESS_STATES, name="s") == frozenset()
    with pytest.raises(ValueError, match="'DNOE', which is not an import state"):
        parse_states(["DNOE"], SUCCESS_STATES, name="success_states")
    with pytest.raises(TypeError, match="not the string"):
        parse_states("DONE", SUCCESS_STATES, name="success_states")
