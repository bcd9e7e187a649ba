"""What HubSpot's published imports and OAuth specs say, checked against the emulator: the hook sends
what the spec describes and reads everything it answers, and the emulator answers as the spec says."""

from __future__ import annotations

import json
import socket

import pytest
import requests
from loopback_servers import LoopbackServer, json_answer

from airflow_provider_hubspot_imports.core.ratelimit import RateBudget, RateBudgetTracker
from airflow_provider_hubspot_imports.errors import HubSpotClientError, HubSpotPermissionError
from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook
from airflow_provider_hubspot_imports.testing import HubSpotEmulator, make_errors


def use_connection(monkeypatch, conn_id: str, **conn) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "hubspot", **conn}))


def served_errors(emulator: HubSpotEmulator, import_id: int, **params) -> list[dict]:
    answer = requests.get(
        f"{emulator.base_url}/crm/imports/2026-03/{import_id}/errors",
        headers={"Authorization": f"Bearer {emulator.token}"},
        params=params,
        timeout=5,
    )
    return answer.json()["results"]


# ---- what the hook sends ------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["2025-09", "2026-03", "2026-09", "v3", "2027-03"])
def test_every_published_api_version_reaches_its_path(monkeypatch, hubspot_emulator, version):
    use_connection(
        monkeypatch,
        "versioned",
        host=hubspot_emulator.base_url,
        password=hubspot_emulator.token,
        extra={"api_version": version},
    )
    import_id = hubspot_emulator.add_import(lifecycle=[("DONE",)])
    assert HubSpotHook("versioned").get_import(import_id).state.value == "DONE"
    root = "/crm/v3/imports" if version == "v3" else f"/crm/imports/{version}"
    assert hubspot_emulator.requests(import_id)[0].path == f"{root}/{import_id}"


def test_a_start_without_file_format_is_sent_with_import_request_as_a_plain_field(
    hubspot_connection, tmp_path, monkeypatch
):
    csv = tmp_path / "contacts.csv"
    csv.write_text("email\na@example.com\nb@example.com\n")
    request = {"name": "No format given", "files": [{"fileName": "contacts.csv"}]}  # CSV by default
    parts = []
    app = hubspot_connection.app
    original = app.handle

    def recording(served):
        parts.extend(served.form or [])
        return original(served)

    monkeypatch.setattr(app, "handle", recording)

    record = HubSpotHook().start_import(request, [csv])

    assert record.counters["TOTAL_ROWS"] == 2
    assert record.raw["importRequestJson"] == request
    field = next(part for part in parts if part.name == "importRequest")
    assert field.filename is None and field.content_type is None  # no part content type
    assert json.loads(field.text) == request


def test_error_bodies_sub_category_and_links_reach_the_message(hubspot_connection):
    import_id = hubspot_connection.add_import(
        lifecycle=[("DONE",)],
        faults=[
            {
                "status": 403,
                "json": {
                    "status": "error",
                    "message": "This app hasn't been granted all required scopes to make this call.",
                    "correlationId": "c0ffee00-0000-4000-8000-000000000001",
                    "category": "MISSING_SCOPES",
                    "subCategory": "MISSING_SCOPES.GRANULAR",
                    "links": {"scopes": "https://developers.hubspot.com/scopes"},
                },
            }
        ],
    )
    with pytest.raises(HubSpotPermissionError) as caught:
        HubSpotHook().get_import(import_id)
    message = str(caught.value)
    assert "HTTP 403 MISSING_SCOPES (MISSING_SCOPES.GRANULAR)" in message
    assert "HubSpot's links: scopes: https://developers.hubspot.com/scopes." in message
    assert caught.value.sub_category == "MISSING_SCOPES.GRANULAR"
    assert caught.value.links == {"scopes": "https://developers.hubspot.com/scopes"}


def test_the_hook_paces_itself_on_the_rate_limit_headers_before_hubspot_answers_429(
    hubspot_connection, logged
):
    hubspot_connection.set_rate_limit(3, window_seconds=1.0, daily=50)
    import_id = hubspot_connection.add_import(lifecycle=[("DONE",)])
    hook = HubSpotHook()

    for _ in range(7):
        hook.get_import(import_id)

    statuses = [entry.status for entry in hubspot_connection.requests(import_id)]
    assert statuses == [200] * 7  # never a 429: the hook waited the window out when none was left
    said = logged()
    assert "left no request in its rate-limit window; waiting" in said
    assert "HubSpot's rate limit is running low: 0 of 3 requests left in the 1 s window" in said
    assert hook.rate_budget.last is not None and hook.rate_budget.last.daily == 50


