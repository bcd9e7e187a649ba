"""Query values written as HubSpot's import reads them: one text per value, dates in `dateFormat`.

Pure: no I/O. Every date and datetime of a transfer is written in the one format that matches the
``dateFormat`` its import requests send; datetimes are written in UTC (a naive datetime is taken to
be UTC already), booleans as ``true``/``false``, numbers without exponents, NULL as an empty cell.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from airflow_provider_hubspot_imports.errors import HubSpotInputError

# HubSpot's `dateFormat` values and how a date is written in each (a four-digit year always:
# strftime's %Y drops the leading zeros of years before 1000 on some platforms).
DATE_PATTERNS: dict[str, str] = {
    "YEAR_MONTH_DAY": "{0.year:04d}-{0.month:02d}-{0.day:02d}",
    "MONTH_DAY_YEAR": "{0.month:02d}/{0.day:02d}/{0.year:04d}",
    "DAY_MONTH_YEAR": "{0.day:02d}/{0.month:02d}/{0.year:04d}",
}
TIME_PATTERN = " {0.hour:02d}:{0.minute:02d}:{0.second:02d}"  # fractions of a second are cut
DEFAULT_DATE_FORMAT = "YEAR_MONTH_DAY"
# The same patterns in PostgreSQL's to_char, for the server-side CSV export (postgres_copy).
PG_DATE_PATTERNS: dict[str, str] = {
    "YEAR_MONTH_DAY": "YYYY-MM-DD",
    "MONTH_DAY_YEAR": "MM/DD/YYYY",
    "DAY_MONTH_YEAR": "DD/MM/YYYY",
}
PG_TIME_PATTERN = " HH24:MI:SS"


def check_date_format(date_format: str) -> str:
    if date_format not in DATE_PATTERNS:
        raise HubSpotInputError(
            f"date_format is {date_format!r}; pass one of HubSpot's dateFormat values: "
            f"{', '.join(DATE_PATTERNS)}."
        )
    return date_format


def value_writer(date_format: str) -> Callable[[Any], str]:
    """A function writing one query value as the import file's cell text."""
    date_pattern = DATE_PATTERNS[check_date_format(date_format)]
    datetime_pattern = date_pattern + TIME_PATTERN

    def write(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, dt.datetime):
            if value.tzinfo is not None:
                value = value.astimezone(dt.timezone.utc)
            return datetime_pattern.format(value)
        if isinstance(value, dt.date):
            return date_pattern.format(value)
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ValueError(f"{value!r} is not a number HubSpot can import")
            return _plain(Decimal(repr(value)))
        if isinstance(value, Decimal):
            if not value.is_finite():
                raise ValueError(f"{value!r} is not a number HubSpot can import")
            return _plain(value)
        if isinstance(value, uuid.UUID):
            return str(value)
        if isinstance(value, (bytes, bytearray, memoryview)):
            raise ValueError("binary values cannot be imported; cast the column to text in the query")
        if isinstance(value, dt.time):
            return value.strftime("%H:%M:%S")
        raise ValueError(f"a {type(value).__name__} value cannot be imported; cast it to text in the query")

    return write


def row_writer(columns: Sequence[str], date_format: str) -> Callable[[Sequence[Any]], list[str]]:
    """A function writing one query row as cell texts; a value HubSpot cannot read is refused,
    naming the column."""
    write = value_writer(date_format)

    def format_row(row: Sequence[Any]) -> list[str]:
        try:
            return [write(value) for value in row]
        except ValueError:
            for column, value in zip(columns, row, strict=False):
                try:
                    write(value)
                except ValueError as error:
                    raise HubSpotInputError(f"Column {column!r}: {error}.") from None
            raise

    return format_row


def _plain(number: Decimal) -> str:
    """A decimal without exponent and without trailing zeros after the point (1.50 -> 1.5)."""
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
