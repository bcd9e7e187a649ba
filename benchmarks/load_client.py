"""Child of figure 5: one keep-alive client GETting an import as fast as it can for a while.

A bare socket with a prebuilt request and minimal response parsing, so that on a small machine
as much CPU as possible is left to the emulator. Prints the number of 200 answers.
"""

from __future__ import annotations

import socket
import sys
import time
from urllib.parse import urlsplit


def _read_response(sock: socket.socket, pending: bytes) -> tuple[bool, bytes]:
    """(answered 200?, bytes already received of the next response)."""
    while b"\r\n\r\n" not in pending:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the emulator closed the connection")
        pending += chunk
    head, _, rest = pending.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the emulator closed the connection")
        rest += chunk
    return head.startswith(b"HTTP/1.1 200"), rest[length:]


def main(url: str, token: str, seconds: float) -> None:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = (
        f"GET {parts.path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n\r\n"
    ).encode()
    answered = 0
    pending = b""
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            sock.sendall(request)
            ok, pending = _read_response(sock, pending)
            answered += ok
    print(answered)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]))