def test_a_retried_cancel_whose_first_attempt_was_applied_is_a_success(monkeypatch):
    """The first cancel is applied but its answer lost (the connection drops); the retry hears
    "not active". Reading the import again shows it CANCELED: the cancel succeeded."""
    state = {"canceled": False}
    record = {"id": "5", "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:01:00Z"}

    def answer(request, sock: socket.socket):
        if request.path.endswith("/cancel") and not state["canceled"]:
            state["canceled"] = True
            sock.shutdown(socket.SHUT_RDWR)  # applied, answer lost
            raise OSError("dropped")
        if request.path.endswith("/cancel"):
            body = {
                "status": "error",
                "message": "Import 5 is not active",
                "category": "VALIDATION_ERROR",
                "correlationId": "c0ffee00-0000-4000-8000-000000000002",
            }
            sock.sendall(json_answer(400, json.dumps(body).encode()))
        else:
            served = {**record, "state": "CANCELED" if state["canceled"] else "PROCESSING"}
            sock.sendall(json_answer(200, json.dumps(served).encode()))

    with LoopbackServer(answer) as server:
        use_connection(
            monkeypatch,
            "cancel_lost",
            host=server.url,
            password="pat-na1-cancel-test",
            extra={"retry_backoff_seconds": 0.05},
        )
        outcome = HubSpotHook("cancel_lost").cancel_import(5)
    assert outcome["status"] == "COMPLETE" and outcome["importState"] == "CANCELED"
    assert outcome["hubspotAnswer"]["message"] == "Import 5 is not active"
    assert [request.path.rsplit("/", 1)[-1] for request in server.received] == ["cancel", "cancel", "5"]


def test_cancel_of_an_import_that_finished_otherwise_is_refused_naming_its_state(hubspot_connection):
    import_id = hubspot_connection.add_import(lifecycle=[("FAILED",)])
    with pytest.raises(HubSpotClientError, match="the import is FAILED and cannot be canceled") as caught:
        HubSpotHook().cancel_import(import_id)
    assert caught.value.body["status"] == "CANCELED"  # HubSpot's action answer, kept


def test_canceling_twice_succeeds_twice_with_the_first_cancels_times(hubspot_connection):
    import_id = hubspot_connection.add_import(lifecycle=[("PROCESSING",)])
    hook = HubSpotHook()
    first, second = hook.cancel_import(import_id), hook.cancel_import(import_id)
    assert first == second and first["status"] == "COMPLETE"


# ---- what the emulator answers ----------------------------------------------------------------


def test_error_rows_carry_messages_and_row_data_only_when_asked(hubspot_emulator):
    import_id = hubspot_emulator.add_import(lifecycle=[("DONE",)], errors=make_errors(2))

    bare = served_errors(hubspot_emulator, import_id)
    full = served_errors(hubspot_emulator, import_id, includeErrorMessage="true", includeRowData="true")

    assert "errorMessage" not in bare[0] and bare[0]["sourceData"]["rowData"] == []
    assert full[0]["errorMessage"] and full[0]["sourceData"]["rowData"] == ["not-an-email-2", "Row 2"]
    for item in bare + full:
        assert {"id", "createdAt", "errorType", "sourceData"} <= set(item)
        assert {"fileId", "lineNumber", "rowData", "containsEncryptedProperties", "additionalRowData"} <= set(
            item["sourceData"]
        )


def test_paging_links_are_absolute_and_lead_to_the_next_page(hubspot_emulator):
    import_id = hubspot_emulator.add_import(lifecycle=[("DONE",)], errors=make_errors(5))
    headers = {"Authorization": f"Bearer {hubspot_emulator.token}"}
    first = requests.get(
        f"{hubspot_emulator.base_url}/crm/imports/2026-03/{import_id}/errors",
        headers=headers,
        params={"limit": 2, "includeErrorMessage": "true"},
        timeout=5,
    ).json()
    link = first["paging"]["next"]["link"]
    assert link.startswith(f"{hubspot_emulator.base_url}/crm/imports/2026-03/{import_id}/errors?")
    second = requests.get(link, headers=headers, timeout=5).json()
    assert [item["sourceData"]["lineNumber"] for item in second["results"]] == [4, 5]
    assert "errorMessage" in second["results"][0]  # the link keeps the query


