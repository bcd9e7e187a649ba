"""The async transport: one pool of keep-alive connections (`hooks.http11`, the package's own
HTTP/1.1 client on asyncio streams) per event loop and HubSpot host, and one bounded attempt over it.

Each attempt has a wall-clock deadline (not a per-read timeout), reads at most
`core.limits.MAX_ANSWER_BYTES`, follows no redirect, verifies TLS with the context `core.tls` builds
(once per pool), and takes proxies from the environment (``HTTPS_PROXY``, ``HTTP_PROXY``,
``NO_PROXY``, read once per pool). What an answer means is decided by `core.transport`, as for the
sync hook. Why not aiohttp: docs/performance.md, figure 7.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import weakref
from dataclasses import dataclass
from typing import Any

from airflow_provider_hubspot_imports.core import protocol
from airflow_provider_hubspot_imports.core.limits import MAX_ANSWER_BYTES
from airflow_provider_hubspot_imports.core.oauth import AccessTokens
from airflow_provider_hubspot_imports.core.protocol import ApiRequest
from airflow_provider_hubspot_imports.core.retry import RetryPolicy
from airflow_provider_hubspot_imports.core.settings import HubSpotSettings
from airflow_provider_hubspot_imports.core.tls import ssl_context
from airflow_provider_hubspot_imports.core.transport import (
    Parse,
    connection_error,
    read_answer,
    redirect_error,
    too_large_error,
)
from airflow_provider_hubspot_imports.errors import HubSpotInputError
from airflow_provider_hubspot_imports.hooks import http11

# HubSpot allows one account at most 190 requests per 10 s (19 a second). At a round trip of
# 0.1-0.5 s that rate needs 2-10 requests in flight; 20 connections absorb bursts (many waits
# polling at the same moment after a triggerer restart) without queueing long, and cost the same
# CPU per poll as 50 or 100 (docs/performance.md, "Shared pool size"). Requests beyond the pool
# wait in the pool's semaphore.
POOL_SIZE = 20
KEEPALIVE_SECONDS = 60.0

PoolKey = tuple[str, str | None, float]

_FORM = "application/x-www-form-urlencoded"
_JSON = "application/json"


@dataclass
class Pool:
    """One `http11.ConnectionPool` (`session`) and the gate in front of it.

    The gate (a semaphore as wide as the pool) queues requests beyond the pool's size in asyncio,
    where a waiting request costs nothing until a connection is free; so no more than POOL_SIZE
    connections are ever open.
    """

    key: PoolKey
    session: http11.ConnectionPool
    gate: asyncio.Semaphore
    users: int = 0

    async def send(
        self,
        request: ApiRequest,
        tokens: AccessTokens,
        token: str | None,
        parse: Parse | None,
        raw: bool,
        policy: RetryPolicy,
        started_at: float,
    ) -> Any:
        """One attempt, within its deadline: the parsed result, or the typed error raised."""
        seconds = policy.attempt_timeout(tokens.settings.timeout, started_at)
        if request.form_body:
            body, content_type = http11.form_body(request.form_body), _FORM
        elif request.json_body is not None:
            body, content_type = http11.json_body(request.json_body), _JSON
        else:
            body, content_type = None, None
        try:
            async with self.gate:
                response = await self.session.request(
                    request.method,
                    request.url,
                    params=request.params,
                    headers=protocol.auth_header(token) if token else None,
                    body=body,
                    content_type=content_type,
                    timeout=seconds,
                    max_bytes=MAX_ANSWER_BYTES,
                )
        except http11.AnswerTooLarge:
            raise too_large_error(request) from None
        except http11.HTTPError as exc:
            timed_out = isinstance(exc, http11.TimedOut)
            never_sent = isinstance(exc, http11.ConnectFailed) or getattr(exc, "connecting", False)
            raise connection_error(
                request, tokens, exc, timed_out=timed_out, never_sent=never_sent, seconds=seconds
            ) from None
        status = response.status
        if 300 <= status < 400:
            raise redirect_error(request, status, _location(response.headers))
        return read_answer(request, tokens, status, response.headers, response.body, parse, token_grant=raw)


def _location(headers: dict[str, str]) -> str | None:
    for name, value in headers.items():
        if name.lower() == "location":
            return value
    return None


_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[PoolKey, Pool]] = (
    weakref.WeakKeyDictionary()
)


def pool_key(settings: HubSpotSettings) -> PoolKey:
    """What decides whether two waits may share a pool: host, TLS trust and timeout, not the token."""
    return (settings.base_url, settings.ca_bundle, settings.timeout)


@functools.lru_cache(maxsize=1)
def _system_trust() -> ssl.SSLContext:
    """The context trusting the system's store, built once per process: loading the store takes
    tens of milliseconds, and the store does not change under a running triggerer."""
    return ssl_context(None)


def pool_tls(settings: HubSpotSettings) -> ssl.SSLContext:
    """TLS trust for a new pool: a connection's CA bundle is read afresh (a missing or unreadable
    one is a HubSpotInputError naming it); the system store is shared by every pool."""
    return ssl_context(settings.ca_bundle, settings.conn_id) if settings.ca_bundle else _system_trust()


def open_pools() -> int:
    """How many shared pools the running event loop holds (for tests and benchmarks)."""
    return len(_pools.get(asyncio.get_running_loop(), {}))


def acquire_pool(settings: HubSpotSettings) -> Pool:
    """The event loop's pool for these settings, created (with its TLS context) on first use.

    A missing or unreadable CA bundle raises HubSpotInputError here, before any request."""
    pools = _pools.setdefault(asyncio.get_running_loop(), {})
    key = pool_key(settings)
    pool = pools.get(key)
    if pool is None:
        try:
            session = http11.ConnectionPool(
                settings.base_url,
                tls=pool_tls(settings),  # built for http:// too: a bad CA bundle is reported either way
                size=POOL_SIZE,
                keepalive_seconds=KEEPALIVE_SECONDS,
                headers=protocol.base_headers(),
            )
        except ValueError as exc:  # the environment's proxy is not an http:// URL
            raise HubSpotInputError(f"Connection '{settings.conn_id}': {exc}") from None
        pool = pools[key] = Pool(key, session, asyncio.Semaphore(POOL_SIZE))
    pool.users += 1
    return pool


async def release_pool(pool: Pool) -> None:
    """One user less; the last one out closes the pool."""
    pool.users -= 1
    pools = _pools.get(asyncio.get_running_loop(), {})
    if pool.users <= 0 and pools.get(pool.key) is pool:
        del pools[pool.key]
        pool.session.close()
