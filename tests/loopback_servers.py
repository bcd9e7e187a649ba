"""Small hostile HTTP servers on loopback, written apart from the emulator: they answer with raw
bytes (a drip, a huge body, a redirect) and record what reached them."""

from __future__ import annotations

import http.client
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from urllib.parse import urlsplit


@dataclass
class Received:
    """A request as it reached the server: request line, headers, body."""

    line: str
    headers: dict[str, str]
    body: bytes

    @property
    def method(self) -> str:
        return self.line.split(" ")[0]

    @property
    def path(self) -> str:
        return self.line.split(" ")[1]


Answer = Callable[[Received, socket.socket], None]


@dataclass
class LoopbackServer:
    """Serves `answer(request, socket)` for each request on its own thread; `received` keeps them all."""

    answer: Answer
    received: list[Received] = field(default_factory=list)
    tls: ssl.SSLContext | None = None  # a server-side context: serve https

    def __post_init__(self) -> None:
        server = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                reader = self.request.makefile("rb")
                while True:
                    line = reader.readline().decode("latin-1").strip()
                    if not line:
                        return
                    headers = {}
                    while (header := reader.readline().decode("latin-1").strip()) != "":
                        name, _, value = header.partition(":")
                        headers[name.strip().lower()] = value.strip()
                    body = reader.read(int(headers.get("content-length") or 0))
                    request = Received(line, headers, body)
                    server.received.append(request)
                    try:
                        server.answer(request, self.request)
                    except OSError:
                        return  # the client hung up on a hostile answer: that is the point

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        if self.tls is not None:
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        self._server.daemon_threads = True
        # A short poll: shutdown() waits for it, at every test's end (the default is 0.5 s).
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()


def drip(head: bytes, body: bytes, every: float) -> Answer:
    """Send `head` at once, then `body` one byte every `every` seconds."""

    def answer(request: Received, sock: socket.socket) -> None:
        sock.sendall(head)
        for byte in body:
            time.sleep(every)
            sock.sendall(bytes([byte]))

    return answer


def huge(size: int, *, declare_length: bool) -> Answer:
    """A 200 of `size` bytes of JSON-looking filler, generated as it is sent (never held whole)."""
    chunk = b'{"pad": "' + b"x" * (1024 * 1024 - 12) + b'"}\n'

    def answer(request: Received, sock: socket.socket) -> None:
        length = f"Content-Length: {size}\r\n" if declare_length else "Connection: close\r\n"
        sock.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{length}\r\n".encode())
        sent = 0
        while sent < size:
            piece = chunk[: size - sent]
            sock.sendall(piece)
            sent += len(piece)
        sock.shutdown(socket.SHUT_WR)

    return answer


def redirect(location: str, status: int = 307) -> Answer:
    def answer(request: Received, sock: socket.socket) -> None:
        head = f"HTTP/1.1 {status} Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n"
        sock.sendall(head.encode())

    return answer


def json_answer(status: int, body: bytes, headers: dict[str, str] | None = None) -> bytes:
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    return (
        f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


def forward_proxy(request: Received, sock: socket.socket) -> None:
    """A forward proxy for plain http: take the absolute-form request (``GET http://host:port/path``),
    send it on to its origin, relay the answer."""
    target = urlsplit(request.path)
    if not target.scheme or target.hostname is None:
        sock.sendall(b"HTTP/1.1 400 Not A Proxy Request\r\nContent-Length: 0\r\n\r\n")
        return
    hop_by_hop = {"connection", "proxy-connection", "proxy-authorization", "keep-alive", "host"}
    origin = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=10)
    try:
        origin.request(
            request.method,
            target.path + (f"?{target.query}" if target.query else ""),
            body=request.body or None,
            headers={name: value for name, value in request.headers.items() if name not in hop_by_hop},
        )
        answer = origin.getresponse()
        body = answer.read()
        kept = "".join(
            f"{name}: {value}\r\n"
            for name, value in answer.getheaders()
            if name.lower() not in {"content-length", "transfer-encoding", "connection"}
        )
    finally:
        origin.close()
    head = f"HTTP/1.1 {answer.status} {answer.reason}\r\n{kept}Content-Length: {len(body)}\r\n\r\n"
    sock.sendall(head.encode("latin-1") + body)


def serve_in_background(server: socketserver.BaseServer) -> int:
    """Serve `server` from a daemon thread, each request on a daemon thread of its own; its port.
    It polls for shutdown every 0.05 s: `shutdown()` waits for that, at every test's end."""
    server.daemon_threads = True  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return int(server.server_address[1])  # type: ignore[index]
