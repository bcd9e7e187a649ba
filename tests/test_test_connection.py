"""`HubSpotHook.test_connection()`: one cheap call; on failure HubSpot's reason, never a secret or a raise."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from typing import Any

import pytest
from loopback_servers import LoopbackServer, Received, json_answer

from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook
from airflow_provider_hubspot_imports.testing import HubSpotEmulator

FAST = {"retry_backoff_seconds": 0.05}


def use(monkeypatch: pytest.MonkeyPatch, conn: dict) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", json.dumps({"conn_type": "hubspot", **conn}))


def test_good_token_passes_with_one_list_call(hubspot_emulator: HubSpotEmulator, monkeypatch):
    use(monkeypatch, {"host": hubspot_emulator.base_url, "password": hubspot_emulator.token})

    ok, message = HubSpotHook().test_connection()

    assert ok is True
    assert message == (
        f"Connected to {hubspot_emulator.base_url} with its access token: it may read imports (crm.import)."
    )
    [call] = hubspot_emulator.requests()
    assert (call.method, call.path, call.query, call.status) == (
        "GET",
        "/crm/imports/2026-03",
        {"limit": ["1"]},
        200,
    )


def test_wrong_token_fails_with_hubspots_reason_and_no_secret(hubspot_emulator, monkeypatch):
    use(monkeypatch, {"host": hubspot_emulator.base_url, "password": "pat-na1-wrong-token"})

    ok, message = HubSpotHook().test_connection()

    assert ok is False
    assert "HTTP 401 INVALID_AUTHENTICATION: Authentication credentials not found." in message
    assert "HubSpot did not accept the access token of connection 'hubspot_default'" in message
    assert "pat-na1-wrong-token" not in message
    assert len(hubspot_emulator.requests()) == 1  # a 401 is not retried


def test_expired_token_fails_saying_so(hubspot_emulator, monkeypatch):
    hubspot_emulator.model.tokens["pat-na1-old"] = frozenset({"crm.import"})
    hubspot_emulator.expire_access_tokens("pat-na1-old")
    use(monkeypatch, {"host": hubspot_emulator.base_url, "password": "pat-na1-old"})

    ok, message = HubSpotHook().test_connection()

    assert ok is False
    assert "HTTP 401 EXPIRED_AUTHENTICATION: The OAuth token used to make this call expired" in message
    assert "pat-na1-old" not in message


def test_token_without_the_import_scope_fails_naming_the_scope(monkeypatch):
    with HubSpotEmulator(tokens={"pat-na1-contacts-only": ["crm.objects.contacts.read"]}) as hubspot:
        use(monkeypatch, {"host": hubspot.base_url, "password": "pat-na1-contacts-only"})
        ok, message = HubSpotHook().test_connection()

    assert ok is False
    assert "HTTP 403 MISSING_SCOPES: This app hasn't been granted all required scopes" in message
    assert "lacks the scope(s) crm.import" in message
    assert "pat-na1-contacts-only" not in message


def test_unreachable_host_fails_quickly_naming_the_host(monkeypatch):
    # A port bound but never listened on refuses connections, and stays ours for the whole test:
    # a port closed again could be taken by another process before the hook connects.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        use(monkeypatch, {"host": f"http://127.0.0.1:{port}", "password": "pat-na1-secret-x", "extra": FAST})

        ok, message = HubSpotHook().test_connection()

    assert ok is False
    assert f"GET active imports: could not connect to http://127.0.0.1:{port}, so nothing was sent" in message
    assert "pat-na1-secret-x" not in message


def _answers(*answers: bytes) -> Any:
    """A loopback server's answer: `answers` in order, then an empty list of imports for good."""
    served = iter(answers)

    def answer(request: Received, sock: socket.socket) -> None:
        sock.sendall(next(served, json_answer(200, b'{"results": []}')))

    return answer


PATIENT = {
    "max_retries": 10,
    "retry_max_seconds": 600,
    "retry_backoff_seconds": 0.01,
}  # the Test button's bound rules


