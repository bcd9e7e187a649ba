"""The rows of one file against its plan: header, limits, and each cell as HubSpot would read it.

Rows are taken a chunk at a time and checked column by column with set operations and `map`, so
that the cost per row stays close to that of parsing the CSV: a column of whole numbers or e-mail
addresses is proven good by a few scans of the whole column in C, each checker sees a column's
distinct values only, accepted values are remembered (up to a bound per column), and Python-level
loops over a chunk's rows run only when the chunk holds a problem.
"""

from __future__ import annotations

import csv
import gc
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice

from airflow_provider_hubspot_imports.core.preflight import values
from airflow_provider_hubspot_imports.core.preflight.duplicates import MAX_TRACKED, RepeatTracker
from airflow_provider_hubspot_imports.core.preflight.report import FileTotals, PreflightReport, Problem
from airflow_provider_hubspot_imports.core.preflight.request import ColumnPlan, FilePlan
from airflow_provider_hubspot_imports.core.preflight.schema import PropertyDef

MAX_FILE_ROWS = 1_048_576  # rows of a file, its header included (an Excel sheet's size)
MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_COLUMNS = 999  # "fewer than 1,000 columns"
REMEMBERED_VALUES = 32_768  # accepted values remembered per column (about 2 MB)
# Rows checked together. Small enough that a chunk's rows are still in the processor's cache when
# its columns are checked (1,024 rows cost about 10% more CPU time than 256 on 1,000,000 rows),
# large enough that the per-chunk work in Python stays small against the per-cell work in C.
CHUNK_ROWS = 256
# Types of well-known standard properties, for the checks that run without the account's schema.
KNOWN_TYPES: dict[tuple[str, str], str] = {
    ("0-1", "email"): "email",
    ("0-1", "hs_object_id"): "number",
    ("0-1", "createdate"): "datetime",
    ("0-1", "lastmodifieddate"): "datetime",
    ("0-2", "domain"): "domain",
    ("0-2", "hs_object_id"): "number",
    ("0-2", "annualrevenue"): "number",
    ("0-2", "numberofemployees"): "number",
    ("0-2", "createdate"): "datetime",
    ("0-3", "amount"): "number",
    ("0-3", "closedate"): "datetime",
    ("0-3", "hs_object_id"): "number",
}
HUBSPOT_ERROR_TYPES = frozenset(
    {
        "PROPERTY_DEFINITION_NOT_FOUND",
        "INVALID_ENUMERATION_OPTION",
        "AMBIGUOUS_ENUMERATION_OPTION",
        "COULD_NOT_PARSE_DATE",
        "COULD_NOT_PARSE_NUMBER",
        "FAILED_VALIDATION",
        "INVALID_EMAIL",
        "INVALID_DOMAIN",
        "MISSING_REQUIRED_PROPERTY",
        "DUPLICATE_ALTERNATE_ID",
        "DUPLICATE_UNIQUE_PROPERTY_VALUE",
        "COLUMN_TOO_LARGE",
    }
)


@dataclass(frozen=True)
class Limits:
    """HubSpot's per-file limits (a test may lower them)."""

    rows: int = MAX_FILE_ROWS
    bytes: int = MAX_FILE_BYTES
    columns: int = MAX_COLUMNS
    value_chars: int = values.MAX_VALUE_CHARS


HUBSPOT_LIMITS = Limits()


def cell_checker(column: ColumnPlan, prop: PropertyDef | None, date_format: str) -> values.Checker | None:
    """How a column's cells are checked: by the schema's property, else by a well-known name."""
    if prop is not None:
        kind = prop.type
        if column.object_type_id == "0-1" and prop.name == "email":
            kind = "email"
        elif column.object_type_id == "0-2" and prop.name == "domain":
            kind = "domain"
    elif column.object_type_id is not None and column.property_name is not None:
        kind = KNOWN_TYPES.get((column.object_type_id, column.property_name), "string")
    else:
        return None
    if kind in ("date", "datetime"):
        return values.date_checker(date_format)
    if kind == "enumeration" and prop is not None:
        return prop.enumeration()
    return {
        "number": values.number_checker,
        "email": values.email_checker,
        "domain": values.domain_checker,
        "bool": values.bool_checker,
    }.get(kind)


