"""What both transports (requests in the hook, httpx in the async client) report, decided once.

A transport only classifies its own exceptions (did the attempt time out or fail otherwise?) and
hands over status, headers and body; the messages and the parsing are built here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from airflow_provider_hubspot_imports.core import protocol
from airflow_provider_hubspot_imports.core.oauth import AccessTokens
from airflow_provider_hubspot_imports.core.protocol import ApiRequest
from airflow_provider_hubspot_imports.core.redact import redact
from airflow_provider_hubspot_imports.errors import HubSpotConnectionError, HubSpotNotSentError

Parse = Callable[[ApiRequest, Any], Any]


def connection_error(
    request: ApiRequest,
    tokens: AccessTokens,
    exc: BaseException,
    *,
    timed_out: bool,
    never_sent: bool = False,
) -> HubSpotConnectionError:
    """The error for an attempt that got no answer; the transport's exception text is redacted.

    `never_sent`: the connection itself failed, so HubSpot cannot have acted on the request (a
    start may then be retried safely).
    """
    settings, secrets = tokens.settings, tokens.secrets
    if never_sent:
        return HubSpotNotSentError(
            f"{request.describe}: could not connect to {settings.base_url}, so nothing was sent "
            f"({type(exc).__name__}: {redact(str(exc), secrets)})."
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
