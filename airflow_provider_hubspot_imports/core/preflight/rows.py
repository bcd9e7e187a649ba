"""The rows of one file against its plan: header, limits, and each cell as HubSpot would read it.

Runs once over the rows, in bounded memory: accepted values are remembered per column (up to a
bound) so repeated values cost a set lookup, and only problems HubSpot would report are built.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from airflow_provider_hubspot_imports.core.preflight import values
from airflow_provider_hubspot_imports.core.preflight.duplicates import DuplicateFinder
from airflow_provider_hubspot_imports.core.preflight.report import FileTotals, PreflightReport, Problem
from airflow_provider_hubspot_imports.core.preflight.request import ColumnPlan, FilePlan
from airflow_provider_hubspot_imports.core.preflight.schema import PropertyDef

MAX_FILE_ROWS = 1_048_576  # rows of a file, its header included (an Excel sheet's size)
MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_COLUMNS = 999  # "fewer than 1,000 columns"
REMEMBERED_VALUES = 4096  # accepted values remembered per column
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

Check = Callable[[str], "str | None"]  # a non-blank cell -> HubSpot's error type, or None


@dataclass(frozen=True)
class Limits:
    """HubSpot's per-file limits (a test may lower them)."""

    rows: int = MAX_FILE_ROWS
    bytes: int = MAX_FILE_BYTES
    columns: int = MAX_COLUMNS
    value_chars: int = values.MAX_VALUE_CHARS


HUBSPOT_LIMITS = Limits()


def cell_check(column: ColumnPlan, prop: PropertyDef | None, date_format: str) -> Check | None:
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
        return _predicate(values.date_checker(date_format), "COULD_NOT_PARSE_DATE")
    if kind == "number":
        return _predicate(values.is_number, "COULD_NOT_PARSE_NUMBER")
    if kind == "email":
        return _predicate(values.is_email, "INVALID_EMAIL")
    if kind == "domain":
        return _predicate(values.is_domain, "INVALID_DOMAIN")
    if kind == "bool":
        return _predicate(values.is_bool, "FAILED_VALIDATION")
    if kind == "enumeration" and prop is not None:
        return prop.enumeration().verdict
    return None


def _predicate(parses: Callable[[str], bool], error_type: str) -> Check:
    def check(text: str) -> str | None:
        return None if parses(text) else error_type

    return check


@dataclass
class _Column:
    index: int  # position in the file's rows
    name: str
    check: Check | None
    accepted: set[str]
    required: bool = False
    duplicates: DuplicateFinder | None = None
    duplicate_type: str = "DUPLICATE_ALTERNATE_ID"


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
        width, limits = self.width, self.limits
        row_limit = limits.rows - (first_line - 1)  # data rows the file may hold
        checked = 0
        line = first_line - 1
        iterator = iter(rows)
        try:
            for row in iterator:
                if not row:
                    continue  # a blank line is no row
                line += 1
                checked += 1
                if checked > row_limit:
                    checked -= 1
                    self._over_row_limit(line, iterator)
                    break
                if len(row) != width:
                    self._error(
                        "INCORRECT_NUMBER_OF_COLUMNS",
                        f"the row has {len(row)} cells; the header has {width}.",
                        line=line,
                    )
                if sum(map(len, row)) > limits.value_chars:
                    self._long_cells(row, line)
                for column in columns:
                    if column.index >= len(row):
                        continue
                    value = row[column.index]
                    if not value or value in column.accepted or value.isspace():
                        if column.required and (not value or value.isspace()):
                            self._error("MISSING_REQUIRED_PROPERTY", "the value is blank.", line, column.name)
                        continue
                    if column.duplicates is not None and column.duplicates.seen(value):
                        self._error(
                            column.duplicate_type,
                            "the value repeats one on an earlier line of the file.",
                            line,
                            column.name,
                            value,
                        )
                    kind = column.check(value) if column.check is not None else None
                    if kind is None:
                        if column.duplicates is None and len(column.accepted) < REMEMBERED_VALUES:
                            column.accepted.add(value)
                        continue
                    self._error(kind, _describe(kind, self.plan.date_format), line, column.name, value)
                if max_rows is not None and checked >= max_rows:
                    break
            else:
                self.totals.read_to_end = True
        except UnicodeDecodeError as exc:
            self._error("FILE_NOT_UTF8", f"the file is not UTF-8 ({exc.reason}); save it as UTF-8.", line + 1)
        except csv.Error as exc:
            self._error("UNREADABLE_CSV", f"the CSV cannot be read past this line: {exc}.", line + 1)
        self.totals.rows_checked = checked
        if self.totals.rows < checked:
            self.totals.rows = checked

    def _columns(self) -> list[_Column]:
        columns = []
        for plan_column in self.plan.columns:
            if plan_column.index not in self.positions or plan_column.is_association:
                continue
            prop = self.properties.get(plan_column.index)
            column = _Column(
                index=self.positions[plan_column.index],
                name=plan_column.name,
                check=cell_check(plan_column, prop, self.plan.date_format),
                accepted=set(),
                required=plan_column.index in self.required,
            )
            if plan_column.is_id:
                column.duplicates = DuplicateFinder()
            elif prop is not None and prop.has_unique_value:
                column.duplicates = DuplicateFinder()
                column.duplicate_type = "DUPLICATE_UNIQUE_PROPERTY_VALUE"
            if column.check is not None or column.required or column.duplicates is not None:
                columns.append(column)
        return columns

    def _over_row_limit(self, line: int, rest: Iterable[Sequence[str]]) -> None:
        """Count the remaining rows without checking them, then report the limit."""
        over = 1 + sum(1 for row in rest if row)
        self.totals.rows = line - (2 if self.plan.has_header else 1) + over
        self.totals.read_to_end = True
        self._error(
            "FILE_ROW_LIMIT",
            f"the file holds {self.totals.rows + (1 if self.plan.has_header else 0)} rows; HubSpot takes at "
            f"most {self.limits.rows:,} per file (the start is answered 429). Split it into several files.",
            line=line,
        )

    def _long_cells(self, row: Sequence[str], line: int) -> None:
        names = {self.positions.get(column.index): column.name for column in self.plan.columns}
        for position, value in enumerate(row):
            if len(value) > self.limits.value_chars:
                self._error(
                    "COLUMN_TOO_LARGE",
                    f"the value has {len(value):,} characters; HubSpot stores at most "
                    f"{self.limits.value_chars:,}.",
                    line,
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
