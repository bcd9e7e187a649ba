"""The async transport: one `aiohttp` session (a pool of keep-alive connections) per event loop
and HubSpot host, and one bounded attempt over it.

Each attempt has a wall-clock deadline (not a per-read timeout), reads at most
`core.limits.MAX_ANSWER_BYTES` as a stream, follows no redirect, verifies TLS with the context
`core.tls` builds (once per pool), and takes proxies from the environment (``HTTPS_PROXY``,
``NO_PROXY``, read once per pool). What an answer means is decided by `core.transport`, as for the sync hook.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import weakref
from dataclasses import dataclass, field
from typing import Any

import aiohttp

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

# HubSpot allows one account at most 190 requests per 10 s (19 a second). At a round trip of
# 0.1-0.5 s that rate needs 2-10 requests in flight; 20 connections absorb bursts (many waits
# polling at the same moment after a triggerer restart) without queueing long, and cost the same
# CPU per poll as 50 or 100 (docs/performance.md, "Shared pool size"). Requests beyond the pool
# wait in the pool's semaphore.
POOL_SIZE = 20
KEEPALIVE_SECONDS = 60.0

PoolKey = tuple[str, str | None, float]

_CONNECT_TIMEOUT = getattr(aiohttp, "ConnectionTimeoutError", aiohttp.ServerTimeoutError)


@dataclass
class Pool:
    """One `aiohttp.ClientSession` and the gate in front of it.

    The gate (a semaphore as wide as the pool) queues requests beyond the pool's size in asyncio,
    where a waiting request costs nothing until a connection is free.
    """

    key: PoolKey
    session: aiohttp.ClientSession
    gate: asyncio.Semaphore
    proxy: Any = None  # the environment's proxy for this host (yarl.URL), or None
    proxy_auth: aiohttp.BasicAuth | None = None
    users: int = 0
    # One ClientTimeout per deadline in use: nearly every attempt has the connection's timeout.
    _timeouts: dict[float, aiohttp.ClientTimeout] = field(default_factory=dict)

    def timeout(self, seconds: float) -> aiohttp.ClientTimeout:
        found = self._timeouts.get(seconds)
        if found is None:
            if len(self._timeouts) > 16:
                self._timeouts.clear()
            found = self._timeouts[seconds] = aiohttp.ClientTimeout(total=seconds)
        return found

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
        settings = tokens.settings
        seconds = policy.attempt_timeout(settings.timeout, started_at)
        try:
            async with (
                self.gate,
                self.session.request(
                    request.method,
                    request.url,
                    params=request.params or None,
                    json=request.json_body,
                    data=dict(request.form_body) if request.form_body else None,
                    headers=protocol.auth_header(token) if token else None,
                    timeout=self.timeout(seconds),
                    allow_redirects=False,
                    proxy=self.proxy,
                    proxy_auth=self.proxy_auth,
                ) as response,
            ):
                status = response.status
                if 300 <= status < 400:
                    raise redirect_error(request, status, response.headers.get("Location"))
                body = await read_capped(response, request)
                headers = response.headers
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise connection_error(
                request,
                tokens,
                exc,
                timed_out=isinstance(exc, asyncio.TimeoutError),
                never_sent=isinstance(exc, (aiohttp.ClientConnectorError, _CONNECT_TIMEOUT)),
            ) from None
        return read_answer(request, tokens, status, headers, body, parse, token_grant=raw)


async def read_capped(response: aiohttp.ClientResponse, request: ApiRequest) -> bytes:
    """The body, read as a stream and refused past MAX_ANSWER_BYTES (the connection is then closed,
    not returned to the pool). aiohttp pauses the socket while its buffer is full, so memory stays
    near the cap whatever the server sends."""
    declared = response.content_length
    if declared is not None and declared > MAX_ANSWER_BYTES and not response.headers.get("Content-Encoding"):
        response.close()
        raise too_large_error(request)
    stream = response.content
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await stream.read(MAX_ANSWER_BYTES + 1 - size)
        if not chunk:
            break
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            response.close()
            raise too_large_error(request)
        chunks.append(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[PoolKey, Pool]] = (
    weakref.WeakKeyDictionary()
)


def pool_key(settings: HubSpotSettings) -> PoolKey:
    """What decides whether two waits may share a pool: host, TLS trust and timeout, not the token."""
    return (settings.base_url, settings.ca_bundle, settings.timeout)


def environment_proxy(base_url: str) -> tuple[Any, aiohttp.BasicAuth | None]:
    """The proxy ``HTTPS_PROXY`` / ``HTTP_PROXY`` name for `base_url` unless ``NO_PROXY`` exempts it,
    with its credentials (from the proxy URL or ``~/.netrc``): what aiohttp's ``trust_env`` finds,
    found once per pool. With ``trust_env`` aiohttp 3.14 looks the proxy up, and reads ``~/.netrc``
    for the host, in a worker thread on every request: two thread hops per poll, and ``~/.netrc``
    credentials for HubSpot's host would go out as Basic auth on the token grant."""
    from aiohttp.helpers import get_env_proxy_for_url
    from yarl import URL

    try:
        return get_env_proxy_for_url(URL(base_url))
    except LookupError:
        return None, None


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
        connector = aiohttp.TCPConnector(
            limit=POOL_SIZE,
            limit_per_host=POOL_SIZE,
            keepalive_timeout=KEEPALIVE_SECONDS,
            ssl=pool_tls(settings),
        )
        session = aiohttp.ClientSession(
            connector=connector,
            headers=protocol.base_headers(),
            cookie_jar=aiohttp.DummyCookieJar(),  # HubSpot's API sets none worth keeping
            raise_for_status=False,
        )
        # The retry policy is the only one that retries (and counts and logs what it retries):
        # aiohttp would otherwise send a GET again, silently, when a kept-alive connection drops.
        if hasattr(session, "_retry_connection"):
            session._retry_connection = False
        proxy, proxy_auth = environment_proxy(settings.base_url)
        pool = pools[key] = Pool(key, session, asyncio.Semaphore(POOL_SIZE), proxy, proxy_auth)
    pool.users += 1
    return pool


async def release_pool(pool: Pool) -> None:
    """One user less; the last one out closes the pool."""
    pool.users -= 1
    pools = _pools.get(asyncio.get_running_loop(), {})
    if pool.users <= 0 and pools.get(pool.key) is pool:
        del pools[pool.key]
        await pool.session.close()
