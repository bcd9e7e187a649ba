"""Both transports (the worker hook on `requests`, the triggers' async client on aiohttp) against
loopback servers that misbehave on purpose. Each case asserts what the user sees: the record asked
for, or a clear error; never another import's record."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from async_loopback_servers import LoopbackServer, Request, answer, import_record

from airflow_provider_hubspot_imports.core.limits import MAX_ANSWER_BYTES
from airflow_provider_hubspot_imports.errors import (
    HubSpotAnswerTooLargeError,
    HubSpotBadResponseError,
    HubSpotConnectionError,
    HubSpotError,
    HubSpotRedirectError,
)
from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook
from airflow_provider_hubspot_imports.hooks.hubspot_async import HubSpotAsyncClient
from airflow_provider_hubspot_imports.models import ImportRecord

TRANSPORTS = ["requests", "aiohttp"]
ASKED = 3  # the import every case asks for
OTHER = 2  # another account's import, DONE: what a stray answer carries
QUICK_RETRIES = {"max_retries": 2, "retry_backoff_seconds": 0.05}

Outcome = ImportRecord | HubSpotError


def read_imports(transport: str, import_ids: list[int], pause: float = 0.0) -> list[Outcome]:
    """Each import read in turn by one hook or one async client (so kept-alive connections are
    reused between reads), `pause` seconds apart: the record, or the error the call raised."""
    if transport == "requests":
        hook = HubSpotHook()
        outcomes: list[Outcome] = []
        for import_id in import_ids:
            time.sleep(pause)
            try:
                outcomes.append(hook.get_import(import_id))
            except HubSpotError as error:
                outcomes.append(error)
        return outcomes

    async def read() -> list[Outcome]:
        found: list[Outcome] = []
        async with HubSpotAsyncClient() as client:
            for import_id in import_ids:
                await asyncio.sleep(pause)
                try:
                    found.append(await client.get_import(import_id))
                except HubSpotError as error:
                    found.append(error)
        return found

    return asyncio.run(read())


def read_one(transport: str) -> ImportRecord:
    """The one import asked for; an error is raised."""
    (outcome,) = read_imports(transport, [ASKED])
    if isinstance(outcome, HubSpotError):
        raise outcome
    return outcome


def use(monkeypatch: pytest.MonkeyPatch, server: LoopbackServer, **extra: Any) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", server.connection_json(extra=extra))


def asked_id(request: Request) -> str:
    return request.path.rsplit("/", 1)[1]


def record_bytes(import_id: Any, state: str) -> bytes:
    return json.dumps(import_record(str(import_id), state)).encode()


def raw_answer(body: bytes, *headers: str, line_end: bytes = b"\r\n") -> bytes:
    head = [b"HTTP/1.1 200 OK", b"Content-Type: application/json", *(h.encode() for h in headers)]
    return line_end.join(head) + line_end + line_end + body


def stray_answer() -> bytes:
    """A complete answer nobody asked for: another account's import, DONE."""
    body = record_bytes(OTHER, "DONE")
    return raw_answer(body, f"Content-Length: {len(body)}")


def states(outcomes: list[Outcome]) -> list[tuple[str, str]]:
    """(id, state) of each record; an error shows as its class name."""
    return [
        (type(outcome).__name__, "")
        if isinstance(outcome, HubSpotError)
        else (str(outcome.raw["id"]), outcome.state.value)
        for outcome in outcomes
    ]


# ---- framing: what is read as the answer -------------------------------------------------------


STRAY_TIMINGS = ["in the same write", "a moment later", "a moment later, over TLS"]


@pytest.mark.parametrize("timing", STRAY_TIMINGS)
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_bytes_after_a_complete_answer_never_become_the_next_answer(
    monkeypatch, transport, timing, certificate
):
    """A stray answer behind the real one (a proxy's or server's bug, a 204 with a body), sent with
    it or once the client has read its answer: the next read still gets its own answer."""
    later = timing != "in the same write"

    def respond(request: Request, conn: socket.socket) -> None:
        body = record_bytes(asked_id(request), "PROCESSING")
        conn.sendall(raw_answer(body, f"Content-Length: {len(body)}") + (b"" if later else stray_answer()))
        if later:
            time.sleep(0.05)
            conn.sendall(stray_answer())

    tls, extra = None, dict(QUICK_RETRIES)
    if timing.endswith("TLS"):
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(*certificate)
        extra["ca_bundle"] = str(certificate[0])
    with LoopbackServer(respond, tls=tls) as server:
        use(monkeypatch, server, **extra)
        outcomes = read_imports(transport, [ASKED, ASKED, ASKED], pause=0.15)

    assert states(outcomes) == [(str(ASKED), "PROCESSING")] * 3
    assert len(server.requests) == 3  # each read answered by its own request, none retried


