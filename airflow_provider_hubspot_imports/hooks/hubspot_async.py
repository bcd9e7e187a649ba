"""`HubSpotAsyncClient`: the async twin of `HubSpotHook`, for triggers, over aiohttp
(`hooks.async_transport`).

It drives the same pure core as the hook (settings, URLs, validation, parsing, errors, retry
policy); only the transport (`hooks.async_transport`) differs.

Triggers that talk to the same HubSpot host share one pool of keep-alive connections per event
loop: a triggerer running 1,000 waits opens a bounded pool, not 1,000. The token is not part of
the pool: it is sent with each request. OAuth access tokens are shared per set of credentials the
same way, and dropped when the last wait using them ends.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tenacity import AsyncRetrying

from airflow_provider_hubspot_imports._compat import mask_secret
from airflow_provider_hubspot_imports.core import protocol
from airflow_provider_hubspot_imports.core.oauth import AccessTokens
from airflow_provider_hubspot_imports.core.protocol import ApiRequest
from airflow_provider_hubspot_imports.core.retry import RetryPolicy, tenacity_arguments
from airflow_provider_hubspot_imports.core.settings import HubSpotSettings
from airflow_provider_hubspot_imports.core.transport import Parse
from airflow_provider_hubspot_imports.errors import HubSpotAuthError
from airflow_provider_hubspot_imports.hooks.async_transport import (
    POOL_SIZE,
    Pool,
    acquire_pool,
    open_pools,
    release_pool,
)
from airflow_provider_hubspot_imports.hooks.connection import aget_connection, settings_for_connection
from airflow_provider_hubspot_imports.models import ImportRecord

__all__ = ["POOL_SIZE", "HubSpotAsyncClient", "open_pools", "open_token_caches"]

BuildRequest = Callable[[HubSpotSettings], ApiRequest]


@dataclass
class SharedTokens:
    """OAuth access tokens of one set of credentials, shared by the waits of one event loop: 1,000
    triggers on one OAuth connection fetch one access token, not 1,000. The lock lets one of them
    refresh; `users` counts the waits holding it, and the last one out drops it."""

    tokens: AccessTokens
    lock: asyncio.Lock
    key: tuple[Any, ...] | None = None
    users: int = 0


_token_caches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Any, SharedTokens]] = (
    weakref.WeakKeyDictionary()
)


def token_key(settings: HubSpotSettings) -> tuple[Any, ...] | None:
    """Every credential that decides which access token HubSpot issues: two waits share tokens only
    when all of them match (a fixed client_secret gets a cache of its own). None for a static token."""
    oauth = settings.oauth
    if oauth is None:
        return None
    return (settings.base_url, oauth.token_path, oauth.client_id, oauth.client_secret, oauth.refresh_token)


def acquire_tokens(settings: HubSpotSettings) -> SharedTokens:
    """This event loop's token cache for these credentials (a static token needs no sharing)."""
    key = token_key(settings)
    if key is None:
        return SharedTokens(AccessTokens(settings), asyncio.Lock())
    caches = _token_caches.setdefault(asyncio.get_running_loop(), {})
    shared = caches.get(key)
    if shared is None:
        shared = caches[key] = SharedTokens(AccessTokens(settings), asyncio.Lock(), key)
    shared.users += 1
    return shared


def release_tokens(shared: SharedTokens) -> None:
    """One wait less on `shared`; the last one out evicts it from the loop's cache."""
    if shared.key is None:
        return
    shared.users -= 1
    caches = _token_caches.get(asyncio.get_running_loop(), {})
    if shared.users <= 0 and caches.get(shared.key) is shared:
        del caches[shared.key]


_lookups: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Future[HubSpotSettings]]] = (
    weakref.WeakKeyDictionary()
)


async def look_up_settings(conn_id: str) -> HubSpotSettings:
    """The connection's validated settings, freshly looked up.

    Waits that start together share the lookup in flight: a triggerer starting 1,000 waits on one
    connection (after a restart, say) asks its secrets backend or API server once, not 1,000 times.
    Nothing is kept once the lookup is done, so a later lookup always reads the connection anew.
    """
    lookups = _lookups.setdefault(asyncio.get_running_loop(), {})
    pending = lookups.get(conn_id)
    if pending is None:
        pending = lookups[conn_id] = asyncio.ensure_future(_read_settings(conn_id))

        def forget(done: asyncio.Future[HubSpotSettings]) -> None:
            if lookups.get(conn_id) is done:
                del lookups[conn_id]
            if not done.cancelled():
                done.exception()  # retrieved here too, so a lookup nobody awaits any more logs nothing

        pending.add_done_callback(forget)
    return await asyncio.shield(pending)  # one waiter cancelled does not cancel the others' lookup


async def _read_settings(conn_id: str) -> HubSpotSettings:
    return settings_for_connection(await aget_connection(conn_id), conn_id)


def open_token_caches() -> int:
    """How many OAuth token caches the running event loop holds (for tests)."""
    return len(_token_caches.get(asyncio.get_running_loop(), {}))


