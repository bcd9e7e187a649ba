"""What both transports (requests in the hook, aiohttp in the async client) report, decided once.

A transport only classifies its own exceptions (did the attempt time out or fail otherwise?) and
hands over status, headers and body; the messages and the parsing are built here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from airflow_provider_hubspot_imports.core import protocol
from airflow_provider_hubspot_imports.core.limits import MAX_ANSWER_BYTES
from airflow_provider_hubspot_imports.core.oauth import AccessTokens
from airflow_provider_hubspot_imports.core.protocol import ApiRequest
from airflow_provider_hubspot_imports.core.redact import redact
from airflow_provider_hubspot_imports.errors import (
    HubSpotAnswerTooLargeError,
    HubSpotBadResponseError,
    HubSpotConnectionError,
    HubSpotNotSentError,
    HubSpotRedirectError,
)

Parse = Callable[[ApiRequest, Any], Any]


def connection_error(
    request: ApiRequest,
    tokens: AccessTokens,
    exc: BaseException,
    *,
    timed_out: bool,
    never_sent: bool = False,
    seconds: float | None = None,
) -> HubSpotConnectionError:
    """The error for an attempt that got no answer; the transport's exception text is redacted.

    `never_sent`: the connection itself failed, so HubSpot cannot have acted on the request (a
    start may then be retried safely). `seconds`: the attempt's wall-clock deadline, when that is
    what cut it (the answer may have been arriving, too slowly).
    """
    settings, secrets = tokens.settings, tokens.secrets
    if never_sent:
        return HubSpotNotSentError(
            f"{request.describe}: could not connect to {settings.base_url}, so nothing was sent "
            f"({type(exc).__name__}: {redact(str(exc), secrets)})."
        )
    if timed_out and seconds is not None:
        return HubSpotConnectionError(
            f"{request.describe}: no answer from {settings.base_url} within {round(seconds, 2):g} s, "
            f"the attempt's wall-clock deadline (the timeout, cut to what is left of "
            f"retry_max_seconds); the attempt was stopped ({type(exc).__name__}). If HubSpot or a "
            f"proxy is this slow, raise the connection's `timeout` or `retry_max_seconds` extra."
        )
    if timed_out:
        return HubSpotConnectionError(
            f"{request.describe}: no answer from {settings.base_url} within "
            f"{settings.timeout:g} s ({type(exc).__name__})."
        )
    return HubSpotConnectionError(
        f"{request.describe}: could not reach {settings.base_url} ({type(exc).__name__}: "
        f"{redact(str(exc), secrets)})."
    )


def malformed_answer_error(request: ApiRequest, tokens: AccessTokens, why: str) -> HubSpotBadResponseError:
    """The error for an answer the transport could not parse as HTTP (conflicting framing headers, a
    bad status line): nothing of it is used. Retried like any malformed answer."""
    first_line = why.strip().splitlines()[0] if why.strip() else "unparsable"
    return HubSpotBadResponseError(
        f"{request.describe}: the answer from {tokens.settings.base_url} is not valid HTTP "
        f"({redact(first_line, tokens.secrets)[:200]}); nothing of it was used. Something other than "
        f"HubSpot's API (a proxy or load balancer) may be answering at the connection's host."
    )


def read_answer(
    request: ApiRequest,
    tokens: AccessTokens,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    parse: Parse | None = None,
    *,
    token_grant: bool = False,
) -> Any:
    """The result of one answer: parsed JSON of a 2xx, or the typed error raised, redacted of every
    secret seen so far. `token_grant`: the OAuth token endpoint's answer, which `tokens` keeps."""
    if token_grant:
        return tokens.accept(request, status, headers, body)
    data = protocol.read_json(request, status, headers, body, tokens.secrets, tokens.settings.conn_id)
    return parse(request, data) if parse else data


def redirect_error(request: ApiRequest, status: int, location: str | None) -> HubSpotRedirectError:
    """The error for a 3xx answer, the same in both transports: neither follows redirects, so no
    credential ever leaves for the host a ``Location`` names."""
    where = f"to {location!r}" if location else "without a Location header"
    return HubSpotRedirectError(
        f"{request.describe}: HubSpot answered HTTP {status}, a redirect {where}. Redirects are not "
        f"followed (the token would be sent to another host). Check the connection's host: it must be "
        f"HubSpot's API host (https://api.hubapi.com or https://api-eu1.hubapi.com), not a proxy or "
        f"web page that redirects.",
        status=status,
        location=location,
    )


def too_large_error(request: ApiRequest, limit: int = MAX_ANSWER_BYTES) -> HubSpotAnswerTooLargeError:
    """The error for an answer longer than `limit` bytes; reading stopped at the cap."""
    return HubSpotAnswerTooLargeError(
        f"{request.describe}: the answer is larger than {limit // (1024 * 1024)} MiB, the most one call "
        f"reads (import records and error pages are a few KB). Reading stopped there. Something other "
        f"than HubSpot's API may be answering at the connection's host."
    )
