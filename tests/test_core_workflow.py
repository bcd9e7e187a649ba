"""The pure parts of the workflow: quality gate, error lines, links, multipart layout, retry rule."""

from __future__ import annotations

import pytest

from airflow_provider_hubspot_imports.core.app_pages import import_page_url
from airflow_provider_hubspot_imports.core.multipart import FilePart, MultipartForm
from airflow_provider_hubspot_imports.core.quality import QualityGate, describe_error, gate_failure_message
from airflow_provider_hubspot_imports.core.retry import RetryPolicy
from airflow_provider_hubspot_imports.errors import (
    HubSpotConnectionError,
    HubSpotNotSentError,
    HubSpotRateLimitError,
    HubSpotServerError,
)
from airflow_provider_hubspot_imports.models import ImportRecord
from airflow_provider_hubspot_imports.testing import make_errors


def _done(**counters: int) -> ImportRecord:
    return ImportRecord(
        {"id": "7", "state": "DONE", "createdAt": "x", "updatedAt": "x", "metadata": {"counters": counters}}
    )


@pytest.mark.parametrize(
    ("gate", "counters", "breach"),
    [
        (QualityGate(max_error_rows=5), {"TOTAL_ROWS": 100, "ERRORS": 5}, None),
        (
            QualityGate(max_error_rows=5),
            {"TOTAL_ROWS": 100, "ERRORS": 6},
            "6 error rows, more than max_error_rows=5",
        ),
        (QualityGate(max_error_ratio=0.05), {"TOTAL_ROWS": 100, "ERRORS": 5}, None),
        (
            QualityGate(max_error_ratio=0.05),
            {"TOTAL_ROWS": 100, "ERRORS": 23},
            "23 of 100 rows failed (23.0%)",
        ),
        (QualityGate(max_error_ratio=0.05), {"ERRORS": 1}, "no TOTAL_ROWS counter"),
        (QualityGate(max_error_ratio=0.0), {"TOTAL_ROWS": 0}, None),
    ],
)
def test_quality_gate_on_the_errors_counter(gate, counters, breach):
    found = gate.breach(_done(**counters))
    if breach is None:
        assert found is None
    else:
        assert found is not None and breach in found


@pytest.mark.parametrize(
    ("gate", "counters", "to_count", "counted", "breach"),
    [
        (
            QualityGate(max_error_rows=0),
            {"TOTAL_ROWS": 100},
            1,
            1,
            "1 error rows (1 counted from the errors endpoint",
        ),
        (QualityGate(max_error_rows=0), {"TOTAL_ROWS": 100}, 1, 0, None),
        (QualityGate(max_error_rows=5), {}, 6, 5, None),
        (QualityGate(max_error_rows=5), {}, 6, 6, "counted from the errors endpoint"),
        (QualityGate(max_error_ratio=0.05), {"TOTAL_ROWS": 100}, 6, 5, None),
        (QualityGate(max_error_ratio=0.05), {"TOTAL_ROWS": 100}, 6, 6, "6 of 100 rows failed (6.0%)"),
        (QualityGate(max_error_ratio=0.05), {}, 1, 1, "no TOTAL_ROWS counter"),
        (
            QualityGate(max_error_rows=2, max_error_ratio=0.5),
            {"TOTAL_ROWS": 10},
            6,
            3,
            "more than max_error_rows=2",
        ),
        (QualityGate(max_error_rows=0), {"ERRORS": 0}, None, None, None),
        (QualityGate(), {}, None, None, None),
    ],
)
def test_without_an_errors_counter_the_gate_counts_error_rows(gate, counters, to_count, counted, breach):
    record = _done(**counters)
    assert gate.rows_to_count(record) == to_count
    found = gate.breach(record, counted)
    if breach is None:
        assert found is None
    else:
        assert found is not None and breach in found


@pytest.mark.parametrize(
    ("rows", "ratio"),
    [(-1, None), (1.5, None), (True, None), (None, 1.5), (None, -0.1), (None, float("nan"))],
)
def test_quality_gate_refuses_nonsense_limits(rows, ratio):
    with pytest.raises(ValueError, match="max_error_"):
        QualityGate(rows, ratio)


def test_gate_message_lists_at_most_ten_errors_with_type_line_and_value():
    message = gate_failure_message(_done(TOTAL_ROWS=100, ERRORS=23), "too many", make_errors(23))

    lines = message.splitlines()
    assert lines[0] == "HubSpot import 7 is DONE but fails the quality gate: too many."
    assert lines[1] == "First 10 errors:"
    assert lines[2].startswith("  - INVALID_EMAIL at line 2, invalid value 'not-an-email-2'")
    assert len(lines) == 12


def test_describe_error_copes_with_sparse_items():
    assert describe_error({}) == "UNKNOWN_ERROR at line unknown"
    whole_file = {"errorType": "INCORRECT_NUMBER_OF_COLUMNS", "sourceData": {"lineNumber": 0}}
    assert describe_error(whole_file) == "INCORRECT_NUMBER_OF_COLUMNS at whole file"


def test_import_page_url_follows_the_data_centre():
    assert import_page_url("https://api.hubapi.com", "123") == "https://app.hubspot.com/import/123"
    assert import_page_url("https://api-eu1.hubapi.com", "9") == "https://app-eu1.hubspot.com/import/9"
    assert import_page_url("http://127.0.0.1:8765", None) is None


def test_multipart_length_is_known_before_reading_any_file():
    part = FilePart(filename='we"ird.csv', size=1234, source=None)
    form = MultipartForm(fields=(("importRequest", "{}", ""),), files=(("files", part),))

    literal = [segment for segment in form.segments() if isinstance(segment, bytes)]
    assert form.content_length == 1234 + sum(map(len, literal))
    assert b'filename="we%22ird.csv"' in literal[1]
    assert b"Content-Type: text/csv" in literal[1]
    # a plain form field: no part content type, as HubSpot's example and official client send it
    assert literal[0].endswith(b'Content-Disposition: form-data; name="importRequest"\r\n\r\n{}\r\n')


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (HubSpotNotSentError("refused"), True),
        (HubSpotRateLimitError("429", category="RATE_LIMIT", policy_name="SECONDLY"), True),
        (HubSpotRateLimitError("429", category="RATE_LIMIT", policy_name="DAILY"), False),
        (HubSpotRateLimitError("429", category="FREE_PORTAL_IMPORT_ROWS_LIMIT"), False),
        (HubSpotServerError("503"), False),
        (HubSpotConnectionError("reset"), False),
    ],
)
def test_a_start_is_retried_only_when_hubspot_provably_did_not_handle_it(error, retried):
    assert RetryPolicy.should_retry_unprocessed(error) is retried


def test_a_count_that_stopped_at_the_cap_says_at_least():
    found = QualityGate(max_error_rows=3).breach(_done(TOTAL_ROWS=9), 10, counted_all=False)
    assert found is not None and found.startswith(
        "10 error rows (at least 10 counted from the errors endpoint"
    )