class HubSpotAsyncClient:
    """Calls HubSpot's Imports API from async code with the token of an Airflow ``hubspot`` connection.

    Use it as an async context manager: entering looks the connection up (once) and joins the
    shared pool; leaving releases it::

        async with HubSpotAsyncClient("hubspot_default") as client:
            record = await client.get_import(12345)

    A wait lasts days, and credentials get rotated meanwhile: when HubSpot refuses them (401), the
    connection is looked up once more, and the call is sent again if it now holds other ones.
    """

    def __init__(self, hubspot_conn_id: str = "hubspot_default", *, log: Any = None) -> None:
        self.hubspot_conn_id = hubspot_conn_id
        self.log = log or logging.getLogger(__name__)
        self._settings: HubSpotSettings | None = None
        self._policy: RetryPolicy | None = None
        self._pool: Pool | None = None
        self._tokens: SharedTokens | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(hubspot_conn_id={self.hubspot_conn_id!r})"

    async def __aenter__(self) -> HubSpotAsyncClient:
        await self._use(await self.settings())
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self._leave()

    async def settings(self) -> HubSpotSettings:
        """The connection's validated settings, looked up once per client (and again after a 401)."""
        if self._settings is None:
            self._settings = await look_up_settings(self.hubspot_conn_id)
            self._policy = RetryPolicy.from_settings(self._settings)
        return self._settings

    async def _use(self, settings: HubSpotSettings) -> None:
        """Join the pool and token cache for `settings` (the pool's TLS context is built here, so a
        missing CA bundle is a HubSpotInputError before any request)."""
        pool = acquire_pool(settings)
        self._pool, self._tokens = pool, acquire_tokens(settings)

    async def _leave(self) -> None:
        pool, tokens, self._pool, self._tokens = self._pool, self._tokens, None, None
        if tokens is not None:
            release_tokens(tokens)
        if pool is not None:
            await release_pool(pool)

    async def _reread_connection(self) -> bool:
        """After a 401: look the connection up again; True when it now holds other settings, which
        the client then uses (the pool and token cache follow). Not shared with lookups in flight:
        one of those may have started before the credentials were rotated."""
        fresh = await _read_settings(self.hubspot_conn_id)
        if fresh == self._settings:
            return False
        entered = self._pool is not None
        if entered:
            await self._leave()
        self._settings, self._policy = fresh, RetryPolicy.from_settings(fresh)
        if entered:
            await self._use(fresh)
        return True

    # ---- transport ---------------------------------------------------------------------------

    def _open_parts(self) -> tuple[RetryPolicy, Pool, SharedTokens]:
        policy, pool, shared = self._policy, self._pool, self._tokens
        if policy is None or pool is None or shared is None:
            raise RuntimeError(f"{self!r} is not open: use it as `async with HubSpotAsyncClient(...)`.")
        return policy, pool, shared

    async def _call(
        self, request: ApiRequest, parse: Parse | None, token: str | None, raw: bool = False
    ) -> Any:
        """One call under the retry policy. The first attempt runs outside tenacity: most calls
        succeed at once, and building and driving an `AsyncRetrying` costs more than the request."""
        policy, pool, shared = self._open_parts()
        started_at = time.monotonic()
        try:
            return await pool.send(request, shared.tokens, token, parse, raw, policy, started_at)
        except Exception as error:
            if not policy.retries(error, idempotent=request.idempotent):
                raise
            first_failure: Exception | None = error
        retrying = AsyncRetrying(
            **tenacity_arguments(policy, self.log, request.describe, idempotent=request.idempotent)
        )
        async for attempt in retrying:
            with attempt:
                if first_failure is not None:
                    attempt.retry_state.start_time = started_at
                    failure, first_failure = first_failure, None
                    raise failure
                return await pool.send(request, shared.tokens, token, parse, raw, policy, started_at)
        raise AssertionError("unreachable: tenacity reraises the last error")  # pragma: no cover

    async def _bearer(self) -> str:
        """The token to send: static, or a fresh OAuth access token fetched by one waiter for all."""
        _, _, shared = self._open_parts()
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

    async def _call_authorized(self, request: ApiRequest, parse: Parse | None) -> Any:
        """With OAuth, a 401 EXPIRED_AUTHENTICATION refreshes the access token once and sends again."""
        _, _, shared = self._open_parts()
        tokens = shared.tokens
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

    async def _send(self, build: BuildRequest, parse: Parse | None) -> Any:
        """`build(settings)` sent with the connection's credentials; on a 401 the connection is read
        once more and, if its settings changed (a rotated token), the request is built and sent again."""
        request = build(await self.settings())
        try:
            return await self._call_authorized(request, parse)
        except HubSpotAuthError as exc:
            if exc.status != 401 or not request.bearer or not await self._reread_connection():
                raise
            self.log.warning(
                "%s: HubSpot refused the credentials (HTTP 401). Connection '%s' was read again and "
                "holds new ones; sending with them.",
                request.describe,
                self.hubspot_conn_id,
            )
        return await self._call_authorized(build(await self.settings()), parse)

    async def call(self, request: ApiRequest, parse: Parse | None = None) -> Any:
        """Send `request` under the connection's retry policy; `parse` turns the JSON into the result.

        With OAuth, a 401 EXPIRED_AUTHENTICATION refreshes the access token once and sends again;
        any other 401 reads the connection again once and, when its credentials changed, sends again.
        """
        return await self._send(lambda _settings: request, parse)

    # ---- the Imports API ---------------------------------------------------------------------

    async def get_import(self, import_id: int | str) -> ImportRecord:
        """The import's record. `import_id` is checked before any request."""
        return await self._send(
            lambda settings: protocol.get_import_request(settings, import_id), protocol.parse_import_record
        )
