"""Requests to build and answers to read, for the Imports API. No I/O happens here."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

from airflow_provider_hubspot_imports import __version__
from airflow_provider_hubspot_imports.core.ids import validate_import_id
from airflow_provider_hubspot_imports.core.multipart import FilePart, MultipartForm
from airflow_provider_hubspot_imports.core.ratelimit import RateBudget
from airflow_provider_hubspot_imports.core.redact import redact
from airflow_provider_hubspot_imports.core.retry import is_file_limit_body
from airflow_provider_hubspot_imports.core.settings import LEGACY_API_VERSION, HubSpotSettings
from airflow_provider_hubspot_imports.core.start import check_start, parse_import_request
from airflow_provider_hubspot_imports.errors import (
    HubSpotAuthError,
    HubSpotBadResponseError,
    HubSpotClientError,
    HubSpotConnectionError,
    HubSpotError,
    HubSpotInputError,
    HubSpotNotFoundError,
    HubSpotPermissionError,
    HubSpotRateLimitError,
    HubSpotServerError,
)
from airflow_provider_hubspot_imports.models import ImportRecord

USER_AGENT = f"airflow-provider-hubspot-imports/{__version__}"
REQUIRED_IMPORT_FIELDS = ("id", "state", "createdAt", "updatedAt")
# Statuses HubSpot documents as "pause, then retry": 423 Locked, 477 Migration in progress,
# and the 5xx family (proxies answer 502/503/504/521 with HTML pages).
RETRY_LATER_STATUSES = frozenset({423, 477})


@dataclass(frozen=True)
class ApiRequest:
    """One HTTP request to make. `describe` names it in logs and errors (never with the token).

    `idempotent=False` marks a request that must not be repeated once HubSpot may have acted on it
    (starting an import): the retry policy then retries only failures that prove it was not.
    """

    method: str
    url: str
    describe: str
    params: tuple[tuple[str, str], ...] = ()
    json_body: Mapping[str, Any] | None = field(default=None)
    multipart: MultipartForm | None = None
    idempotent: bool = True
    # Form-encoded body (the OAuth token grant): kept out of repr() because it carries secrets.
    form_body: tuple[tuple[str, str], ...] | None = field(default=None, repr=False)
    # False for requests that must not carry the bearer token (the OAuth token endpoint).
    bearer: bool = True
    # The import whose record the answer must be (a GET of one import): an answer with another `id`
    # (a misrouted or stray answer) is refused, never read as this import's record.
    record_id: int | None = None


def base_headers() -> dict[str, str]:
    """Headers every request carries; set once on the session or client."""
    return {"User-Agent": USER_AGENT, "Accept": "application/json"}


def auth_header(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def imports_root(settings: HubSpotSettings) -> str:
    if settings.api_version == LEGACY_API_VERSION:
        return f"{settings.base_url}/crm/v3/imports"
    return f"{settings.base_url}/crm/imports/{settings.api_version}"


def get_import_request(settings: HubSpotSettings, import_id: Any) -> ApiRequest:
    number = validate_import_id(import_id)
    return ApiRequest(
        "GET", f"{imports_root(settings)}/{number}", describe=f"GET import {number}", record_id=number
    )


def list_imports_request(
    settings: HubSpotSettings, *, limit: int = 100, after: str | None = None
) -> ApiRequest:
    """One page of the account's active imports (started by this app)."""
    params: tuple[tuple[str, str], ...] = (("limit", str(limit)),)
    if after:
        params += (("after", after),)
    return ApiRequest("GET", imports_root(settings), describe="GET active imports", params=params)


