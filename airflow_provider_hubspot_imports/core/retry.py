"""When to try a call again and how long to wait: one policy for the sync and async paths.

The policy is plain arithmetic on typed errors; `tenacity_arguments` turns it into the keyword
arguments of `tenacity.Retrying` and `tenacity.AsyncRetrying` alike.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tenacity import RetryCallState, retry_if_exception, stop_after_attempt, stop_before_delay

from airflow_provider_hubspot_imports.core.settings import HubSpotSettings
from airflow_provider_hubspot_imports.errors import (
    HubSpotBadResponseError,
    HubSpotConnectionError,
    HubSpotError,
    HubSpotNotSentError,
    HubSpotRateLimitError,
    HubSpotServerError,
)

# 429 bodies that mean "rate limited before anything happened" (not e.g. an import row limit).
RATE_LIMIT_CATEGORIES = frozenset({"RATE_LIMIT", "RATE_LIMITS"})
DEFAULT_RATE_LIMIT_WINDOW = 10.0  # HubSpot's rolling window when no header says otherwise
BACKOFF_CAP_SECONDS = 30.0


def is_file_limit_body(body: Mapping[str, Any]) -> bool:
    """A 429 body that is HubSpot's per-file limit (1,048,576 rows or 512 MB, e.g. errorType
    FREE_PORTAL_IMPORT_ROWS_LIMIT), not a rate limit: sending the same file again cannot help."""
    kind = str(body.get("errorType") or body.get("category") or "").upper()
    if kind in RATE_LIMIT_CATEGORIES or body.get("policyName"):
        return False
    message = str(body.get("message") or "").lower()
    names_a_file = any(word in kind for word in ("ROW", "FILE", "IMPORT"))
    return ("LIMIT" in kind and names_a_file) or (
        "limit" in message and ("row" in message or "file" in message)
    )


def is_file_limit(error: BaseException) -> bool:
    return isinstance(error, HubSpotRateLimitError) and is_file_limit_body(error.body)


@dataclass(frozen=True)
class RetryPolicy:
    """`max_retries` attempts after the first; `max_seconds` bounds the whole call, waits included."""

    max_retries: int
    max_seconds: float
    backoff_seconds: float = 1.0
    backoff_cap: float = BACKOFF_CAP_SECONDS

    @classmethod
    def from_settings(cls, settings: HubSpotSettings) -> RetryPolicy:
        return cls(
            max_retries=settings.max_retries,
            max_seconds=settings.retry_max_seconds,
            backoff_seconds=settings.retry_backoff_seconds,
        )

    @staticmethod
    def should_retry(error: BaseException) -> bool:
        return isinstance(error, HubSpotError) and error.retryable and not is_file_limit(error)

    def retries(self, error: BaseException, *, idempotent: bool = True) -> bool:
        """Whether `error` is worth another attempt of a request (`idempotent`: safe to repeat)."""
        return self.should_retry(error) if idempotent else self.should_retry_unprocessed(error)

    @staticmethod
    def should_retry_unprocessed(error: BaseException) -> bool:
        """For a request that must not run twice (starting an import): retry only what provably never ran.

        That is a connection that was never made, and a short-window rate limit, which HubSpot applies
        before it handles the request. A 5xx, a reset or a read timeout may come after HubSpot created
        the import, so those are not retried: a second import could follow.
        """
        if isinstance(error, HubSpotNotSentError):
            return True
        return (
            isinstance(error, HubSpotRateLimitError)
            and error.retryable
            and (error.category or "").upper() in RATE_LIMIT_CATEGORIES
            and not is_file_limit(error)
        )

    @staticmethod
    def may_have_been_processed(error: BaseException) -> bool:
        """A failure that can come after HubSpot acted on the request (5xx, reset, timeout, bad answer)."""
        return isinstance(
            error, (HubSpotServerError, HubSpotConnectionError, HubSpotBadResponseError)
        ) and not isinstance(error, HubSpotNotSentError)

    def wait_seconds(
        self, error: BaseException | None, retry_number: int, rng: random.Random | None = None
    ) -> float:
        """How long to wait before retry number `retry_number` (1-based) after `error`.

        `Retry-After` is honoured as a floor; a rate limit without it waits out HubSpot's window;
        everything else backs off exponentially. Jitter spreads the retries of many waiters.
        """
        uniform = rng.uniform if rng else random.uniform
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return float(retry_after) + uniform(0.0, 0.1 * max(float(retry_after), 1.0))
        if isinstance(error, HubSpotRateLimitError):
            window = error.window_seconds or DEFAULT_RATE_LIMIT_WINDOW
            return window * uniform(1.0, 1.1)
        ceiling = min(self.backoff_cap, self.backoff_seconds * 2 ** (retry_number - 1))
        return uniform(ceiling / 2, ceiling)

    def attempt_timeout(self, timeout: float, started_at: float) -> float:
        """Each attempt's timeout, cut so the whole call stays within `max_seconds`."""
        remaining = self.max_seconds - (time.monotonic() - started_at)
        return max(0.1, min(timeout, remaining))


def tenacity_arguments(
    policy: RetryPolicy, log: Any, describe: str, *, idempotent: bool = True
) -> dict[str, Any]:
    """Keyword arguments for `tenacity.Retrying` / `AsyncRetrying` implementing `policy`."""

    def should_retry(error: BaseException) -> bool:
        return policy.retries(error, idempotent=idempotent)

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        return policy.wait_seconds(error, state.attempt_number)

    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning(
            "%s: attempt %d of %d failed, retrying in %.1f s. Reason: %s",
            describe,
            state.attempt_number,
            policy.max_retries + 1,
            state.upcoming_sleep,
            error,
        )

    return {
        "retry": retry_if_exception(should_retry),
        "wait": wait,
        "stop": stop_after_attempt(policy.max_retries + 1) | stop_before_delay(policy.max_seconds),
        "before_sleep": before_sleep,
        "reraise": True,
    }
