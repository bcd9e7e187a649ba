"""Every way to store a `hubspot` connection reaches the emulator with the right token and paths."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook
from airflow_provider_hubspot_imports.testing import HubSpotEmulator


def run_python(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def airflow(*args: str) -> subprocess.CompletedProcess[str]:
    return run_python("-m", "airflow", *args)


def fresh_conn_id() -> str:
    return f"hubspot_{uuid.uuid4().hex[:8]}"


def served_paths(emulator: HubSpotEmulator, import_id: int) -> list[tuple[str, int, bool]]:
    return [(entry.path, entry.status, entry.authorized) for entry in emulator.requests(import_id)]


def test_env_json(hubspot_emulator: HubSpotEmulator, monkeypatch: pytest.MonkeyPatch):
    import_id = hubspot_emulator.add_import(lifecycle=[("DONE",)])
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_JSON", hubspot_emulator.connection_json(api_version="v3"))

    assert HubSpotHook("hubspot_json").get_import(import_id).state.value == "DONE"
    assert served_paths(hubspot_emulator, import_id) == [(f"/crm/v3/imports/{import_id}", 200, True)]


def test_env_uri_with_url_encoded_host(hubspot_emulator: HubSpotEmulator, monkeypatch: pytest.MonkeyPatch):
    import_id = hubspot_emulator.add_import(lifecycle=[("DONE",)])
    host = quote(hubspot_emulator.base_url, safe="")
    assert host == f"http%3A%2F%2F127.0.0.1%3A{hubspot_emulator.port}"
    uri = f"hubspot://:{hubspot_emulator.token}@{host}/?api_version=v3"
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_URI", uri)

    assert HubSpotHook("hubspot_uri").get_import(import_id).state.value == "DONE"
    assert served_paths(hubspot_emulator, import_id) == [(f"/crm/v3/imports/{import_id}", 200, True)]


def test_env_uri_for_oauth(hubspot_emulator: HubSpotEmulator, monkeypatch: pytest.MonkeyPatch):
    extras = hubspot_emulator.add_oauth_app(client_secret="s/cr+t=", refresh_token="r-1&2")
    import_id = hubspot_emulator.add_import(lifecycle=[("DONE",)])
    query = "&".join(f"{key}={quote(value, safe='')}" for key, value in extras.items())
    host = quote(hubspot_emulator.base_url, safe="")
    monkeypatch.setenv(
        "AIRFLOW_CONN_HUBSPOT_URI_OAUTH", f"hubspot://{host}/?{query}&token_path=%2Foauth%2Fv3%2Ftoken"
    )

    assert HubSpotHook("hubspot_uri_oauth").get_import(import_id).state.value == "DONE"
    assert [entry.path for entry in hubspot_emulator.requests()] == [
        "/oauth/v3/token",
        f"/crm/imports/2026-03/{import_id}",
    ]


@pytest.mark.parametrize("form", ["flags", "conn-json"])
def test_airflow_connections_add(
    form: str, airflow_db, hubspot_emulator: HubSpotEmulator, monkeypatch: pytest.MonkeyPatch
):
    conn_id = fresh_conn_id()
    import_id = hubspot_emulator.add_import(lifecycle=[("DONE",)])
    if form == "flags":
        airflow(
            "connections",
            "add",
            conn_id,
            "--conn-type",
            "hubspot",
            "--conn-host",
            hubspot_emulator.base_url,
            "--conn-password",
            hubspot_emulator.token,
            "--conn-extra",
            json.dumps({"api_version": "v3", "timeout": 10}),
        )
        expected_path = f"/crm/v3/imports/{import_id}"
    else:
        airflow("connections", "add", conn_id, "--conn-json", hubspot_emulator.connection_json(timeout=10))
        expected_path = f"/crm/imports/2026-03/{import_id}"

    # Airflow 3 reads the metadata database only in "server" processes (the CLI marks itself so).
    monkeypatch.setenv("_AIRFLOW_PROCESS_CONTEXT", "server")
    hook = HubSpotHook(conn_id)  # reads the connection from the metadata database
    assert hook.get_import(import_id).state.value == "DONE"
    assert hook.settings.timeout == 10
    assert served_paths(hubspot_emulator, import_id) == [(expected_path, 200, True)]


READ_IMPORT = """
import sys
from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook
print("STATE", HubSpotHook(sys.argv[1]).get_import(int(sys.argv[2])).state.value)
"""


def test_secrets_backend_local_filesystem(tmp_path: Path, hubspot_emulator: HubSpotEmulator):
    conn_id = fresh_conn_id()
    import_id = hubspot_emulator.add_import(lifecycle=[("DONE",)])
    extras = hubspot_emulator.add_oauth_app(lifetime=60)
    connections = tmp_path / "connections.json"
    connections.write_text(
        json.dumps({conn_id: {"conn_type": "hubspot", "host": hubspot_emulator.base_url, "extra": extras}})
    )

    result = run_python(
        "-c",
        READ_IMPORT,
        conn_id,
        str(import_id),
        env={
            "AIRFLOW__SECRETS__BACKEND": "airflow.secrets.local_filesystem.LocalFilesystemBackend",
            "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps({"connections_file_path": str(connections)}),
        },
    )

    assert "STATE DONE" in result.stdout
    assert [entry.path for entry in hubspot_emulator.requests()] == [
        "/oauth/v1/token",
        f"/crm/imports/2026-03/{import_id}",
    ]
    for secret in (extras["client_secret"], extras["refresh_token"]):
        assert secret not in result.stdout + result.stderr


def test_connection_survives_airflows_own_uri_round_trip(hubspot_emulator, monkeypatch: pytest.MonkeyPatch):
    """Airflow 3's UI Test button hands the hook the connection as `Connection.get_uri()`."""
    try:
        from airflow.sdk import Connection
    except ImportError:  # Airflow 2.11
        from airflow.models import Connection  # type: ignore[no-redef,assignment]
    extras = hubspot_emulator.add_oauth_app(client_secret="a/b+c=d", refresh_token="r&t=1")
    conn = Connection(
        conn_id="hubspot_round_trip",
        conn_type="hubspot",
        host=hubspot_emulator.base_url,
        extra=json.dumps({**extras, "api_version": "v3"}),
    )
    import_id = hubspot_emulator.add_import(lifecycle=[("DONE",)])
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_ROUND_TRIP", conn.get_uri())

    hook = HubSpotHook("hubspot_round_trip")
    assert hook.get_import(import_id).state.value == "DONE"
    assert hook.settings.base_url == hubspot_emulator.base_url
    assert [entry.path for entry in hubspot_emulator.requests()] == [
        "/oauth/v1/token",
        f"/crm/v3/imports/{import_id}",
    ]
