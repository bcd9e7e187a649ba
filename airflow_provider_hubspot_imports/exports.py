"""An import's error rows written to a file: ``.csv`` or ``.jsonl``, streamed page by page.

The errors endpoint is read one page at a time and each page is written before the next is asked
for, so an import with a million error rows needs the memory of one page. Row data (the values of
the refused rows: personal data, often) is asked of HubSpot only with ``include_row_data=True``.
"""

from __future__ import annotations

import contextlib
import csv
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

from airflow_provider_hubspot_imports.core.paths import local_path
from airflow_provider_hubspot_imports.errors import HubSpotInputError

FORMATS = (".csv", ".jsonl")
# The CSV's columns: HubSpot's documented error fields, then everything else it sent, as JSON.
CSV_COLUMNS = (
    "id",
    "createdAt",
    "errorType",
    "errorMessage",
    "invalidValue",
    "knownColumnNumber",
    "objectType",
    "objectTypeId",
    "fileId",
    "lineNumber",
    "rowData",
    "other",
)
_SOURCE_COLUMNS = ("fileId", "lineNumber", "rowData")


def export_format(destination: Any) -> str:
    """``.csv`` or ``.jsonl`` from the destination's suffix; anything else is refused before a request."""
    if local_path(destination) is None and not hasattr(destination, "open"):
        raise HubSpotInputError(
            f"destination is {type(destination).__name__} {destination!r}; pass a path (str or "
            f"pathlib.Path) or an ObjectStoragePath ending in .csv or .jsonl."
        )
    suffix = str(getattr(destination, "suffix", None) or Path(str(destination)).suffix).lower()
    if suffix not in FORMATS:
        raise HubSpotInputError(
            f"destination {str(destination)!r} ends in {suffix or 'no suffix'!r}; name a .csv or .jsonl "
            f"file: the suffix chooses the format."
        )
    return suffix


def write_errors(errors: Iterable[Mapping[str, Any]], destination: Any) -> dict[str, Any]:
    """Write `errors` (HubSpot's error items) to `destination`; the summary: rows, counts by
    ``errorType``, destination. A failed write removes the partial file."""
    fmt = export_format(destination)
    local = local_path(destination)
    target = local or destination
    if local is not None:
        local.parent.mkdir(parents=True, exist_ok=True)
    by_type: Counter[str] = Counter()
    try:
        with target.open("w", encoding="utf-8", newline="") as handle:
            write = _csv_writer(handle) if fmt == ".csv" else _jsonl_writer(handle)
            for error in errors:
                write(error)
                by_type[str(error.get("errorType", "UNKNOWN_ERROR"))] += 1
    except BaseException:
        _remove(target)
        raise
    return {
        "rows": sum(by_type.values()),
        "by_error_type": dict(sorted(by_type.items())),
        "destination": str(destination),
        "format": fmt.lstrip("."),
    }


def _jsonl_writer(handle: IO[str]) -> Any:
    def write(error: Mapping[str, Any]) -> None:
        handle.write(json.dumps(error, ensure_ascii=False, separators=(",", ":")) + "\n")

    return write


def _csv_writer(handle: IO[str]) -> Any:
    writer = csv.writer(handle)
    writer.writerow(CSV_COLUMNS)

    def write(error: Mapping[str, Any]) -> None:
        source = error.get("sourceData")
        source = dict(source) if isinstance(source, Mapping) else {}
        other = {key: value for key, value in error.items() if key not in CSV_COLUMNS and key != "sourceData"}
        other.update({key: value for key, value in source.items() if key not in _SOURCE_COLUMNS})
        row_data = source.get("rowData")
        writer.writerow(
            [
                *(_cell(error.get(column)) for column in CSV_COLUMNS[:8]),
                _cell(source.get("fileId")),
                _cell(source.get("lineNumber")),
                "" if row_data is None else json.dumps(row_data, ensure_ascii=False),
                json.dumps(other, ensure_ascii=False, sort_keys=True) if other else "",
            ]
        )

    return write


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _remove(target: Any) -> None:
    # Nothing was written, or the store refuses: the original error is what matters.
    with contextlib.suppress(Exception):
        target.unlink()
