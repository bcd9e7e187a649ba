"""HubSpotHook against the emulator: real HTTP on loopback, real retries."""

from __future__ import annotations

import json
import re
import time

import pytest

from airflow_provider_hubspot_imports.errors import (
    HubSpotAuthError,
    HubSpotBadResponseError,
    HubSpotConnectionError,
    HubSpotInputError,
    HubSpotNotFoundError,
    HubSpotPermissionError,
    HubSpotRateLimitError,
    HubSpotServerError,
)
from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook
from airflow_provider_hubspot_imports.testing import HubSpotEmulator


@pytest.fixture
def hook(hubspot_connection: HubSpotEmulator) -> HubSpotHook:
    return HubSpotHook()


def use_connection(monkeypatch, conn_id: str, **conn) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "hubspot", **conn}))


def test_get_import_returns_the_served_record(hook, hubspot_connection):
    import_id = hubspot_connection.add_import(lifecycle=[("DONE",)], anything={"kept": True})
    record = hook.get_import(import_id)
    served = hubspot_connection.requests(import_id)[0]
    assert record.raw == served.response_json()
    assert record.raw["anything"] == {"kept": True}
    assert served.path == f"/crm/imports/2026-03/{import_id}"
    assert served.user_agent.startswith("airflow-provider-hubspot-imports/")


def test_legacy_v3_paths(monkeypatch, hubspot_emulator):
    use_connection(
        monkeypatch,
        "legacy",
        host=hubspot_emulator.base_url,
        password=hubspot_emulator.token,
        extra={"api_version": "v3"},
    )
    import_id = hubspot_emulator.add_import(lifecycle=[("DONE",)])
    assert HubSpotHook("legacy").get_import(str(import_id)).state == "DONE"
    assert hubspot_emulator.requests(import_id)[0].path == f"/crm/v3/imports/{import_id}"


def test_connection_is_read_once_and_one_session_serves_every_call(hook, hubspot_connection, monkeypatch):
    lookups = []
    original = HubSpotHook.get_connection

    def counting(conn_id):
        lookups.append(conn_id)
        return original(conn_id)

    monkeypatch.setattr(HubSpotHook, "get_connection", staticmethod(counting))
    import_id = hubspot_connection.add_import(lifecycle=[("PROCESSING", 3), ("DONE",)])
    session = hook.get_conn()
    states = [hook.get_import(import_id).state.value for _ in range(4)]
    assert states == ["PROCESSING", "PROCESSING", "PROCESSING", "DONE"]
    assert lookups == ["hubspot_default"]
    assert hook.get_conn() is session


def test_transient_faults_are_retried_within_one_call(hook, hubspot_connection):
    import_id = hubspot_connection.add_import(
        lifecycle=[("DONE",)],
        faults=[
            {"status": 503, "body": "<html>Service Unavailable</html>"},
            {"status": 502, "json": {"status": "error", "message": "Bad gateway"}},
            {
                "status": 429,
                "json": {"status": "error", "policyName": "TEN_SECONDLY_ROLLING"},
                "headers": {"Retry-After": "0"},
            },
            {"status": 500, "json": {"status": "error", "message": "internal"}},
            {
                "status": 200,
                "body": '{"id": "1", "state": "DO',
                "headers": {"Content-Type": "application/json"},
            },
        ],
    )
    assert hook.get_import(import_id).state == "DONE"  # five faults in a row, absorbed by one call
    statuses = [entry.status for entry in hubspot_connection.requests(import_id)]
    assert statuses == [503, 502, 429, 500, 200, 200]


def test_a_dropped_connection_is_retried(hook, hubspot_connection):
    import_id = hubspot_connection.add_import(lifecycle=[("DONE",)], faults=[{"drop": True}])
    assert hook.get_import(import_id).state == "DONE"
    assert [entry.status for entry in hubspot_connection.requests(import_id)] == [0, 200]


@pytest.mark.parametrize(
    ("fault", "error_type", "fragment"),
    [
        (
            {"status": 404, "json": {"message": "gone", "category": "OBJECT_NOT_FOUND"}},
            HubSpotNotFoundError,
            "404",
        ),
        (
            {
                "status": 403,
                "json": {
                    "message": "scopes",
                    "category": "MISSING_SCOPES",
                    "context": {"requiredScopes": ["crm.import"]},
                },
            },
            HubSpotPermissionError,
            "crm.import",
        ),
        ({"status": 400, "json": {"message": "bad", "category": "VALIDATION_ERROR"}}, Exception, "HTTP 400"),
        (
            {"status": 429, "json": {"status": "error", "policyName": "DAILY", "message": "daily"}},
            HubSpotRateLimitError,
            "DAILY API limit is spent",
        ),
    ],
)
def test_permanent_answers_raise_after_exactly_one_request(
    hook, hubspot_connection, fault, error_type, fragment
):
    import_id = hubspot_connection.add_import(lifecycle=[("DONE",)], faults=[fault])
    started = time.monotonic()
    with pytest.raises(error_type, match=fragment):
        hook.get_import(import_id)
    assert len(hubspot_connection.requests(import_id)) == 1
    assert time.monotonic() - started < 5  # not waited out (generous: this is no speed test)


