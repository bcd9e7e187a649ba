"""A small HTTP/1.1 client on asyncio streams: keep-alive connections to one origin, for the async
transport. It does what the triggerer's polls need and nothing more, because every feature of a
general client costs CPU on every poll of every deferred wait (docs/performance.md, figure 7).

What it keeps: TLS verified with the caller's `ssl.SSLContext` (server name checked); the
environment's proxy (``HTTP_PROXY`` for ``http://`` origins as absolute-form requests,
``HTTPS_PROXY`` through a ``CONNECT`` tunnel, ``NO_PROXY`` honoured), found once per pool; a
wall-clock deadline per request; answers framed by ``Content-Length``, chunked transfer coding or
the connection's end, refused past a byte cap without reading the rest. What it leaves out: redirects
(a 3xx is returned as it is), compression (no ``Accept-Encoding`` is sent), cookies, HTTP/2.

A connection is reused only after a complete answer that did not say ``Connection: close``, and
dropped after any error or once idle past the pool's keep-alive time. A request is never sent
twice: a reused connection the server had closed fails the request (`ConnectionLost`), and the
caller's retry policy decides.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import ssl
import sys
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit

_HEAD_LIMIT = 64 * 1024  # the most an answer's status line and headers may take
_NO_BODY_STATUSES = frozenset({204, 304})


class HTTPError(Exception):
    """A request that got no (complete) answer."""


class ConnectFailed(HTTPError):
    """The connection (or the proxy's tunnel) could not be opened: nothing was sent."""


class ConnectionLost(HTTPError):
    """The connection failed, or the answer was malformed, after the request may have been sent."""


class TimedOut(HTTPError):
    """The request's deadline passed. `connecting`: before the connection was open (nothing sent)."""

    def __init__(self, message: str, *, connecting: bool) -> None:
        super().__init__(message)
        self.connecting = connecting


class AnswerTooLarge(HTTPError):
    """The answer's body is longer than the cap; reading stopped there."""


class Response:
    """An answer: status, headers (names as sent; a repeated header's values joined by ", "), body."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body


@dataclass(frozen=True)
class Proxy:
    host: str
    port: int
    authorization: str | None  # the Proxy-Authorization header's value, from the proxy URL


def environment_proxy(scheme: str, host: str) -> Proxy | None:
    """The proxy the environment names for `scheme` (``HTTPS_PROXY`` or ``HTTP_PROXY``, any case,
    or ``ALL_PROXY``) unless ``NO_PROXY`` exempts `host`. Credentials come only from the proxy
    URL (never from ``~/.netrc``)."""
    proxies = urllib.request.getproxies()
    url = proxies.get(scheme) or proxies.get("all")
    if not url or urllib.request.proxy_bypass(host):
        return None
    if "://" not in url:
        url = f"http://{url}"
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(
            f"The {scheme} proxy {parts.scheme}://{parts.hostname}:{parts.port} from the environment is "
            f"not an http:// proxy; only http:// proxies are supported (set it to http://host:port)."
        )
    authorization = None
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    return Proxy(parts.hostname, parts.port or 80, authorization)


class _Connection:
    __slots__ = ("idle_since", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.idle_since = reader, writer, 0.0

    def close(self) -> None:
        self.writer.close()

    def usable(self) -> bool:
        return not self.reader.at_eof() and not self.writer.is_closing()


class _Deadline:
    """Cancels the running task when `seconds` pass: cheaper than `asyncio.wait_for` (no task)."""

    __slots__ = ("cancelling", "connecting", "expired", "handle", "task")

    def __init__(self, seconds: float) -> None:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a request needs a running task")
        self.task, self.expired, self.connecting = task, False, False
        # Python 3.11+ counts a task's pending cancellations: the deadline takes its own back
        # (`owns`), so a cancellation from outside arriving at the same time is not lost.
        self.cancelling = 0
        if sys.version_info >= (3, 11):
            self.cancelling = task.cancelling()
        self.handle = asyncio.get_running_loop().call_later(seconds, self._expire)

    def _expire(self) -> None:
        self.expired = True
        self.task.cancel()

    def owns(self, error: asyncio.CancelledError) -> bool:
        """Whether `error` is this deadline's own cancellation (not also someone else's)."""
        if not self.expired:
            return False
        if sys.version_info >= (3, 11):
            return self.task.uncancel() <= self.cancelling
        return True


class ConnectionPool:
    """Keep-alive HTTP/1.1 connections to one origin (``scheme://host[:port]``), at most `size` idle.

    The caller bounds how many requests run at once (and so how many connections are open)."""

    def __init__(
        self,
        origin: str,
        *,
        tls: ssl.SSLContext | None,
        size: int,
        keepalive_seconds: float,
        headers: dict[str, str],
    ) -> None:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
            raise ValueError(f"{origin!r} is not an http:// or https:// origin (scheme and host only)")
        self.origin = origin.rstrip("/")
        self.scheme, self.host = parts.scheme, parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.tls = (tls or ssl.create_default_context()) if parts.scheme == "https" else None
        self.size, self.keepalive_seconds = size, keepalive_seconds
        self.proxy = environment_proxy(self.scheme, self.host)
        self.closed = False
        self._idle: list[_Connection] = []
        default_port = self.port == (443 if self.tls else 80)
        self._authority = self.host if default_port else f"{self.host}:{self.port}"
        if ":" in self.host:  # an IPv6 literal
            self._authority = f"[{self.host}]" if default_port else f"[{self.host}]:{self.port}"
        lines = [f"Host: {self._authority}", *(f"{name}: {value}" for name, value in headers.items())]
        # Plain http through a proxy: absolute-form targets, and the proxy's credentials on each request.
        self._absolute = self.proxy is not None and self.tls is None
        if self._absolute and self.proxy is not None and self.proxy.authorization:
            lines.append(f"Proxy-Authorization: {self.proxy.authorization}")
        self._head_lines = "".join(f"{line}\r\n" for line in lines)

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Sequence[tuple[str, str]] = (),
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
        timeout: float,
        max_bytes: int,
    ) -> Response:
        """Send one request on a pooled (or new) connection and read its answer, within `timeout`
        seconds in all. Raises a `HTTPError` subclass for anything but a complete answer."""
        data = self._encode(method, url, params, headers, body, content_type)
        deadline = _Deadline(timeout)
        try:
            return await self._exchange(data, method, max_bytes, deadline)
        except asyncio.CancelledError as error:
            if not deadline.owns(error):
                raise
            where = "connecting" if deadline.connecting else "waiting for the answer"
            raise TimedOut(
                f"no answer within {timeout:g} s ({where})", connecting=deadline.connecting
            ) from None
        finally:
            deadline.handle.cancel()

    def _encode(
        self,
        method: str,
        url: str,
        params: Sequence[tuple[str, str]],
        headers: dict[str, str] | None,
        body: bytes | None,
        content_type: str | None,
    ) -> bytes:
        if url.startswith(self.origin) and url[len(self.origin) : len(self.origin) + 1] in ("/", "?", ""):
            target = url[len(self.origin) :] or "/"
        else:
            raise ValueError(f"{url!r} is not on this pool's origin {self.origin}")
        if not target.isascii() or " " in target:
            target = quote(target, safe="/?&=%:@!$'()*+,;-._~")
        if params:
            query = urlencode(params)
            target = f"{target}{'&' if '?' in target else '?'}{query}"
        if self._absolute:
            target = f"{self.scheme}://{self._authority}{target}"
        head = f"{method} {target} HTTP/1.1\r\n{self._head_lines}"
        if headers:
            head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        if body is not None or method in ("POST", "PUT", "PATCH"):
            if content_type:
                head += f"Content-Type: {content_type}\r\n"
            head += f"Content-Length: {len(body or b'')}\r\n"
        data = f"{head}\r\n".encode("latin-1")
        return data + body if body else data

    async def _exchange(self, data: bytes, method: str, max_bytes: int, deadline: _Deadline) -> Response:
        connection = self._take_idle()
        if connection is None:
            deadline.connecting = True
            connection = await self._open()
            deadline.connecting = False
        try:
            connection.writer.write(data)
            if len(data) > 65536:
                await connection.writer.drain()
            response, keep = await _read_answer(connection.reader, method, max_bytes)
        except BaseException as error:
            connection.close()
            if isinstance(error, (OSError, EOFError, asyncio.LimitOverrunError, ValueError)):
                raise ConnectionLost(_describe(error)) from None
            raise
        if keep and not self.closed and len(self._idle) < self.size:
            connection.idle_since = asyncio.get_running_loop().time()
            self._idle.append(connection)
        else:
            connection.close()
        return response

    def _take_idle(self) -> _Connection | None:
        """The most recently used idle connection still open and not idle too long; others are closed."""
        if not self._idle:
            return None
        oldest = asyncio.get_running_loop().time() - self.keepalive_seconds
        while self._idle:
            connection = self._idle.pop()
            if connection.idle_since > oldest and connection.usable():
                return connection
            connection.close()
        return None

    async def _open(self) -> _Connection:
        try:
            if self.proxy is None:
                host, port = self.host, self.port
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=self.tls, server_hostname=host if self.tls else None, limit=_HEAD_LIMIT
                )
            elif self.tls is None:
                reader, writer = await asyncio.open_connection(
                    self.proxy.host, self.proxy.port, limit=_HEAD_LIMIT
                )
            else:
                tunnel = await self._tunnel(self.proxy)
                try:
                    reader, writer = await asyncio.open_connection(
                        sock=tunnel, ssl=self.tls, server_hostname=self.host, limit=_HEAD_LIMIT
                    )
                except BaseException:
                    tunnel.close()
                    raise
        except (OSError, EOFError, ValueError) as error:
            raise ConnectFailed(_describe(error)) from None
        return _Connection(reader, writer)

    async def _tunnel(self, proxy: Proxy) -> socket.socket:
        """A socket to the proxy with a ``CONNECT`` tunnel to the origin open through it."""
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(proxy.host, proxy.port, type=socket.SOCK_STREAM)
        if not infos:
            raise OSError(f"the proxy host {proxy.host!r} has no address")
        family, kind, number, _, address = infos[0]
        sock = socket.socket(family, kind, number)
        try:
            sock.setblocking(False)
            await loop.sock_connect(sock, address)
            authority = f"{self.host}:{self.port}" if ":" not in self.host else f"[{self.host}]:{self.port}"
            lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
            if proxy.authorization:
                lines.append(f"Proxy-Authorization: {proxy.authorization}")
            await loop.sock_sendall(sock, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            answer = b""
            while b"\r\n\r\n" not in answer:
                chunk = await loop.sock_recv(sock, 4096)
                if not chunk or len(answer) > _HEAD_LIMIT:
                    raise ConnectionError("the proxy closed the connection during CONNECT")
                answer += chunk
            head, _, extra = answer.partition(b"\r\n\r\n")
            status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
            fields = status_line.split(" ", 2)
            if len(fields) < 2 or fields[1] != "200" or extra:
                raise ConnectionRefusedError(f"the proxy refused the tunnel: {status_line!r}")
        except BaseException:
            sock.close()
            raise
        return sock

    def close(self) -> None:
        """Close the idle connections; those in use close when their request ends."""
        self.closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


async def _read_answer(reader: asyncio.StreamReader, method: str, max_bytes: int) -> tuple[Response, bool]:
    """The answer's status, headers and body, and whether the connection may be used again."""
    while True:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head[:-4].decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        if not version.startswith("HTTP/1."):
            raise ValueError(f"not an HTTP/1.x answer: {lines[0][:80]!r}")
        status = int(rest[:3])
        if not 100 <= status < 200 or status == 101:
            break  # an interim 1xx answer is skipped
    headers: dict[str, str] = {}
    length: int | None = None
    chunked = False
    keep = version == "HTTP/1.1"
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"malformed header line {line[:80]!r}")
        value = value.strip()
        lowered = name.lower()
        if lowered == "content-length":
            length = int(value)
            if length < 0:
                raise ValueError(f"negative Content-Length {value!r}")
        elif lowered == "transfer-encoding":
            chunked = value.lower().endswith("chunked")
        elif lowered == "connection":
            tokens = value.lower()
            keep = "close" not in tokens and (keep or "keep-alive" in tokens)
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    if method == "HEAD" or status in _NO_BODY_STATUSES or status < 200:
        body = b""
    elif chunked:
        body = await _read_chunked(reader, max_bytes)
    elif length is not None:
        if length > max_bytes:
            raise AnswerTooLarge(f"the answer declares {length} bytes, more than {max_bytes}")
        body = await reader.readexactly(length) if length else b""
    else:  # framed by the connection's end
        keep = False
        body = await reader.read(max_bytes + 1)
        parts = [body]
        size = len(body)
        while body and size <= max_bytes:
            body = await reader.read(max_bytes + 1 - size)
            size += len(body)
            parts.append(body)
        if size > max_bytes:
            raise AnswerTooLarge(f"the answer is longer than {max_bytes} bytes")
        body = b"".join(parts)
    return Response(status, headers, body), keep


async def _read_chunked(reader: asyncio.StreamReader, max_bytes: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        line = await reader.readuntil(b"\r\n")
        chunk_size = int(line.split(b";", 1)[0].strip(), 16)
        if chunk_size < 0:
            raise ValueError("negative chunk size")
        if chunk_size == 0:
            break
        size += chunk_size
        if size > max_bytes:
            raise AnswerTooLarge(f"the answer is longer than {max_bytes} bytes")
        parts.append(await reader.readexactly(chunk_size))
        if await reader.readexactly(2) != b"\r\n":
            raise ValueError("a chunk does not end with CRLF")
    while await reader.readuntil(b"\r\n") != b"\r\n":  # trailer fields, ignored
        pass
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _describe(error: BaseException) -> str:
    if isinstance(error, asyncio.IncompleteReadError):
        return "the server closed the connection before the answer was complete"
    if isinstance(error, asyncio.LimitOverrunError):
        return "the answer's headers are too long"
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def form_body(fields: Sequence[tuple[str, str]]) -> bytes:
    """``application/x-www-form-urlencoded`` bytes of `fields`."""
    return urlencode(fields).encode("ascii")


def json_body(value: Any) -> bytes:
    return json.dumps(value).encode()
