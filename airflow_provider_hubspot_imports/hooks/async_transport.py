"""The async transport: one `aiohttp` session (a pool of keep-alive connections) per event loop and
HubSpot origin, and one bounded attempt over it.

aiohttp parses the HTTP (strict framing, and a connection with anything left unread on it is closed,
never handed the next request). Around it, each attempt has a wall-clock deadline that includes the
wait for a pooled connection, reads at most `core.limits.MAX_ANSWER_BYTES` in bounded pieces, follows
no redirect, is never resent by aiohttp itself, verifies TLS with the context `core.tls` builds (once
per pool), and goes through the environment's proxy (``HTTPS_PROXY``, ``HTTP_PROXY``, ``NO_PROXY``,
read once per pool). What an answer means is decided by `core.transport`, as for the sync hook.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import urllib.request
import weakref
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import aiohttp
from aiohttp.client_proto import ResponseHandler

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
    malformed_answer_error,
    read_answer,
    redirect_error,
    too_large_error,
)
from airflow_provider_hubspot_imports.errors import HubSpotInputError

# HubSpot allows one account at most 190 requests per 10 s (19 a second). At a round trip of
# 0.1-0.5 s that rate needs 2-10 requests in flight; 20 connections absorb bursts (many waits
# polling at the same moment after a triggerer restart) without queueing long, and cost the same
# CPU per poll as 50 or 100 (docs/performance.md, "Shared pool size"). Requests beyond the pool
# wait in aiohttp's connector, inside their attempt's deadline.
POOL_SIZE = 20
KEEPALIVE_SECONDS = 60.0
# How much one read of the answer takes at most: memory stays bounded however the server chunks it.
READ_PIECE_BYTES = 64 * 1024

PoolKey = tuple[str, str | None, float]

# The connection could not be made (or its connect timeout passed), so nothing was sent.
_NOT_SENT = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)


class _AnsweringHandler(ResponseHandler):
    """aiohttp's connection protocol, closing a connection that receives bytes while no request is
    waiting for an answer on it (a stray answer, or a server's ``408`` on an idle connection).

    aiohttp drops a connection that has bytes left over when its answer ends, but parses what
    arrives once it is back in the pool as the answer to the next request sent on it.
    """

    _answering = False
    _answered: Any = None  # the body of the last answer read in full

    def set_response_params(self, *args: Any, **kwargs: Any) -> None:
        self._answering = True  # aiohttp calls this just before it sends a request
        self._answered = self._payload
        super().set_response_params(*args, **kwargs)

    def data_received(self, data: bytes) -> None:
        if data and not self._answering:
            self.force_close()
            if self.transport is not None:
                self.transport.close()
            return
        super().data_received(data)
        payload = self._payload
        if payload is not None and payload is not self._answered and payload.is_eof():
            self._answering = False  # this answer is complete: whatever comes next is stray


class _Connector(aiohttp.TCPConnector):
    """A TCPConnector whose connections are `_AnsweringHandler`s."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._factory = functools.partial(_AnsweringHandler, loop=self._loop)  # type: ignore[assignment]


@dataclass(frozen=True)
class Proxy:
    """The environment's proxy for one origin: its URL without credentials, and those as Basic auth."""

    url: str
    auth: aiohttp.BasicAuth | None


def environment_proxy(base_url: str) -> Proxy | None:
    """The proxy the environment names for `base_url`'s scheme (``HTTPS_PROXY`` or ``HTTP_PROXY``, any
    case, or ``ALL_PROXY``) unless ``NO_PROXY`` exempts its host. Credentials come only from the proxy
    URL, never from ``~/.netrc``. Read once per pool: aiohttp's own ``trust_env`` looks the proxy up,
    and reads ``~/.netrc``, on every request."""
    origin = urlsplit(base_url)
    proxies = urllib.request.getproxies()
    url = proxies.get(origin.scheme) or proxies.get("all")
    if not url or urllib.request.proxy_bypass(origin.hostname or ""):
        return None
    if "://" not in url:
        url = f"http://{url}"
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(
            f"The {origin.scheme} proxy {parts.scheme}://{parts.hostname}:{parts.port} from the environment "
            f"is not an http:// proxy; only http:// proxies are supported (set it to http://host:port)."
        )
    auth = None
    if parts.username is not None:
        auth = aiohttp.BasicAuth(unquote(parts.username), unquote(parts.password or ""))
    return Proxy(f"http://{parts.hostname}:{parts.port or 80}", auth)


@dataclass
class Pool:
    """One `aiohttp.ClientSession` (its connector is the pool) and the proxy its requests go through."""

    key: PoolKey
    session: aiohttp.ClientSession
    proxy: Proxy | None = None
    users: int = 0
    # One ClientTimeout per deadline in use: nearly every attempt has the connection's timeout.
    _timeouts: dict[float, aiohttp.ClientTimeout] = field(default_factory=dict)

    def timeout(self, seconds: float) -> aiohttp.ClientTimeout:
        """The attempt's wall-clock deadline. aiohttp's `total` runs from the call on: the wait for a
        pooled connection, connecting, sending and reading the whole answer all count."""
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
        seconds = policy.attempt_timeout(tokens.settings.timeout, started_at)
        proxy = self.proxy
        try:
            async with self.session.request(
                request.method,
                request.url,
                params=request.params or None,
                json=request.json_body,
                data=dict(request.form_body) if request.form_body else None,
                headers=protocol.auth_header(token) if token else None,
                timeout=self.timeout(seconds),
                allow_redirects=False,
                proxy=proxy.url if proxy else None,
                proxy_auth=proxy.auth if proxy else None,
            ) as response:
                status = response.status
                if 300 <= status < 400:
                    raise redirect_error(request, status, response.headers.get("Location"))
                body = await read_capped(response, request)
                headers = response.headers
        except aiohttp.ClientResponseError as exc:  # the answer's head is not valid HTTP
            why = exc.message or str(exc.__cause__ or "")  # older aiohttp keeps the words there
            raise malformed_answer_error(request, tokens, why) from None
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise connection_error(
                request,
                tokens,
                exc,
                timed_out=isinstance(exc, asyncio.TimeoutError),
                never_sent=isinstance(exc, _NOT_SENT),
                seconds=seconds,
            ) from None
        return read_answer(request, tokens, status, headers, body, parse, token_grant=raw)


async def read_capped(response: aiohttp.ClientResponse, request: ApiRequest) -> bytes:
    """The body, read READ_PIECE_BYTES at a time and refused past MAX_ANSWER_BYTES (the connection is
    then closed, not returned to the pool). aiohttp stops reading the socket while its buffer is
    full, so memory stays near the cap however the server chunks the answer."""
    declared = response.content_length
    if declared is not None and declared > MAX_ANSWER_BYTES and not response.headers.get("Content-Encoding"):
        response.close()
        raise too_large_error(request)
    stream = response.content
    pieces: list[bytes] = []
    size = 0
    while piece := await stream.read(READ_PIECE_BYTES):
        size += len(piece)
        if size > MAX_ANSWER_BYTES:
            response.close()
            raise too_large_error(request)
        pieces.append(piece)
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)


