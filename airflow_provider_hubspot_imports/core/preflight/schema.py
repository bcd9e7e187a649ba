"""The account's schema (HubSpot's properties answer) and the rules it sets on a file's columns."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_hubspot_imports.core.preflight.report import PreflightReport, Problem
from airflow_provider_hubspot_imports.core.preflight.request import ID_PROPERTIES, ColumnPlan, FilePlan
from airflow_provider_hubspot_imports.core.preflight.values import Enumeration

# Properties a CREATE of these standard objects cannot do without (HubSpot refuses the import
# whole when a column is missing, and fails a row whose value is blank).
REQUIRED_FOR_CREATE: dict[str, tuple[str, ...]] = {
    "0-3": ("dealname", "dealstage", "pipeline"),
    "0-5": ("subject", "hs_pipeline", "hs_pipeline_stage"),
}


@dataclass(frozen=True)
class PropertyDef:
    """One property as the properties endpoint lists it (the fields pre-flight reads)."""

    name: str
    type: str
    field_type: str
    options: tuple[Mapping[str, Any], ...] = ()
    has_unique_value: bool = False
    calculated: bool = False
    read_only: bool = False
    archived: bool = False

    @classmethod
    def from_json(cls, item: Mapping[str, Any]) -> PropertyDef:
        metadata = item.get("modificationMetadata")
        read_only = bool(metadata.get("readOnlyValue")) if isinstance(metadata, Mapping) else False
        options = item.get("options")
        return cls(
            name=str(item.get("name")),
            type=str(item.get("type") or "string"),
            field_type=str(item.get("fieldType") or "text"),
            options=tuple(option for option in options or () if isinstance(option, Mapping)),
            has_unique_value=bool(item.get("hasUniqueValue")),
            calculated=bool(item.get("calculated")),
            read_only=read_only,
            archived=bool(item.get("archived")),
        )

    def enumeration(self) -> Enumeration:
        return Enumeration(self.options, multiple=self.field_type == "checkbox")


class Schema:
    """The properties of the object types an import writes, by object type id."""

    def __init__(self, properties: Mapping[str, Iterable[PropertyDef]]) -> None:
        self.by_type = {object_type: {p.name: p for p in props} for object_type, props in properties.items()}

    @classmethod
    def from_answers(cls, answers: Mapping[str, Iterable[Mapping[str, Any]]]) -> Schema:
        """From each object type's ``results`` list, as HubSpot sent it."""
        return cls({kind: [PropertyDef.from_json(item) for item in items] for kind, items in answers.items()})

    def knows(self, object_type: str) -> bool:
        return object_type in self.by_type

    def property(self, object_type: str, name: str) -> PropertyDef | None:
        return self.by_type.get(object_type, {}).get(name)


def object_types(plans: Iterable[FilePlan]) -> list[str]:
    """The object types whose schema the plans need, in first-seen order."""
    seen: dict[str, None] = {}
    for plan in plans:
        for column in plan.columns:
            if column.object_type_id and column.property_name:
                seen.setdefault(column.object_type_id, None)
    return list(seen)


def check_columns(plan: FilePlan, schema: Schema, report: PreflightReport) -> dict[int, PropertyDef]:
    """Column-level schema rules; returns the property of each column whose values can be checked."""
    checked: dict[int, PropertyDef] = {}
    for column in plan.columns:
        if column.object_type_id is None or column.property_name is None:
            continue
        if not schema.knows(column.object_type_id):
            continue  # skipped for that object type: the report already says why
        prop = schema.property(column.object_type_id, column.property_name)
        problem = _column_problem(column, prop)
        if problem is not None:
            kind, message, hubspot_type = problem
            report.error(
                Problem(
                    kind, message, file=plan.file_name, line=1, column=column.name, hubspot_type=hubspot_type
                )
            )
            continue
        assert prop is not None
        if column.is_association:
            if column.property_name not in ID_PROPERTIES and not prop.has_unique_value:
                report.error(
                    Problem(
                        "INVALID_ASSOCIATION_MAPPING",
                        f"{column.property_name} cannot be an association's common column: use "
                        f"hs_object_id, email (contacts), domain (companies) or a property with "
                        f"hasUniqueValue.",
                        file=plan.file_name,
                        line=1,
                        column=column.name,
                        hubspot_type=False,
                    )
                )
            continue
        checked[column.index] = prop
    _required_columns(plan, schema, report)
    return checked


def _column_problem(column: ColumnPlan, prop: PropertyDef | None) -> tuple[str, str, bool] | None:
    name, kind = column.property_name, column.object_type_id
    if prop is None:
        return "PROPERTY_DEFINITION_NOT_FOUND", f"object type {kind} has no property {name!r}.", True
    if prop.archived:
        return (
            "PROPERTY_ARCHIVED",
            f"property {name!r} of {kind} is archived; restore it or drop the column.",
            False,
        )
    if prop.calculated:
        return (
            "PROPERTY_CALCULATED",
            f"property {name!r} of {kind} is calculated: HubSpot ignores imported values.",
            False,
        )
    if prop.read_only and not column.is_id and name != "hs_object_id":
        return (
            "PROPERTY_READ_ONLY",
            f"property {name!r} of {kind} is read-only: its values cannot be imported.",
            False,
        )
    return None


def _required_columns(plan: FilePlan, schema: Schema, report: PreflightReport) -> None:
    """A CREATE import that lacks a required property's column is refused whole."""
    for object_type, operation in plan.operations.items():
        if operation != "CREATE" or not schema.knows(object_type):
            continue
        present = {
            c.property_name for c in plan.columns if c.object_type_id == object_type and not c.is_association
        }
        for name in REQUIRED_FOR_CREATE.get(object_type, ()):
            if name not in present:
                report.error(
                    Problem(
                        "MISSING_REQUIRED_PROPERTY",
                        f"a CREATE import of {object_type} needs a column for {name!r}; HubSpot refuses the "
                        f"import without it.",
                        file=plan.file_name,
                        line=1,
                    )
                )


def required_columns(plan: FilePlan) -> set[int]:
    """Columns whose blank cells fail the row (required properties of a CREATE)."""
    return {
        column.index
        for column in plan.columns
        if column.object_type_id is not None
        and plan.operations.get(column.object_type_id) == "CREATE"
        and column.property_name in REQUIRED_FOR_CREATE.get(column.object_type_id, ())
    }
