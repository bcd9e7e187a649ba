"""The emulator's routes: HubSpot's Imports API answered from an `EmulatorModel`, with no socket code."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

from airflow_provider_hubspot_imports.testing import oauth, schema
from airflow_provider_hubspot_imports.testing.model import (
    IMPORT_SCOPE,
    EmulatorModel,
    Fault,
    LoggedRequest,
    UploadedFile,
    iso_timestamp,
)
from airflow_provider_hubspot_imports.testing.multipart import FormPart

_VERSION = r"(?:20\d\d-(?:03|09))"
_ID = r"(?P<import_id>[^/]+)"
INT64_MAX = 2**63 - 1
# Counts of the request log, for a test or benchmark driving an emulator in another process.
# Not logged itself, needs no token, and shows no secret.
STATS_PATH = "/__emulator__/stats"


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False

    @classmethod
    def json(cls, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Reply:
        return cls(
            status, json.dumps(payload).encode(), {"Content-Type": "application/json", **(headers or {})}
        )

    @classmethod
    def from_fault(cls, fault: Fault) -> Reply:
        if fault.json is not None:
            reply = cls.json(fault.status, fault.json, fault.headers)
        else:
            raw = fault.body.encode() if isinstance(fault.body, str) else (fault.body or b"")
            headers = {"Content-Type": "text/html; charset=utf-8", **dict(fault.headers)}
            reply = cls(fault.status, raw, headers)
        reply.delay, reply.drop = fault.delay, fault.drop
        return reply


def hubspot_error(status: int, category: str, message: str, **more: Any) -> Reply:
    """An error body in HubSpot's usual shape."""
    body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()), "category": category}
    body.update(more)
    return Reply.json(status, body)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    form: list[FormPart] | None = None  # a multipart body, read as it streamed in

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == lowered), None)

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def flat_query(self) -> dict[str, str]:
        return {name: values[0] for name, values in self.query.items() if values}

    @property
    def base_url(self) -> str:
        """Scheme and host the client used (paging links are absolute, as HubSpot's are)."""
        return f"http://{self.header('Host') or '127.0.0.1'}"


Handler = Callable[[Request, "re.Match[str]"], Reply]


