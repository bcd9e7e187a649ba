"""`requests`, bounded: one TLS context, no redirects, a wall-clock deadline per attempt, capped answers.

`requests` has no total timeout: its `timeout` bounds each socket read, so a server that drips a
byte at a time holds a call for ever. Here every attempt gets an `AttemptClock`; a single watchdog
thread shuts the attempt's socket down when its deadline passes, which ends any read or write in
progress however slowly bytes arrive. Answers are read as a stream and refused past a size cap.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import requests
from requests.adapters import DEFAULT_POOLBLOCK, HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

CHUNK_BYTES = 64 * 1024
_current = threading.local()


class AttemptClock:
    """One attempt's deadline on the monotonic clock. When it passes, `expire` shuts down the socket
    the attempt uses, so whatever read or write is blocked on it ends at once."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.expired = False
        self.finished = False
        self._connection: HTTPConnection | None = None
        self._lock = threading.Lock()

    def restart(self) -> None:
        """Count the attempt's `seconds` from now (after an upload: the answer gets the whole budget)."""
        self.deadline = time.monotonic() + self.seconds
        _watchdog.arm(self)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def attach(self, connection: HTTPConnection) -> None:
        with self._lock:
            self._connection = connection

    def expire(self) -> None:
        with self._lock:
            if self.finished or time.monotonic() < self.deadline:
                return
            self.expired = True
            sock = getattr(self._connection, "sock", None)
        if sock is not None:
            # the plain socket's shutdown: an SSLSocket's own would tear its state down under the reader
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def finish(self) -> None:
        with self._lock:
            self.finished = True
            self._connection = None


class _Watchdog:
    """One daemon thread for every attempt of the process: sleeps until the earliest deadline of an
    attempt still running, and expires the clocks whose time is up. Arming costs a heap push; the
    thread is woken only when a new deadline is the earliest, and finished attempts are dropped in
    bulk, so a stream of quick calls does not wake it once per call."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._heap: list[tuple[float, int, AttemptClock]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, clock: AttemptClock) -> None:
        with self._condition:
            earliest = not self._heap or clock.deadline < self._heap[0][0]
            heapq.heappush(self._heap, (clock.deadline, next(self._order), clock))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="hubspot-deadlines", daemon=True)
                self._thread.start()
            elif earliest:
                self._condition.notify()

    def _run(self) -> None:
        while True:
            with self._condition:
                while self._heap and self._heap[0][2].finished:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._condition.wait()
                    continue
                deadline, _, clock = self._heap[0]
                wait = deadline - time.monotonic()
                if wait > 0:
                    self._condition.wait(wait)
                    continue
                heapq.heappop(self._heap)
            clock.expire()


_watchdog = _Watchdog()


def start_attempt(seconds: float, *, armed: bool = True) -> AttemptClock:
    """A clock for the attempt about to run on this thread; `armed=False` starts it later (`restart`)."""
    clock = AttemptClock(seconds)
    _current.clock = clock
    if armed:
        _watchdog.arm(clock)
    return clock


def end_attempt(clock: AttemptClock) -> None:
    clock.finish()
    if getattr(_current, "clock", None) is clock:
        _current.clock = None


def _attach_current(connection: HTTPConnection) -> None:
    clock = getattr(_current, "clock", None)
    if clock is not None:
        clock.attach(connection)


class _WatchedHTTPConnection(HTTPConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach_current(self)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach_current(self)
        super().request(*args, **kwargs)


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class BoundedAdapter(HTTPAdapter):
    """Mounts `ssl_context` (the connection's CA bundle or the system store; None for a plain-http
    base URL) on every pool, and connections that an `AttemptClock` can cut. No retries at this
    level: the hook's policy decides those."""

    def __init__(self, ssl_context: ssl.SSLContext | None, **kwargs: Any) -> None:
        self.ssl_context = ssl_context
        super().__init__(max_retries=0, **kwargs)

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = DEFAULT_POOLBLOCK, **pool_kwargs: Any
    ) -> None:
        super().init_poolmanager(connections, maxsize, block, ssl_context=self.ssl_context, **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        """The pools behind an environment proxy (``HTTPS_PROXY`` tunnels, ``HTTP_PROXY``) get the
        same TLS context and watched connections as direct ones."""
        if proxy not in self.proxy_manager:
            manager = super().proxy_manager_for(proxy, ssl_context=self.ssl_context, **proxy_kwargs)
            manager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}
            return manager
        return self.proxy_manager[proxy]

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        # Trust exactly what `ssl_context` trusts: requests would add its own CA bundle (or one
        # named by REQUESTS_CA_BUNDLE) to the context on every new connection.
        conn.cert_reqs = "CERT_REQUIRED"
        conn.ca_certs = None
        conn.ca_cert_dir = None


class NoRedirectSession(requests.Session):
    """A session that never follows a redirect nor reads a 3xx's body: `allow_redirects=False`
    alone still makes requests download the whole body of the 3xx to prepare the next hop."""

    def get_redirect_target(self, resp: requests.Response) -> None:
        return None


class ThenRestart:
    """An upload body that restarts the attempt's clock once its last byte was handed over, so a
    large file's transfer time does not eat the answer's deadline. Keeps the body's length."""

    def __init__(self, body: Any, clock: AttemptClock) -> None:
        self.body = body
        self.clock = clock

    def __len__(self) -> int:
        return len(self.body)

    def __iter__(self) -> Iterator[bytes]:
        yield from self.body
        self.clock.restart()


class AnswerTooLarge(Exception):
    """Reading stopped at the cap."""


class AttemptExpired(Exception):
    """The attempt's deadline passed while its answer was being read."""


def read_capped(chunks: Iterable[bytes], clock: AttemptClock, limit: int) -> bytes:
    """The body from `chunks`, refused past `limit` bytes or past the clock's deadline.

    Gathered in one buffer, not a list of the chunks: a chunked answer of one-byte chunks would
    otherwise cost a list entry per byte (8 bytes each), eight times the cap."""
    body = bytearray()
    for chunk in chunks:
        if len(body) + len(chunk) > limit:
            raise AnswerTooLarge
        if clock.expired or clock.remaining() <= 0:
            raise AttemptExpired
        body += chunk
    if clock.expired:
        raise AttemptExpired
    return bytes(body)
