"""A loopback reverse proxy that records HubSpot's answers as *shapes*: the system test points its
connection at it, and it forwards every request to HubSpot over verified TLS.

What is kept of each exchange: method, path, the query's parameter names, the status, HubSpot's
rate-limit headers and the answer's shape (keys, lists, types; states, categories, error types and
counters kept as they are). Nothing else: no header of the request (the token travels there), no
request body (the uploaded rows), no string HubSpot returns outside the kept keys (names, e-mail
addresses, file names, user ids). The shapes are what the emulator's answers are compared with.
"""

from __future__ import annotations

import http.client
import http.server
import json
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from loopback_servers import serve_in_background

# Strings kept as HubSpot sent them: closed sets a comparison needs, never personal data.
KEPT_KEYS = frozenset(
    {
        "state",
        "status",
        "category",
        "subCategory",
        "errorType",
        "objectType",
        "objectTypeId",
        "fileFormat",
        "importSource",
        "dateFormat",
        "mappedObjectTypeIds",
        "columnObjectTypeId",
        "idColumnType",
        "optOutImport",
    }
)
NUMBERS_KEPT_UNDER = frozenset({"counters", "paging"})  # counts of rows; page cursors are no data
RATE_LIMIT_HEADER = re.compile(r"^x-hubspot-ratelimit-", re.IGNORECASE)
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "host"}
)
IMPORT_ID = re.compile(r"/\d+(?=/|$)")


def shape(value: Any, key: str | None = None, *, numbers: bool = False) -> Any:
    """`value` with its structure kept and its personal or account-specific content replaced."""
    if isinstance(value, Mapping):
        keep_numbers = numbers or key in NUMBERS_KEPT_UNDER
        return {name: shape(item, name, numbers=keep_numbers) for name, item in value.items()}
    if isinstance(value, list):
        return [shape(item, key, numbers=numbers) for item in value[:3]] + (["..."] if len(value) > 3 else [])
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return value if numbers else f"<{type(value).__name__}>"
    if isinstance(value, str):
        if key in KEPT_KEYS:
            return value
        if DATETIME.match(value):
            return "<datetime>"
        if value.isdigit():
            return "<digits>"
        return "<string>"
    return f"<{type(value).__name__}>"


@dataclass
class Exchange:
    """One request and HubSpot's answer, as shapes."""

    method: str
    path: str  # import ids replaced by {id}
    query: list[str]
    status: int
    rate_limit_headers: dict[str, str]
    answer: Any

    def as_json(self) -> dict[str, Any]:
        return {
            "request": f"{self.method} {self.path}",
            "query": self.query,
            "status": self.status,
            "rate_limit_headers": self.rate_limit_headers,
            "answer": self.answer,
        }


@dataclass
class AnswerRecorder:
    """Serves http://127.0.0.1:<port>, forwards to `upstream` (``https://api.hubapi.com``)."""

    upstream: str
    exchanges: list[Exchange] = field(default_factory=list)

    def __enter__(self) -> AnswerRecorder:
        recorder = self
        target = urlsplit(self.upstream)
        context = ssl.create_default_context()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the request line holds nothing secret, but the test's output stays quiet

            def _forward(self) -> None:
                body = self._body()
                headers = {
                    name: value for name, value in self.headers.items() if name.lower() not in HOP_BY_HOP
                }
                headers["Content-Length"] = str(len(body))
                if target.scheme == "https":
                    upstream = http.client.HTTPSConnection(
                        target.hostname, target.port, context=context, timeout=120
                    )
                else:  # the emulator, when the system test is tried out against it
                    upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=120)
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    answer = upstream.getresponse()
                    content = answer.read()
                    answer_headers = answer.getheaders()
                    status, reason = answer.status, answer.reason
                finally:
                    upstream.close()
                recorder._record(self.command, self.path, status, answer_headers, content)
                self.send_response(status, reason)
                for name, value in answer_headers:
                    if name.lower() not in HOP_BY_HOP | {"content-length"}:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass  # trailers
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{serve_in_background(self._server)}"
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _record(
        self, method: str, raw_path: str, status: int, headers: list[tuple[str, str]], body: bytes
    ) -> None:
        parts = urlsplit(raw_path)
        try:
            answer: Any = shape(json.loads(body)) if body else None
        except ValueError:
            answer = f"<{len(body)} bytes, not JSON>"
        self.exchanges.append(
            Exchange(
                method=method,
                path=IMPORT_ID.sub("/{id}", parts.path),
                query=sorted(parse_qs(parts.query, keep_blank_values=True)),
                status=status,
                rate_limit_headers={name: value for name, value in headers if RATE_LIMIT_HEADER.match(name)},
                answer=answer,
            )
        )


def key_paths(value: Any, prefix: str = "") -> set[str]:
    """Every key path of a shape (``results[].state``), to compare two answers' shapes."""
    if isinstance(value, Mapping):
        paths = set()
        for name, item in value.items():
            path = f"{prefix}.{name}" if prefix else name
            paths |= {path} | key_paths(item, path)
        return paths
    if isinstance(value, list):
        return set().union(*(key_paths(item, f"{prefix}[]") for item in value if item != "..."))
    return set()


def compare(hubspot: list[Exchange], emulator: list[Exchange]) -> dict[str, Any]:
    """Per request and status, the key paths only HubSpot's answers had and those only the
    emulator's had (union over the exchanges of each)."""

    def by_request(exchanges: list[Exchange]) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for exchange in exchanges:
            name = f"{exchange.method} {exchange.path} -> {exchange.status}"
            found.setdefault(name, set()).update(key_paths(exchange.answer))
        return found

    real, emulated = by_request(hubspot), by_request(emulator)
    return {
        name: {
            "only_hubspot": sorted(real.get(name, set()) - emulated.get(name, set())),
            "only_emulator": sorted(emulated.get(name, set()) - real.get(name, set())),
            "seen_by": [side for side, seen in (("hubspot", real), ("emulator", emulated)) if name in seen],
        }
        for name in sorted(real.keys() | emulated.keys())
    }
