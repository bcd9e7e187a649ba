"""Small loopback servers that misbehave on purpose, written for the async transport's tests
(independent of the package's emulator): each runs in a thread and records what reached it."""

from __future__ import annotations

import json
import socket
import socketserver
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from airflow.secrets import BaseSecretsBackend
from loopback_servers import Received as Request
from loopback_servers import serve_in_background

Respond = Callable[["Request", socket.socket], None]


def read_request(conn: socket.socket, pending: bytearray) -> Request | None:
    while b"\r\n\r\n" not in pending:
        data = conn.recv(65536)
        if not data:
            return None
        pending += data
    end = pending.index(b"\r\n\r\n")
    head = bytes(pending[:end]).decode("latin-1").split("\r\n")
    del pending[: end + 4]
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(pending) < length:
        data = conn.recv(65536)
        if not data:
            break
        pending += data
    body = bytes(pending[:length])
    del pending[:length]
    return Request(head[0], headers, body)


def answer(
    conn: socket.socket, status: int = 200, payload: Any = None, headers: dict[str, str] | None = None
) -> None:
    """A complete HTTP/1.1 answer with a JSON body (or none)."""
    body = b"" if payload is None else json.dumps(payload).encode()
    lines = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}"]
    if payload is not None:
        lines.append("Content-Type: application/json")
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)


def import_record(import_id: str, state: str) -> dict[str, Any]:
    return {
        "id": import_id,
        "state": state,
        "createdAt": "2026-11-30T10:00:00.000Z",
        "updatedAt": "2026-11-30T10:01:00.000Z",
        "metadata": {"counters": {"TOTAL_ROWS": 10, "ERRORS": 0}},
    }


@dataclass
class LoopbackServer:
    """`respond(request, conn)` answers each request; connections are kept alive until the client
    closes them or `respond` raises ConnectionError. With `tls` (a server context) it speaks HTTPS."""

    respond: Respond
    tls: ssl.SSLContext | None = None
    requests: list[Request] = field(default_factory=list)
    connections: int = 0

    def __enter__(self) -> LoopbackServer:
        owner = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                owner.connections += 1
                pending = bytearray()
                conn = self.request
                try:
                    if owner.tls is not None:
                        conn = owner.tls.wrap_socket(conn, server_side=True)
                    while (request := read_request(conn, pending)) is not None:
                        owner.requests.append(request)
                        owner.respond(request, conn)
                except OSError:
                    pass

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.port = serve_in_background(self._server)
        self.base_url = f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    def connection_json(self, **fields: Any) -> str:
        """`AIRFLOW_CONN_...` JSON of a hubspot connection to this server."""
        extra = fields.pop("extra", {})
        conn = {"conn_type": "hubspot", "host": self.base_url, "password": "pat-na1-loopback", **fields}
        if extra:
            conn["extra"] = extra
        return json.dumps(conn)


@dataclass
class TunnelProxy:
    """An HTTP proxy that only tunnels: it answers ``CONNECT host:port`` with 200 and relays bytes
    both ways (so TLS runs end to end through it), recording each CONNECT line and its headers."""

    connects: list[Request] = field(default_factory=list)

    def __enter__(self) -> TunnelProxy:
        owner = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                request = read_request(self.request, bytearray())
                if request is None:
                    return
                owner.connects.append(request)
                host, _, port = request.path.rpartition(":")
                if request.method != "CONNECT":
                    self.request.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                    return
                with socket.create_connection((host, int(port))) as upstream:
                    self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    relay = threading.Thread(target=_pipe, args=(upstream, self.request), daemon=True)
                    relay.start()
                    _pipe(self.request, upstream)
                    relay.join(timeout=5)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{serve_in_background(self._server)}"
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
        target.shutdown(socket.SHUT_WR)
    except OSError:
        pass


class CountingSecretsBackend(BaseSecretsBackend):
    """An Airflow secrets backend (``AIRFLOW__SECRETS__BACKEND``) serving the JSON connections in the
    file ``AIRFLOW__SECRETS__BACKEND_KWARGS`` names, counting every lookup (Airflow may build a new
    instance per lookup, so the count lives on the class)."""

    lookups: list[str] = []

    def __init__(self, connections_file_path: str) -> None:
        super().__init__()
        self.path = connections_file_path

    def get_conn_value(self, conn_id: str) -> str | None:
        with open(self.path) as file:
            value = json.load(file).get(conn_id)
        if value is None:
            return None
        type(self).lookups.append(conn_id)
        return json.dumps(value)
