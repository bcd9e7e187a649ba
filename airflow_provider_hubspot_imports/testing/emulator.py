"""A local stand-in for HubSpot's Imports API, on loopback.

In a test::

    with HubSpotEmulator() as hubspot:
        import_id = hubspot.add_import(lifecycle=[("PROCESSING", 2), ("DONE",)])
        ...  # point a connection at hubspot.base_url with token hubspot.token

From a shell::

    python -m airflow_provider_hubspot_imports.testing.emulator --port 8765 --scenario scenario.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from airflow_provider_hubspot_imports.core.settings import is_loopback
from airflow_provider_hubspot_imports.testing import oauth
from airflow_provider_hubspot_imports.testing.app import EmulatorApp, Request
from airflow_provider_hubspot_imports.testing.model import (
    DEFAULT_DAILY_BUDGET,
    DEFAULT_SCOPES,
    DEFAULT_TOKEN,
    IMPORT_SCOPE,
    LIST_MODES,
    EmulatorModel,
    Fault,
    LoggedRequest,
    UploadedFile,
)
from airflow_provider_hubspot_imports.testing.multipart import MultipartError, boundary_of, read_form


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Send each answer as soon as it is written, headers and body in one buffered write: otherwise
    # Nagle's algorithm holds the body back until the client's delayed ACK, about 40 ms per request.
    disable_nagle_algorithm = True
    wbufsize = -1
    server: _Server

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        boundary = boundary_of(self.headers.get("Content-Type"))
        body, form = b"", None
        cut = self.server.app.upload_cut(self.command, parts.path) if length else None
        if cut is not None:  # a connection dropped mid-upload: read part of the body, then close
            self.rfile.read(min(cut, length))
            self.server.app.model.record_request(
                LoggedRequest(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    import_id=None,
                    status=0,
                    at=self.server.app.model.now(),
                    user_agent=self.headers.get("User-Agent"),
                    authorized=True,
                )
            )
            self.close_connection = True
            return
        if boundary and length:
            try:
                form = read_form(
                    self.rfile.read, length, boundary, spool_bytes=self.server.app.model.row_check_bytes
                )
            except MultipartError:
                self.close_connection = True
                form = []
        elif length:
            body = self.rfile.read(length)
        request = Request(
            self.command, parts.path, parse_qs(parts.query), dict(self.headers.items()), body, form
        )
        try:
            reply = self.server.app.handle(request)
        finally:
            for part in form or ():
                if part.spool is not None:
                    part.spool.close()
        if reply.delay:
            time.sleep(reply.delay)
        if reply.drop:
            self.close_connection = True
            return
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log on the model is the record."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], app: EmulatorApp) -> None:
        self.app = app
        super().__init__(address, _Handler)


class HubSpotEmulator:
    """A loopback HTTP server answering like HubSpot's Imports API, run in a background thread."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tokens: Mapping[str, Iterable[str]] | None = None,
        model: EmulatorModel | None = None,
    ) -> None:
        self.model = model or EmulatorModel(tokens)
        self.app = EmulatorApp(self.model)
        self._address = (host, port)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle ---------------------------------------------------------------------------

    def start(self) -> HubSpotEmulator:
        self._server = _Server(self._address, self.app)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="hubspot-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> HubSpotEmulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ---- what tests use ----------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not running: call start() or use it as a context manager")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self._address[0]}:{self.port}"

    @property
    def token(self) -> str:
        """A token the emulator accepts with the crm.import scope."""
        return next(token for token, scopes in self.model.tokens.items() if IMPORT_SCOPE in scopes)

    def connection_json(self, token: str | None = None, **extra: Any) -> str:
        """The `AIRFLOW_CONN_...` JSON of a connection to this emulator."""
        conn: dict[str, Any] = {
            "conn_type": "hubspot",
            "host": self.base_url,
            "password": token or self.token,
        }
        if extra:
            conn["extra"] = extra
        return json.dumps(conn)

    def add_import(
        self,
        import_id: int | None = None,
        lifecycle: Iterable[Any] = (("PROCESSING", 2), ("DONE",)),
        **kwargs: Any,
    ) -> int:
        return self.model.add_import(import_id, lifecycle, **kwargs)

    def add_faults(self, import_id: int, faults: Iterable[Fault | Mapping[str, Any]]) -> None:
        self.model.add_faults(import_id, faults)

    def set_rate_limit(
        self, budget: int | None, window_seconds: float = 10.0, daily: int = DEFAULT_DAILY_BUDGET
    ) -> None:
        """At most `budget` requests per `window_seconds` (429 beyond); `daily` is what the Daily
        rate-limit headers report as the day's budget."""
        self.model.set_rate_limit(budget, window_seconds, daily)

    def set_start_lifecycle(self, lifecycle: Iterable[Any]) -> None:
        """The lifecycle of imports started through the API from now on (default: STARTED, PROCESSING,
        DONE)."""
        steps = list(lifecycle)
        if not steps:
            raise ValueError("lifecycle needs at least one step, e.g. [('DONE',)]")
        with self.model.lock:
            self.model.start_lifecycle = steps

    def add_start_faults(self, faults: Iterable[Fault | Mapping[str, Any]]) -> None:
        """Answer the next starts (POSTs of new imports) with these faults, in order."""
        with self.model.lock:
            self.model.start_faults.extend(Fault.parse(fault) for fault in faults)

    def lose_start_answers(self, faults: Iterable[Fault | Mapping[str, Any]] = (Fault(drop=True),)) -> None:
        """The next starts create their import, then answer with these faults (default: the
        connection drops), as when HubSpot's answer is lost on the way back."""
        with self.model.lock:
            self.model.lost_start_answers.extend(Fault.parse(fault) for fault in faults)

    def cut_uploads(self, *after_bytes: int) -> None:
        """Drop the next starts' connections after reading this many bytes of each body: no import
        is created."""
        with self.model.lock:
            self.model.upload_cuts.extend(after_bytes)

    def set_start_delay(self, seconds: float) -> None:
        """Every start takes this long to answer (after the import was created)."""
        with self.model.lock:
            self.model.start_delay = float(seconds)

    def hold_starts(self, count: int, timeout: float = 30.0) -> None:
        """The next `count` starts, once each has been uploaded, wait for one another before any
        creates its import: as when starts that all looked for an import before any was created
        upload at the same moment. A start still alone after `timeout` seconds is answered 500."""
        if count < 2:
            raise ValueError("hold_starts needs at least two starts to hold together")
        model = self.model

        def release() -> None:
            with model.lock:
                model.start_hold = None

        with model.lock:
            model.start_hold = threading.Barrier(count, action=release, timeout=timeout)

    def set_list_page_size(self, page_size: int | None) -> None:
        """Serve the list of active imports (oldest first) at most `page_size` a page, whatever the
        client asks: a lookup then has to follow the cursor across pages."""
        with self.model.lock:
            self.model.list_page_size = page_size

    def set_list_mode(self, mode: str) -> None:
        """What `GET /crm/imports` lists: "active" (the default: active imports, oldest first),
        "history-newest-first" or "history-oldest-first" (every import, finished ones included).
        HubSpot documents the first and shows the second in its own sample answers."""
        if mode not in LIST_MODES:
            raise ValueError(f"list mode {mode!r} is not one of {', '.join(LIST_MODES)}")
        with self.model.lock:
            self.model.list_mode = mode

    def started_imports(self) -> list[dict[str, Any]]:
        """Every import started through the API, oldest first: its id, name, the importRequest it
        was started with, and its uploads."""
        return [
            {
                "id": emulated.import_id,
                "name": emulated.fields.get("importName"),
                "import_request": emulated.fields.get("importRequestJson"),
                "uploads": list(emulated.uploads),
            }
            for emulated in self.model.started_imports()
        ]

    def add_errors(self, import_id: int, errors: Iterable[Mapping[str, Any]]) -> None:
        with self.model.lock:
            self.model.imports[import_id].errors.extend(dict(error) for error in errors)

    def uploads(self, import_id: int) -> list[UploadedFile]:
        with self.model.lock:
            return list(self.model.imports[import_id].uploads)

    def record(self, import_id: int) -> dict[str, Any]:
        """What a GET of the import would serve now, without counting as a poll."""
        with self.model.lock:
            return self.model.imports[import_id].record()

    def requests(self, import_id: int | None = None) -> list[LoggedRequest]:
        return self.model.requests_for(import_id)

    # ---- OAuth ---------------------------------------------------------------------------------

    def add_oauth_app(
        self,
        client_id: str = "emulator-client-id",
        client_secret: str = "emulator-client-secret",
        refresh_token: str = "emulator-refresh-token",
        *,
        scopes: Iterable[str] = (IMPORT_SCOPE,),
        lifetime: float = oauth.DEFAULT_LIFETIME,
    ) -> dict[str, str]:
        """Accept this refresh-token grant; access tokens expire after `lifetime` seconds.
        Returns the OAuth extras of a connection that uses it."""
        oauth.add_app(self.model, client_id, client_secret, refresh_token, scopes=scopes, lifetime=lifetime)
        return {"client_id": client_id, "client_secret": client_secret, "refresh_token": refresh_token}

    def expire_access_tokens(self, *tokens: str) -> None:
        """Answer 401 EXPIRED_AUTHENTICATION to these tokens (default: every access token issued so far)."""
        oauth.expire(self.model, tokens)

    def add_token_faults(self, faults: Iterable[Fault | Mapping[str, Any]]) -> None:
        """Serve these answers from the token endpoint before any real grant (e.g. a 429)."""
        with self.model.lock:
            self.model.oauth.faults.extend(Fault.parse(fault) for fault in faults)

    @property
    def token_grants(self) -> int:
        """How many access tokens the token endpoint has issued."""
        return self.model.oauth.grants

    def load_scenario(self, scenario: Mapping[str, Any]) -> list[int]:
        """Apply a scenario (the JSON of ``--scenario``); returns the ids of the imports it adds."""
        for token, scopes in (scenario.get("tokens") or {}).items():
            self.model.tokens[token] = frozenset(scopes)
        if scenario.get("start_lifecycle"):
            self.set_start_lifecycle(scenario["start_lifecycle"])
        if scenario.get("list_mode"):
            self.set_list_mode(scenario["list_mode"])
        limit = scenario.get("rate_limit")
        if limit:
            self.set_rate_limit(int(limit["budget"]), float(limit.get("window_seconds", 10.0)))
        ids = []
        for spec in scenario.get("imports") or []:
            spec = dict(spec)
            ids.append(self.add_import(spec.pop("id", None), spec.pop("lifecycle", (("DONE",),)), **spec))
        return ids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_hubspot_imports.testing.emulator",
        description="Serve an emulation of HubSpot's CRM Imports API on loopback.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (loopback only; default 127.0.0.1)"
    )
    parser.add_argument("--port", type=int, default=8765, help="port (0 picks a free one; default 8765)")
    parser.add_argument(
        "--scenario",
        type=Path,
        help="JSON file: tokens, imports with lifecycles, faults and errors, rate_limit, start_lifecycle",
    )
    parser.add_argument(
        "--token", action="append", help=f"accept this bearer token (default {DEFAULT_TOKEN})"
    )
    args = parser.parse_args(argv)
    if not is_loopback(args.host):
        parser.error(f"--host {args.host} is not a loopback address; the emulator serves only this machine.")
    tokens = {token: list(DEFAULT_SCOPES) for token in args.token} if args.token else None
    emulator = HubSpotEmulator(host=args.host, port=args.port, tokens=tokens)
    scenario = json.loads(args.scenario.read_text()) if args.scenario else {}
    emulator.start()
    ids = emulator.load_scenario(scenario)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    print(f"HubSpot emulator listening on {emulator.base_url}; imports: {ids or 'none'}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        stopped.wait()
    emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
