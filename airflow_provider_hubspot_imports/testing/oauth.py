"""The emulator's OAuth 2.0 token endpoint: refresh-token grants, expiring access tokens, scripted faults."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qs

from airflow_provider_hubspot_imports.testing.model import (
    DEFAULT_LIFETIME,
    IMPORT_SCOPE,
    EmulatorModel,
    Fault,
    OAuthApp,
)

TOKEN_PATH = re.compile(r"^/oauth/(?:v1|v3|20\d\d-(?:03|09))/token/?$")
EMULATED_HUB_ID = 62515  # the account ("hub") every emulated app is installed in


def add_app(
    model: EmulatorModel,
    client_id: str,
    client_secret: str,
    refresh_token: str,
    *,
    scopes: Iterable[str] = (IMPORT_SCOPE,),
    lifetime: float = DEFAULT_LIFETIME,
) -> None:
    with model.lock:
        app = model.oauth.apps.setdefault(client_id, OAuthApp(client_id, client_secret, {}, lifetime))
        app.client_secret, app.lifetime = client_secret, lifetime
        app.refresh_tokens[refresh_token] = frozenset(scopes)


def expire(model: EmulatorModel, tokens: Iterable[str] = ()) -> None:
    """These tokens (default: every access token issued so far) are expired from now on."""
    with model.lock:
        now = model.now()
        for token in list(tokens) or list(model.oauth.expiry):
            model.oauth.expiry[token] = now


def _error(status: str, message: str) -> tuple[int, dict[str, str]]:
    return 400, {"status": status, "message": message, "correlationId": str(uuid.uuid4())}


def grant(model: EmulatorModel, body: bytes) -> tuple[int, Mapping[str, object]] | Fault:
    """Answer a token request: (status, JSON) or a scripted fault."""
    form = {key: values[0] for key, values in parse_qs(body.decode("utf-8", "replace")).items()}
    with model.lock:
        state = model.oauth
        if state.faults:
            return state.faults.popleft()
        if form.get("grant_type") != "refresh_token":
            return _error("BAD_GRANT_TYPE", "grant_type must be refresh_token (or authorization_code)")
        app = state.apps.get(form.get("client_id", ""))
        if app is None:
            return _error("BAD_CLIENT_ID", "missing or invalid client_id")
        if form.get("client_secret") != app.client_secret:
            return _error("BAD_CLIENT_SECRET", "missing or invalid client_secret")
        scopes = app.refresh_tokens.get(form.get("refresh_token", ""))
        if scopes is None:
            return _error("BAD_REFRESH_TOKEN", "missing or unknown refresh token")
        token = f"emu-access-{secrets.token_hex(12)}"
        model.tokens[token] = scopes
        state.expiry[token] = model.now() + app.lifetime
        state.grants += 1
        # The fields HubSpot's token answer requires (token_use included; its value is not documented
        # beyond a string: the emulator names the use), plus hub_id and scopes (added August 2025).
        return 200, {
            "token_type": "bearer",
            "token_use": "access_token",
            "access_token": token,
            "refresh_token": form["refresh_token"],
            "expires_in": int(app.lifetime) if app.lifetime == int(app.lifetime) else app.lifetime,
            "hub_id": EMULATED_HUB_ID,
            "scopes": sorted(scopes),
        }
