"""The emulator's world: imports with scripted lifecycles, scripted faults, tokens, a rate limiter."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

DEFAULT_TOKEN = "pat-na1-emulator-token"
IMPORT_SCOPE = "crm.import"
# The default token may also read the contacts' and companies' schema (pre-flight's schema checks).
DEFAULT_SCOPES = (IMPORT_SCOPE, "crm.schemas.contacts.read", "crm.schemas.companies.read")
# Uploaded files up to this size are kept (on disk past 1 MiB) and their rows checked against the
# schema when the import is started; larger ones are only counted.
ROW_CHECK_BYTES = 64 * 1024 * 1024
ACTIVE_STATES = ("STARTED", "PROCESSING", "DEFERRED")
# What an import started through the API goes through, one GET per step, unless a test says otherwise.
# The two readings of HubSpot's list endpoint: the v3 reference calls it "Get active imports", yet the
# reference's sample answers list DONE and CANCELED imports too. "active" lists active imports oldest
# first; the "history-*" modes list every import, finished ones included, in the order named.
LIST_MODES = ("active", "history-newest-first", "history-oldest-first")
DEFAULT_START_LIFECYCLE = (("STARTED", 1), ("PROCESSING", 1), ("DONE",))


def iso_timestamp(moment: datetime) -> str:
    """HubSpot's timestamp format: ISO 8601, milliseconds, trailing Z."""
    return (
        moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


@dataclass(frozen=True)
class Step:
    """One stage of a lifecycle: `state` for `polls` GETs, or for `seconds` (None: for ever after).

    A `seconds` step is driven by time rather than polls: the clock starts at the import's first
    GET, and the durations of `seconds` steps add up along the lifecycle, so
    ``[{"state": "PROCESSING", "seconds": 6}, "DONE"]`` is an import that lasts 6 s from its first poll.
    """

    state: str
    polls: int | None = None
    counters: Mapping[str, int] | None = None
    seconds: float | None = None

    def __post_init__(self) -> None:
        if self.polls is not None and self.seconds is not None:
            raise ValueError(f"step {self.state}: give polls or seconds, not both")

    @classmethod
    def parse(cls, value: Step | Mapping[str, Any] | Iterable[Any] | str) -> Step:
        if isinstance(value, Step):
            return value
        if isinstance(value, str):
            return cls(value)
        if isinstance(value, Mapping):
            return cls(str(value["state"]), value.get("polls"), value.get("counters"), value.get("seconds"))
        items = list(value)
        return cls(str(items[0]), items[1] if len(items) > 1 else None, items[2] if len(items) > 2 else None)


@dataclass(frozen=True)
class Fault:
    """A scripted answer served instead of the real one: any status, headers, body, delay or a drop."""

    status: int = 503
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    body: str | bytes | None = None
    delay: float = 0.0
    drop: bool = False

    @classmethod
    def parse(cls, value: Fault | Mapping[str, Any]) -> Fault:
        if isinstance(value, Fault):
            return value
        return cls(**dict(value))


@dataclass
class EmulatedImport:
    import_id: int
    steps: list[Step]
    counters: dict[str, int]
    fields: dict[str, Any]
    created_at: datetime
    faults: deque[Fault] = field(default_factory=deque)
    faults_after_polls: int = 0  # serve the faults only once this many GETs have been answered
    polls: int = 0
    forced_state: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    uploads: list[UploadedFile] = field(default_factory=list)
    cancel_requested_at: datetime | None = None

    @property
    def is_active(self) -> bool:
        return self.current_step().state in ACTIVE_STATES

    first_polled_at: float | None = None

    def current_step(self, now: float | None = None) -> Step:
        if self.forced_state is not None:
            return Step(self.forced_state)
        elapsed = 0.0
        if self.first_polled_at is not None:
            elapsed = (time.monotonic() if now is None else now) - self.first_polled_at
        seen_polls, seen_seconds = 0, 0.0
        for step in self.steps:
            if step.seconds is not None:
                if elapsed < seen_seconds + step.seconds:
                    return step
                seen_seconds += step.seconds
            elif step.polls is None or self.polls < seen_polls + step.polls:
                return step
            else:
                seen_polls += step.polls
        return self.steps[-1]

    def poll(self, now: float) -> dict[str, Any]:
        """Answer one GET: the record at `now`, counted as a poll (the first one starts the clock)."""
        if self.first_polled_at is None:
            self.first_polled_at = now
        record = self.record(now)
        self.polls += 1
        return record

    def record(self, now: float | None = None) -> dict[str, Any]:
        """The import as HubSpot's GET returns it, at the current step."""
        step = self.current_step(now)
        counters = dict(step.counters) if step.counters is not None else dict(self.counters)
        updated = self.created_at + timedelta(seconds=self.polls)
        record: dict[str, Any] = {
            "id": str(self.import_id),
            "state": step.state,
            "createdAt": iso_timestamp(self.created_at),
            "updatedAt": iso_timestamp(updated),
            "importName": f"Emulated import {self.import_id}",
            "importSource": "API",
            "mappedObjectTypeIds": ["0-1"],
            "optOutImport": False,
            "metadata": {
                "counters": counters,
                "fileIds": [f"{self.import_id}01"],
                "objectLists": [],
            },
            "importRequestJson": {"name": f"Emulated import {self.import_id}"},
        }
        record.update(self.fields)
        return record


@dataclass(frozen=True)
class UploadedFile:
    """What the emulator kept of an uploaded file: enough to check it arrived whole."""

    filename: str
    content_type: str | None
    size: int
    sha256: str
    lines: int


def make_errors(
    count: int,
    *,
    error_type: str = "INVALID_EMAIL",
    first_line: int = 2,
    file_id: int = 101,
    created_at: datetime | None = None,
) -> list[dict[str, Any]]:
    """`count` error items shaped like HubSpot's errors endpoint serves them."""
    epoch_ms = int((created_at or datetime.now(timezone.utc)).timestamp() * 1000)
    items = []
    for index in range(count):
        line = first_line + index
        value = f"not-an-email-{line}" if error_type == "INVALID_EMAIL" else f"bad-value-{line}"
        items.append(
            {
                "id": f"{file_id}-{line}",
                "createdAt": epoch_ms,
                "errorType": error_type,
                "errorMessage": f"{value!r} is not a valid {'email' if 'EMAIL' in error_type else 'value'}",
                "invalidValue": value,
                "knownColumnNumber": 1,
                "objectType": "CONTACT",
                "objectTypeId": "0-1",
                "sourceData": {
                    "fileId": file_id,
                    "lineNumber": line,
                    "rowData": [value, f"Row {line}"],
                    "additionalRowData": [],
                    "containsEncryptedProperties": False,
                },
            }
        )
    return items


DEFAULT_DAILY_BUDGET = 1_000_000  # HubSpot's daily limit for the largest private-app plans


class RateLimiter:
    """HubSpot's rolling window: at most `budget` requests per `window_seconds`; `daily` requests a
    day, reported in the Daily headers (the emulator counts them, it never refuses on them)."""

    def __init__(self, budget: int, window_seconds: float = 10.0, daily: int = DEFAULT_DAILY_BUDGET) -> None:
        self.budget = budget
        self.window_seconds = window_seconds
        self.daily = daily
        self.daily_used = 0
        self._times: deque[float] = deque()

    def admit(self, now: float) -> tuple[bool, int]:
        """(admitted, remaining) for a request at `now`."""
        while self._times and now - self._times[0] >= self.window_seconds:
            self._times.popleft()
        if len(self._times) >= self.budget:
            return False, 0
        self._times.append(now)
        self.daily_used += 1
        return True, self.remaining

    @property
    def daily_remaining(self) -> int:
        return max(0, self.daily - self.daily_used)

    @property
    def remaining(self) -> int:
        """Requests left in the window as of the last admitted one (for the rate-limit headers)."""
        return max(0, self.budget - len(self._times))

    def retry_after(self, now: float) -> float:
        return max(0.0, self.window_seconds - (now - self._times[0])) if self._times else 0.0


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    query: Mapping[str, list[str]]
    import_id: int | None
    status: int
    at: float
    user_agent: str | None
    authorized: bool
    response_body: bytes = b""

    def response_json(self) -> Any:
        """The JSON the emulator answered with (what a client received, byte for byte)."""
        return json.loads(self.response_body)


DEFAULT_LIFETIME = 1800.0  # HubSpot's access tokens live 30 minutes


@dataclass
class OAuthApp:
    client_id: str
    client_secret: str
    refresh_tokens: dict[str, frozenset[str]]  # refresh token -> scopes of the install
    lifetime: float = DEFAULT_LIFETIME


@dataclass
class OAuthState:
    """Apps, issued access tokens (token -> expiry on the model's clock), faults to serve first."""

    apps: dict[str, OAuthApp] = field(default_factory=dict)
    expiry: dict[str, float] = field(default_factory=dict)
    faults: deque[Fault] = field(default_factory=deque)
    grants: int = 0

    def expired(self, token: str, now: float) -> bool:
        return token in self.expiry and now >= self.expiry[token]


class EmulatorModel:
    """All mutable state, behind one lock: the HTTP layer only reads and writes through here."""

    def __init__(self, tokens: Mapping[str, Iterable[str]] | None = None) -> None:
        self.lock = threading.RLock()
        self.imports: dict[int, EmulatedImport] = {}
        self.tokens: dict[str, frozenset[str]] = {
            token: frozenset(scopes) for token, scopes in (tokens or {DEFAULT_TOKEN: DEFAULT_SCOPES}).items()
        }
        self.log: list[LoggedRequest] = []
        self.rate_limiter: RateLimiter | None = None
        self.start_lifecycle: list[Any] = list(DEFAULT_START_LIFECYCLE)
        self.start_faults: deque[Fault] = deque()  # served to POSTs that start imports, in order
        # Served to starts *after* the import was created: HubSpot acted, its answer was lost.
        self.lost_start_answers: deque[Fault] = deque()
        self.start_delay = 0.0  # seconds each start takes to answer
        # Starts held, their uploads read, until this many arrived (then all create their imports).
        self.start_hold: threading.Barrier | None = None
        self.upload_cuts: deque[int] = deque()  # drop the next starts' connections after N body bytes
        self.list_page_size: int | None = None  # a cap on the list's page size, whatever `limit` asks
        # What `GET /crm/imports` lists: HubSpot's reference calls it the active imports, but its own
        # sample answers list DONE and CANCELED ones too (see LIST_MODES).
        self.list_mode: str = "active"
        from airflow_provider_hubspot_imports.testing.schema import DEFAULT_SCHEMA

        self.schema: dict[str, list[dict[str, Any]]] = {
            kind: list(props) for kind, props in DEFAULT_SCHEMA.items()
        }
        self.row_check_bytes = ROW_CHECK_BYTES  # 0: no row checks
        self.oauth = OAuthState()
        self._ids = itertools.count(1_000_000_001)

    def add_import(
        self,
        import_id: int | None = None,
        lifecycle: Iterable[Any] = (("PROCESSING", 2), ("DONE",)),
        *,
        counters: Mapping[str, int] | None = None,
        faults: Iterable[Fault | Mapping[str, Any]] = (),
        faults_after_polls: int = 0,
        errors: Iterable[Mapping[str, Any]] = (),
        uploads: Iterable[UploadedFile] = (),
        **fields: Any,
    ) -> int:
        """Add an import; returns its id. `fields` are merged into the served record as given.

        `faults` are answered, one per request, before the lifecycle goes on; with
        `faults_after_polls=N` they start only after N GETs of the import were answered normally.
        """
        with self.lock:
            number = import_id if import_id is not None else next(self._ids)
            while import_id is None and number in self.imports:
                number = next(self._ids)
            steps = [Step.parse(step) for step in lifecycle]
            if not steps:
                raise ValueError("lifecycle needs at least one step, e.g. [('DONE',)]")
            self.imports[number] = EmulatedImport(
                import_id=number,
                steps=steps,
                counters=dict(
                    counters if counters is not None else {"TOTAL_ROWS": 100, "CREATED_OBJECTS": 100}
                ),
                fields=dict(fields),
                created_at=datetime.now(timezone.utc).replace(microsecond=0),
                faults=deque(Fault.parse(fault) for fault in faults),
                faults_after_polls=faults_after_polls,
                errors=[dict(error) for error in errors],
                uploads=list(uploads),
            )
            return number

    def start_import(self, import_request: Mapping[str, Any], uploads: list[UploadedFile]) -> int:
        """An import started through the API: rows counted from the files, the start lifecycle ahead."""
        header_rows = {
            str(entry.get("fileName")): 1 if (entry.get("fileImportPage") or {}).get("hasHeader", True) else 0
            for entry in import_request.get("files") or []
            if isinstance(entry, Mapping)
        }
        rows = sum(max(0, upload.lines - header_rows.get(upload.filename, 1)) for upload in uploads)
        name = str(import_request.get("name") or "API import")
        return self.add_import(
            None,
            self.start_lifecycle,
            counters={"TOTAL_ROWS": rows, "CREATED_OBJECTS": rows},
            uploads=uploads,
            importName=name,
            importRequestJson=dict(import_request),
        )

    def started_imports(self) -> list[EmulatedImport]:
        """The imports started through the API (not added by a test), oldest first."""
        with self.lock:
            return [emulated for _, emulated in sorted(self.imports.items()) if emulated.uploads]

    def cancel(self, import_id: int) -> EmulatedImport | None:
        """Cancel an active import (it is CANCELED from now on); None when it is not active."""
        with self.lock:
            emulated = self.imports[import_id]
            if not emulated.is_active:
                return None
            emulated.forced_state = "CANCELED"
            emulated.cancel_requested_at = datetime.now(timezone.utc)
            return emulated

    def add_faults(self, import_id: int, faults: Iterable[Fault | Mapping[str, Any]]) -> None:
        with self.lock:
            self.imports[import_id].faults.extend(Fault.parse(fault) for fault in faults)

    def set_rate_limit(
        self, budget: int | None, window_seconds: float = 10.0, daily: int = DEFAULT_DAILY_BUDGET
    ) -> None:
        with self.lock:
            self.rate_limiter = RateLimiter(budget, window_seconds, daily) if budget else None

    def requests_for(
        self, import_id: int | None = None, path_suffix: str | None = None
    ) -> list[LoggedRequest]:
        with self.lock:
            return [
                entry
                for entry in self.log
                if (import_id is None or entry.import_id == import_id)
                and (path_suffix is None or entry.path.endswith(path_suffix))
            ]

    def stats(self) -> dict[str, Any]:
        """How many requests were served, by status (0: connection dropped) and in total."""
        with self.lock:
            by_status: dict[str, int] = {}
            for entry in self.log:
                by_status[str(entry.status)] = by_status.get(str(entry.status), 0) + 1
            return {"requests": len(self.log), "by_status": by_status}

    def record_request(self, entry: LoggedRequest) -> None:
        with self.lock:
            self.log.append(entry)

    def now(self) -> float:
        return time.monotonic()
