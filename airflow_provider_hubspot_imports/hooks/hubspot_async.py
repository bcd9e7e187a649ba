"""`HubSpotAsyncClient`: the async twin of `HubSpotHook`, for triggers, over `httpx`.

It drives the same pure core as the hook (settings, URLs, validation, parsing, errors, retry
policy); only the transport differs. `httpx` comes with `airflow.sdk`, so it adds no dependency.

Triggers that talk to the same HubSpot host share one `httpx.AsyncClient` (one connection pool)
per event loop: a triggerer running 1,000 waits opens a bounded pool, not 1,000. The token is not
part of the pool: it is sent with each request.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from tenacity import AsyncRetrying

from airflow_provider_hubspot_imports._compat import mask_secret
from airflow_provider_hubspot_imports.core import protocol
from airflow_provider_hubspot_imports.core.oauth import AccessTokens
from airflow_provider_hubspot_imports.core.protocol import ApiRequest
from airflow_provider_hubspot_imports.core.retry import RetryPolicy, tenacity_arguments
from airflow_provider_hubspot_imports.core.settings import HubSpotSettings
from airflow_provider_hubspot_imports.core.transport import Parse, connection_error, read_answer
from airflow_provider_hubspot_imports.errors import HubSpotAuthError
from airflow_provider_hubspot_imports.hooks.connection import aget_connection, settings_for_connection
from airflow_provider_hubspot_imports.models import ImportRecord

# HubSpot allows at most 190 requests per 10 s per account: 50 connections are far more than
# enough, and keeping them all alive avoids a TCP (and TLS) handshake per poll.
POOL_LIMITS = httpx.Limits(max_connections=50, max_keepalive_connections=50, keepalive_expiry=60.0)

PoolKey = tuple[str, str | bool, float]


@dataclass
class SharedPool:
    """One `httpx.AsyncClient` and the gate in front of it.

    The gate (a semaphore as wide as the pool) queues requests beyond the pool's size in asyncio
    instead of in httpcore, whose wait queue is scanned on every request: with 1,000 waiting
    triggers that scan costs more CPU than the requests themselves.
    """

    client: httpx.AsyncClient
    gate: asyncio.Semaphore
    users: int = 0


_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[PoolKey, SharedPool]] = (
    weakref.WeakKeyDictionary()
)


@dataclass
class SharedTokens:
    """OAuth access tokens of one connection, shared by the waits of one event loop: 1,000 triggers
    on one OAuth connection fetch one access token, not 1,000. The lock lets one of them refresh."""

    tokens: AccessTokens
    lock: asyncio.Lock


_token_caches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Any, SharedTokens]] = (
    weakref.WeakKeyDictionary()
)


def shared_tokens(settings: HubSpotSettings) -> SharedTokens:
    """This event loop's token cache for these credentials (a static token needs no sharing)."""
    if settings.oauth is None:
        return SharedTokens(AccessTokens(settings), asyncio.Lock())
    caches = _token_caches.setdefault(asyncio.get_running_loop(), {})
    key = (
        settings.base_url,
        settings.oauth.client_id,
        settings.oauth.refresh_token,
        settings.oauth.token_path,
    )
    if key not in caches:
        caches[key] = SharedTokens(AccessTokens(settings), asyncio.Lock())
    return caches[key]


def pool_key(settings: HubSpotSettings) -> PoolKey:
    """What decides whether two waits may share a pool: host, TLS trust and timeout, not the token."""
    return (settings.base_url, settings.verify, settings.timeout)


def open_pools() -> int:
    """How many shared pools the running event loop holds (for tests and benchmarks)."""
    return len(_pools.get(asyncio.get_running_loop(), {}))


@asynccontextmanager
async def shared_pool(settings: HubSpotSettings) -> AsyncIterator[SharedPool]:
    """The event loop's pool for these settings; closed when its last user leaves."""
    pools = _pools.setdefault(asyncio.get_running_loop(), {})
    key = pool_key(settings)
    pool = pools.get(key)
    if pool is None:
        client = httpx.AsyncClient(
            headers=protocol.base_headers(),
            verify=settings.verify,
            timeout=settings.timeout,
            limits=POOL_LIMITS,
        )
        pool = pools[key] = SharedPool(client, asyncio.Semaphore(POOL_LIMITS.max_connections or 50))
    pool.users += 1
    try:
        yield pool
    finally:
        pool.users -= 1
        if pool.users == 0 and pools.get(key) is pool:
            del pools[key]
            await pool.client.aclose()


