"""`HubSpotHook`: authenticated, bounded, retried calls of HubSpot's Imports API over `requests`."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from functools import cached_property
from typing import Any

import requests
from tenacity import Retrying

from airflow_provider_hubspot_imports._compat import BaseHook, mask_secret
from airflow_provider_hubspot_imports.core import protocol
from airflow_provider_hubspot_imports.core.ids import validate_import_id
from airflow_provider_hubspot_imports.core.limits import MAX_ANSWER_BYTES
from airflow_provider_hubspot_imports.core.oauth import AccessTokens, credentials_key
from airflow_provider_hubspot_imports.core.preflight import PreflightReport
from airflow_provider_hubspot_imports.core.protocol import ApiRequest
from airflow_provider_hubspot_imports.core.ratelimit import RateBudgetTracker
from airflow_provider_hubspot_imports.core.redact import redact
from airflow_provider_hubspot_imports.core.retry import RetryPolicy, tenacity_arguments
from airflow_provider_hubspot_imports.core.settings import CONN_TYPE, HubSpotSettings, validate_timeout
from airflow_provider_hubspot_imports.core.start_key import LOOKUP_LIMIT, KeyLookup, StartKey
from airflow_provider_hubspot_imports.core.tls import shared_ssl_context
from airflow_provider_hubspot_imports.core.transport import (
    Parse,
    connection_error,
    read_answer,
    redirect_error,
    too_large_error,
)
from airflow_provider_hubspot_imports.errors import (
    HubSpotAuthError,
    HubSpotBadResponseError,
    HubSpotClientError,
    HubSpotError,
)
from airflow_provider_hubspot_imports.hooks.bounded_requests import (
    CHUNK_BYTES,
    AnswerTooLarge,
    AttemptExpired,
    BoundedAdapter,
    NoRedirectSession,
    ThenRestart,
    end_attempt,
    read_capped,
    start_attempt,
)
from airflow_provider_hubspot_imports.hooks.connection import settings_for_connection
from airflow_provider_hubspot_imports.hooks.upload import StreamingBody, file_part
from airflow_provider_hubspot_imports.models import ImportRecord, ImportState

PAGE_SIZE = 100
# `test_connection` answers a person waiting on a button: a few retries, a short budget.
TEST_MAX_RETRIES = 2
TEST_MAX_SECONDS = 20.0


class HubSpotHook(BaseHook):
    """Calls HubSpot's CRM Imports API with the token of an Airflow connection of type ``hubspot``.

    The connection is read once per hook and one `requests.Session` carries every call. Each call
    is bounded: `timeout` per attempt, `max_retries` and `retry_max_seconds` for the whole call.

    :param hubspot_conn_id: the Airflow connection to use (type ``hubspot``).
    :param timeout: seconds per attempt; overrides the connection's ``timeout`` extra.
    :param max_retries: retries after the first attempt; overrides the connection's extra.
    :param retry_max_seconds: bound on one call, waits included; overrides the connection's extra.
    """

    conn_name_attr = "hubspot_conn_id"
    default_conn_name = "hubspot_default"
    conn_type = CONN_TYPE
    hook_name = "HubSpot"

    def __init__(
        self,
        hubspot_conn_id: str = default_conn_name,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        retry_max_seconds: float | None = None,
    ) -> None:
        super().__init__()
        self.hubspot_conn_id = hubspot_conn_id
        self._overrides: dict[str, Any] = {}
        self._looked_up = False  # True once `settings` came from a connection lookup
        if timeout is not None:
            self._overrides["timeout"] = validate_timeout(timeout)
        if retry_max_seconds is not None:
            self._overrides["retry_max_seconds"] = validate_timeout(
                retry_max_seconds, name="retry_max_seconds"
            )
        if max_retries is not None:
            if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
                raise ValueError(f"max_retries is {max_retries!r}; it must be a whole number >= 0.")
            self._overrides["max_retries"] = max_retries

    def __repr__(self) -> str:
        return f"{type(self).__name__}(hubspot_conn_id={self.hubspot_conn_id!r})"

    # Airflow 2.x and 3.0-3.1 build the connection form from these; 3.2+ reads `conn-fields`.
    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        from airflow_provider_hubspot_imports.connection_form import legacy_form_widgets

        return legacy_form_widgets()

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        from airflow_provider_hubspot_imports.connection_form import legacy_field_behaviour

        return legacy_field_behaviour()

    @cached_property
    def settings(self) -> HubSpotSettings:
        """The connection's validated settings, looked up once per hook."""
        conn = self.get_connection(self.hubspot_conn_id)
        self._looked_up = True  # settings given to `from_settings` are never looked up again
        return settings_for_connection(conn, self.hubspot_conn_id, self._overrides)

    @cached_property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy.from_settings(self.settings)

    @cached_property
    def tokens(self) -> AccessTokens:
        """The bearer token to send: the connection's token, or OAuth access tokens kept fresh."""
        return AccessTokens(self.settings)

    @cached_property
    def session(self) -> requests.Session:
        """One session per hook: TLS trust from one SSL context (the connection's CA bundle or the
        system store); a missing or unreadable bundle is a HubSpotInputError."""
        settings = self.settings
        # Built once per process and bundle; a plain-http (loopback) base URL needs none, but a
        # bundle it names is still checked.
        needed = settings.base_url.startswith("https://") or settings.ca_bundle is not None
        context = shared_ssl_context(settings.ca_bundle, self.hubspot_conn_id) if needed else None
        session = NoRedirectSession()
        adapter = BoundedAdapter(context)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        session.headers.update(protocol.base_headers())
        token = self.tokens.current()
        if token:
            session.headers.update(protocol.auth_header(token))
        session.verify = True  # what to trust is the adapter's SSL context
        return session

    @cached_property
    def rate_budget(self) -> RateBudgetTracker:
        """What HubSpot's rate-limit headers said is left, to pace the next request."""
        return RateBudgetTracker()

    def get_conn(self) -> requests.Session:
        """The authenticated `requests.Session` this hook uses (with a fresh OAuth access token)."""
        self._authorize(self.retry_policy)
        return self.session

    def _authorize(self, policy: RetryPolicy) -> str:
        """The bearer token to send now, fetching an OAuth access token when none is fresh;
        the session's Authorization header always follows it."""
        token = self.tokens.current()
        if token is None:
            request = self.tokens.refresh_request()
            fetched = self._call(request, None, policy, raw=True)
            token = fetched.access_token
            mask_secret(token)
            mask_secret(fetched.refresh_token)
            self.log.info(
                "Connection '%s': fetched an OAuth access token valid for %g s.",
                self.hubspot_conn_id,
                fetched.expires_in,
            )
        self.session.headers.update(protocol.auth_header(token))
        return token

    def close(self) -> None:
        if "session" in self.__dict__:
            self.session.close()
            del self.__dict__["session"]

    # ---- transport ---------------------------------------------------------------------------

    def _send_once(
        self, request: ApiRequest, started_at: float, policy: RetryPolicy, parse: Parse | None, raw: bool
    ) -> Any:
        """One attempt. `raw`: the OAuth token endpoint, whose answer `tokens` reads itself.

        Bounded on the wall clock (`timeout`, cut to what is left of `retry_max_seconds`), never
        follows a redirect, and reads at most MAX_ANSWER_BYTES of the answer.
        """
        session = self.session
        self._pace(request, started_at, policy)
        seconds = policy.attempt_timeout(self.settings.timeout, started_at)
        body: Any = request.form_body
        headers: dict[str, Any] = {}
        clock = start_attempt(seconds, armed=request.multipart is None)
        try:
            if request.multipart is not None:
                # fresh per attempt (iterating consumes it); the clock starts once it is sent
                body = ThenRestart(StreamingBody(request.multipart), clock)
                headers["Content-Type"] = request.multipart.content_type
            if not request.bearer:
                headers["Authorization"] = None  # requests drops a header set to None
            try:
                response = session.request(
                    request.method,
                    request.url,
                    params=request.params or None,
                    json=request.json_body,
                    data=body,
                    headers=headers or None,
                    timeout=(seconds, seconds),
                    allow_redirects=False,
                    stream=True,
                )
                with response:
                    status, answer_headers = response.status_code, response.headers
                    if 300 <= status < 400:
                        raise redirect_error(request, status, answer_headers.get("Location"))
                    if _declared_length(answer_headers) > MAX_ANSWER_BYTES:
                        raise AnswerTooLarge
                    content = read_capped(response.iter_content(CHUNK_BYTES), clock, MAX_ANSWER_BYTES)
            except AnswerTooLarge:
                raise too_large_error(request) from None
            except AttemptExpired as exc:
                raise connection_error(
                    request, self.tokens, exc, timed_out=True, seconds=clock.seconds
                ) from None
            except requests.RequestException as exc:
                raise connection_error(
                    request,
                    self.tokens,
                    exc,
                    timed_out=clock.expired or isinstance(exc, requests.Timeout),
                    never_sent=not clock.expired and _never_sent(exc),
                    seconds=clock.seconds if clock.expired else None,
                ) from None
        finally:
            end_attempt(clock)
        note = self.rate_budget.observe(answer_headers)
        if note:
            self.log.warning("%s: %s", request.describe, note)
        return read_answer(request, self.tokens, status, answer_headers, content, parse, token_grant=raw)

    def _pace(self, request: ApiRequest, started_at: float, policy: RetryPolicy) -> None:
        """Wait out the rate-limit window when HubSpot's last answer said none of it is left (the
        request would only earn a 429), within the call's retry_max_seconds."""
        pause = self.rate_budget.pause()
        if pause <= 0:
            return
        left = policy.max_seconds - (time.monotonic() - started_at)
        pause = min(pause, max(0.0, left - 0.1))
        if pause > 0:
            self.log.info(
                "%s: HubSpot's last answer left no request in its rate-limit window; waiting %.1f s "
                "rather than earning a 429.",
                request.describe,
                pause,
            )
            time.sleep(pause)

    def call(self, request: ApiRequest, parse: Parse | None = None) -> Any:
        """Send `request` under the retry policy; `parse` turns the JSON into the result.

        A parse failure (a 200 that is not an import record) is retried like a bad answer. With
        OAuth, a 401 EXPIRED_AUTHENTICATION refreshes the access token once and sends again.
        """
        try:
            return self._call_authorized(request, parse, self.retry_policy)
        except HubSpotAuthError:
            if not self._reread_credentials():
                raise
            self.log.warning(
                "%s: HubSpot refused the credentials, and connection '%s' holds new ones since it was "
                "read (a rotated token or secret); sending once more with them.",
                request.describe,
                self.hubspot_conn_id,
            )
        return self._call_authorized(request, parse, self.retry_policy)

    def _reread_credentials(self) -> bool:
        """Look the connection up again; True when its credentials changed since it was read. Then
        everything derived from the old ones (OAuth tokens, the session's Authorization header) is
        dropped, so nothing made from an old secret is sent again."""
        if not self._looked_up:
            return False
        before = credentials_key(self.settings)
        self.__dict__.pop("settings", None)
        if credentials_key(self.settings) == before:
            return False
        for derived in ("tokens", "retry_policy"):
            self.__dict__.pop(derived, None)
        if "session" in self.__dict__:
            self.session.headers.pop("Authorization", None)
        return True

    def _call_authorized(self, request: ApiRequest, parse: Any, policy: RetryPolicy) -> Any:
        token = self._authorize(policy) if request.bearer else None
        try:
            return self._call(request, parse, policy)
        except HubSpotAuthError as exc:
            if not self.tokens.refresh_helps(exc, token):
                raise self.tokens.explain(exc) from None
            self.log.warning(
                "%s: HubSpot says the access token expired; refreshing it once.", request.describe
            )
        self._authorize(policy)
        try:
            return self._call(request, parse, policy)
        except HubSpotAuthError as exc:
            raise self.tokens.explain(exc) from None

    def _call(self, request: ApiRequest, parse: Any, policy: RetryPolicy, raw: bool = False) -> Any:
        started_at = time.monotonic()
        try:
            return self._send_once(request, started_at, policy, parse, raw)
        except Exception as error:
            if not policy.retries(error, idempotent=request.idempotent):
                raise
            first_failure: Exception | None = error
        # The first attempt ran outside tenacity: most calls succeed at once, and building and
        # driving a `Retrying` costs about as much Python work as the rest of the hook together
        # (docs/performance.md). Tenacity takes over with that failure as its attempt 1 and its
        # clock started when the call did, so waits, logs and bounds are exactly the policy's.
        retrying = Retrying(
            **tenacity_arguments(policy, self.log, request.describe, idempotent=request.idempotent)
        )
        for attempt in retrying:
            with attempt:
                if first_failure is not None:
                    attempt.retry_state.start_time = started_at
                    failure, first_failure = first_failure, None
                    raise failure
                return self._send_once(request, started_at, policy, parse, raw)
        raise AssertionError("unreachable: tenacity reraises the last error")  # pragma: no cover

    # ---- the Imports API ---------------------------------------------------------------------

    def get_import(self, import_id: int | str) -> ImportRecord:
        """The import's record. `import_id` (an int or a string of digits) is checked before any request."""
        validate_import_id(import_id)
        request = protocol.get_import_request(self.settings, import_id)
        return self.call(request, protocol.parse_import_record)

    def list_imports(self, limit: int | None = None) -> Iterator[ImportRecord]:
        """The account's active imports started by this app, page after page; `limit` caps the total."""
        first = protocol.list_imports_request(self.settings)
        for raw in self._paginate(
            lambda size, after: protocol.list_imports_request(self.settings, limit=size, after=after), limit
        ):
            yield protocol.parse_import_record(first, raw)

    def get_import_errors(
        self,
        import_id: int | str,
        *,
        include_error_message: bool = True,
        include_row_data: bool = False,
        limit: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """An import's errors, exactly as HubSpot sends them, page after page; `limit` caps the total."""
        validate_import_id(import_id)

        def page(size: int, after: str | None) -> ApiRequest:
            return protocol.import_errors_request(
                self.settings,
                import_id,
                limit=size,
                after=after,
                include_error_message=include_error_message,
                include_row_data=include_row_data,
            )

        yield from self._paginate(page, limit)

    def cancel_import(self, import_id: int | str) -> dict[str, Any]:
        """Cancel an active import; returns HubSpot's action response (`status`, timestamps) whole.

        When HubSpot refuses (an error, or an action `status` of CANCELED: the cancel was dropped),
        the import is read again: if it is CANCELED, the cancel is done (typically a retried cancel
        whose first attempt was applied but whose answer was lost) and the answer says so; if not,
        the refusal is raised, naming the import's state.
        """
        validate_import_id(import_id)
        request = protocol.cancel_import_request(self.settings, import_id)
        try:
            answer = self.call(request, protocol.parse_action_response)
        except HubSpotClientError as error:
            refusal: HubSpotClientError | None = error
            answer = {}
        else:
            if answer.get("status") != "CANCELED":
                return answer
            refusal = None
        record = self.get_import(import_id)
        said = f"HubSpot answered {refusal or answer}"
        if record.state is ImportState.CANCELED:
            self.log.info(
                "%s: HubSpot did not cancel it now, but the import is CANCELED (an earlier attempt of "
                "this cancel, or another caller, canceled it). %s.",
                request.describe,
                said,
            )
            return {
                "status": "COMPLETE",
                "importState": record.state.value,
                "completedAt": record.raw.get("updatedAt"),
                "hubspotAnswer": refusal.body if refusal is not None else answer,
            }
        message = f"{request.describe}: the import is {record.state.value} and cannot be canceled. {said}."
        if refusal is not None:
            refusal.message = message
            refusal.args = (message,)
            raise refusal
        raise HubSpotClientError(message, body=answer)

    def start_import(self, import_request: Mapping[str, Any] | str, files: Iterable[Any]) -> ImportRecord:
        """Start an import of `files` (paths or ObjectStoragePath) described by `import_request`.

        Files are streamed from disk or object storage, never held in memory. Everything is checked
        before the upload begins. Only failures that prove HubSpot never saw the request are retried:
        a retried start after a 5xx could create a second import.
        """
        if isinstance(files, (str, bytes)) or not isinstance(files, Iterable):
            files = [files]
        parts = [file_part(file) for file in files]
        request = protocol.start_import_request(self.settings, import_request, parts)
        try:
            return self.call(request, protocol.parse_import_record)
        except HubSpotError as error:
            if RetryPolicy.may_have_been_processed(error):
                error.message += (
                    " HubSpot may have created the import before this failure, so it was not retried: "
                    "look for it (list_imports() or the account's imports page) before starting it again."
                )
                error.args = (error.message,)
            raise

    def validate_import(
        self,
        import_request: Mapping[str, Any] | str,
        files: Iterable[Any],
        *,
        rows: int | str = "all",
        include_values: bool = False,
    ) -> PreflightReport:
        """A dry run of `start_import`: the checks HubSpot makes, made before any upload.

        Local checks need no request (the request's shape, header against ``columnMappings``,
        encoding, HubSpot's per-file limits, dates in ``dateFormat``, numbers, emails, domains,
        repeated ids). Schema checks read each object type's properties once per hook (unknown,
        archived, calculated or read-only properties, enumeration options, values per property
        type, required properties of a CREATE); a token without the schema scope skips them, and
        the report says so. Files are read once, streamed.

        :param rows: ``"all"``, or how many rows of each file to check.
        :param include_values: put the offending values in the report (personal data, often).
        :return: the report; ``has_errors`` and ``summary()`` are what a caller gates and logs on,
            ``to_dict()`` its JSON.
        """
        from airflow_provider_hubspot_imports.preflight import validate_import

        return validate_import(self, import_request, files, rows=rows, include_values=include_values)

    def get_properties(self, object_type: str) -> list[dict[str, Any]]:
        """Every property of `object_type` (``0-1`` or ``contacts``) as HubSpot lists them; read once
        per hook and object type."""
        cache: dict[str, list[dict[str, Any]]] = self.__dict__.setdefault("_properties", {})
        if object_type not in cache:
            request = protocol.properties_request(self.settings, object_type)
            cache[object_type] = self.call(request, protocol.parse_properties)
        return cache[object_type]

    def _paginate(self, page_request: Any, limit: int | None) -> Iterator[Any]:
        """Follow `paging.next.after` to the last page (or until `limit` items were yielded)."""
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
            raise ValueError(f"limit is {limit!r}; pass a whole number >= 0, or None for everything.")
        yielded, after, seen = 0, None, set()
        while limit is None or yielded < limit:
            size = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - yielded)
            request = page_request(size, after)
            page = self.call(request, protocol.parse_page)
            for item in page.results[: None if limit is None else limit - yielded]:
                yield item
                yielded += 1
            if page.after is None:
                return
            if page.after in seen:
                raise HubSpotBadResponseError(
                    f"{request.describe}: HubSpot sent the cursor {page.after!r} twice; "
                    f"stopping rather than looping."
                )
            seen.add(page.after)
            after = page.after

    def test_connection(self) -> tuple[bool, str]:
        """For the UI's Test button and ``airflow connections test``: one cheap call that needs
        ``crm.import``, with few retries so the answer comes quickly. Never raises, never shows a secret.
        """
        try:
            settings = self.settings
            policy = RetryPolicy(
                max_retries=min(settings.max_retries, TEST_MAX_RETRIES),
                max_seconds=min(settings.retry_max_seconds, TEST_MAX_SECONDS),
                backoff_seconds=settings.retry_backoff_seconds,
            )
            self._call_authorized(protocol.list_imports_request(settings, limit=1), None, policy)
        except HubSpotError as exc:
            return False, redact(str(exc), self._known_secrets())
        except Exception as exc:
            return False, f"{type(exc).__name__}: {redact(str(exc), self._known_secrets())}"
        how = "an OAuth access token (refresh-token grant)" if settings.oauth else "its access token"
        return True, f"Connected to {settings.base_url} with {how}: it may read imports (crm.import)."

    def _known_secrets(self) -> tuple[str, ...]:
        return self.tokens.secrets if "settings" in self.__dict__ else ()

    def find_started_imports(self, key: StartKey, *, limit: int = LOOKUP_LIMIT) -> KeyLookup:
        """The active imports whose name carries `key`, read from the list page after page, at
        most `limit` imports (HubSpot lists only active imports, started by this app)."""
        found: list[ImportRecord] = []
        scanned = 0
        listed = self.list_imports(limit=limit + 1)  # one more tells whether the bound cut the list
        for record in listed:
            if scanned == limit:
                return KeyLookup(found, scanned, complete=False)
            scanned += 1
            if key.carried_by(record.raw):
                found.append(record)
        return KeyLookup(found, scanned, complete=True)

    @classmethod
    def from_settings(cls, settings: HubSpotSettings) -> HubSpotHook:
        """A hook on settings already read and validated: no connection lookup (e.g. in `on_kill`,
        which runs in a signal handler and must not wait on Airflow's supervisor)."""
        hook = cls(settings.conn_id or cls.default_conn_name)
        hook.__dict__["settings"] = settings
        return hook

    def export_import_errors(
        self, import_id: int | str, destination: Any, *, include_row_data: bool = False
    ) -> dict[str, Any]:
        """Write the import's error rows to `destination` (a path or ObjectStoragePath ending in
        ``.csv`` or ``.jsonl``), page by page; returns ``rows``, ``by_error_type``, ``destination``.
        Row data (personal data, often) is only asked for with `include_row_data`."""
        from airflow_provider_hubspot_imports.exports import export_format, write_errors

        validate_import_id(import_id)
        export_format(destination)
        errors = self.get_import_errors(import_id, include_row_data=include_row_data)
        return {"import_id": str(import_id), **write_errors(errors, destination)}


def _declared_length(headers: Mapping[str, str]) -> int:
    """The answer's Content-Length, or 0 when absent or unreadable (the stream is capped anyway)."""
    try:
        return int(headers.get("Content-Length") or 0)
    except ValueError:
        return 0


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the connection itself failed (refused, DNS, connect timeout): no byte reached HubSpot."""
    import urllib3.exceptions

    if isinstance(exc, requests.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError):
        return False
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError))


__all__ = ["HubSpotHook", "settings_for_connection"]
