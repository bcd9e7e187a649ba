"""The errors this package raises.

Each carries what HubSpot said (HTTP status, `category`, `message`, `correlationId`) and whether
it is worth retrying. None of them ever holds the token: messages are redacted when built.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class HubSpotError(Exception):
    """Base class. ``retryable``: another attempt of the same call may succeed.
    ``permanent``: waiting longer cannot help (a sensor fails at once on these)."""

    retryable = False
    permanent = True

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        category: str | None = None,
        correlation_id: str | None = None,
        hubspot_message: str | None = None,
        body: Mapping[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.category = category
        self.correlation_id = correlation_id
        self.hubspot_message = hubspot_message
        self.body = dict(body) if body else {}
        self.retry_after = retry_after

    def __str__(self) -> str:
        return self.message

    @property
    def sub_category(self) -> str | None:
        """HubSpot's `subCategory` of the error body, when it sent one (also shown in the message)."""
        value = self.body.get("subCategory")
        return str(value) if value not in (None, "") else None

    @property
    def links(self) -> dict[str, str]:
        """HubSpot's `links` of the error body (name -> URL), also shown in the message."""
        links = self.body.get("links")
        return {str(name): str(url) for name, url in links.items()} if isinstance(links, Mapping) else {}

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, category={self.category!r}, "
            f"message={self.message!r})"
        )


class HubSpotInputError(HubSpotError, ValueError):
    """Bad input (an import id, a connection setting): refused before any request is sent."""


class HubSpotAuthError(HubSpotError):
    """401: the token is missing, wrong or expired."""


class HubSpotPermissionError(HubSpotAuthError):
    """403: the token is valid but lacks a scope (imports need ``crm.import``)."""


class HubSpotNotFoundError(HubSpotError):
    """404: no import with that id in this account."""


class HubSpotClientError(HubSpotError):
    """Another 4xx: the request itself is wrong; repeating it cannot help."""


class HubSpotRateLimitError(HubSpotError):
    """429. Short-window limits are retried; the daily limit is not (it clears at midnight)."""

    permanent = False

    def __init__(
        self,
        message: str,
        *,
        policy_name: str | None = None,
        window_seconds: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.policy_name = policy_name
        self.window_seconds = window_seconds

    @property
    def is_daily(self) -> bool:
        return (self.policy_name or "").upper() == "DAILY"

    @property
    def retryable(self) -> bool:  # type: ignore[override]
        return not self.is_daily


class HubSpotServerError(HubSpotError):
    """5xx, 423 Locked or 477 Migration in progress: HubSpot or a proxy in front of it is in trouble."""

    retryable = True
    permanent = False


class HubSpotConnectionError(HubSpotError):
    """The request did not get an answer: refused, reset, or timed out."""

    retryable = True
    permanent = False


class HubSpotNotSentError(HubSpotConnectionError):
    """No connection could be made (refused, DNS, connect timeout): HubSpot never saw the request."""


class HubSpotBadResponseError(HubSpotError):
    """A 2xx answer that is not the JSON HubSpot documents (a proxy page, a truncated body)."""

    retryable = True
    permanent = False


class HubSpotRedirectError(HubSpotError):
    """A 3xx answer. Neither transport follows redirects: a credential must never leave for the host
    a ``Location`` header names, and HubSpot's API does not redirect. The message says where it pointed."""

    def __init__(self, message: str, *, location: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.location = location


class HubSpotAnswerTooLargeError(HubSpotError):
    """An answer larger than the cap on what one call reads (`core.limits.MAX_ANSWER_BYTES`).

    Not retried within the call: another attempt would download the same oversized answer again."""

    permanent = False


class HubSpotPreflightError(HubSpotInputError):
    """Pre-flight found problems HubSpot would refuse or fail rows for; nothing was uploaded.
    ``report`` is the `PreflightReport` (its ``summary()`` is the message)."""

    def __init__(self, message: str, *, report: Any = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.report = report