class HubSpotAsyncClient:
    """Calls HubSpot's Imports API from async code with the token of an Airflow ``hubspot`` connection.

    Use it as an async context manager: entering looks the connection up (once) and joins the
    shared pool; leaving releases it::

        async with HubSpotAsyncClient("hubspot_default") as client:
            record = await client.get_import(12345)
    """

    def __init__(self, hubspot_conn_id: str = "hubspot_default", *, log: Any = None) -> None:
        self.hubspot_conn_id = hubspot_conn_id
        self.log = log or logging.getLogger(__name__)
        self._settings: HubSpotSettings | None = None
        self._policy: RetryPolicy | None = None
        self._pool: SharedPool | None = None
        self._tokens: SharedTokens | None = None
        self._lease: Any = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(hubspot_conn_id={self.hubspot_conn_id!r})"

    async def __aenter__(self) -> HubSpotAsyncClient:
        settings = await self.settings()
        self._tokens = shared_tokens(settings)
        self._lease = shared_pool(settings)
        self._pool = await self._lease.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        lease, self._lease, self._pool = self._lease, None, None
        if lease is not None:
            await lease.__aexit__(*exc_info)

    async def settings(self) -> HubSpotSettings:
        """The connection's validated settings, looked up once per client."""
        if self._settings is None:
            conn = await aget_connection(self.hubspot_conn_id)
            self._settings = settings_for_connection(conn, self.hubspot_conn_id)
            self._policy = RetryPolicy.from_settings(self._settings)
        return self._settings

    # ---- transport ---------------------------------------------------------------------------

    async def _send_once(
        self, request: ApiRequest, started_at: float, parse: Parse | None, token: str | None, raw: bool
    ) -> Any:
        settings, policy, pool, shared = self._settings, self._policy, self._pool, self._tokens
        if settings is None or policy is None or pool is None or shared is None:
            raise RuntimeError(f"{self!r} is not open: use it as `async with HubSpotAsyncClient(...)`.")
        try:
            async with pool.gate:
                response = await pool.client.request(
                    request.method,
                    request.url,
                    params=request.params or None,
                    json=request.json_body,
                    data=dict(request.form_body) if request.form_body else None,
                    headers=protocol.auth_header(token) if token else None,
                    timeout=policy.attempt_timeout(settings.timeout, started_at),
                )
        except httpx.HTTPError as exc:
            timed_out = isinstance(exc, httpx.TimeoutException)
            never_sent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
            raise connection_error(
                request,
                shared.tokens,
                exc,
                timed_out=timed_out,
                never_sent=never_sent,
            ) from None
        return read_answer(
            request,
            shared.tokens,
            response.status_code,
            response.headers,
            response.content,
            parse,
            token_grant=raw,
        )

    async def _call(
        self, request: ApiRequest, parse: Parse | None, token: str | None, raw: bool = False
    ) -> Any:
        assert self._policy is not None
        started_at = time.monotonic()
        retrying = AsyncRetrying(
            **tenacity_arguments(self._policy, self.log, request.describe, idempotent=request.idempotent)
        )
        async for attempt in retrying:
            with attempt:
                return await self._send_once(request, started_at, parse, token, raw)
        raise AssertionError("unreachable: tenacity reraises the last error")  # pragma: no cover

    async def _bearer(self) -> str:
        """The token to send: static, or a fresh OAuth access token fetched by one waiter for all."""
        shared = self._tokens
        if shared is None:
            raise RuntimeError(f"{self!r} is not open: use it as `async with HubSpotAsyncClient(...)`.")
        token = shared.tokens.current()
        if token is not None:
            return token
        async with shared.lock:
            token = shared.tokens.current()
            if token is None:
                fetched = await self._call(shared.tokens.refresh_request(), None, None, raw=True)
                mask_secret(fetched.access_token)
                mask_secret(fetched.refresh_token)
                token = fetched.access_token
        return token

    async def call(self, request: ApiRequest, parse: Parse | None = None) -> Any:
        """Send `request` under the connection's retry policy; `parse` turns the JSON into the result.

        With OAuth, a 401 EXPIRED_AUTHENTICATION refreshes the access token once and sends again.
        """
        await self.settings()
        assert self._tokens is not None, "use the client as `async with HubSpotAsyncClient(...)`"
        tokens = self._tokens.tokens
        token = await self._bearer() if request.bearer else None
        try:
            return await self._call(request, parse, token)
        except HubSpotAuthError as exc:
            if not tokens.refresh_helps(exc, token):
                raise tokens.explain(exc) from None
            self.log.warning(
                "%s: HubSpot says the access token expired; refreshing it once.", request.describe
            )
        try:
            return await self._call(request, parse, await self._bearer())
        except HubSpotAuthError as exc:
            raise tokens.explain(exc) from None

    # ---- the Imports API ---------------------------------------------------------------------

    async def get_import(self, import_id: int | str) -> ImportRecord:
        """The import's record. `import_id` is checked before any request."""
        request = protocol.get_import_request(await self.settings(), import_id)
        return await self.call(request, protocol.parse_import_record)
