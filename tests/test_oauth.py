"""OAuth 2.0 refresh tokens: the pure core with a fake clock, then the hook against the emulator."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs

import pytest

from airflow_provider_hubspot_imports.core.oauth import AccessTokens, parse_token_response, refresh_request
from airflow_provider_hubspot_imports.core.settings import settings_from_connection_fields
from airflow_provider_hubspot_imports.errors import HubSpotAuthError, HubSpotRateLimitError
from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook
from airflow_provider_hubspot_imports.testing import HubSpotEmulator

SECRET = "client-secret-value"
REFRESH = "refresh-token-value"
OAUTH = {"client_id": "client-id-value", "client_secret": SECRET, "refresh_token": REFRESH}


def oauth_settings(**extras: object):
    return settings_from_connection_fields(
        conn_id="hubspot_oauth", host=None, port=None, password=None, extras={**OAUTH, **extras}
    )


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def token_answer(token: str = "access-1", expires_in: float = 1800, **more: object) -> bytes:
    return json.dumps(
        {"access_token": token, "expires_in": expires_in, "token_type": "bearer", **more}
    ).encode()


# ---- the pure core ---------------------------------------------------------------------------


def test_refresh_request_is_a_form_post_without_bearer_and_hides_secrets_from_repr():
    request = refresh_request(oauth_settings())

    assert request.method == "POST"
    assert request.url == "https://api.hubapi.com/oauth/v1/token"
    assert request.bearer is False
    assert dict(request.form_body or ()) == {"grant_type": "refresh_token", **OAUTH}
    assert SECRET not in repr(request) and REFRESH not in repr(request)
    assert SECRET not in repr(oauth_settings()) and REFRESH not in repr(oauth_settings())


def test_token_path_v3_is_accepted_and_used():
    request = refresh_request(oauth_settings(token_path="/oauth/v3/token"))
    assert request.url == "https://api.hubapi.com/oauth/v3/token"


def test_cache_serves_the_token_until_the_safety_margin_then_asks_for_a_new_one():
    clock = FakeClock()
    tokens = AccessTokens(oauth_settings(), clock=clock)
    assert tokens.current() is None  # nothing fetched yet

    request = tokens.refresh_request()
    fetched = tokens.accept(request, 200, {}, token_answer("access-1", 1800))

    assert fetched.access_token == "access-1"
    assert tokens.current() == "access-1"
    clock.now += 1800 - 61
    assert tokens.current() == "access-1"
    clock.now += 2  # within 60 s of HubSpot's expiry: refresh before it
    assert tokens.current() is None


def test_short_lived_tokens_keep_a_proportional_margin():
    clock = FakeClock()
    tokens = AccessTokens(oauth_settings(), clock=clock)
    tokens.accept(tokens.refresh_request(), 200, {}, token_answer("short", 2))
    clock.now += 1.7
    assert tokens.current() == "short"
    clock.now += 0.2
    assert tokens.current() is None


def test_a_rotated_refresh_token_is_used_for_the_next_grant_and_redacted():
    tokens = AccessTokens(oauth_settings(), clock=FakeClock())
    tokens.accept(tokens.refresh_request(), 200, {}, token_answer("a-1", refresh_token="rotated-refresh"))

    assert dict(tokens.refresh_request().form_body or ())["refresh_token"] == "rotated-refresh"
    assert {"rotated-refresh", "a-1", SECRET, REFRESH} <= set(tokens.secrets)


def test_invalidate_forgets_only_the_token_that_failed():
    tokens = AccessTokens(oauth_settings(), clock=FakeClock())
    tokens.accept(tokens.refresh_request(), 200, {}, token_answer("a-2"))
    assert tokens.invalidate("some-older-token") is True
    assert tokens.current() == "a-2"
    assert tokens.invalidate("a-2") is True
    assert tokens.current() is None


def test_static_token_needs_no_grant_and_cannot_be_refreshed():
    settings = settings_from_connection_fields(
        conn_id="c", host=None, port=None, password="pat-na1-static", extras={}
    )
    tokens = AccessTokens(settings)
    assert tokens.current() == "pat-na1-static"
    assert tokens.invalidate("pat-na1-static") is False


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            400,
            {"status": "BAD_REFRESH_TOKEN", "message": "missing or unknown refresh token"},
            "BAD_REFRESH_TOKEN",
        ),
        (400, {"status": "BAD_CLIENT_SECRET", "message": f"bad secret {SECRET}"}, "BAD_CLIENT_SECRET"),
    ],
)
def test_refused_credentials_are_an_auth_error_naming_the_fix_without_secrets(status, body, expected):
    request = refresh_request(oauth_settings())
    with pytest.raises(HubSpotAuthError) as caught:
        parse_token_response(request, status, {}, json.dumps(body).encode(), oauth_settings().secrets, "c")
    message = str(caught.value)
    assert f"HTTP {status} {expected}" in message
    assert "client_id and client_secret" in message
    assert SECRET not in message and REFRESH not in message


def test_a_429_from_the_token_endpoint_is_a_retryable_rate_limit():
    request = refresh_request(oauth_settings())
    body = json.dumps({"status": "error", "message": "slow down", "policyName": "SECONDLY"}).encode()
    with pytest.raises(HubSpotRateLimitError) as caught:
        parse_token_response(request, 429, {"Retry-After": "1"}, body, (), "c")
    assert caught.value.retryable
    assert caught.value.retry_after == 1.0


@pytest.mark.parametrize(
    ("extras", "password", "names"),
    [
        ({"client_id": "x"}, None, "client_secret, refresh_token"),
        ({"client_id": "x", "client_secret": "y"}, None, "refresh_token"),
        ({"refresh_token": "z", "client_secret": "y"}, None, "client_id"),
    ],
)
def test_partial_oauth_extras_are_refused_naming_what_is_missing(extras, password, names):
    with pytest.raises(ValueError, match=f"lacks the extra\\(s\\) {names}\\. OAuth needs all of"):
        settings_from_connection_fields(conn_id="c", host=None, port=None, password=password, extras=extras)


def test_token_and_oauth_together_are_refused():
    with pytest.raises(ValueError, match="both an access token \\(password\\) and OAuth extras"):
        settings_from_connection_fields(conn_id="c", host=None, port=None, password="pat-x", extras=OAUTH)


def test_neither_token_nor_oauth_is_refused_naming_both_ways():
    with pytest.raises(ValueError, match=r"has no access token.*or set the OAuth extras client_id"):
        settings_from_connection_fields(conn_id="c", host=None, port=None, password=None, extras={})


def test_unknown_token_path_is_refused():
    with pytest.raises(
        ValueError, match="Extra 'token_path' of connection 'hubspot_oauth' is '/oauth/token'"
    ):
        oauth_settings(token_path="/oauth/token")


def test_airflow2_prefixed_oauth_extras_are_read():
    prefixed = {f"extra__hubspot__{key}": value for key, value in OAUTH.items()}
    settings = settings_from_connection_fields(
        conn_id="c", host=None, port=None, password=None, extras=prefixed
    )
    assert settings.oauth is not None and settings.oauth.refresh_token == REFRESH


# ---- the hook against the emulator -----------------------------------------------------------


@pytest.fixture
def oauth_hubspot(hubspot_emulator: HubSpotEmulator, monkeypatch: pytest.MonkeyPatch) -> HubSpotEmulator:
    extras = hubspot_emulator.add_oauth_app(client_secret=SECRET, refresh_token=REFRESH, lifetime=2)
    conn = {
        "conn_type": "hubspot",
        "host": hubspot_emulator.base_url,
        "extra": {**extras, "retry_backoff_seconds": 0.05},
    }
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", json.dumps(conn))
    return hubspot_emulator


def paths(emulator: HubSpotEmulator) -> list[tuple[str, int]]:
    return [(entry.path, entry.status) for entry in emulator.requests()]


def test_hook_fetches_a_token_once_and_the_session_carries_it(oauth_hubspot: HubSpotEmulator):
    import_id = oauth_hubspot.add_import(lifecycle=[("DONE",)])
    hook = HubSpotHook()

    assert hook.get_import(import_id).state.value == "DONE"
    assert hook.get_import(import_id).state.value == "DONE"

    assert oauth_hubspot.token_grants == 1
    token = hook.tokens.current()
    assert token and token.startswith("emu-access-")
    assert hook.get_conn().headers["Authorization"] == f"Bearer {token}"
    get = f"/crm/imports/2026-03/{import_id}"
    assert paths(oauth_hubspot) == [("/oauth/v1/token", 200), (get, 200), (get, 200)]


def test_token_request_is_form_encoded_and_carries_no_bearer(oauth_hubspot: HubSpotEmulator):
    seen: list[tuple[str | None, str | None, bytes]] = []
    original = oauth_hubspot.app._oauth_token

    def spy(request):
        seen.append((request.header("Authorization"), request.header("Content-Type"), request.body))
        return original(request)

    oauth_hubspot.app._oauth_token = spy  # type: ignore[method-assign]
    hook = HubSpotHook()
    import_id = oauth_hubspot.add_import(lifecycle=[("DONE",)])
    hook.get_import(import_id)
    oauth_hubspot.expire_access_tokens()
    hook.get_import(import_id)  # the second grant is sent while the session holds a bearer token

    assert hook.session.headers["Authorization"].startswith("Bearer emu-access-")
    assert len(seen) == 2
    for authorization, content_type, body in seen:
        assert authorization is None
        assert content_type == "application/x-www-form-urlencoded"
        form = {key: values[0] for key, values in parse_qs(body.decode()).items()}
        assert form == {
            "grant_type": "refresh_token",
            "client_id": "emulator-client-id",
            "client_secret": SECRET,
            "refresh_token": REFRESH,
        }


def test_hook_refreshes_before_expiry(oauth_hubspot: HubSpotEmulator):
    import_id = oauth_hubspot.add_import(lifecycle=[("DONE",)])
    hook = HubSpotHook()
    hook.get_import(import_id)
    first = hook.tokens.current()

    time.sleep(2.0)  # the 2 s token is past its safety margin
    hook.get_import(import_id)

    assert oauth_hubspot.token_grants == 2
    assert hook.tokens.current() != first
    assert [status for _, status in paths(oauth_hubspot)] == [200, 200, 200, 200]  # no 401 at all
    assert hook.session.headers["Authorization"] == f"Bearer {hook.tokens.current()}"


def test_hook_refreshes_once_on_expired_authentication(oauth_hubspot: HubSpotEmulator):
    import_id = oauth_hubspot.add_import(lifecycle=[("DONE",)])
    hook = HubSpotHook()
    hook.get_import(import_id)
    oauth_hubspot.expire_access_tokens()  # HubSpot expires it early: the cache still trusts it

    assert hook.get_import(import_id).state.value == "DONE"

    get = f"/crm/imports/2026-03/{import_id}"
    assert paths(oauth_hubspot) == [
        ("/oauth/v1/token", 200),
        (get, 200),
        (get, 401),
        ("/oauth/v1/token", 200),
        (get, 200),
    ]


def test_a_second_expired_answer_is_not_refreshed_again(oauth_hubspot: HubSpotEmulator):
    import_id = oauth_hubspot.add_import(lifecycle=[("DONE",)])
    hook = HubSpotHook()
    hook.get_import(import_id)
    oauth_hubspot.expire_access_tokens()
    original = oauth_hubspot.app._oauth_token

    def grant_then_expire(request):
        reply = original(request)
        oauth_hubspot.expire_access_tokens()
        return reply

    oauth_hubspot.app._oauth_token = grant_then_expire  # type: ignore[method-assign]
    with pytest.raises(HubSpotAuthError, match="HTTP 401 EXPIRED_AUTHENTICATION") as caught:
        hook.get_import(import_id)
    assert "The connection uses OAuth" in str(caught.value)
    assert oauth_hubspot.token_grants == 2  # one refresh only


def test_a_429_from_the_token_endpoint_is_ridden_out(oauth_hubspot: HubSpotEmulator):
    oauth_hubspot.add_token_faults(
        [
            {
                "status": 429,
                "json": {"status": "error", "message": "too many", "policyName": "SECONDLY"},
                "headers": {"Retry-After": "0"},
            }
        ]
    )
    import_id = oauth_hubspot.add_import(lifecycle=[("DONE",)])

    assert HubSpotHook().get_import(import_id).state.value == "DONE"
    assert paths(oauth_hubspot)[:3] == [
        ("/oauth/v1/token", 429),
        ("/oauth/v1/token", 200),
        (f"/crm/imports/2026-03/{import_id}", 200),
    ]


def test_a_refused_refresh_token_fails_without_retries_or_secrets(
    hubspot_emulator: HubSpotEmulator, monkeypatch: pytest.MonkeyPatch
):
    hubspot_emulator.add_oauth_app(OAUTH["client_id"], SECRET, "the-installed-one")
    conn = {"conn_type": "hubspot", "host": hubspot_emulator.base_url, "extra": OAUTH}
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", json.dumps(conn))
    hook = HubSpotHook()

    with pytest.raises(HubSpotAuthError) as caught:
        hook.get_import(123)
    ok, message = hook.test_connection()

    assert "HTTP 400 BAD_REFRESH_TOKEN: missing or unknown refresh token" in str(caught.value)
    assert ok is False and "BAD_REFRESH_TOKEN" in message
    assert [status for _, status in paths(hubspot_emulator)] == [400, 400]
    for text in (str(caught.value), repr(caught.value), message):
        assert SECRET not in text and REFRESH not in text


def test_every_oauth_secret_is_registered_with_the_masker(oauth_hubspot, monkeypatch):
    masked: list[str] = []
    monkeypatch.setattr("airflow_provider_hubspot_imports.hooks.hubspot.mask_secret", masked.append)
    monkeypatch.setattr("airflow_provider_hubspot_imports.hooks.connection.mask_secret", masked.append)
    hook = HubSpotHook()
    hook.get_import(oauth_hubspot.add_import(lifecycle=[("DONE",)]))

    assert {SECRET, REFRESH, hook.tokens.current()} <= set(masked)


def test_a_revoked_access_token_points_at_the_app_install_not_the_password(oauth_hubspot: HubSpotEmulator):
    import_id = oauth_hubspot.add_import(lifecycle=[("DONE",)])
    hook = HubSpotHook()
    hook.get_import(import_id)
    del oauth_hubspot.model.tokens[hook.tokens.current() or ""]  # uninstalled: HubSpot forgets it

    with pytest.raises(HubSpotAuthError) as caught:
        hook.get_import(import_id)

    message = str(caught.value)
    assert "HTTP 401 INVALID_AUTHENTICATION" in message
    assert "The connection uses OAuth: the access token came from its refresh token" in message
    assert "password field" not in message
    assert oauth_hubspot.token_grants == 1  # only an expiry is worth a refresh


def test_test_connection_with_oauth(oauth_hubspot: HubSpotEmulator):
    ok, message = HubSpotHook().test_connection()

    assert ok is True
    assert message == (
        f"Connected to {oauth_hubspot.base_url} with an OAuth access token (refresh-token grant): "
        f"it may read imports (crm.import)."
    )
    assert [path for path, _ in paths(oauth_hubspot)] == ["/oauth/v1/token", "/crm/imports/2026-03"]


def test_a_masked_token_path_saved_by_a_form_is_refused_with_the_reason():
    with pytest.raises(ValueError, match=r"is '\*\*\*': Airflow masks extras whose name contains 'token'"):
        oauth_settings(token_path="***")


def test_async_client_shares_one_oauth_token_and_refreshes_an_expired_one(oauth_hubspot: HubSpotEmulator):
    import asyncio

    from airflow_provider_hubspot_imports.hooks.hubspot_async import HubSpotAsyncClient

    import_id = oauth_hubspot.add_import(lifecycle=[("DONE",)])

    async def read_twice_with_two_clients() -> list[str]:
        async with HubSpotAsyncClient() as first, HubSpotAsyncClient() as second:
            states = [(await client.get_import(import_id)).state.value for client in (first, second)]
            oauth_hubspot.expire_access_tokens()  # HubSpot now answers 401 EXPIRED_AUTHENTICATION
            states.append((await first.get_import(import_id)).state.value)
            return states

    assert asyncio.run(read_twice_with_two_clients()) == ["DONE", "DONE", "DONE"]
    assert oauth_hubspot.token_grants == 2  # one shared grant, one refresh after the expiry
    statuses = [entry.status for entry in oauth_hubspot.requests(import_id)]
    assert statuses == [200, 200, 401, 200]
