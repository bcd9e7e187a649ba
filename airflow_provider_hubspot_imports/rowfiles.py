"""A file's rows as lists of text, read once and streamed: CSV with the standard `csv` module,
Excel workbooks (.xlsx) with openpyxl in read-only mode (the ``excel`` extra)."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time
from typing import Any

from airflow_provider_hubspot_imports.core.paths import local_path
from airflow_provider_hubspot_imports.errors import HubSpotInputError
from airflow_provider_hubspot_imports.transfers.formatting import DATE_PATTERNS, TIME_PATTERN


def _source(file: Any) -> Any:
    return local_path(file) or file


@contextmanager
def csv_rows(file: Any) -> Iterator[Iterator[list[str]]]:
    """The rows of a UTF-8 CSV (a byte-order mark is skipped); decoding errors surface while iterating."""
    with _source(file).open("rb") as raw:
        head = raw.read(3)
        if head != codecs.BOM_UTF8:
            raw.seek(0)  # plain utf-8 decodes faster than utf-8-sig
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        try:
            yield csv.reader(text)
        finally:
            text.detach()


@contextmanager
def sheet_rows(file: Any, date_format: str) -> Iterator[Iterator[Sequence[str]]]:
    """The rows of a workbook's first sheet as text; HubSpot reads one sheet."""
    try:
        from openpyxl import load_workbook
    except ImportError:
        raise HubSpotInputError(
            f"{_source(file).name} is a spreadsheet; reading it needs openpyxl: install "
            f"airflow-provider-hubspot-imports[excel]."
        ) from None
    with _source(file).open("rb") as raw:
        book = load_workbook(raw, read_only=True, data_only=True)
        try:
            sheet = book.worksheets[0]
            # A date cell is read as the text the transfer writes for the same dateFormat.
            pattern = DATE_PATTERNS.get(date_format, DATE_PATTERNS["MONTH_DAY_YEAR"])
            yield ([_cell_text(value, pattern) for value in row] for row in sheet.iter_rows(values_only=True))
        finally:
            book.close()


def sheet_count(file: Any) -> int:
    from openpyxl import load_workbook

    with _source(file).open("rb") as raw:
        book = load_workbook(raw, read_only=True)
        try:
            return len(book.sheetnames)
        finally:
            book.close()


def _cell_text(value: Any, date_pattern: str) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return (date_pattern + (TIME_PATTERN if value.time() != time() else "")).format(value)
    if isinstance(value, date):
        return date_pattern.format(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
