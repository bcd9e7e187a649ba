"""Connection settings: read from an Airflow connection's fields, validated before any request."""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_hubspot_imports.errors import HubSpotInputError

DEFAULT_BASE_URL = "https://api.hubapi.com"
DEFAULT_API_VERSION = "2026-03"
LEGACY_API_VERSION = "v3"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 5
DEFAULT_RETRY_MAX_SECONDS = 120.0
DEFAULT_RETRY_BACKOFF_SECONDS = 1.0
CONN_TYPE = "hubspot"
DEFAULT_TOKEN_PATH = "/oauth/v1/token"
OAUTH_EXTRAS = ("client_id", "client_secret", "refresh_token")
# Every extra a connection may carry; any other is reported (never silently ignored).
KNOWN_EXTRAS = (
    "api_version",
    "timeout",
    "max_retries",
    "retry_max_seconds",
    "retry_backoff_seconds",
    "ca_bundle",
    "verify",
    "portal_id",
    *OAUTH_EXTRAS,
    "token_path",
)
_OFF = ("false", "0", "no", "off")

# HubSpot ships a date-based version every March and September; the imports API is published from
# 2025-09 on (2025-09, 2026-03, 2026-09, ...), so every later March or September version is accepted.
FIRST_API_VERSION = "2025-09"
_DATE_VERSION = re.compile(r"^(20\d\d)-(03|09)$")
_TOKEN_PATH = re.compile(r"^/oauth/(v1|v3|20\d\d-(03|09))/token$")


@dataclass(frozen=True)
class OAuthCredentials:
    """An OAuth app's refresh-token grant: exchanged for short-lived access tokens (see core.oauth)."""

    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)
    token_path: str = DEFAULT_TOKEN_PATH


