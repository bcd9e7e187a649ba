"""The quality gate: when a DONE import has too many error rows to let downstream work go on."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_hubspot_imports.models import ImportRecord

MAX_ERRORS_SHOWN = 10
ERRORS = "ERRORS"


@dataclass(frozen=True)
class QualityGate:
    """`max_error_rows`: most ERRORS allowed; `max_error_ratio`: most ERRORS / TOTAL_ROWS (0 to 1).

    HubSpot's counters have no documented keys: when ERRORS is missing, the error rows are counted
    from the errors endpoint instead (up to `rows_to_count`, enough to decide), never assumed to be 0.
    A missing or zero TOTAL_ROWS with errors present breaches a ratio limit, since the ratio cannot
    be shown to hold.
    """

    max_error_rows: int | None = None
    max_error_ratio: float | None = None

    def __post_init__(self) -> None:
        rows, ratio = self.max_error_rows, self.max_error_ratio
        if rows is not None and (isinstance(rows, bool) or not isinstance(rows, int) or rows < 0):
            raise ValueError(
                f"max_error_rows is {rows!r}; pass a whole number >= 0 (0: no error row allowed)."
            )
        if ratio is not None and (
            isinstance(ratio, bool)
            or not isinstance(ratio, (int, float))
            or not math.isfinite(ratio)
            or not 0 <= ratio <= 1
        ):
            raise ValueError(
                f"max_error_ratio is {ratio!r}; pass a fraction between 0 and 1, e.g. 0.05 for 5% of rows."
            )

    @property
    def active(self) -> bool:
        return self.max_error_rows is not None or self.max_error_ratio is not None

    def rows_to_count(self, record: ImportRecord) -> int | None:
        """How many rows to read from the errors endpoint to decide, when the counters lack ERRORS:
        one more than the gate allows (finding that many is a breach). None when ERRORS is there."""
        if not self.active or ERRORS in record.counters:
            return None
        limits = []
        if self.max_error_rows is not None:
            limits.append(self.max_error_rows + 1)
        if self.max_error_ratio is not None:
            total = record.total_rows
            limits.append(math.floor(self.max_error_ratio * total) + 1 if total else 1)
        return max(limits)

    def breach(
        self, record: ImportRecord, counted_errors: int | None = None, *, counted_all: bool = True
    ) -> str | None:
        """Why `record` fails the gate, or None when it passes. `counted_errors`: the error rows read
        from the errors endpoint (at least `rows_to_count` of them, when there are so many) when the
        counters lack ERRORS; `counted_all`: False when reading stopped there, with more rows left."""
        total = record.total_rows
        if ERRORS in record.counters or counted_errors is None:
            errors, source = record.error_rows, ""
        else:
            errors = counted_errors
            at_least = "" if counted_all else "at least "
            source = f" ({at_least}{errors} counted from the errors endpoint: the counters have no ERRORS)"
        if self.max_error_rows is not None and errors > self.max_error_rows:
            return f"{errors} error rows{source}, more than max_error_rows={self.max_error_rows}"
        if self.max_error_ratio is not None and errors > 0:
            if not total:
                return (
                    f"{errors} error rows{source} and no TOTAL_ROWS counter, so the error ratio cannot be "
                    f"checked against max_error_ratio={self.max_error_ratio:g}"
                )
            ratio = errors / total
            if ratio > self.max_error_ratio:
                return (
                    f"{errors} of {total} rows failed ({ratio:.1%}){source}, more than "
                    f"max_error_ratio={self.max_error_ratio:g} ({self.max_error_ratio:.1%})"
                )
        return None


def describe_error(error: Mapping[str, Any]) -> str:
    """One line per HubSpot error item: type, line, invalid value, HubSpot's message."""
    source = error.get("sourceData")
    if not isinstance(source, Mapping):
        source = {}
    line = source.get("lineNumber")
    where = "whole file" if line == 0 else f"line {line}" if line is not None else "line unknown"
    text = f"{error.get('errorType', 'UNKNOWN_ERROR')} at {where}"
    if error.get("invalidValue") not in (None, ""):
        text += f", invalid value {error['invalidValue']!r}"
    if error.get("errorMessage"):
        text += f": {error['errorMessage']}"
    return text


def gate_failure_message(
    record: ImportRecord, breach: str, errors: Iterable[Mapping[str, Any]], errors_note: str | None = None
) -> str:
    """The task failure message: the import, the limit it broke, and its first errors."""
    shown = [describe_error(error) for error in list(errors)[:MAX_ERRORS_SHOWN]]
    lines = [f"HubSpot import {record.id} is DONE but fails the quality gate: {breach}."]
    if shown:
        lines.append(f"First {len(shown)} errors:")
        lines += [f"  - {line}" for line in shown]
    if errors_note:
        lines.append(errors_note)
    return "\n".join(lines)