def import_errors_request(
    settings: HubSpotSettings,
    import_id: Any,
    *,
    limit: int = 100,
    after: str | None = None,
    include_error_message: bool = True,
    include_row_data: bool = False,
) -> ApiRequest:
    """One page of an import's errors."""
    number = validate_import_id(import_id)
    params: tuple[tuple[str, str], ...] = (
        ("limit", str(limit)),
        ("includeErrorMessage", _flag(include_error_message)),
        ("includeRowData", _flag(include_row_data)),
    )
    if after:
        params += (("after", after),)
    return ApiRequest(
        "GET",
        f"{imports_root(settings)}/{number}/errors",
        describe=f"GET errors of import {number}",
        params=params,
    )


def cancel_import_request(settings: HubSpotSettings, import_id: Any) -> ApiRequest:
    """Cancel an active import. Repeating a cancel changes nothing, so it is retried like a GET."""
    number = validate_import_id(import_id)
    return ApiRequest("POST", f"{imports_root(settings)}/{number}/cancel", describe=f"cancel import {number}")


def start_import_request(
    settings: HubSpotSettings, import_request: Any, files: Sequence[FilePart]
) -> ApiRequest:
    """Start an import: part `importRequest` (JSON text, a plain form field) and one `files` part per file.

    Checked before any byte is sent; not idempotent (a repeated start makes a second import).
    """
    body = parse_import_request(import_request)
    check_start(body, files)
    form = MultipartForm(
        # A plain form field holding JSON, with no part content type: as HubSpot's example and its
        # official client send it.
        fields=(("importRequest", json.dumps(body), ""),),
        files=tuple(("files", part) for part in files),
    )
    name = body.get("name")
    what = f"start import {name!r}" if name else "start import"
    return ApiRequest("POST", imports_root(settings), describe=what, multipart=form, idempotent=False)


def properties_request(settings: HubSpotSettings, object_type: str) -> ApiRequest:
    """Every property of an object type (the schema pre-flight checks against); needs the object
    type's schema read scope, e.g. ``crm.schemas.contacts.read``."""
    if not object_type or "/" in object_type or "?" in object_type:
        raise HubSpotInputError(
            f"object type {object_type!r} is not an object type id (e.g. 0-1) or name (e.g. contacts)."
        )
    if settings.api_version == LEGACY_API_VERSION:
        url = f"{settings.base_url}/crm/v3/properties/{object_type}"
    else:
        url = f"{settings.base_url}/crm/properties/{settings.api_version}/{object_type}"
    return ApiRequest("GET", url, describe=f"GET properties of {object_type}")


def parse_properties(request: ApiRequest, data: Any) -> list[dict[str, Any]]:
    """The ``results`` of a properties answer, each property as HubSpot sent it."""
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise HubSpotBadResponseError(
            f"{request.describe}: expected {{'results': [...]}}, got {_shape(data)}."
        )
    if not all(isinstance(item, dict) and isinstance(item.get("name"), str) for item in data["results"]):
        raise HubSpotBadResponseError(f"{request.describe}: a property in 'results' has no name.")
    return list(data["results"])


def _flag(value: bool) -> str:
    return "true" if value else "false"


# ---- reading answers -------------------------------------------------------------------------


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds: either a number or an HTTP date."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    return max(0.0, seconds)


def rate_limit_window(headers: Mapping[str, str]) -> float | None:
    """The rolling window HubSpot reports in `X-HubSpot-RateLimit-Interval-Milliseconds`, in seconds."""
    budget = RateBudget.from_headers(headers)
    return budget.window_seconds if budget else None


def _describe_body(headers: Mapping[str, str], body: bytes) -> str:
    kind = (_header(headers, "Content-Type") or "no content type").split(";")[0].strip()
    return f"{kind}, {len(body)} bytes"


def decode_json(body: bytes) -> tuple[Any, str | None]:
    """Parse a body; returns (value, None) or (None, why it is not JSON)."""
    if not body.strip():
        return None, "the body is empty"
    try:
        return json.loads(body), None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"the body is not valid JSON ({exc})"