@dataclass(frozen=True)
class HubSpotSettings:
    """Everything needed to call HubSpot, validated. The token is kept out of repr()."""

    token: str = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    api_version: str = DEFAULT_API_VERSION
    timeout: float = DEFAULT_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    retry_max_seconds: float = DEFAULT_RETRY_MAX_SECONDS
    retry_backoff_seconds: float = DEFAULT_RETRY_BACKOFF_SECONDS
    ca_bundle: str | None = None
    portal_id: str | None = None
    conn_id: str | None = None
    oauth: OAuthCredentials | None = field(default=None, repr=False)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in a message."""
        if self.oauth is None:
            return (self.token,)
        return (self.token, self.oauth.client_secret, self.oauth.refresh_token)

    @property
    def verify(self) -> str | bool:
        """TLS verification: always on; a custom CA bundle path replaces the default store."""
        return self.ca_bundle or True


def _extra(extras: Mapping[str, Any], key: str) -> Any:
    """Extras saved by Airflow 2 forms may carry the `extra__hubspot__` prefix."""
    value = extras.get(key)
    if value in (None, ""):
        value = extras.get(f"extra__{CONN_TYPE}__{key}")
    return None if value == "" else value


def connection_name(conn_id: str | None) -> str:
    """How messages name a connection: "connection 'my_conn'", or "the HubSpot connection"."""
    return f"connection '{conn_id}'" if conn_id else "the HubSpot connection"


def _number(extras: Mapping[str, Any], key: str, default: float, conn_id: str | None) -> float:
    raw = _extra(extras, key)
    if raw is None:
        return default
    try:
        if isinstance(raw, bool):
            raise ValueError
        value = float(raw)
    except (TypeError, ValueError):
        raise HubSpotInputError(
            f"Extra '{key}' of {connection_name(conn_id)} is {raw!r}, not a number. Set it to a number "
            f"of seconds, e.g. {default:g}."
        ) from None
    if not math.isfinite(value) or value <= 0:
        raise HubSpotInputError(
            f"Extra '{key}' of {connection_name(conn_id)} is {raw!r}; it must be a positive number of "
            f"seconds, e.g. {default:g}."
        )
    return value


def _count(extras: Mapping[str, Any], key: str, default: int, conn_id: str | None) -> int:
    raw = _extra(extras, key)
    if raw is None:
        return default
    text = str(raw).strip()
    if isinstance(raw, bool) or not text.isdigit():
        raise HubSpotInputError(
            f"Extra '{key}' of {connection_name(conn_id)} is {raw!r}; it must be a whole number >= 0, "
            f"e.g. {default}."
        )
    return int(text)


def validate_timeout(value: Any, *, name: str = "timeout") -> float:
    """A per-attempt timeout given to a hook or operator directly."""
    try:
        if isinstance(value, bool):
            raise ValueError
        seconds = float(value)
    except (TypeError, ValueError):
        raise HubSpotInputError(f"{name} is {value!r}, not a number of seconds. Pass e.g. 30.") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise HubSpotInputError(f"{name} is {value!r}; it must be a positive number of seconds, e.g. 30.")
    return seconds


def is_loopback(hostname: str) -> bool:
    if hostname.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def parse_base_url(host: str | None, port: int | None, conn_id: str | None = None) -> str:
    """Turn the connection's host (and port) into a base URL such as ``https://api.hubapi.com``.

    Accepts nothing (HubSpot's default host), a bare host name (https), or a full base URL.
    Plain http is only allowed to loopback, where the local emulator runs: a token must never
    cross a network in clear text.
    """
    where = connection_name(conn_id)
    port = port or None  # Airflow 3's UI sends 0 for an empty port field
    text = (host or "").strip()
    if not text:
        text = DEFAULT_BASE_URL
    elif "://" not in text:
        if any(char in text for char in "/?#@ "):
            raise HubSpotInputError(
                f"Host {host!r} of {where} is not a host name. Give a bare host such as api.hubapi.com "
                f"or a base URL such as https://api-eu1.hubapi.com, with no path, query or user."
            )
        text = f"https://{text}"
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise HubSpotInputError(
            f"Host {host!r} of {where} has scheme {parts.scheme!r}; use https:// (or http:// for a "
            f"local emulator on 127.0.0.1)."
        )
    if parts.username is not None or parts.password is not None:
        raise HubSpotInputError(
            f"Host of {where} contains user information before '@'. Remove it: the access token "
            f"belongs in the connection's password field, never in the URL."
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise HubSpotInputError(
            f"Host {host!r} of {where} has a path, query or fragment. Give only the base URL, "
            f"e.g. https://api.hubapi.com: this package adds /crm/imports/... itself."
        )
    hostname = parts.hostname
    if not hostname:
        raise HubSpotInputError(f"Host {host!r} of {where} names no host. Use e.g. https://api.hubapi.com.")
    try:
        url_port = parts.port
    except ValueError:
        raise HubSpotInputError(f"Host {host!r} of {where} has an invalid port.") from None
    if port is not None and url_port is not None and int(port) != url_port:
        raise HubSpotInputError(
            f"{where} names port {url_port} in the host and port {port} in the port field. Keep one."
        )
    final_port = int(port) if port is not None else url_port
    if final_port is not None and not 0 < final_port < 65536:
        raise HubSpotInputError(f"Port {final_port} of {where} is out of range 1-65535.")
    if scheme == "http" and not is_loopback(hostname):
        raise HubSpotInputError(
            f"Host {host!r} of {where} uses plain http:// to {hostname}, which would send the access "
            f"token unencrypted. Use https://; http:// is allowed only for loopback hosts (127.0.0.1, "
            f"localhost, ::1) where a local emulator runs."
        )
    netloc = f"[{hostname}]" if ":" in hostname else hostname
    if final_port is not None:
        netloc = f"{netloc}:{final_port}"
    return f"{scheme}://{netloc}"


def validate_api_version(value: Any, conn_id: str | None = None) -> str:
    text = str(value).strip() if value is not None else DEFAULT_API_VERSION
    if text == LEGACY_API_VERSION:
        return text
    match = _DATE_VERSION.match(text)
    if match and text >= FIRST_API_VERSION:
        return text
    raise HubSpotInputError(
        f"Extra 'api_version' of {connection_name(conn_id)} is {value!r}. Use a published version: "
        f"'{DEFAULT_API_VERSION}' (default; date-versioned paths /crm/imports/{DEFAULT_API_VERSION}/...), "
        f"another March or September version from '{FIRST_API_VERSION}' on (e.g. '2026-09'), or "
        f"'{LEGACY_API_VERSION}' (legacy paths /crm/v3/imports/...)."
    )


def validate_token(token: str | None, conn_id: str | None = None, *, what: str = "The access token") -> str:
    if token is None or not token.strip():
        raise HubSpotInputError(
            f"{connection_name(conn_id).capitalize()} has no access token. Put a HubSpot private-app "
            f"token or service key with the crm.import scope in the connection's password field, or set "
            f"the OAuth extras client_id, client_secret and refresh_token."
        )
    if any(char.isspace() for char in token):
        raise HubSpotInputError(
            f"{what} of {connection_name(conn_id)} contains whitespace (a line break or space from "
            f"copy-pasting?). Paste the token again without surrounding spaces or line breaks."
        )
    return token


def settings_from_connection_fields(
    *,
    conn_id: str | None,
    host: str | None,
    port: int | None,
    password: str | None,
    extras: Mapping[str, Any],
) -> HubSpotSettings:
    """Validate an Airflow connection's fields into settings; raises HubSpotInputError naming the fix."""
    token, oauth = validate_credentials(password, extras, conn_id)
    ca_bundle = trusted_ca_bundle(extras, conn_id)
    portal = _extra(extras, "portal_id")
    return HubSpotSettings(
        token=token,
        base_url=parse_base_url(host, port, conn_id),
        api_version=validate_api_version(_extra(extras, "api_version"), conn_id),
        timeout=_number(extras, "timeout", DEFAULT_TIMEOUT, conn_id),
        max_retries=_count(extras, "max_retries", DEFAULT_MAX_RETRIES, conn_id),
        retry_max_seconds=_number(extras, "retry_max_seconds", DEFAULT_RETRY_MAX_SECONDS, conn_id),
        retry_backoff_seconds=_number(
            extras, "retry_backoff_seconds", DEFAULT_RETRY_BACKOFF_SECONDS, conn_id
        ),
        ca_bundle=ca_bundle,
        portal_id=str(portal).strip() if portal is not None else None,
        conn_id=conn_id,
        oauth=oauth,
    )


def trusted_ca_bundle(extras: Mapping[str, Any], conn_id: str | None = None) -> str | None:
    """The CA bundle to trust, from the extra ``ca_bundle`` or a requests-style ``verify: "/path"``.

    ``verify: true`` is the default; ``verify: false`` is refused (verification is never turned off).
    """
    ca_bundle = _extra(extras, "ca_bundle")
    verify = _extra(extras, "verify")
    where = connection_name(conn_id)
    if isinstance(verify, str) and verify.strip().lower() in ("true", "1", "yes", "on"):
        verify = True
    if verify is False or (isinstance(verify, (str, int)) and str(verify).strip().lower() in _OFF):
        raise HubSpotInputError(
            f"{where.capitalize()} asks to turn TLS verification off; this package never does. "
            f"If HubSpot is reached through a proxy with its own certificate authority, set the extra "
            f"'ca_bundle' to the path of that CA's PEM file instead."
        )
    if isinstance(verify, str) and verify.strip():
        path = verify.strip()
        if ca_bundle and str(ca_bundle) != path:
            raise HubSpotInputError(
                f"{where.capitalize()} names two CA bundles: extra 'ca_bundle' {str(ca_bundle)!r} and extra "
                f"'verify' {path!r}. Keep one (preferably 'ca_bundle')."
            )
        return path
    if verify is not None and verify is not True:
        raise HubSpotInputError(
            f"Extra 'verify' of {where} is {verify!r}. Give it as requests does: true, or the path of a "
            f"CA bundle (PEM file); or use the extra 'ca_bundle' for that path."
        )
    return str(ca_bundle) if ca_bundle else None


def unknown_extras(extras: Mapping[str, Any]) -> list[str]:
    """Extras this package does not read (a typo such as 'time_out', or another provider's setting)."""
    prefix = f"extra__{CONN_TYPE}__"
    return sorted(
        name
        for name in extras
        if (name[len(prefix) :] if name.startswith(prefix) else name) not in KNOWN_EXTRAS
    )


def validate_credentials(
    password: str | None, extras: Mapping[str, Any], conn_id: str | None = None
) -> tuple[str, OAuthCredentials | None]:
    """Either a static token (password) or all three OAuth extras; returns (token, oauth).

    With OAuth the token is empty: access tokens come from the refresh-token grant at call time.
    """
    given = {name: _extra(extras, name) for name in OAUTH_EXTRAS}
    if not any(value is not None for value in given.values()):
        return validate_token(password, conn_id), None
    where = connection_name(conn_id)
    missing = [name for name, value in given.items() if value is None or not str(value).strip()]
    if missing:
        raise HubSpotInputError(
            f"{where.capitalize()} sets up OAuth but lacks the extra(s) {', '.join(missing)}. OAuth needs "
            f"all of client_id, client_secret and refresh_token (from your HubSpot app and its install); "
            f"or remove them and put a private-app token or service key in the password field."
        )
    if password:
        raise HubSpotInputError(
            f"{where.capitalize()} has both an access token (password) and OAuth extras (client_id, "
            f"client_secret, refresh_token). Keep one: clear the password to use OAuth, or remove the "
            f"OAuth extras to use the token."
        )
    values = {name: str(value).strip() for name, value in given.items()}
    for name in ("client_secret", "refresh_token"):
        validate_token(values[name], conn_id, what=f"OAuth extra '{name}'")
    token_path = str(_extra(extras, "token_path") or DEFAULT_TOKEN_PATH).strip()
    if token_path == "***":
        raise HubSpotInputError(
            f"Extra 'token_path' of {where} is '***': Airflow masks extras whose name contains 'token' "
            f"when it shows them, and a form saved that mask. Set token_path again (or clear it for "
            f"'{DEFAULT_TOKEN_PATH}')."
        )
    if not _TOKEN_PATH.match(token_path):
        raise HubSpotInputError(
            f"Extra 'token_path' of {where} is {token_path!r}. Use the path of HubSpot's token "
            f"endpoint: '{DEFAULT_TOKEN_PATH}' (default), '/oauth/v3/token' or a dated one such as "
            f"'/oauth/2026-03/token'."
        )
    return "", OAuthCredentials(token_path=token_path, **values)