def test_wrong_token_error_names_the_fix_never_the_token(monkeypatch, hubspot_emulator):
    wrong = "pat-na1-00000000-wrong-token-0000"
    use_connection(monkeypatch, "wrong", host=hubspot_emulator.base_url, password=wrong)
    with pytest.raises(HubSpotAuthError) as caught:
        HubSpotHook("wrong").get_import(5)
    assert "HTTP 401 INVALID_AUTHENTICATION" in str(caught.value)
    assert wrong not in str(caught.value) and wrong not in repr(caught.value)


def test_retries_are_bounded_then_the_last_error_is_raised(hubspot_connection):
    import_id = hubspot_connection.add_import(lifecycle=[("DONE",)], faults=[{"status": 503}] * 10)
    hook = HubSpotHook(max_retries=2)
    with pytest.raises(HubSpotServerError, match="HTTP 503"):
        hook.get_import(import_id)
    assert len(hubspot_connection.requests(import_id)) == 3


def test_a_hanging_server_is_cut_off_by_timeout(hubspot_connection):
    import_id = hubspot_connection.add_import(lifecycle=[("DONE",)], faults=[{"delay": 3, "status": 200}] * 3)
    hook = HubSpotHook(timeout=0.3, max_retries=1)
    with pytest.raises(HubSpotConnectionError, match=r"no answer .* within 0\.3 s"):
        hook.get_import(import_id)
    assert len(hubspot_connection.requests(import_id)) <= 2


def test_bad_answers_are_retried_a_bounded_number_of_times(hubspot_connection):
    bad = {"status": 200, "json": {"id": "1"}}
    import_id = hubspot_connection.add_import(lifecycle=[("DONE",)], faults=[bad] * 5)
    with pytest.raises(HubSpotBadResponseError, match="lacks required field"):
        HubSpotHook(max_retries=1).get_import(import_id)
    assert len(hubspot_connection.requests(import_id)) == 2


@pytest.mark.parametrize(
    "bad_id",
    [
        "",
        " ",
        "abc",
        "-1",
        "0",
        "1.5",
        True,
        None,
        2**63,
        "1/2",
        "..",
        "%2e",
        "1 2",
        "{{ params.import_id }}",
    ],
)
def test_bad_import_ids_send_no_request(hook, hubspot_connection, bad_id):
    with pytest.raises(HubSpotInputError):
        hook.get_import(bad_id)
    assert hubspot_connection.requests() == []


def test_unreachable_host_is_a_connection_error(monkeypatch):
    use_connection(
        monkeypatch,
        "nowhere",
        host="http://127.0.0.1:9",
        password="pat-na1-x",
        extra={"max_retries": 1, "retry_backoff_seconds": 0.01},
    )
    with pytest.raises(
        HubSpotConnectionError,
        match=re.escape("could not connect to http://127.0.0.1:9, so nothing was sent"),
    ):
        HubSpotHook("nowhere").get_import(1)


def test_bad_connection_settings_fail_before_any_request(monkeypatch, hubspot_emulator):
    use_connection(monkeypatch, "plain", host="http://api.hubapi.com", password="pat-na1-x")
    with pytest.raises(HubSpotInputError, match="unencrypted"):
        HubSpotHook("plain").get_import(1)
    with pytest.raises(ValueError, match="timeout"):
        HubSpotHook(timeout=0)
    assert hubspot_emulator.requests() == []


def test_hook_repr_has_no_secret(hook, hubspot_connection):
    hook.get_import(hubspot_connection.add_import(lifecycle=[("DONE",)]))
    assert hubspot_connection.token not in repr(hook) and hubspot_connection.token not in repr(hook.settings)


def test_test_connection_reports_success_and_failure_without_the_token(monkeypatch, hook, hubspot_emulator):
    ok, message = hook.test_connection()
    assert ok and "crm.import" in message
    use_connection(monkeypatch, "wrong", host=hubspot_emulator.base_url, password="pat-na1-bad-bad-bad")
    ok, message = HubSpotHook("wrong").test_connection()
    assert not ok and "HTTP 401" in message and "pat-na1-bad-bad-bad" not in message


def test_token_is_registered_with_airflows_secrets_masker(monkeypatch):
    secret = "pat-na1-9999-masked-right-away"
    use_connection(monkeypatch, "masked", host="https://api.hubapi.com", password=secret)
    try:
        from airflow.sdk._shared.secrets_masker import redact
    except ImportError:  # Airflow 2.11
        from airflow.utils.log.secrets_masker import redact  # type: ignore[no-redef]
    assert HubSpotHook("masked").settings.conn_id == "masked"  # reading the connection registers the token
    assert redact(f"token={secret}") == "token=***"
