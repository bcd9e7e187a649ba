"""HubSpot's rate-limit headers read, and what they mean for the next request. No I/O.

Every answer may carry `X-HubSpot-RateLimit-Max`, `-Remaining`, `-Interval-Milliseconds`, `-Daily`
and `-Daily-Remaining` (any may be missing; OAuth calls have no daily ones). A transport shows each
answer's headers to a `RateBudgetTracker`, logs what `observe` returns, and waits `pause()` seconds
before its next request: when the window's budget is spent, the next request would only earn a 429.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

# Log the budget when at most this share of the window's (or the day's) requests is left.
LOW_SHARE = 0.1
DEFAULT_WINDOW_SECONDS = 10.0


_PREFIX = "x-hubspot-ratelimit-"
_SUFFIXES = ("max", "remaining", "interval-milliseconds", "daily", "daily-remaining")


def _rate_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The rate-limit headers present, by lower-case suffix. A plain dict is searched in any case;
    the transports' header mappings look names up case-insensitively."""
    if isinstance(headers, dict):
        return {
            name.lower()[len(_PREFIX) :]: value
            for name, value in headers.items()
            if name.lower().startswith(_PREFIX)
        }
    found = {}
    for suffix in _SUFFIXES:
        value = headers.get(_PREFIX + suffix)
        if value is not None:
            found[suffix] = value
    return found


def _count(found: Mapping[str, str], suffix: str) -> int | None:
    value = found.get(suffix)
    try:
        return int(value) if value is not None and value.strip() else None
    except ValueError:
        return None


@dataclass(frozen=True)
class RateBudget:
    """What one answer said is left; None where the header was missing or unreadable."""

    max: int | None = None
    remaining: int | None = None
    window_seconds: float | None = None
    daily: int | None = None
    daily_remaining: int | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateBudget | None:
        """The budget an answer's headers report (names in any case), or None when it has none."""
        found = _rate_headers(headers)
        if not found:
            return None
        interval = _count(found, "interval-milliseconds")
        return cls(
            max=_count(found, "max"),
            remaining=_count(found, "remaining"),
            window_seconds=interval / 1000.0 if interval and interval > 0 else None,
            daily=_count(found, "daily"),
            daily_remaining=_count(found, "daily-remaining"),
        )

    @property
    def window_low(self) -> bool:
        return _low(self.remaining, self.max)

    @property
    def daily_low(self) -> bool:
        return _low(self.daily_remaining, self.daily)

    def describe(self) -> str:
        parts = []
        if self.remaining is not None:
            window = f"{self.window_seconds or DEFAULT_WINDOW_SECONDS:g} s window"
            limit = self.max if self.max is not None else "?"
            parts.append(f"{self.remaining} of {limit} requests left in the {window}")
        if self.daily_remaining is not None:
            parts.append(
                f"{self.daily_remaining} of {self.daily if self.daily is not None else '?'} left today"
            )
        return "; ".join(parts)


def _low(remaining: int | None, limit: int | None) -> bool:
    if remaining is None:
        return False
    if limit is None or limit <= 0:
        return remaining <= 0
    return remaining <= limit * LOW_SHARE


class RateBudgetTracker:
    """The budget seen last, for one client. `clock` (monotonic seconds) is injectable for tests."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.last: RateBudget | None = None
        self._seen_at = 0.0
        self._reported: tuple[bool, bool] = (False, False)

    def observe(self, headers: Mapping[str, str]) -> str | None:
        """Keep an answer's budget; returns a message to log when it has just run low (once per
        low spell, not on every answer)."""
        budget = RateBudget.from_headers(headers)
        if budget is None:
            return None
        self.last, self._seen_at = budget, self._clock()
        low = (budget.window_low, budget.daily_low)
        newly_low = (low[0] and not self._reported[0]) or (low[1] and not self._reported[1])
        self._reported = low
        if not newly_low:
            return None
        return f"HubSpot's rate limit is running low: {budget.describe()}."

    def pause(self) -> float:
        """Seconds to wait before the next request: the rest of the window when the last answer
        said none is left in it (HubSpot would answer 429), else 0."""
        budget = self.last
        if budget is None or budget.remaining is None or budget.remaining > 0:
            return 0.0
        window = budget.window_seconds or DEFAULT_WINDOW_SECONDS
        return max(0.0, window - (self._clock() - self._seen_at))
