from __future__ import annotations

import logging
from datetime import datetime, timezone

import pytest

from airflow_provider_hubspot_imports.models import (
    FAILURE_STATES,
    SUCCESS_STATES,
    TERMINAL_STATES,
    ImportRecord,
    ImportState,
    parse_states,
)

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


def test_unknown_state_is_tolerated_logged_once_and_never_terminal(caplog):
    with caplog.at_level(logging.WARNING):
        first = ImportState("ARCHIVED_SOMEHOW")
        second = ImportState("ARCHIVED_SOMEHOW")
    assert first.value == "ARCHIVED_SOMEHOW" and not first.is_known
    assert first == second == "ARCHIVED_SOMEHOW"
    assert first not in TERMINAL_STATES
    assert sum("ARCHIVED_SOMEHOW" in r.getMessage() for r in caplog.records) == 1
    assert ImportRecord({**RAW, "state": "ARCHIVED_SOMEHOW"}).is_terminal is False


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
