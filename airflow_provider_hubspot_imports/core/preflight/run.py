"""One dry run of an import: the plan from the request, the schema's rules, each file's rows.

The caller does the I/O in between: it fetches the schema for `object_types()` (or says why it
could not) and feeds each file's rows to `check_file`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from airflow_provider_hubspot_imports.core.preflight.report import FileTotals, PreflightReport, Problem
from airflow_provider_hubspot_imports.core.preflight.request import FilePlan, plan_files
from airflow_provider_hubspot_imports.core.preflight.rows import HUBSPOT_LIMITS, Limits, RowChecker
from airflow_provider_hubspot_imports.core.preflight.schema import (
    PropertyDef,
    Schema,
    check_columns,
    object_types,
    required_columns,
)
from airflow_provider_hubspot_imports.core.start import parse_import_request
from airflow_provider_hubspot_imports.errors import HubSpotInputError

SCHEMA_CHECKS = "schema checks"


def rows_to_check(rows: Any) -> int | None:
    """`rows` as given to validate_import: "all" (None) or a whole number > 0."""
    if rows == "all" or rows is None:
        return None
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise HubSpotInputError(f'rows is {rows!r}; pass "all" or a whole number of rows > 0 to check.')
    return rows


class Preflight:
    """The dry run of one import request over files given as (name, size in bytes)."""

    def __init__(
        self,
        import_request: Mapping[str, Any] | str,
        files: Sequence[tuple[str, int]],
        *,
        rows: Any = "all",
        include_values: bool = False,
        limits: Limits = HUBSPOT_LIMITS,
    ) -> None:
        self.max_rows = rows_to_check(rows)
        self.include_values = include_values
        self.limits = limits
        self.report = PreflightReport()
        self.body = parse_import_request(import_request)
        self.plans = plan_files(self.body, self.report)
        self.sizes = dict(files)
        self.schema: Schema | None = None
        self._properties: dict[str, dict[int, PropertyDef]] = {}
        self._match_files([name for name, _ in files])

    def _match_files(self, uploaded: list[str]) -> None:
        described = [plan.file_name for plan in self.plans]
        for name in uploaded:
            if name not in described:
                self.report.error(
                    Problem(
                        "FILE_NAME_MISMATCH",
                        f"the uploaded file {name!r} is not described in import_request files[].fileName "
                        f"({', '.join(described) or 'none'}); fileName must equal the file's name, extension "
                        f"included.",
                        file=name,
                        hubspot_type=False,
                    )
                )
        for plan in self.plans:
            if plan.file_name not in self.sizes:
                self.report.error(
                    Problem(
                        "FILE_NAME_MISMATCH",
                        f"files[].fileName {plan.file_name!r} names no uploaded file "
                        f"({', '.join(uploaded) or 'none'}).",
                        file=plan.file_name,
                        hubspot_type=False,
                    )
                )

    def files_to_read(self) -> list[FilePlan]:
        """The plans that describe an uploaded file, in request order."""
        return [plan for plan in self.plans if plan.file_name in self.sizes]

    def object_types(self) -> list[str]:
        """The object types whose properties the schema checks need."""
        return object_types(self.plans)

    def use_schema(
        self, answers: Mapping[str, Iterable[Mapping[str, Any]]], skipped: Mapping[str, str]
    ) -> None:
        """The properties of each object type as HubSpot listed them, and why any could not be read."""
        for object_type, reason in skipped.items():
            self.report.skip(f"{SCHEMA_CHECKS} of {object_type}", reason)
        self.schema = Schema.from_answers(answers)
        for plan in self.files_to_read():
            self._properties[plan.file_name] = check_columns(plan, self.schema, self.report)

    def check_file(self, plan: FilePlan, rows: Iterable[Sequence[str]]) -> FileTotals:
        """Check one file's rows (the header first, when it has one)."""
        size = self.sizes[plan.file_name]
        totals = FileTotals(file=plan.file_name, bytes=size, columns=len(plan.columns))
        self.report.files.append(totals)
        if size > self.limits.bytes:
            self.report.error(
                Problem(
                    "FILE_SIZE_LIMIT",
                    f"the file is {size / 2**20:,.0f} MiB; HubSpot takes at most "
                    f"{self.limits.bytes / 2**20:,.0f} MiB per file (the start is answered 429). "
                    "Split it into several files.",
                    file=plan.file_name,
                    hubspot_type=False,
                )
            )
        checker = RowChecker(
            plan,
            self.report,
            totals,
            properties=self._properties.get(plan.file_name),
            required=required_columns(plan),
            include_values=self.include_values,
            limits=self.limits,
        )
        if plan.unmapped:
            return totals
        iterator = iter(rows)
        if plan.has_header:
            header = next(iterator, None)
            if header is None:
                self.report.error(
                    Problem(
                        "EMPTY_FILE",
                        "the file is empty; hasHeader is true.",
                        file=plan.file_name,
                        hubspot_type=False,
                    )
                )
                totals.read_to_end = True
                return totals
            checker.header([str(name) for name in header])
        checker.run(iterator, self.max_rows)
        if not totals.read_to_end and self.max_rows is not None and totals.rows_checked >= self.max_rows:
            self.report.skip(
                f"rows of {plan.file_name} after line {totals.rows_checked + (1 if plan.has_header else 0)}",
                f"rows={self.max_rows} checks the first rows only; the row limit was not checked either",
            )
        return totals

    def finish(self) -> PreflightReport:
        """The report, its problems in file and line order (the request's own first)."""
        if self.schema is None:
            self.report.skip(SCHEMA_CHECKS, "no schema was read (local checks only)")
        order = {plan.file_name: index for index, plan in enumerate(self.plans)}

        def position(problem: Problem) -> tuple[int, int]:
            return (order.get(problem.file or "", -1), problem.line or 0)

        self.report.errors.sort(key=position)
        self.report.warnings.sort(key=position)
        return self.report
