"""Credentials rotated while a hook is in use (one hook serves a whole wait in the start-and-wait
operator): a refusal makes the hook read its connection once more and go on with the new
credentials; nothing made from the old ones (an OAuth access token) is sent again."""

from __future__ import annotations

import json

import pytest

from airflow_provider_hubspot_imports.core.oauth import credentials_key
from airflow_provider_hubspot_imports.core.settings import settings_from_connection_fields
from airflow_provider_hubspot_imports.errors import HubSpotAuthError
from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook

NEW_TOKEN = "pat-na1-rotated-token-0002"


def use_connection(monkeypatch, conn_id: str, **conn) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "hubspot", **conn}))


def test_a_rotated_static_token_is_picked_up_after_one_refusal(monkeypatch, hubspot_emulator, logged):
    old_token = hubspot_emulator.token
    use_connection(monkeypatch, "rotating", host=hubspot_emulator.base_url, password=old_token)
    import_id = hubspot_emulator.add_import(lifecycle=[("PROCESSING", 1), ("DONE",)])
    hook = HubSpotHook("rotating")
    assert hook.get_import(import_id).state.value == "PROCESSING"

    # The platform team rotates the token: HubSpot refuses the old one, the connection holds the new one.
    hubspot_emulator.model.tokens[NEW_TOKEN] = hubspot_emulator.model.tokens.pop(old_token)
    use_connection(monkeypatch, "rotating", host=hubspot_emulator.base_url, password=NEW_TOKEN)

    assert hook.get_import(import_id).state.value == "DONE"
    assert [entry.status for entry in hubspot_emulator.requests(import_id)] == [200, 401, 200]
    said = logged()
    assert "holds new ones since it was read" in said
    assert old_token not in said and NEW_TOKEN not in said


def test_a_fixed_oauth_client_secret_is_used_and_the_old_token_dropped(monkeypatch, hubspot_emulator):
    extras = hubspot_emulator.add_oauth_app("app", "wrong-secret-0001", "refresh-0001")
    use_connection(monkeypatch, "oauth_rotating", host=hubspot_emulator.base_url, extra=extras)
    import_id = hubspot_emulator.add_import(lifecycle=[("DONE",)])
    hook = HubSpotHook("oauth_rotating")
    hook.get_import(import_id)
    old_access = hook.tokens.current()

    # The app's secret is rotated; every access token made with the old one is revoked.
    hubspot_emulator.add_oauth_app("app", "right-secret-0002", "refresh-0001")
    hubspot_emulator.model.tokens.pop(old_access)
    use_connection(
        monkeypatch,
        "oauth_rotating",
        host=hubspot_emulator.base_url,
        extra={**extras, "client_secret": "right-secret-0002"},
    )

    assert hook.get_import(import_id).state.value == "DONE"
    assert hook.settings.oauth.client_secret == "right-secret-0002"
    assert hook.tokens.current() not in (None, old_access)
    assert hubspot_emulator.token_grants == 2


def test_unchanged_credentials_are_refused_as_before(monkeypatch, hubspot_emulator):
    use_connection(monkeypatch, "revoked", host=hubspot_emulator.base_url, password=hubspot_emulator.token)
    import_id = hubspot_emulator.add_import(lifecycle=[("DONE",)])
    hook = HubSpotHook("revoked")
    hook.get_import(import_id)
    hubspot_emulator.model.tokens.clear()
    with pytest.raises(HubSpotAuthError, match="HTTP 401"):
        hook.get_import(import_id)
    assert [entry.status for entry in hubspot_emulator.requests(import_id)] == [200, 401]  # sent once


def test_the_credentials_key_covers_every_credential_and_holds_none():
    def key(password=None, **extras):
        return credentials_key(
            settings_from_connection_fields(
                conn_id="k", host=None, port=None, password=password, extras=extras
            )
        )

    oauth = {"client_id": "id-1", "client_secret": "secret-1", "refresh_token": "refresh-1"}
    keys = {
        key(password="pat-na1-aaaa"),
        key(password="pat-na1-bbbb"),
        key(**oauth),
        key(**{**oauth, "client_secret": "secret-2"}),
        key(**{**oauth, "refresh_token": "refresh-2"}),
        key(**{**oauth, "client_id": "id-2"}),
        key(**{**oauth, "token_path": "/oauth/v3/token"}),
    }
    assert len(keys) == 7
    assert key(**oauth) == key(**oauth) and key(**oauth, timeout=5) == key(**oauth)
    assert not any("secret-1" in value or "refresh-1" in value for value in keys)


def test_a_hook_on_given_settings_never_looks_the_connection_up_again(monkeypatch, hubspot_emulator):
    """`from_settings` serves `on_kill`, which must not wait on a connection lookup."""
    use_connection(monkeypatch, "given", host=hubspot_emulator.base_url, password=hubspot_emulator.token)
    settings = HubSpotHook("given").settings
    import_id = hubspot_emulator.add_import(lifecycle=[("DONE",)])
    hubspot_emulator.model.tokens.clear()

    def no_lookup(conn_id):
        raise AssertionError("looked the connection up")

    monkeypatch.setattr(HubSpotHook, "get_connection", staticmethod(no_lookup))
    with pytest.raises(HubSpotAuthError, match="HTTP 401"):
        HubSpotHook.from_settings(settings).get_import(import_id)
