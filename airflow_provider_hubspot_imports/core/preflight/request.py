"""The import request's shape, read into one plan per file: what each column is, checked as HubSpot
checks it before reading a row (operations, dateFormat, column mappings, association columns)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_hubspot_imports.core.preflight.report import PreflightReport, Problem
from airflow_provider_hubspot_imports.core.preflight.values import DATE_FORMATS, DEFAULT_DATE_FORMAT

OPERATIONS = ("CREATE", "UPDATE", "UPSERT")
ID_COLUMN_TYPES = (
    "HUBSPOT_OBJECT_ID",
    "HUBSPOT_ALTERNATE_ID",
    "FLEXIBLE_ASSOCIATION_LABEL",
    "ASSOCIATION_KEYS",
)
ASSOCIATION_CATEGORIES = ("HUBSPOT_DEFINED", "USER_DEFINED", "INTEGRATOR_DEFINED")
# The older `columnObjectType` names, for requests that still use them.
LEGACY_OBJECT_TYPES = {"CONTACT": "0-1", "COMPANY": "0-2", "DEAL": "0-3", "TICKET": "0-5"}
# Properties HubSpot accepts as the common column of an association without a schema lookup.
ID_PROPERTIES = {"hs_object_id": None, "email": "0-1", "domain": "0-2"}
BAD_REQUEST = "INVALID_IMPORT_REQUEST"


@dataclass(frozen=True)
class ColumnPlan:
    """One column mapping, in file order."""

    index: int
    name: str
    object_type_id: str | None
    property_name: str | None
    id_column_type: str | None = None
    to_object_type_id: str | None = None

    @property
    def is_association(self) -> bool:
        return self.to_object_type_id is not None

    @property
    def is_id(self) -> bool:
        """A column that identifies a record (its values must be unique within the file)."""
        return (
            self.id_column_type in ("HUBSPOT_OBJECT_ID", "HUBSPOT_ALTERNATE_ID") and not self.is_association
        )


@dataclass
class FilePlan:
    file_name: str
    file_format: str
    date_format: str
    has_header: bool
    columns: list[ColumnPlan] = field(default_factory=list)
    operations: dict[str, str] = field(default_factory=dict)
    unmapped: bool = False  # no columnMappings: nothing to check the header and values against

    @property
    def is_spreadsheet(self) -> bool:
        return self.file_format.upper() == "SPREADSHEET" or self.file_name.lower().endswith(
            (".xlsx", ".xlsm")
        )


def plan_files(body: Mapping[str, Any], report: PreflightReport) -> list[FilePlan]:
    """One plan per entry of ``files``; shape problems go into `report` as INVALID_IMPORT_REQUEST."""
    operations = _operations(body.get("importOperations"), report)
    entries = body.get("files")
    if not isinstance(entries, list) or not entries:
        report.error(_bad("import_request has no 'files' list; describe each uploaded file in it."))
        return []
    plans = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or not entry.get("fileName"):
            report.error(_bad(f"files[{index}] has no fileName; name the uploaded file it describes."))
            continue
        plans.append(_plan_file(entry, body.get("dateFormat"), operations, report))
    return plans


def _operations(value: Any, report: PreflightReport) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        report.error(_bad(f'importOperations is {value!r}; give an object such as {{"0-1": "UPSERT"}}.'))
        return {}
    operations = {}
    for object_type, operation in value.items():
        if str(operation).upper() not in OPERATIONS:
            report.error(
                _bad(
                    f"importOperations[{object_type!r}] is {operation!r}; HubSpot accepts "
                    f"{', '.join(OPERATIONS)}."
                )
            )
            continue
        operations[str(object_type)] = str(operation).upper()
    return operations


def _plan_file(
    entry: Mapping[str, Any], request_date_format: Any, operations: dict[str, str], report: PreflightReport
) -> FilePlan:
    name = str(entry["fileName"])
    if "/" in name or "\\" in name:
        report.error(
            _bad(f"fileName {name!r} holds a directory; HubSpot wants the file's name only.", file=name)
        )
    # dateFormat is a field of the request; a file entry's own, if given, is read first.
    date_format = entry.get("dateFormat") or request_date_format or DEFAULT_DATE_FORMAT
    if date_format not in DATE_FORMATS:
        report.error(
            _bad(f"dateFormat is {date_format!r}; HubSpot accepts {', '.join(DATE_FORMATS)}.", file=name)
        )
        date_format = DEFAULT_DATE_FORMAT
    page = entry.get("fileImportPage")
    if page is not None and not isinstance(page, Mapping):
        report.error(
            _bad(f"fileImportPage is {page!r}; give an object with hasHeader and columnMappings.", file=name)
        )
    page = page if isinstance(page, Mapping) else {}
    plan = FilePlan(
        file_name=name,
        file_format=str(entry.get("fileFormat") or "CSV"),
        date_format=str(date_format),
        has_header=bool(page.get("hasHeader", True)),
        operations=operations,
    )
    mappings = page.get("columnMappings")
    if mappings is not None and not isinstance(mappings, list):
        report.error(_bad(f"columnMappings is {mappings!r}; give a list, one mapping per column.", file=name))
        return plan
    if not mappings:
        plan.unmapped = True
        report.warning(
            Problem(
                "NO_COLUMN_MAPPINGS",
                "fileImportPage.columnMappings is missing or empty: HubSpot imports mapped columns only, "
                "so map every column, in order. The header and the values were not checked.",
                file=name,
                hubspot_type=False,
            )
        )
        return plan
    for index, mapping in enumerate(mappings):
        column = _column(index, mapping, name, report)
        if column is not None:
            plan.columns.append(column)
    return plan


def _column(index: int, mapping: Any, file: str, report: PreflightReport) -> ColumnPlan | None:
    if not isinstance(mapping, Mapping) or not isinstance(mapping.get("columnName"), str):
        report.error(_bad(f"columnMappings[{index}] has no columnName.", file=file))
        return None
    name = mapping["columnName"]
    object_type = mapping.get("columnObjectTypeId")
    if object_type is None and mapping.get("columnObjectType") is not None:
        object_type = LEGACY_OBJECT_TYPES.get(str(mapping["columnObjectType"]).upper())
    id_type = mapping.get("idColumnType")
    if id_type is not None and id_type not in ID_COLUMN_TYPES:
        report.error(
            _bad(
                f"idColumnType is {id_type!r}; HubSpot accepts {', '.join(ID_COLUMN_TYPES)}.",
                file=file,
                column=name,
            )
        )
    column = ColumnPlan(
        index=index,
        name=name,
        object_type_id=None if object_type is None else str(object_type),
        property_name=None if mapping.get("propertyName") in (None, "") else str(mapping["propertyName"]),
        id_column_type=id_type,
        to_object_type_id=None
        if mapping.get("toColumnObjectTypeId") is None
        else str(mapping["toColumnObjectTypeId"]),
    )
    if column.object_type_id is None and column.property_name is not None:
        report.error(_bad('columnObjectTypeId is missing (e.g. "0-1" for contacts).', file=file, column=name))
    if column.is_association:
        _check_association(mapping, column, file, report)
    return column


def _check_association(
    mapping: Mapping[str, Any], column: ColumnPlan, file: str, report: PreflightReport
) -> None:
    """An association column needs foreignKeyType and a common column HubSpot can match on."""
    key = mapping.get("foreignKeyType")
    if (
        not isinstance(key, Mapping)
        or not isinstance(key.get("associationTypeId"), int)
        or key.get("associationCategory") not in ASSOCIATION_CATEGORIES
    ):
        report.error(
            Problem(
                "INVALID_ASSOCIATION_MAPPING",
                f"the association column to {column.to_object_type_id} needs foreignKeyType "
                f'{{"associationTypeId": <int>, "associationCategory": one of '
                f"{', '.join(ASSOCIATION_CATEGORIES)}}}.",
                file=file,
                line=1,
                column=column.name,
                hubspot_type=False,
            )
        )


def _bad(message: str, *, file: str | None = None, column: str | None = None) -> Problem:
    return Problem(BAD_REQUEST, message, file=file, column=column, hubspot_type=False)