@pytest.mark.parametrize("closed", [True, False], ids=["408 and close", "408, close later"])
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_408_on_an_idle_connection_is_ridden_out(monkeypatch, transport, closed):
    """A load balancer's idle timeout: ``408 Request Timeout`` sent on the idle kept-alive connection,
    which it then closes (at once, or a moment after the next request went out on it). The next
    read gets its record, over a new connection or on the retry of a dropped one."""
    idle_408 = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"

    def respond(request: Request, conn: socket.socket) -> None:
        answer(conn, 200, import_record(asked_id(request), "PROCESSING"))

        def time_out() -> None:
            try:
                conn.sendall(idle_408)
                if not closed:
                    time.sleep(0.4)
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # the client closed it first

        threading.Timer(0.1, time_out).start()

    with LoopbackServer(respond) as server:
        use(monkeypatch, server, **QUICK_RETRIES)
        outcomes = read_imports(transport, [ASKED, ASKED], pause=0.3)

    assert states(outcomes) == [(str(ASKED), "PROCESSING")] * 2


LAX_FRAMINGS = {
    # chunked wins over a Content-Length (RFC 9112 6.3): the record is read whole, or refused
    "chunked beside a Content-Length": ("Transfer-Encoding: chunked", "Content-Length: 7"),
    # a coding list that does not end in chunked: not chunked framing; read by the length or refused
    "xchunked beside a Content-Length": ("Transfer-Encoding: xchunked", None),
    "gzip beside a Content-Length": ("Transfer-Encoding: gzip", None),
}


@pytest.mark.parametrize("framing", LAX_FRAMINGS, ids=list(LAX_FRAMINGS))
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_content_length_beside_a_transfer_encoding_never_yields_another_record(
    monkeypatch, transport, framing
):
    """A Transfer-Encoding and a Content-Length on one answer (how requests get smuggled), with a
    stray answer of another import behind it: the record asked for, or a clear error; never the
    stray record."""
    encoding, length = LAX_FRAMINGS[framing]

    def respond(request: Request, conn: socket.socket) -> None:
        body = record_bytes(asked_id(request), "PROCESSING")
        if encoding.endswith(" chunked"):
            framed = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
            conn.sendall(raw_answer(framed, encoding, length or f"Content-Length: {len(body)}"))
        else:
            conn.sendall(raw_answer(body, encoding, f"Content-Length: {len(body)}") + stray_answer())
        if len(server.requests) == 1:
            conn.shutdown(socket.SHUT_RDWR)  # the first connection is dropped after its answer
            raise ConnectionError("done with it")

    with LoopbackServer(respond) as server:
        use(monkeypatch, server, max_retries=0)
        outcomes = read_imports(transport, [ASKED, ASKED], pause=0.1)

    if transport == "requests":  # http.client reads chunked framing, or else the length
        assert states(outcomes) == [(str(ASKED), "PROCESSING")] * 2
    else:  # aiohttp refuses both headers on one answer (RFC 9112 6.3: a request smuggling sign)
        assert states(outcomes) == [("HubSpotBadResponseError", "")] * 2
        message = str(outcomes[0])
        assert f"GET import {ASKED}: the answer from" in message and "is not valid HTTP" in message
        assert "Content-Length can't be present with Transfer-Encoding" in message


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_misrouted_record_is_refused_naming_both_ids(monkeypatch, transport):
    def respond(request: Request, conn: socket.socket) -> None:
        answer(conn, 200, import_record(str(OTHER), "DONE"))

    with LoopbackServer(respond) as server:
        use(monkeypatch, server, max_retries=1, retry_backoff_seconds=0.05)
        with pytest.raises(HubSpotBadResponseError) as raised:
            read_one(transport)

    message = str(raised.value)
    assert f"record of import '{OTHER}', not of import {ASKED} asked for" in message
    assert len(server.requests) == 2  # retried like any malformed answer, then refused


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_bare_lf_line_ends_are_read(monkeypatch, transport):
    def respond(request: Request, conn: socket.socket) -> None:
        body = record_bytes(asked_id(request), "DONE")
        conn.sendall(raw_answer(body, f"Content-Length: {len(body)}", line_end=b"\n"))

    with LoopbackServer(respond) as server:
        use(monkeypatch, server, max_retries=0)
        assert states(read_imports(transport, [ASKED, ASKED])) == [(str(ASKED), "DONE")] * 2


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_folded_header_line_is_read(monkeypatch, transport):
    def respond(request: Request, conn: socket.socket) -> None:
        body = record_bytes(asked_id(request), "DONE")
        conn.sendall(raw_answer(body, "X-Note: first part,", "  folded part", f"Content-Length: {len(body)}"))

    with LoopbackServer(respond) as server:
        use(monkeypatch, server, max_retries=0)
        assert states(read_imports(transport, [ASKED])) == [(str(ASKED), "DONE")]


# ---- size and time -----------------------------------------------------------------------------

ONE_BYTE_CHUNKS = MAX_ANSWER_BYTES + 64 * 1024