_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[PoolKey, Pool]] = (
    weakref.WeakKeyDictionary()
)


def pool_key(settings: HubSpotSettings) -> PoolKey:
    """What decides whether two waits may share a pool: origin, TLS trust and timeout, not the token."""
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


def _new_session(settings: HubSpotSettings) -> aiohttp.ClientSession:
    connector = _Connector(
        limit=POOL_SIZE,
        limit_per_host=POOL_SIZE,
        keepalive_timeout=KEEPALIVE_SECONDS,
        ssl=pool_tls(settings),  # built for http:// too: a bad CA bundle is reported either way
    )
    session = aiohttp.ClientSession(
        connector=connector,
        headers=protocol.base_headers(),
        cookie_jar=aiohttp.DummyCookieJar(),  # HubSpot's API sets none worth keeping
        raise_for_status=False,
        skip_auto_headers=("Accept-Encoding",),  # answers come uncompressed, as the cap counts them
        trust_env=False,  # the proxy comes from `environment_proxy`, once per pool
    )
    # The retry policy is the only one that retries (and counts and logs what it retries): aiohttp
    # would otherwise send a GET again, silently, when a kept-alive connection drops.
    session._retry_connection = False  # aiohttp 3.11+
    return session


def acquire_pool(settings: HubSpotSettings) -> Pool:
    """The event loop's pool for these settings, created (with its TLS context) on first use.

    A missing or unreadable CA bundle, or an environment proxy that is not http://, raises
    HubSpotInputError here, before any request."""
    pools = _pools.setdefault(asyncio.get_running_loop(), {})
    key = pool_key(settings)
    pool = pools.get(key)
    if pool is None:
        try:
            proxy = environment_proxy(settings.base_url)
        except ValueError as exc:
            raise HubSpotInputError(f"Connection '{settings.conn_id}': {exc}") from None
        pool = pools[key] = Pool(key, _new_session(settings), proxy)
    pool.users += 1
    return pool


async def release_pool(pool: Pool) -> None:
    """One user less; the last one out closes the pool."""
    pool.users -= 1
    pools = _pools.get(asyncio.get_running_loop(), {})
    if pool.users <= 0 and pools.get(pool.key) is pool:
        del pools[pool.key]
        await pool.session.close()
