"""How HubSpot reads a cell of each property type: one predicate per type, pure and fast.

Each predicate answers "would HubSpot parse this non-blank text?". Blank cells are left to the
caller (a blank value writes nothing, unless the property is required).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date

DATE_FORMATS = ("MONTH_DAY_YEAR", "DAY_MONTH_YEAR", "YEAR_MONTH_DAY")
DEFAULT_DATE_FORMAT = "MONTH_DAY_YEAR"
# HubSpot stores at most 65,536 characters in a property value; a longer cell is COLUMN_TOO_LARGE.
MAX_VALUE_CHARS = 65_536

_SEP = r"[/.\-]"
_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:\s?[AaPp][Mm])?(?:Z|[+\-]\d{2}:?\d{2})?)?"
_DATE_PATTERNS = {
    "MONTH_DAY_YEAR": re.compile(rf"(\d{{1,2}}){_SEP}(\d{{1,2}}){_SEP}(\d{{4}}|\d{{2}}){_TIME}"),
    "DAY_MONTH_YEAR": re.compile(rf"(\d{{1,2}}){_SEP}(\d{{1,2}}){_SEP}(\d{{4}}|\d{{2}}){_TIME}"),
    "YEAR_MONTH_DAY": re.compile(rf"(\d{{4}}){_SEP}(\d{{1,2}}){_SEP}(\d{{1,2}}){_TIME}"),
}
# Epoch milliseconds (what HubSpot's API itself uses for dates) are read in any dateFormat.
_EPOCH_MS = re.compile(r"-?\d{10,13}")
_EMAIL = re.compile(
    r"[^@\s\"(),:;<>\[\]\\]+@[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,63}"
)
_DOMAIN = re.compile(
    r"(?:https?://)?(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}\.?(?::\d{1,5})?(?:/\S*)?"
)
_NUMBER = re.compile(r"[+\-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+\-]?\d+)?")
BOOL_TEXTS = frozenset({"true", "false", "yes", "no", "1", "0"})


def date_checker(date_format: str) -> Callable[[str], bool]:
    """A predicate for dates written in `date_format` (time of day allowed after the date)."""
    pattern = _DATE_PATTERNS[date_format]
    order = {"MONTH_DAY_YEAR": (2, 0, 1), "DAY_MONTH_YEAR": (2, 1, 0), "YEAR_MONTH_DAY": (0, 1, 2)}[
        date_format
    ]
    year_at, month_at, day_at = order

    def parses(text: str) -> bool:
        text = text.strip()
        match = pattern.fullmatch(text)
        if match is None:
            return _EPOCH_MS.fullmatch(text) is not None
        parts = match.groups()
        year = int(parts[year_at])
        if len(parts[year_at]) == 2:
            year += 2000
        try:
            date(year, int(parts[month_at]), int(parts[day_at]))
        except ValueError:
            return False
        return True

    return parses


def is_number(text: str) -> bool:
    """Plain decimal numbers (sign, point, exponent); no thousands separators, no NaN or infinity."""
    text = text.strip()
    return _NUMBER.fullmatch(text) is not None and math.isfinite(float(text))


def is_email(text: str) -> bool:
    return _EMAIL.fullmatch(text.strip()) is not None


def is_domain(text: str) -> bool:
    """A host name with a public-suffix-like ending; a scheme and a path are tolerated."""
    return _DOMAIN.fullmatch(text.strip()) is not None


def is_bool(text: str) -> bool:
    return text.strip().lower() in BOOL_TEXTS


class Enumeration:
    """An enumeration's options: HubSpot accepts an option's value or its label. A text that is no
    option's value and matches (ignoring case) the value or label of more than one option is
    ambiguous. Multi-select properties (fieldType ``checkbox``) take values separated by ``;``."""

    def __init__(self, options: Iterable[Mapping[str, object]], *, multiple: bool = False) -> None:
        self.values = frozenset(
            str(option.get("value")) for option in options if option.get("value") is not None
        )
        folded: dict[str, set[str]] = {}
        for option in options:
            value = str(option.get("value"))
            for text in (option.get("value"), option.get("label")):
                if text is not None:
                    folded.setdefault(str(text).strip().lower(), set()).add(value)
        self.folded = folded
        self.multiple = multiple

    def verdict(self, text: str) -> str | None:
        """None when accepted, else HubSpot's error type (INVALID_ or AMBIGUOUS_ENUMERATION_OPTION)."""
        items = text.split(";") if self.multiple else [text]
        for item in items:
            item = item.strip()
            if not item or item in self.values:
                continue
            matches = self.folded.get(item.lower())
            if not matches:
                return "INVALID_ENUMERATION_OPTION"
            if len(matches) > 1:
                return "AMBIGUOUS_ENUMERATION_OPTION"
        return None