MEMORY_PROBE = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    from peak_memory import peak_growth_mib
    from test_hostile_servers import read_imports
    read_imports(sys.argv[1], [1])  # warm up: modules loaded, a small answer read
    outcomes = []
    growth = peak_growth_mib(lambda: outcomes.extend(read_imports(sys.argv[1], [{asked}])))
    print(type(outcomes[0]).__name__, growth)
    """
)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_8_mib_of_one_byte_chunks_is_refused_with_bounded_memory(monkeypatch, transport):
    """Every byte its own chunk: the cap counts bytes, memory must stay bounded too (the call runs in
    a child process, whose peak resident size is measured around it)."""
    framed = b"1\r\nx\r\n" * ONE_BYTE_CHUNKS + b"0\r\n\r\n"

    def respond(request: Request, conn: socket.socket) -> None:
        if asked_id(request) != str(ASKED):
            answer(conn, 200, import_record(asked_id(request), "DONE"))
            return
        conn.sendall(raw_answer(b"", "Transfer-Encoding: chunked") + framed)

    with LoopbackServer(respond) as server:
        use(monkeypatch, server, max_retries=2, retry_backoff_seconds=0.05, timeout=120)
        probe = MEMORY_PROBE.format(tests=str(Path(__file__).parent), asked=ASKED)
        child = subprocess.run(
            [sys.executable, "-c", probe, transport], capture_output=True, text=True, timeout=280
        )

    assert child.returncode == 0, child.stderr[-3000:]
    kind, growth = child.stdout.split()[-2:]
    assert kind == HubSpotAnswerTooLargeError.__name__
    assert float(growth) < 64, f"peak RSS grew {float(growth):.0f} MiB"
    print(f"peak RSS growth, 8 MiB of one-byte chunks ({transport}): {float(growth):.1f} MiB")
    assert len(server.requests) == 2  # the warm-up, then one refused download: not retried


def _huge(chunked: bool) -> Callable[[Request, socket.socket], None]:
    def respond(request: Request, conn: socket.socket) -> None:
        block = b"x" * 65536
        total = 64 * 1024 * 1024
        framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}"
        conn.sendall(raw_answer(b"", framing))
        for _ in range(total // len(block)):
            conn.sendall(b"%x\r\n%s\r\n" % (len(block), block) if chunked else block)
        if chunked:
            conn.sendall(b"0\r\n\r\n")

    return respond


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked, no length", "declared length"])
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_64_mib_answer_is_refused_without_holding_it(monkeypatch, transport, chunked):
    with LoopbackServer(_huge(chunked)) as server:
        use(monkeypatch, server, max_retries=3, retry_backoff_seconds=0.05)
        tracemalloc.start()
        try:
            with pytest.raises(
                HubSpotAnswerTooLargeError, match=f"larger than {MAX_ANSWER_BYTES // 2**20} MiB"
            ):
                read_one(transport)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

    assert peak < 32 * 2**20
    assert len(server.requests) == 1  # not retried into another 64 MiB download


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_slow_drip_is_cut_within_the_call_budget(monkeypatch, transport):
    """One byte every 0.1 s keeps every socket read alive; the deadline per attempt does not care."""

    def drip(request: Request, conn: socket.socket) -> None:
        conn.sendall(raw_answer(b"", "Content-Length: 500"))
        for _ in range(500):
            conn.sendall(b" ")
            time.sleep(0.1)

    with LoopbackServer(drip) as server:
        use(monkeypatch, server, timeout=0.5, retry_max_seconds=1.5, max_retries=5, retry_backoff_seconds=0.1)
        started = time.monotonic()
        # The last attempt's deadline is the timeout (0.5 s) or, cut by retry_max_seconds, less
        # (never below the 0.1 s floor of RetryPolicy.attempt_timeout).
        deadline = r"no answer from .* within 0\.[1-9]\d? s, the attempt's wall-clock deadline"
        with pytest.raises(HubSpotConnectionError, match=deadline) as raised:
            read_one(transport)
        elapsed = time.monotonic() - started

    assert elapsed < 1.5 + 3  # retry_max_seconds plus slack for a busy machine, not the drip's 50 s
    assert len(server.requests) >= 2  # the policy retried within its budget
    assert "pat-na1-loopback" not in str(raised.value)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_redirected_get_reaches_no_other_host(monkeypatch, transport):
    def record(request: Request, conn: socket.socket) -> None:
        answer(conn, 200, import_record(asked_id(request), "DONE"))

    with LoopbackServer(record) as elsewhere:

        def redirect(request: Request, conn: socket.socket) -> None:
            answer(conn, 307, headers={"Location": f"{elsewhere.base_url}{request.path}"})

        with LoopbackServer(redirect) as server:
            use(monkeypatch, server)
            with pytest.raises(HubSpotRedirectError, match="HTTP 307, a redirect to") as raised:
                read_one(transport)

    assert raised.value.location == f"{elsewhere.base_url}/crm/imports/2026-03/{ASKED}"
    assert len(server.requests) == 1  # a redirect is not retried
    assert elsewhere.requests == []
