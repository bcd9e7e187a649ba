"""The emulator's routes: HubSpot's Imports API answered from an `EmulatorModel`, with no socket code."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_hubspot_imports.testing.model import (
    ACTIVE_STATES,
    IMPORT_SCOPE,
    EmulatorModel,
    Fault,
    LoggedRequest,
)

_VERSION = r"(?:20\d\d-(?:03|09))"
_ID = r"(?P<import_id>[^/]+)"
INT64_MAX = 2**63 - 1


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

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == lowered), None)

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


Handler = Callable[[Request, "re.Match[str]"], Reply]


class EmulatorApp:
    """Routes requests to handlers; checks the token, the rate limit and scripted faults first."""

    def __init__(self, model: EmulatorModel) -> None:
        self.model = model
        self.routes: list[tuple[str, re.Pattern[str], Handler, bool]] = []
        for root in (rf"/crm/imports/{_VERSION}", r"/crm/v3/imports"):
            self.route("GET", rf"{root}/?", self.list_imports)
            self.route("GET", rf"{root}/{_ID}/?", self.get_import, per_import=True)

    def route(self, method: str, pattern: str, handler: Handler, *, per_import: bool = False) -> None:
        """Register `handler`; `per_import` routes serve that import's scripted faults first."""
        self.routes.append((method, re.compile(f"^{pattern}$"), handler, per_import))

    def handle(self, request: Request) -> Reply:
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
        for method, pattern, handler, per_import in self.routes:
            match = pattern.match(request.path)
            if not match or method != request.method:
                continue
            import_id = _parse_id(match.groupdict().get("import_id"))
            scopes = self._scopes(request)
            if scopes is None:
                return self._unauthorized(), import_id, False
            limited = self._rate_limited()
            if limited:
                return limited, import_id, True
            if per_import and import_id is not None:
                fault = self._next_fault(import_id)
                if fault is not None:
                    return Reply.from_fault(fault), import_id, True
            if IMPORT_SCOPE not in scopes:
                return self._missing_scope(), import_id, True
            return self._with_rate_headers(handler(request, match)), import_id, True
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

    @staticmethod
    def _unauthorized() -> Reply:
        return hubspot_error(
            401,
            "INVALID_AUTHENTICATION",
            "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can "
            "find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
        )

    @staticmethod
    def _missing_scope() -> Reply:
        return hubspot_error(
            403,
            "MISSING_SCOPES",
            "This app hasn't been granted all required scopes to make this call.",
            errors=[
                {
                    "message": "One or more of the following scopes are required.",
                    "context": {"requiredGranularScopes": [IMPORT_SCOPE]},
                }
            ],
        )

    def _rate_limited(self) -> Reply | None:
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
        reply.headers.update(self._rate_headers(limiter.budget, 0, limiter.window_seconds))
        reply.headers["Retry-After"] = str(max(1, round(retry_after)))
        return reply

    def _with_rate_headers(self, reply: Reply) -> Reply:
        limiter = self.model.rate_limiter
        if limiter is not None:
            remaining = max(0, limiter.budget - len(limiter._times))
            reply.headers.update(self._rate_headers(limiter.budget, remaining, limiter.window_seconds))
        return reply

    @staticmethod
    def _rate_headers(budget: int, remaining: int, window: float) -> dict[str, str]:
        return {
            "X-HubSpot-RateLimit-Max": str(budget),
            "X-HubSpot-RateLimit-Remaining": str(remaining),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(window * 1000)),
        }

    def _next_fault(self, import_id: int) -> Fault | None:
        with self.model.lock:
            emulated = self.model.imports.get(import_id)
            return emulated.faults.popleft() if emulated is not None and emulated.faults else None

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
        try:
            limit = max(1, min(500, int(request.param("limit") or 100)))
            start = int(request.param("after") or 0)
        except ValueError:
            return hubspot_error(400, "VALIDATION_ERROR", "limit and after must be integers")
        with self.model.lock:
            active = [
                emulated.record()
                for _, emulated in sorted(self.model.imports.items())
                if emulated.current_step().state in ACTIVE_STATES
            ]
        page = active[start : start + limit]
        body: dict[str, Any] = {"results": page}
        if start + limit < len(active):
            after = str(start + limit)
            body["paging"] = {"next": {"after": after, "link": f"{request.path}?after={after}&limit={limit}"}}
        return Reply.json(200, body)


def _parse_id(text: str | None) -> int | None:
    if text is None or not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if 0 < number <= INT64_MAX else None