def _missing_scopes(body: Mapping[str, Any]) -> list[str]:
    """Scopes HubSpot names in `context` or `errors[].context` of a 403 (MISSING_SCOPES)."""
    contexts = [body.get("context")]
    contexts += [item.get("context") for item in body.get("errors") or [] if isinstance(item, Mapping)]
    scopes: list[str] = []
    for context in contexts:
        if not isinstance(context, Mapping):
            continue
        for key, values in context.items():
            if "scope" in str(key).lower() and isinstance(values, list):
                scopes += [str(value) for value in values if str(value) not in scopes]
    return scopes


def _links(fields: Mapping[str, Any], secrets: tuple[str, ...]) -> str:
    """HubSpot's `links` of an error body (name -> URL, e.g. to the docs or the scopes to grant)."""
    links = fields.get("links")
    if not isinstance(links, Mapping) or not links:
        return ""
    listed = ", ".join(f"{name}: {url}" for name, url in links.items() if url not in (None, ""))
    return f" HubSpot's links: {redact(listed, secrets)}." if listed else ""


def error_for_response(
    request: ApiRequest,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    secrets: tuple[str, ...],
    conn_id: str | None = None,
) -> HubSpotError:
    """Build the typed error for a non-2xx answer, with HubSpot's own words and no secret."""
    data, _ = decode_json(body)
    fields: Mapping[str, Any] = data if isinstance(data, Mapping) else {}

    def text(key: str) -> str | None:
        value = fields.get(key)
        return redact(str(value), secrets) if value not in (None, "") else None

    category = text("category") or text("errorType")
    hubspot_message = text("message")
    correlation_id = text("correlationId")
    retry_after = parse_retry_after(_header(headers, "Retry-After"))
    sub_category = text("subCategory")
    said = f": {hubspot_message}" if hubspot_message else f" ({_describe_body(headers, body)})"
    ref = f" [correlationId {correlation_id}]" if correlation_id else ""
    kind = f" {category}" if category else ""
    kind += f" ({sub_category})" if sub_category else ""
    head = f"{request.describe} failed: HTTP {status}{kind}{said}{ref}.{_links(fields, secrets)}"
    conn = f"connection '{conn_id}'" if conn_id else "the HubSpot connection"
    common: dict[str, Any] = {
        "status": status,
        "category": category,
        "correlation_id": correlation_id,
        "hubspot_message": hubspot_message,
        "body": json.loads(redact(json.dumps(fields), secrets)),
        "retry_after": retry_after,
    }
    if status == 401:
        return HubSpotAuthError(
            f"{head} HubSpot did not accept the access token of {conn}: it is wrong, revoked or expired. "
            f"Put a valid private-app token or service key (scope crm.import) in its password field.",
            **common,
        )
    if status == 403:
        scopes = _missing_scopes(fields)
        need = ", ".join(scopes) if scopes else "crm.import"
        return HubSpotPermissionError(
            f"{head} The token of {conn} is valid but may not do this: it lacks the scope(s) {need}. "
            f"Grant them to the private app / service key (or OAuth app) and use the new token.",
            **common,
        )
    if status == 404:
        return HubSpotNotFoundError(
            f"{head} HubSpot has no such import in the account of {conn}. Check the import id, and that "
            f"the token belongs to the account that ran the import.",
            **common,
        )
    if status == 408:
        # What a server or load balancer sends on a kept-alive connection it closes as idle: the
        # connection failed, not the request (a connection error, retried on a new connection).
        return HubSpotConnectionError(
            f"{head} The server or a load balancer in front of it timed the connection out (as idle, "
            f"or before the whole request arrived) and closed it.",
            **common,
        )
    if status == 429:
        policy = text("policyName")
        common["category"] = category or "RATE_LIMITS"
        if is_file_limit_body(fields):
            return HubSpotRateLimitError(
                f"{head} This is HubSpot's per-file limit (at most 1,048,576 rows or 512 MB a file), not a "
                f"rate limit, so it is not retried: split the file into several files or imports. "
                f"validate_import() finds this before any upload.",
                policy_name=policy,
                **common,
            )
        if (policy or "").upper() == "DAILY":
            return HubSpotRateLimitError(
                f"{head} The account's DAILY API limit is spent; it resets at midnight in the account's "
                f"time zone, so this call is not retried. Lower the polling rate (poke_interval) or spread "
                f"the work.",
                policy_name=policy,
                **common,
            )
        return HubSpotRateLimitError(
            f"{head} HubSpot's {policy or 'rate'} limit was hit.",
            policy_name=policy,
            window_seconds=rate_limit_window(headers),
            **common,
        )
    if status >= 500 or status in RETRY_LATER_STATUSES:
        return HubSpotServerError(f"{head} HubSpot or a proxy in front of it is in trouble.", **common)
    return HubSpotClientError(
        f"{head} The request was refused as sent; repeating it will not help.", **common
    )


