from __future__ import annotations

import json

import pytest

from airflow_provider_hubspot_imports.core import protocol
from airflow_provider_hubspot_imports.core.settings import settings_from_connection_fields
from airflow_provider_hubspot_imports.errors import (
    HubSpotAuthError,
    HubSpotBadResponseError,
    HubSpotClientError,
    HubSpotConnectionError,
    HubSpotNotFoundError,
    HubSpotPermissionError,
    HubSpotRateLimitError,
    HubSpotServerError,
)

TOKEN = "pat-na1-secret-token-value"
SETTINGS = settings_from_connection_fields(
    conn_id="hs", host="https://api.hubapi.com", port=None, password=TOKEN, extras={}
)
REQUEST = protocol.get_import_request(SETTINGS, 7)
JSON = {"Content-Type": "application/json"}


def error(status, body, headers=JSON):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return protocol.error_for_response(REQUEST, status, headers, raw, (TOKEN,), "hs")


def test_urls_for_both_path_families():
    assert REQUEST.url == "https://api.hubapi.com/crm/imports/2026-03/7"
    legacy = settings_from_connection_fields(
        conn_id=None, host=None, port=None, password=TOKEN, extras={"api_version": "v3"}
    )
    assert protocol.get_import_request(legacy, "8").url == "https://api.hubapi.com/crm/v3/imports/8"
    listing = protocol.list_imports_request(SETTINGS, limit=1)
    assert (listing.url, listing.params) == ("https://api.hubapi.com/crm/imports/2026-03", (("limit", "1"),))


def test_headers_name_the_package_and_carry_the_token():
    assert protocol.base_headers()["User-Agent"].startswith("airflow-provider-hubspot-imports/")
    assert protocol.auth_header(TOKEN) == {"Authorization": f"Bearer {TOKEN}"}


def test_401_names_status_category_message_correlation_and_fix_but_not_the_token():
    err = error(
        401,
        {
            "status": "error",
            "message": f"The token {TOKEN} is invalid",
            "correlationId": "c-1",
            "category": "INVALID_AUTHENTICATION",
        },
    )
    assert isinstance(err, HubSpotAuthError) and err.permanent and not err.retryable
    text = str(err)
    assert "HTTP 401 INVALID_AUTHENTICATION" in text and "correlationId c-1" in text
    assert "password field" in text
    assert TOKEN not in text and TOKEN not in repr(err) and TOKEN not in json.dumps(err.body)
    assert (err.status, err.category, err.correlation_id) == (401, "INVALID_AUTHENTICATION", "c-1")


def test_403_lists_missing_scopes_from_context():
    err = error(
        403,
        {
            "status": "error",
            "message": "This app hasn't been granted all required scopes to make this call.",
            "category": "MISSING_SCOPES",
            "errors": [{"message": "One or more...", "context": {"requiredGranularScopes": ["crm.import"]}}],
        },
    )
    assert isinstance(err, HubSpotPermissionError)
    assert "lacks the scope(s) crm.import" in str(err)


def test_404_and_other_4xx_are_permanent():
    assert isinstance(error(404, {"message": "nope", "category": "OBJECT_NOT_FOUND"}), HubSpotNotFoundError)
    other = error(400, {"message": "bad", "category": "VALIDATION_ERROR"})
    assert isinstance(other, HubSpotClientError) and other.permanent and not other.retryable


def test_rolling_429_is_retryable_with_window_and_retry_after():
    body = {
        "status": "error",
        "message": "You have reached your ten_secondly_rolling limit.",
        "errorType": "RATE_LIMIT",
        "policyName": "TEN_SECONDLY_ROLLING",
    }
    err = error(429, body, {**JSON, "Retry-After": "3", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"})
    assert isinstance(err, HubSpotRateLimitError)
    assert err.retryable and not err.permanent and not err.is_daily
    assert (err.retry_after, err.window_seconds, err.category) == (3.0, 10.0, "RATE_LIMIT")


def test_daily_429_is_not_retried_and_says_so():
    err = error(
        429, {"status": "error", "message": "daily", "policyName": "DAILY", "errorType": "RATE_LIMIT"}
    )
    assert isinstance(err, HubSpotRateLimitError) and err.is_daily
    assert not err.retryable and not err.permanent
    assert "DAILY API limit is spent" in str(err)


def test_408_is_a_retried_connection_error_not_a_refusal():
    """A load balancer's 408 on a connection it closes as idle: the connection failed, not the call."""
    err = error(408, b"", {})
    assert isinstance(err, HubSpotConnectionError) and err.retryable and not err.permanent
    assert err.status == 408 and "timed the connection out" in str(err)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 521, 423, 477])
def test_server_trouble_is_retryable_even_with_html(status):
    err = error(status, b"<html><body>Bad gateway</body></html>", {"Content-Type": "text/html"})
    assert isinstance(err, HubSpotServerError) and err.retryable
    assert f"HTTP {status} (text/html, 37 bytes)" in str(err)


def test_retry_after_as_http_date():
    from datetime import datetime, timezone

    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert protocol.parse_retry_after("Thu, 01 Jan 2026 12:00:05 GMT", now) == 5.0
    assert protocol.parse_retry_after("garbage") is None
    assert protocol.parse_retry_after("-4") == 0.0


@pytest.mark.parametrize(
    ("body", "fragment"),
    [(b"", "the body is empty"), (b'{"id": "1", "sta', "not valid JSON"), (b"<html>", "not valid JSON")],
)
def test_a_2xx_that_is_not_json_is_a_bad_response(body, fragment):
    with pytest.raises(HubSpotBadResponseError, match=fragment) as caught:
        protocol.read_json(REQUEST, 200, JSON, body, (TOKEN,))
    assert caught.value.retryable


def test_record_parsing_keeps_everything_and_checks_required_fields():
    data = {
        "id": "7",
        "state": "DONE",
        "createdAt": "2026-01-01T00:00:00.000Z",
        "updatedAt": "2026-01-01T00:01:00.000Z",
        "metadata": {"counters": {"ERRORS": 1}},
        "new": [1],
    }
    record = protocol.parse_import_record(REQUEST, data)
    assert record.raw is data
    with pytest.raises(HubSpotBadResponseError, match="lacks required field"):
        protocol.parse_import_record(REQUEST, {"id": "7", "state": "DONE"})
    with pytest.raises(HubSpotBadResponseError, match="expected an import record"):
        protocol.parse_import_record(REQUEST, [data])
    with pytest.raises(HubSpotBadResponseError, match="state is"):
        protocol.parse_import_record(REQUEST, {**data, "state": None})


def test_a_record_of_another_import_is_refused_naming_both_ids():
    data = {"id": "7", "state": "DONE", "createdAt": "2026-01-01T00:00Z", "updatedAt": "2026-01-01T00:01Z"}
    assert protocol.parse_import_record(REQUEST, {**data, "id": 7}).raw["id"] == 7  # a number is the same id
    with pytest.raises(HubSpotBadResponseError, match="record of import '8', not of import 7 asked for"):
        protocol.parse_import_record(REQUEST, {**data, "id": "8"})
    listed = protocol.list_imports_request(SETTINGS)
    assert protocol.parse_import_record(listed, {**data, "id": "8"}).raw["id"] == "8"  # a list has any ids
