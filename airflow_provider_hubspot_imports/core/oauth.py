"""OAuth 2.0 refresh-token grant for HubSpot: requests to build, answers to read, tokens to keep. No I/O.

A transport drives it in a few lines::

    tokens = AccessTokens(settings)
    token = tokens.current()                      # None: fetch one first
    if token is None:
        request = tokens.refresh_request()        # POST form to the token endpoint (no bearer)
        ... send it under the usual RetryPolicy, then:
        token = tokens.accept(request, status, headers, body).access_token
    ... on a 401 EXPIRED_AUTHENTICATION: tokens.invalidate(token) and send once more.

With a static token (no OAuth extras) `current()` always returns that token.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_hubspot_imports.core.protocol import ApiRequest, decode_json, read_json
from airflow_provider_hubspot_imports.core.redact import redact
from airflow_provider_hubspot_imports.core.settings import HubSpotSettings
from airflow_provider_hubspot_imports.errors import HubSpotAuthError, HubSpotBadResponseError

# Refresh this long before HubSpot's expiry (capped at a tenth of the lifetime for short-lived tokens).
SAFETY_MARGIN_SECONDS = 60.0
EXPIRED_CATEGORY = "EXPIRED_AUTHENTICATION"


@dataclass(frozen=True)
class AccessToken:
    """An access token and when (on the cache's clock) to stop using it."""

    access_token: str = field(repr=False)
    expires_in: float
    refresh_token: str | None = field(default=None, repr=False)
    use_until: float = 0.0


def credentials_key(settings: HubSpotSettings) -> str:
    """A digest of every credential of `settings` (host, static token, OAuth client id, client
    secret, refresh token and token path): what a cache of tokens, or of anything made from them,
    must be keyed on, so a fixed or rotated secret is never shadowed by what the old one produced.
    A digest, so the key itself holds no secret."""
    oauth = settings.oauth
    parts = [settings.base_url, settings.token]
    if oauth is not None:
        parts += [oauth.client_id, oauth.client_secret, oauth.refresh_token, oauth.token_path]
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def refresh_request(settings: HubSpotSettings, refresh_token: str | None = None) -> ApiRequest:
    """The POST that trades the refresh token for an access token."""
    oauth = settings.oauth
    if oauth is None:
        raise ValueError("refresh_request needs settings with OAuth credentials")
    form = (
        ("grant_type", "refresh_token"),
        ("client_id", oauth.client_id),
        ("client_secret", oauth.client_secret),
        ("refresh_token", refresh_token or oauth.refresh_token),
    )
    return ApiRequest(
        "POST",
        f"{settings.base_url}{oauth.token_path}",
        describe=f"POST {oauth.token_path} (OAuth refresh-token grant)",
        form_body=form,
        bearer=False,
    )


def _token_error(
    request: ApiRequest, status: int, data: Any, secrets: tuple[str, ...], conn_id: str | None
) -> HubSpotAuthError:
    fields: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
    code = redact(str(fields.get("status") or fields.get("category") or fields.get("error") or ""), secrets)
    said = redact(str(fields.get("message") or fields.get("error_description") or ""), secrets)
    conn = f"connection '{conn_id}'" if conn_id else "the HubSpot connection"
    return HubSpotAuthError(
        f"{request.describe} failed: HTTP {status}{' ' + code if code else ''}"
        f"{': ' + said if said else ''}. HubSpot refused the OAuth credentials of {conn}: check its "
        f"client_id and client_secret against the app's Auth settings, and that refresh_token belongs to "
        f"that app and is still installed (reinstalling the app issues a new one).",
        status=status,
        category=code or None,
        hubspot_message=said or None,
    )


def parse_token_response(
    request: ApiRequest,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    secrets: tuple[str, ...],
    conn_id: str | None = None,
) -> AccessToken:
    """Read the token endpoint's answer. 400/401 mean bad credentials; 429 and 5xx are the usual
    (retryable) errors, so a transport retries them under its RetryPolicy like any call."""
    if status in (400, 401, 403):
        data, _ = decode_json(body)
        raise _token_error(request, status, data, secrets, conn_id)
    data = read_json(request, status, headers, body, secrets, conn_id)
    if not isinstance(data, Mapping):
        raise HubSpotBadResponseError(
            f"{request.describe}: expected a JSON object, got {type(data).__name__}."
        )
    token = data.get("access_token")
    if not isinstance(token, str) or not token or any(char.isspace() for char in token):
        raise HubSpotBadResponseError(f"{request.describe}: the answer has no usable access_token.")
    try:
        expires_in = float(data.get("expires_in", 1800))
    except (TypeError, ValueError):
        raise HubSpotBadResponseError(f"{request.describe}: expires_in is not a number.") from None
    if expires_in <= 0:
        raise HubSpotBadResponseError(f"{request.describe}: expires_in is {expires_in:g}, not positive.")
    refresh = data.get("refresh_token")
    return AccessToken(token, expires_in, refresh if isinstance(refresh, str) and refresh else None)


_STATIC_TOKEN_FIX = "Put a valid private-app token or service key (scope crm.import) in its password field."
_OAUTH_FIX = (
    "The connection uses OAuth: the access token came from its refresh token, so check that the app "
    "is still installed in the account (reinstall it and store the new refresh token if not)."
)


def explain_for_oauth(error: HubSpotAuthError) -> HubSpotAuthError:
    """A 401 on an OAuth connection: point at the app's install instead of the password field."""
    if error.status == 401 and _OAUTH_FIX not in error.message:
        if _STATIC_TOKEN_FIX in error.message:
            error.message = error.message.replace(_STATIC_TOKEN_FIX, _OAUTH_FIX)
        else:
            error.message = f"{error.message} {_OAUTH_FIX}"
    return error


def is_expired_token_error(error: BaseException) -> bool:
    """A 401 that says the access token expired: worth one refresh and one more try."""
    return isinstance(error, HubSpotAuthError) and error.status == 401 and error.category == EXPIRED_CATEGORY


class AccessTokens:
    """The bearer token to send now: the static token, or a cached OAuth access token.

    `clock` (monotonic seconds) is injectable for tests. Not thread-safe: one per hook or client.
    """

    def __init__(
        self,
        settings: HubSpotSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        margin: float = SAFETY_MARGIN_SECONDS,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._margin = margin
        self._token: AccessToken | None = None
        self._refresh_token = settings.oauth.refresh_token if settings.oauth else None
        self._issued: list[str] = []

    @property
    def uses_oauth(self) -> bool:
        return self.settings.oauth is not None

    @property
    def secrets(self) -> tuple[str, ...]:
        """Everything to redact: the connection's secrets and every token seen so far."""
        extra = [self._refresh_token] if self._refresh_token else []
        return (*self.settings.secrets, *extra, *self._issued)

    def current(self) -> str | None:
        """The token to send, or None when an OAuth token must be fetched (none yet, or about to expire)."""
        if not self.uses_oauth:
            return self.settings.token
        if self._token is None or self._clock() >= self._token.use_until:
            return None
        return self._token.access_token

    def refresh_request(self) -> ApiRequest:
        return refresh_request(self.settings, self._refresh_token)

    def accept(
        self, request: ApiRequest, status: int, headers: Mapping[str, str], body: bytes
    ) -> AccessToken:
        """Parse the token endpoint's answer and keep the token; raises the typed error otherwise."""
        parsed = parse_token_response(request, status, headers, body, self.secrets, self.settings.conn_id)
        margin = min(self._margin, parsed.expires_in / 10)
        token = AccessToken(
            parsed.access_token,
            parsed.expires_in,
            parsed.refresh_token,
            use_until=self._clock() + parsed.expires_in - margin,
        )
        self._token = token
        self._issued = [*self._issued[-9:], token.access_token]
        if token.refresh_token:
            self._refresh_token = token.refresh_token
        return token

    def refresh_helps(self, error: BaseException, token: str | None) -> bool:
        """After `error` on a call sent with `token`: True when the token expired and was dropped,
        so fetching a new one and sending once more may succeed (OAuth connections only)."""
        return token is not None and is_expired_token_error(error) and self.invalidate(token)

    def explain(self, error: HubSpotAuthError) -> HubSpotAuthError:
        """The 401 as the user should read it for this connection's kind of credentials."""
        return explain_for_oauth(error) if self.uses_oauth else error

    def invalidate(self, token: str | None = None) -> bool:
        """Forget the cached access token (if it is `token`); True when a refresh may now help."""
        if not self.uses_oauth or self._token is None:
            return False
        if token is not None and token != self._token.access_token:
            return True  # another caller refreshed meanwhile
        self._token = None
        return True
