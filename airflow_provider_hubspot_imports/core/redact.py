"""Keep secrets out of every text this package produces."""

from __future__ import annotations

from collections.abc import Iterable

REDACTED = "***"


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every occurrence of each secret in `text` (HubSpot may echo request details)."""
    for secret in secrets:
        if secret and len(secret) >= 4 and secret in text:
            text = text.replace(secret, REDACTED)
    return text