def read_json(
    request: ApiRequest,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    secrets: tuple[str, ...],
    conn_id: str | None = None,
) -> Any:
    """The JSON of a 2xx answer, or the typed error for anything else."""
    if not 200 <= status < 300:
        raise error_for_response(request, status, headers, body, secrets, conn_id)
    data, why_not = decode_json(body)
    if why_not:
        raise HubSpotBadResponseError(
            f"{request.describe}: HubSpot answered HTTP {status} but {why_not} "
            f"({_describe_body(headers, body)}).",
            status=status,
        )
    return data


def parse_import_record(request: ApiRequest, data: Any) -> ImportRecord:
    """Check that an answer is an import record and wrap it, keeping every field HubSpot sent."""
    if not isinstance(data, dict):
        raise HubSpotBadResponseError(
            f"{request.describe}: expected an import record (a JSON object), got {type(data).__name__}."
        )
    missing = [name for name in REQUIRED_IMPORT_FIELDS if name not in data]
    if missing:
        raise HubSpotBadResponseError(
            f"{request.describe}: the import record lacks required field(s) {', '.join(missing)}."
        )
    if request.record_id is not None and str(data["id"]) != str(request.record_id):
        raise HubSpotBadResponseError(
            f"{request.describe}: the answer is the record of import {str(data['id'])[:40]!r}, not of "
            f"import {request.record_id} asked for (a misrouted answer from a proxy or the server). It "
            f"was not used; the call is retried like any malformed answer."
        )
    if not isinstance(data["state"], str) or not data["state"]:
        raise HubSpotBadResponseError(f"{request.describe}: the import record's state is {data['state']!r}.")
    if not isinstance(data.get("metadata", {}), dict):
        raise HubSpotBadResponseError(f"{request.describe}: the import record's metadata is not an object.")
    return ImportRecord(data)


@dataclass(frozen=True)
class Page:
    """One page of a paginated answer: its items as sent, and the cursor of the next page."""

    results: list[Any]
    after: str | None


def parse_page(request: ApiRequest, data: Any) -> Page:
    """Read `{"results": [...], "paging": {"next": {"after": ...}}}`; the last page has no `next`."""
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise HubSpotBadResponseError(
            f"{request.describe}: expected {{'results': [...]}}, got {_shape(data)}."
        )
    paging = data.get("paging")
    following = paging.get("next") if isinstance(paging, dict) else None
    after = following.get("after") if isinstance(following, dict) else None
    return Page(results=data["results"], after=str(after) if after not in (None, "") else None)


def parse_action_response(request: ApiRequest, data: Any) -> dict[str, Any]:
    """HubSpot's answer to an action (cancel), kept whole: `status`, `startedAt`, `completedAt`, ..."""
    if not isinstance(data, dict) or not isinstance(data.get("status"), str):
        raise HubSpotBadResponseError(f"{request.describe}: expected an action response, got {_shape(data)}.")
    return data


def _shape(data: Any) -> str:
    if isinstance(data, dict):
        return "an object with keys " + (", ".join(sorted(map(str, data))) or "none")
    return f"a {type(data).__name__}"