def test_token_answers_carry_what_the_oauth_spec_requires(hubspot_emulator):
    hubspot_emulator.add_oauth_app("app-1", "secret-1", "refresh-1")
    answer = requests.post(
        f"{hubspot_emulator.base_url}/oauth/v1/token",
        data={
            "grant_type": "refresh_token",
            "client_id": "app-1",
            "client_secret": "secret-1",
            "refresh_token": "refresh-1",
        },
        timeout=5,
    ).json()
    assert {"access_token", "expires_in", "refresh_token", "token_type", "token_use"} <= set(answer)


def test_rate_limit_headers_include_the_daily_budget_except_on_oauth_calls(hubspot_emulator):
    hubspot_emulator.set_rate_limit(100, daily=1000)
    import_id = hubspot_emulator.add_import(lifecycle=[("DONE",)])
    url = f"{hubspot_emulator.base_url}/crm/imports/2026-03/{import_id}"
    static = requests.get(url, headers={"Authorization": f"Bearer {hubspot_emulator.token}"}, timeout=5)
    assert static.headers["X-HubSpot-RateLimit-Daily"] == "1000"
    assert static.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "999"
    hubspot_emulator.add_oauth_app("app-2", "secret-2", "refresh-2")
    token = requests.post(
        f"{hubspot_emulator.base_url}/oauth/v1/token",
        data={
            "grant_type": "refresh_token",
            "client_id": "app-2",
            "client_secret": "secret-2",
            "refresh_token": "refresh-2",
        },
        timeout=5,
    ).json()["access_token"]
    oauth = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert oauth.headers["X-HubSpot-RateLimit-Remaining"] == "98"
    assert "X-HubSpot-RateLimit-Daily" not in oauth.headers


def test_canceling_a_finished_import_answers_a_documented_action_status(hubspot_emulator):
    import_id = hubspot_emulator.add_import(lifecycle=[("DONE",)])
    answer = requests.post(
        f"{hubspot_emulator.base_url}/crm/imports/2026-03/{import_id}/cancel",
        headers={"Authorization": f"Bearer {hubspot_emulator.token}"},
        timeout=5,
    )
    assert answer.status_code == 200 and answer.json()["status"] == "CANCELED"
    assert hubspot_emulator.record(import_id)["state"] == "DONE"


# ---- the rate budget, as pure logic -------------------------------------------------------------


def test_rate_budget_reads_every_header_and_tolerates_missing_or_broken_ones():
    budget = RateBudget.from_headers(
        {
            "x-hubspot-ratelimit-max": "190",
            "X-HubSpot-RateLimit-Remaining": "12",
            "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
            "X-HubSpot-RateLimit-Daily": "625000",
            "X-HubSpot-RateLimit-Daily-Remaining": "oops",
        }
    )
    assert budget == RateBudget(
        max=190, remaining=12, window_seconds=10.0, daily=625000, daily_remaining=None
    )
    assert RateBudget.from_headers({"Content-Type": "application/json"}) is None


def test_rate_budget_tracker_logs_once_per_low_spell_and_pauses_only_when_spent():
    now = [100.0]
    tracker = RateBudgetTracker(clock=lambda: now[0])
    window = {"X-HubSpot-RateLimit-Max": "100", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}
    assert tracker.observe({**window, "X-HubSpot-RateLimit-Remaining": "50"}) is None
    assert tracker.pause() == 0
    assert "9 of 100 requests left" in tracker.observe({**window, "X-HubSpot-RateLimit-Remaining": "9"})
    assert tracker.observe({**window, "X-HubSpot-RateLimit-Remaining": "3"}) is None  # same spell
    tracker.observe({**window, "X-HubSpot-RateLimit-Remaining": "0"})
    now[0] += 4
    assert tracker.pause() == pytest.approx(6.0)
    now[0] += 7
    assert tracker.pause() == 0
    assert tracker.observe({**window, "X-HubSpot-RateLimit-Remaining": "80"}) is None
    daily = {"X-HubSpot-RateLimit-Daily": "250000", "X-HubSpot-RateLimit-Daily-Remaining": "1000"}
    assert "1000 of 250000 left today" in tracker.observe(daily)


def test_low_budget_logging_goes_through_the_hooks_log_once(hubspot_connection, logged):
    hubspot_connection.set_rate_limit(10, window_seconds=30.0)
    import_id = hubspot_connection.add_import(lifecycle=[("DONE",)])
    hook = HubSpotHook()
    for _ in range(10):
        hook.get_import(import_id)
    said = logged()
    assert said.count("running low") == 1
    assert "1 of 10 requests left in the 30 s window; 999991 of 1000000 left today" in said