@dataclass
class _Column:
    position: int  # in the file's rows
    name: str
    checker: values.Checker | None
    accepted: set[str]
    proof: Callable[[Sequence[str]], bool] | None = None  # see values.CHUNK_PROOFS
    required: bool = False
    repeats: RepeatTracker | None = None
    repeat_type: str = "DUPLICATE_ALTERNATE_ID"
    repeats_full_at: int | None = None  # the line from which repeats were no longer tracked


class RowChecker:
    """Checks one file's rows. Feed the header (if any) to `header`, then the rows to `run`."""

    def __init__(
        self,
        plan: FilePlan,
        report: PreflightReport,
        totals: FileTotals,
        *,
        properties: Mapping[int, PropertyDef] | None = None,
        required: Iterable[int] = (),
        include_values: bool = False,
        limits: Limits = HUBSPOT_LIMITS,
    ) -> None:
        self.plan, self.report, self.totals = plan, report, totals
        self.properties = properties or {}
        self.required = set(required)
        self.include_values = include_values
        self.limits = limits
        self.positions = {column.index: column.index for column in plan.columns}
        self.width = len(plan.columns)

    # ---- the header ----------------------------------------------------------------------------

    def header(self, names: Sequence[str]) -> None:
        """Compare the header with columnMappings: count, order and exact names."""
        mapped = [column.name for column in self.plan.columns]
        self.width = len(names)
        self.totals.columns = len(names)
        if len(names) > self.limits.columns:
            self._error("TOO_MANY_COLUMNS", f"{len(names)} columns; HubSpot reads fewer than 1,000.", line=1)
        if list(names) == mapped:
            return
        where = {name: position for position, name in reversed(list(enumerate(names)))}
        self.positions = {c.index: where[c.name] for c in self.plan.columns if c.name in where}
        if len(names) != len(mapped):
            missing = [name for name in mapped if name not in where]
            extra = [name for name in names if name not in set(mapped)]
            detail = f" missing from the header: {missing}" if missing else ""
            detail += f"; not mapped: {extra}" if extra else ""
            self._error(
                "INCORRECT_NUMBER_OF_COLUMNS",
                f"the header has {len(names)} columns and columnMappings {len(mapped)};{detail}. HubSpot "
                f"fails the whole import: map every column, in order.",
                line=1,
            )
            return
        for column in self.plan.columns:
            found = names[column.index]
            if found != column.name:
                self._error(
                    "COLUMN_NAME_MISMATCH",
                    f"column {column.index + 1} is {found!r} in the header but {column.name!r} in "
                    f"columnMappings; columnName must equal the header exactly.",
                    line=1,
                    column=column.name,
                )

    # ---- the rows ------------------------------------------------------------------------------

    def run(self, rows: Iterable[Sequence[str]], max_rows: int | None = None) -> None:
        """Check the rows (after the header); `max_rows` stops after that many. Counts into totals."""
        columns = self._columns()
        first_line = 2 if self.plan.has_header else 1
        row_limit = self.limits.rows - (first_line - 1)  # data rows the file may hold
        iterator: Iterator[Sequence[str]] = iter(rows)
        line = first_line  # the line of the chunk's first row
        counted = 0  # data rows (blank lines are no rows)
        # The rows of a chunk outlive several of the garbage collector's young-generation passes,
        # which then traverse them again and again: that doubled the time of a check. Nothing made
        # here forms a reference cycle, so the collector waits until the file is read.
        collecting = gc.isenabled()
        gc.disable()
        try:
            while True:
                size = CHUNK_ROWS if max_rows is None else min(CHUNK_ROWS, max_rows - counted)
                chunk = list(islice(iterator, size)) if size > 0 else []
                if not chunk:
                    self.totals.read_to_end = size > 0
                    break
                if counted + len(chunk) <= row_limit:  # within the limit, blank lines or not
                    by_position = self._split_columns(chunk)
                    if by_position is not None:  # the usual chunk: no blank line, no other width
                        counted += len(chunk)
                        self._check_columns(by_position, line, columns)
                        line += len(chunk)
                        continue
                blanks = chunk.count([])
                if counted + len(chunk) - blanks > row_limit:
                    chunk = self._cut_at_row_limit(chunk, row_limit - counted, line, iterator)
                    counted += len(chunk) - chunk.count([])
                    self._check_chunk(chunk, line, columns)
                    break
                counted += len(chunk) - blanks
                self._check_chunk(chunk, line, columns)
                line += len(chunk)
        except UnicodeDecodeError as exc:
            self._error("FILE_NOT_UTF8", f"the file is not UTF-8 ({exc.reason}); save it as UTF-8.", None)
        except csv.Error as exc:
            self._error("UNREADABLE_CSV", f"the CSV cannot be read past a row: {exc}.", None)
        finally:
            if collecting:
                gc.enable()
        self.totals.rows_checked = counted
        self.totals.rows = max(self.totals.rows, counted)
        for column in columns:
            if column.repeats_full_at is not None:
                self.report.skip(
                    f"repeated values of column {column.name!r} of {self.plan.file_name} after line "
                    f"{column.repeats_full_at}",
                    f"the check keeps at most {MAX_TRACKED:,} values per column",
                )

    def _split_columns(self, chunk: list[Sequence[str]]) -> list[tuple[str, ...]] | None:
        """The chunk as one tuple per column, by a single `zip` in C (each checked column is then a
        ready sequence, with no per-cell getter call); None unless every row has the header's
        width, which also means that no line of the chunk is blank."""
        try:
            by_position = list(zip(*chunk, strict=True))
        except ValueError:  # rows of different widths
            return None
        return by_position if by_position and len(by_position) == self.width else None

    def _check_chunk(self, chunk: list[Sequence[str]], line: int, columns: list[_Column]) -> None:
        """A chunk with a blank line or a row of another width than the header's (or cut at the
        row limit): its rows fitted to the header's width first."""
        if set(map(len, chunk)) != {self.width}:
            chunk = self._fit_rows(chunk, line)
        if chunk:
            self._check_columns(list(zip(*chunk, strict=True)), line, columns)

    def _check_columns(self, by_position: list[tuple[str, ...]], line: int, columns: list[_Column]) -> None:
        # A column of the chunk no longer than the limit in all holds no cell longer than it: one
        # join per column, not per row.
        if max(map(len, map("".join, by_position)), default=0) > self.limits.value_chars:
            self._long_cells(by_position, line)
        for column in columns:
            self._check_column(column, by_position[column.position], line)

    def _check_column(self, column: _Column, cells: Sequence[str], line: int) -> None:
        """One column of a chunk: settled by a proof over the whole column where its kind has one
        (`values.CHUNK_PROOFS`) or by the values accepted before, else its distinct values go
        through the checker; the cells are walked one by one only for a repeat or when a value was
        refused (to find its lines)."""
        # Every cell proven good by a scan of the whole column (no blank, if the column is required).
        proven = column.proof is not None and column.proof(cells) and not (column.required and "" in cells)
        if column.repeats is not None:
            for offset in column.repeats.repeats(cells):
                self._error(
                    column.repeat_type,
                    "the value repeats one on an earlier line of the file.",
                    line + offset,
                    column.name,
                    cells[offset],
                )
            if column.repeats.full and column.repeats_full_at is None:
                column.repeats_full_at = line
            if proven or (column.checker is None and not column.required):
                return
            distinct = set(cells)
        else:
            if proven or column.accepted.issuperset(cells):
                return  # else every value already accepted: lookups in a small set, no new set built
            distinct = set(cells) - column.accepted
            if not distinct:
                return
        if column.required:
            blank = {text for text in distinct if not text.strip()}
            if blank:
                for offset, text in enumerate(cells):
                    if text in blank:
                        self._error(
                            "MISSING_REQUIRED_PROPERTY", "the value is blank.", line + offset, column.name
                        )
            distinct -= blank
        distinct.discard("")
        if column.checker is None or not distinct:
            return
        texts = list(distinct)
        refused = column.checker(texts)
        for text in [text for text in refused if text.isspace()]:
            del refused[text]  # a blank cell writes nothing
        if column.repeats is None and len(column.accepted) < REMEMBERED_VALUES:
            column.accepted.update(texts if not refused else (text for text in texts if text not in refused))
        if refused:
            date_format = self.plan.date_format
            for offset, text in enumerate(cells):
                kind = refused.get(text)
                if kind is not None:
                    self._error(kind, _describe(kind, date_format), line + offset, column.name, text)

    def _fit_rows(self, chunk: list[Sequence[str]], line: int) -> list[Sequence[str]]:
        """Rows of another width than the header's are reported, and cut or padded to it; a blank
        line stays (as blank cells) so that every row keeps its line."""
        width, fitted = self.width, []
        for offset, row in enumerate(chunk):
            if row and len(row) != width:
                self._error(
                    "INCORRECT_NUMBER_OF_COLUMNS",
                    f"the row has {len(row)} cells; the header has {width}.",
                    line=line + offset,
                )
                row = [*row[:width], *[""] * (width - len(row))]
            fitted.append(row or [""] * width)
        return fitted

    def _cut_at_row_limit(
        self, chunk: list[Sequence[str]], allowed: int, line: int, rest: Iterator[Sequence[str]]
    ) -> list[Sequence[str]]:
        """Keep the rows within HubSpot's limit; count the others (unchecked) and report the limit."""
        kept, offset = 0, 0
        for offset, row in enumerate(chunk):  # noqa: B007 (offset is read after the loop)
            if row:
                if kept == allowed:
                    break
                kept += 1
        over = sum(map(bool, chunk[offset:])) + sum(map(bool, rest))
        first_data_line = 2 if self.plan.has_header else 1
        self.totals.rows = (line - first_data_line) + offset - chunk[:offset].count([]) + over
        self.totals.read_to_end = True
        self._error(
            "FILE_ROW_LIMIT",
            f"the file holds {self.totals.rows + first_data_line - 1:,} rows; HubSpot takes at most "
            f"{self.limits.rows:,} per file (the start is answered 429). Split it into several files.",
            line=line + offset,
        )
        return chunk[:offset]

    def _columns(self) -> list[_Column]:
        columns = []
        for plan_column in self.plan.columns:
            if plan_column.index not in self.positions or plan_column.is_association:
                continue
            prop = self.properties.get(plan_column.index)
            required = plan_column.index in self.required
            checker = cell_checker(plan_column, prop, self.plan.date_format)
            column = _Column(
                position=self.positions[plan_column.index],
                name=plan_column.name,
                checker=checker,
                proof=values.CHUNK_PROOFS.get(checker) if checker is not None else None,
                required=required,
                accepted=set() if required else {""},  # a blank cell writes nothing
            )
            if plan_column.is_id:
                column.repeats = RepeatTracker()
            elif prop is not None and prop.has_unique_value:
                column.repeats = RepeatTracker()
                column.repeat_type = "DUPLICATE_UNIQUE_PROPERTY_VALUE"
            if column.checker is not None or column.required or column.repeats is not None:
                columns.append(column)
        return columns

    def _long_cells(self, by_position: list[tuple[str, ...]], line: int) -> None:
        names = {self.positions.get(column.index): column.name for column in self.plan.columns}
        limit = self.limits.value_chars
        for position, cells in enumerate(by_position):
            if len("".join(cells)) <= limit or max(map(len, cells)) <= limit:
                continue
            for offset, value in enumerate(cells):
                if len(value) > limit:
                    self._error(
                        "COLUMN_TOO_LARGE",
                        f"the value has {len(value):,} characters; HubSpot stores at most {limit:,}.",
                        line + offset,
                        names.get(position),
                    )

    def _error(
        self,
        kind: str,
        message: str,
        line: int | None = None,
        column: str | None = None,
        value: str | None = None,
    ) -> None:
        self.report.error(
            Problem(
                kind,
                message,
                file=self.plan.file_name,
                line=line,
                column=column,
                value=value if self.include_values else None,
                hubspot_type=kind in HUBSPOT_ERROR_TYPES,
            )
        )


def _describe(kind: str, date_format: str) -> str:
    return {
        "COULD_NOT_PARSE_DATE": f"HubSpot cannot read the value as a date in dateFormat {date_format}.",
        "COULD_NOT_PARSE_NUMBER": "HubSpot cannot read the value as a number.",
        "INVALID_EMAIL": "the value is not an email address.",
        "INVALID_DOMAIN": "the value is not a domain name.",
        "FAILED_VALIDATION": "the value is not a boolean (true, false, yes, no, 1, 0).",
        "INVALID_ENUMERATION_OPTION": "the value is neither an option's value nor its label.",
        "AMBIGUOUS_ENUMERATION_OPTION": "the value matches more than one option (ignoring case).",
    }.get(kind, kind)