class EmulatorApp:
    """Routes requests to handlers; checks the token, the rate limit and scripted faults first."""

    def __init__(self, model: EmulatorModel) -> None:
        self.model = model
        self.routes: list[tuple[str, re.Pattern[str], Handler, bool]] = []
        for root in (rf"/crm/imports/{_VERSION}", r"/crm/v3/imports"):
            self.route("GET", rf"{root}/?", self.list_imports)
            self.route("POST", rf"{root}/?", self.start_import)
            self.route("GET", rf"{root}/{_ID}/?", self.get_import, per_import=True)
            self.route("GET", rf"{root}/{_ID}/errors/?", self.import_errors)
            self.route("POST", rf"{root}/{_ID}/cancel/?", self.cancel_import)
        properties = schema.properties_handler(model)
        for root in (rf"/crm/properties/{_VERSION}", r"/crm/v3/properties"):
            self.route("GET", rf"{root}/(?P<object_type>[^/?]+)/?", properties)

    def route(self, method: str, pattern: str, handler: Handler, *, per_import: bool = False) -> None:
        """Register `handler`; `per_import` routes serve that import's scripted faults first."""
        self.routes.append((method, re.compile(f"^{pattern}$"), handler, per_import))

    def handle(self, request: Request) -> Reply:
        if request.path == STATS_PATH and request.method == "GET":
            return Reply.json(200, self.model.stats())
        reply, import_id, authorized = self._dispatch(request)
        self.model.record_request(
            LoggedRequest(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                import_id=import_id,
                status=reply.status if not reply.drop else 0,
                at=self.model.now(),
                user_agent=request.header("User-Agent"),
                authorized=authorized,
                response_body=reply.body,
            )
        )
        return reply

    def _dispatch(self, request: Request) -> tuple[Reply, int | None, bool]:
        if request.method == "POST" and oauth.TOKEN_PATH.match(request.path):
            return self._oauth_token(request), None, False
        for method, pattern, handler, per_import in self.routes:
            match = pattern.match(request.path)
            if not match or method != request.method:
                continue
            import_id = _parse_id(match.groupdict().get("import_id"))
            scopes = self._scopes(request)
            if self._expired(request):
                return self._expired_token(), import_id, False
            if scopes is None:
                return self._unauthorized(), import_id, False
            limited = self._rate_limited(request)
            if limited:
                return limited, import_id, True
            if per_import and import_id is not None:
                fault = self._next_fault(import_id)
                if fault is not None:
                    return Reply.from_fault(fault), import_id, True
            needed = _scope(match)
            if needed not in scopes:
                return self._missing_scope(needed), import_id, True
            return self._with_rate_headers(request, handler(request, match)), import_id, True
        return (
            hubspot_error(404, "OBJECT_NOT_FOUND", f"No route for {request.method} {request.path}"),
            None,
            False,
        )

    # ---- checks ------------------------------------------------------------------------------

    def _scopes(self, request: Request) -> frozenset[str] | None:
        auth = request.header("Authorization") or ""
        if not auth.startswith("Bearer "):
            return None
        return self.model.tokens.get(auth[len("Bearer ") :])

    def _expired(self, request: Request) -> bool:
        auth = request.header("Authorization") or ""
        with self.model.lock:
            return self.model.oauth.expired(auth[len("Bearer ") :], self.model.now())

    @staticmethod
    def _expired_token() -> Reply:
        return hubspot_error(
            401,
            "EXPIRED_AUTHENTICATION",
            "The OAuth token used to make this call expired 0 second(s) ago.",
        )

    def _oauth_token(self, request: Request) -> Reply:
        answer = oauth.grant(self.model, request.body)
        if isinstance(answer, Fault):
            return Reply.from_fault(answer)
        return Reply.json(*answer)

    @staticmethod
    def _unauthorized() -> Reply:
        return hubspot_error(
            401,
            "INVALID_AUTHENTICATION",
            "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can "
            "find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
        )

    @staticmethod
    def _missing_scope(scope: str = IMPORT_SCOPE) -> Reply:
        return hubspot_error(
            403,
            "MISSING_SCOPES",
            "This app hasn't been granted all required scopes to make this call.",
            errors=[
                {
                    "message": "One or more of the following scopes are required.",
                    "context": {"requiredGranularScopes": [scope]},
                }
            ],
        )

    def _rate_limited(self, request: Request) -> Reply | None:
        with self.model.lock:
            limiter = self.model.rate_limiter
            if limiter is None:
                return None
            now = self.model.now()
            admitted, _ = limiter.admit(now)
            if admitted:
                return None
            retry_after = limiter.retry_after(now)
        reply = Reply.json(
            429,
            {
                "status": "error",
                "message": "You have reached your ten_secondly_rolling limit.",
                "errorType": "RATE_LIMIT",
                "correlationId": str(uuid.uuid4()),
                "policyName": "TEN_SECONDLY_ROLLING",
            },
        )
        reply.headers.update(self._rate_headers(request, remaining=0))
        reply.headers["Retry-After"] = str(max(1, round(retry_after)))
        return reply

    def _with_rate_headers(self, request: Request, reply: Reply) -> Reply:
        reply.headers.update(self._rate_headers(request))
        return reply

    def _rate_headers(self, request: Request, remaining: int | None = None) -> dict[str, str]:
        """HubSpot's rate-limit headers; the Daily ones are not sent on OAuth calls (HubSpot has no
        daily limit for OAuth apps)."""
        with self.model.lock:
            limiter = self.model.rate_limiter
            if limiter is None:
                return {}
            headers = {
                "X-HubSpot-RateLimit-Max": str(limiter.budget),
                "X-HubSpot-RateLimit-Remaining": str(limiter.remaining if remaining is None else remaining),
                "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(limiter.window_seconds * 1000)),
            }
            auth = request.header("Authorization") or ""
            if auth[len("Bearer ") :] not in self.model.oauth.expiry:
                headers["X-HubSpot-RateLimit-Daily"] = str(limiter.daily)
                headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(limiter.daily_remaining)
            return headers

    def _next_fault(self, import_id: int) -> Fault | None:
        with self.model.lock:
            emulated = self.model.imports.get(import_id)
            if emulated is None or not emulated.faults or emulated.polls < emulated.faults_after_polls:
                return None
            return emulated.faults.popleft()

    # ---- handlers ----------------------------------------------------------------------------

    def get_import(self, request: Request, match: re.Match[str]) -> Reply:
        import_id = _parse_id(match.group("import_id"))
        if import_id is None:
            return hubspot_error(
                400,
                "VALIDATION_ERROR",
                f"Unable to parse import id {match.group('import_id')!r}: not an int64",
            )
        with self.model.lock:
            emulated = self.model.imports.get(import_id)
            if emulated is None:
                return hubspot_error(404, "OBJECT_NOT_FOUND", f"Import {import_id} was not found")
            record = emulated.poll(self.model.now())
        return Reply.json(200, record)

    def list_imports(self, request: Request, match: re.Match[str]) -> Reply:
        """The imports the list mode names (active ones oldest first by default), each as its GET
        would serve it (name and request included)."""
        with self.model.lock:
            mode = self.model.list_mode
            ordered = sorted(self.model.imports.items(), reverse=mode == "history-newest-first")
            listed = [emulated.record() for _, emulated in ordered if mode != "active" or emulated.is_active]
            page_size = self.model.list_page_size
        return _page(request, listed, max_limit=page_size)

    def import_errors(self, request: Request, match: re.Match[str]) -> Reply:
        emulated, refused = self._find(match)
        if refused:
            return refused
        assert emulated is not None
        with self.model.lock:
            items = [dict(error, sourceData=dict(error.get("sourceData") or {})) for error in emulated.errors]
        # Both flags are off unless set to true (HubSpot's SDK: "set to true to receive").
        for item in items:
            if request.param("includeErrorMessage") != "true":
                item.pop("errorMessage", None)
            if request.param("includeRowData") != "true":
                item["sourceData"]["rowData"] = []
                item["sourceData"]["additionalRowData"] = []
        return _page(request, items)

    def cancel_import(self, request: Request, match: re.Match[str]) -> Reply:
        """HubSpot documents a 200 with an action response (`status` COMPLETE, PENDING, PROCESSING or
        CANCELED) and an error body, nothing about an import that is no longer active. The emulator
        stays within the documented answers: an import already CANCELED answers COMPLETE again with
        the first cancel's timestamps (repeating a cancel changes nothing); a DONE, FAILED or
        REVERTED one answers status CANCELED (the action was dropped) and stays as it was."""
        emulated, refused = self._find(match)
        if refused:
            return refused
        assert emulated is not None
        canceled = self.model.cancel(emulated.import_id)
        if canceled is None:
            with self.model.lock:
                state = emulated.current_step().state
                requested = emulated.cancel_requested_at
            if state == "CANCELED" and requested is not None:
                moment = iso_timestamp(requested)
                return Reply.json(
                    200,
                    {"status": "COMPLETE", "requestedAt": moment, "startedAt": moment, "completedAt": moment},
                )
            now = iso_timestamp(datetime.now(timezone.utc))
            return Reply.json(
                200, {"status": "CANCELED", "requestedAt": now, "startedAt": now, "completedAt": now}
            )
        moment = iso_timestamp(canceled.cancel_requested_at or canceled.created_at)
        return Reply.json(
            200, {"status": "COMPLETE", "requestedAt": moment, "startedAt": moment, "completedAt": moment}
        )

    def start_import(self, request: Request, match: re.Match[str]) -> Reply:
        with self.model.lock:
            fault = self.model.start_faults.popleft() if self.model.start_faults else None
        if fault is not None:
            return Reply.from_fault(fault)
        form = request.form or []
        fields = {part.name: part for part in form if part.filename is None}
        files = [part for part in form if part.filename is not None and part.name == "files"]
        if "importRequest" not in fields or not files:
            return hubspot_error(
                400,
                "VALIDATION_ERROR",
                "A multipart body with an importRequest part and files parts is required",
            )
        try:
            import_request = json.loads(fields["importRequest"].text)
        except ValueError:
            return hubspot_error(400, "VALIDATION_ERROR", "importRequest is not valid JSON")
        described = {str(entry.get("fileName")) for entry in import_request.get("files") or []}
        unknown = [part.filename for part in files if part.filename not in described]
        if unknown:
            return hubspot_error(
                400, "VALIDATION_ERROR", f"Files {unknown} are not described in importRequest.files"
            )
        uploads = [
            UploadedFile(str(part.filename), part.content_type, part.size, part.sha256, part.lines)
            for part in files
        ]
        with self.model.lock:
            hold = self.model.start_hold
        if hold is not None:
            try:
                hold.wait()
            except threading.BrokenBarrierError:
                with self.model.lock:
                    if self.model.start_hold is hold:
                        self.model.start_hold = None
                return hubspot_error(500, "INTERNAL_ERROR", "hold_starts: the other held starts never came")
        import_id = self.model.start_import(import_request, uploads)
        schema.check_started_rows(self.model, import_id, import_request, files)
        with self.model.lock:
            record = self.model.imports[import_id].record()
            lost = self.model.lost_start_answers.popleft() if self.model.lost_start_answers else None
            delay = self.model.start_delay
        reply = Reply.from_fault(lost) if lost is not None else Reply.json(200, record)
        reply.delay += delay
        return reply

    def upload_cut(self, method: str, path: str) -> int | None:
        """Bytes of a start's body to read before dropping its connection (scripted), or None."""
        if method != "POST" or not any(
            route_method == "POST" and handler == self.start_import and pattern.match(path)
            for route_method, pattern, handler, _ in self.routes
        ):
            return None
        with self.model.lock:
            return self.model.upload_cuts.popleft() if self.model.upload_cuts else None

    def _find(self, match: re.Match[str]) -> tuple[Any, Reply | None]:
        import_id = _parse_id(match.group("import_id"))
        if import_id is None:
            return None, hubspot_error(
                400,
                "VALIDATION_ERROR",
                f"Unable to parse import id {match.group('import_id')!r}: not an int64",
            )
        with self.model.lock:
            emulated = self.model.imports.get(import_id)
        if emulated is None:
            return None, hubspot_error(404, "OBJECT_NOT_FOUND", f"Import {import_id} was not found")
        return emulated, None


def _page(request: Request, items: list[Any], max_limit: int | None = None) -> Reply:
    """HubSpot's forward paging: `after` is an opaque cursor (here an offset), absent on the last page."""
    try:
        limit = max(1, min(max_limit or 500, int(request.param("limit") or 100)))
        start = int(request.param("after") or 0)
    except ValueError:
        return hubspot_error(400, "VALIDATION_ERROR", "limit and after must be integers")
    body: dict[str, Any] = {"results": items[start : start + limit]}
    if start + limit < len(items):
        after = str(start + limit)
        link = f"{request.base_url}{request.path}?{urlencode({**request.flat_query(), 'after': after})}"
        body["paging"] = {"next": {"after": after, "link": link}}
    return Reply.json(200, body)


def _scope(match: re.Match[str]) -> str:
    """The scope a route needs: an object type's schema read scope for its properties, else crm.import."""
    object_type = match.groupdict().get("object_type")
    return IMPORT_SCOPE if object_type is None else schema.required_scope(object_type)


def _parse_id(text: str | None) -> int | None:
    if text is None or not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if 0 < number <= INT64_MAX else None
