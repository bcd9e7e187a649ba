"""Drive a pre-flight dry run: size and read the files, fetch the schema once per object type.

The checks themselves are in `core.preflight`; this module only moves bytes. Operators import it
when a DAG is parsed (to check `preflight=`), so everything else is imported where it is used.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_hubspot_imports.core.preflight import PreflightReport
    from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook

# The scope HubSpot asks for to read an object type's properties.
SCHEMA_SCOPES = {"0-1": "crm.schemas.contacts.read", "0-2": "crm.schemas.companies.read"}


def validate_import(
    hook: HubSpotHook,
    import_request: Mapping[str, Any] | str,
    files: Iterable[Any],
    *,
    rows: Any = "all",
    include_values: bool = False,
) -> PreflightReport:
    """See `HubSpotHook.validate_import`."""
    from airflow_provider_hubspot_imports.core.preflight import Preflight, Problem
    from airflow_provider_hubspot_imports.hooks.upload import file_list, file_part
    from airflow_provider_hubspot_imports.rowfiles import csv_rows, sheet_count, sheet_rows

    sources = file_list(files)
    parts = [file_part(source) for source in sources]
    run = Preflight(
        import_request,
        [(part.filename, part.size) for part in parts],
        rows=rows,
        include_values=include_values,
    )
    answers, skipped = schema_answers(hook, run.object_types())
    run.use_schema(answers, skipped)
    by_name = {part.filename: source for part, source in zip(parts, sources, strict=True)}
    for plan in run.files_to_read():
        source = by_name[plan.file_name]
        if plan.is_spreadsheet:
            sheets = sheet_count(source)
            if sheets > 1:
                run.report.warning(
                    Problem(
                        "MORE_THAN_ONE_SHEET",
                        f"the workbook has {sheets} sheets; HubSpot imports one (the first is checked).",
                        file=plan.file_name,
                        hubspot_type=False,
                    )
                )
            with sheet_rows(source, plan.date_format) as sheet:
                run.check_file(plan, sheet)
        else:
            with csv_rows(source) as reader:
                run.check_file(plan, reader)
    return run.finish()


def schema_answers(
    hook: HubSpotHook, object_types: Iterable[str]
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, str]]:
    """Each object type's properties (one request per type per hook), and why any could not be read."""
    from airflow_provider_hubspot_imports.errors import HubSpotNotFoundError, HubSpotPermissionError

    answers: dict[str, list[dict[str, Any]]] = {}
    skipped: dict[str, str] = {}
    for object_type in object_types:
        try:
            answers[object_type] = hook.get_properties(object_type)
        except HubSpotPermissionError:
            scope = SCHEMA_SCOPES.get(object_type, f"the schema read scope of {object_type}")
            skipped[object_type] = (
                f"the token may not read the schema of {object_type}: grant {scope} to run these checks"
            )
        except HubSpotNotFoundError:
            skipped[object_type] = f"HubSpot knows no object type {object_type} in this account"
    return answers, skipped


PREFLIGHT_MODES = ("error", "warn", "off")
REPORT_XCOM_KEY = "preflight_report"


def preflight_mode(value: Any) -> str:
    """`preflight` as the start operator takes it, checked when the DAG is parsed."""
    if value not in PREFLIGHT_MODES:
        raise ValueError(
            f"preflight is {value!r}; pass 'error' (refuse to upload a file with problems), 'warn' "
            f"(log them and upload) or 'off' (no dry run)."
        )
    return str(value)


def push_report(context: Any, report: PreflightReport) -> None:
    """The full report as XCom ``preflight_report`` of the task (when run by Airflow)."""
    ti = context.get("ti") if isinstance(context, Mapping) else None
    if ti is not None:
        ti.xcom_push(key=REPORT_XCOM_KEY, value=report.to_dict())


def gate_upload(
    hook: HubSpotHook, import_request: Any, files: Any, mode: str, context: Any, log: Any
) -> PreflightReport | None:
    """Run pre-flight before an upload: its summary in the log, the report in XCom; with mode
    "error" a report with errors stops the upload (`HubSpotPreflightError`, no task retries)."""
    from airflow_provider_hubspot_imports.errors import HubSpotPreflightError

    if mode == "off":
        return None
    report = hook.validate_import(import_request, files)
    push_report(context, report)
    if not report.has_errors:
        log.info("%s", report.summary())
        return report
    if mode == "warn":
        log.warning("%s Uploading anyway (preflight='warn').", report.summary())
        return report
    raise HubSpotPreflightError(
        f"{report.summary()} Nothing was uploaded: fix the file or the import request, or pass "
        f"preflight='warn' to upload anyway. The full report is XCom '{REPORT_XCOM_KEY}'.",
        report=report,
    )
