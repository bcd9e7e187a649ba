"""`HubSpotHook`: authenticated, bounded, retried calls of HubSpot's Imports API over `requests`."""

from __future__ import annotations

import time
from functools import cached_property
from typing import Any

import requests
from tenacity import Retrying

from airflow_provider_hubspot_imports._compat import BaseHook, mask_secret
from airflow_provider_hubspot_imports.core import protocol
from airflow_provider_hubspot_imports.core.ids import validate_import_id
from airflow_provider_hubspot_imports.core.protocol import ApiRequest
from airflow_provider_hubspot_imports.core.redact import redact
from airflow_provider_hubspot_imports.core.retry import RetryPolicy, tenacity_arguments
from airflow_provider_hubspot_imports.core.settings import (
    CONN_TYPE,
    HubSpotSettings,
    settings_from_connection_fields,
    validate_timeout,
)
from airflow_provider_hubspot_imports.errors import HubSpotConnectionError, HubSpotError
from airflow_provider_hubspot_imports.models import ImportRecord


def settings_for_connection(conn: Any, conn_id: str) -> HubSpotSettings:
    """Validated settings from an Airflow `Connection`; registers the token with the secrets masker."""
    mask_secret(conn.password)
    return settings_from_connection_fields(
        conn_id=conn_id,
        host=conn.host,
        port=conn.port,
        password=conn.password,
        extras=conn.extra_dejson,
    )


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

    @cached_property
    def settings(self) -> HubSpotSettings:
        """The connection's validated settings, looked up once per hook."""
        conn = self.get_connection(self.hubspot_conn_id)
        settings = settings_for_connection(conn, self.hubspot_conn_id)
        if self._overrides:
            from dataclasses import replace

            settings = replace(settings, **self._overrides)
        return settings

    @cached_property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy.from_settings(self.settings)

    @cached_property
    def session(self) -> requests.Session:
        session = requests.Session()
        session.headers.update(protocol.base_headers())
        session.headers.update(protocol.auth_header(self.settings.token))
        session.verify = self.settings.verify
        return session

    def get_conn(self) -> requests.Session:
        """The authenticated `requests.Session` this hook uses."""
        return self.session

    def close(self) -> None:
        if "session" in self.__dict__:
            self.session.close()
            del self.__dict__["session"]

    # ---- transport ---------------------------------------------------------------------------

    def _send_once(self, request: ApiRequest, started_at: float) -> Any:
        settings = self.settings
        try:
            response = self.session.request(
                request.method,
                request.url,
                params=request.params or None,
                json=request.json_body,
                timeout=self.retry_policy.attempt_timeout(settings.timeout, started_at),
            )
        except requests.Timeout as exc:
            raise HubSpotConnectionError(
                f"{request.describe}: no answer from {settings.base_url} within "
                f"{settings.timeout:g} s ({type(exc).__name__})."
            ) from None
        except requests.RequestException as exc:
            raise HubSpotConnectionError(
                f"{request.describe}: could not reach {settings.base_url} ({type(exc).__name__}: "
                f"{redact(str(exc), settings.secrets)})."
            ) from None
        return protocol.read_json(
            request,
            response.status_code,
            response.headers,
            response.content,
            settings.secrets,
            self.hubspot_conn_id,
        )

    def call(self, request: ApiRequest, parse: Any = None) -> Any:
        """Send `request` under the retry policy; `parse` turns the JSON into the result.

        A parse failure (a 200 that is not an import record) is retried like a bad answer.

        The first attempt runs outside tenacity: most calls succeed at once, and building and
        driving a `Retrying` costs about as much Python work as the rest of the hook together
        (see docs/performance.md). When the first attempt fails, tenacity takes over with that
        failure as its attempt 1 and its clock started when the call did, so waits, logs and
        bounds are exactly those of the policy.
        """
        started_at = time.monotonic()
        try:
            return self._attempt(request, parse, started_at)
        except Exception as error:
            if not self.retry_policy.should_retry(error):
                raise
            first_failure: Exception | None = error
        retrying = Retrying(**tenacity_arguments(self.retry_policy, self.log, request.describe))
        for attempt in retrying:
            with attempt:
                if first_failure is not None:
                    attempt.retry_state.start_time = started_at
                    failure, first_failure = first_failure, None
                    raise failure
                return self._attempt(request, parse, started_at)
        raise AssertionError("unreachable: tenacity reraises the last error")  # pragma: no cover

    def _attempt(self, request: ApiRequest, parse: Any, started_at: float) -> Any:
        data = self._send_once(request, started_at)
        return parse(request, data) if parse else data

    # ---- the Imports API ---------------------------------------------------------------------

    def get_import(self, import_id: int | str) -> ImportRecord:
        """The import's record. `import_id` (an int or a string of digits) is checked before any request."""
        validate_import_id(import_id)
        request = protocol.get_import_request(self.settings, import_id)
        return self.call(request, protocol.parse_import_record)

    def test_connection(self) -> tuple[bool, str]:
        """For the UI's Test button: never raises, never shows a secret."""
        try:
            request = protocol.list_imports_request(self.settings, limit=1)
            self.call(request)
        except HubSpotError as exc:
            return False, str(exc)
        except Exception as exc:
            return False, f"{type(exc).__name__}: {redact(str(exc), self._known_secrets())}"
        return True, f"Connected to {self.settings.base_url}: the token may read imports (crm.import)."

    def _known_secrets(self) -> tuple[str, ...]:
        return self.settings.secrets if "settings" in self.__dict__ else ()