def test_the_test_button_retries_at_most_twice(monkeypatch):
    """docs/connections.md: "at most twice within 20 s", whatever the connection allows its tasks."""
    unavailable = json_answer(503, b'{"status": "error", "message": "try again", "category": "UNAVAILABLE"}')
    with LoopbackServer(_answers(unavailable, unavailable, unavailable)) as server:
        use(monkeypatch, {"host": server.url, "password": "pat-na1-secret-x", "extra": PATIENT})
        ok, message = HubSpotHook().test_connection()

    assert ok is False, "a fourth attempt was made: more than two retries"
    assert "HTTP 503" in message
    assert len(server.received) == 3  # the first attempt and two retries


def test_the_test_button_gives_up_rather_than_wait_past_20_seconds(monkeypatch):
    """A rate limit asking for 25 s is more than the Test button's 20 s: it answers at once."""
    limited = json_answer(
        429,
        b'{"status": "error", "message": "ten secondly rolling limit", "category": "RATE_LIMITS"}',
        {"Retry-After": "25"},
    )
    with LoopbackServer(_answers(limited)) as server:
        use(monkeypatch, {"host": server.url, "password": "pat-na1-secret-x", "extra": PATIENT})
        ok, message = HubSpotHook().test_connection()

    assert ok is False, "it waited the 25 s out and tried again"
    assert "HTTP 429" in message
    assert len(server.received) == 1


@pytest.mark.parametrize(
    ("conn", "expected"),
    [
        ({"host": "http://api.hubapi.com", "password": "pat-1"}, "uses plain http:// to api.hubapi.com"),
        ({"host": "https://api.hubapi.com"}, "has no access token"),
        ({"password": "pat-1", "extra": {"api_version": "2025-01"}}, "Extra 'api_version'"),
        (
            {"password": "pat-1", "extra": {"timeout": "soon"}},
            "Extra 'timeout' of connection 'hubspot_default'",
        ),
        (
            {"extra": {"client_id": "abc", "client_secret": "s3cr3t-value"}},
            "lacks the extra(s) refresh_token",
        ),
    ],
)
def test_bad_settings_fail_before_any_request(conn, expected, monkeypatch, hubspot_emulator):
    use(monkeypatch, conn)

    ok, message = HubSpotHook().test_connection()

    assert ok is False
    assert expected in message
    assert "s3cr3t-value" not in message
    assert hubspot_emulator.requests() == []


def test_missing_connection_fails_without_raising(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_HUBSPOT_NOWHERE", raising=False)
    ok, message = HubSpotHook("hubspot_nowhere").test_connection()
    assert ok is False
    assert "hubspot_nowhere" in message


def test_unexpected_errors_are_reported_not_raised(hubspot_emulator, monkeypatch):
    use(monkeypatch, {"host": hubspot_emulator.base_url, "password": hubspot_emulator.token})
    hook = HubSpotHook()

    def explode(*args, **kwargs):
        raise RuntimeError(f"boom with {hubspot_emulator.token}")

    monkeypatch.setattr(hook.session, "request", explode)
    ok, message = hook.test_connection()

    assert ok is False
    assert message == "RuntimeError: boom with ***"


# ---- `airflow connections test` in a subprocess ----------------------------------------------


def airflow_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "airflow", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.mark.parametrize("good", [True, False], ids=["good-token", "bad-token"])
def test_airflow_connections_test_cli(good: bool, airflow_db, hubspot_emulator: HubSpotEmulator):
    token = hubspot_emulator.token if good else "pat-na1-not-a-real-token-123"
    conn = {"conn_type": "hubspot", "host": hubspot_emulator.base_url, "password": token}

    result = airflow_cli(
        "connections",
        "test",
        "hubspot_default",
        env={"AIRFLOW__CORE__TEST_CONNECTION": "Enabled", "AIRFLOW_CONN_HUBSPOT_DEFAULT": json.dumps(conn)},
    )

    output = result.stdout + result.stderr
    if good:
        assert "Connection success!" in output, output
    else:
        assert "Connection failed!" in output, output
        assert "HTTP 401 INVALID_AUTHENTICATION" in output
        assert token not in output
    assert [entry.status for entry in hubspot_emulator.requests()] == [200 if good else 401]


def test_port_zero_from_the_ui_means_no_port(hubspot_emulator, monkeypatch):
    """Airflow 3's UI sends 0 for an empty port field."""
    use(monkeypatch, {"host": hubspot_emulator.base_url, "port": 0, "password": hubspot_emulator.token})
    hook = HubSpotHook()
    assert hook.test_connection()[0] is True
    assert hook.settings.base_url == hubspot_emulator.base_url
