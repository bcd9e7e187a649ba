"""What the staged files say to HubSpot: the header (property names) and each part's import request."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_hubspot_imports.errors import HubSpotInputError
from airflow_provider_hubspot_imports.lineage.naming import OBJECT_TYPE_IDS, OBJECT_TYPE_NAMES

OPERATIONS = ("UPSERT", "CREATE", "UPDATE")
OBJECT_ID_PROPERTY = "hs_object_id"


def object_type_id(object_type: str) -> str:
    """``contacts`` -> ``0-1``; an id (``0-1``, ``2-3508482``) is kept."""
    text = str(object_type).strip()
    if text.lower() in OBJECT_TYPE_IDS:
        return OBJECT_TYPE_IDS[text.lower()]
    if text in OBJECT_TYPE_NAMES or (text[:2] in ("0-", "2-") and text[2:].isdigit()):
        return text
    raise HubSpotInputError(
        f"object_type is {object_type!r}; pass a standard object's name "
        f"({', '.join(sorted(OBJECT_TYPE_IDS))}) or an objectTypeId: '0-1', or '2-12345' for a custom object."
    )


@dataclass(frozen=True)
class ImportMapping:
    """The checked mapping of a transfer: object type id, operation, id property, column -> property."""

    type_id: str
    operation: str
    id_property: str | None
    properties: Mapping[str, str]
    date_format: str

    def header(self, columns: Sequence[str]) -> list[str]:
        """The file's header: the property of each column, in the query's order."""
        missing = sorted(set(self.properties) - set(columns))
        if missing:
            raise HubSpotInputError(
                f"properties maps column(s) {', '.join(missing)} that the query does not return "
                f"(it returns {', '.join(columns)}). Fix the mapping's keys or the query's column names."
            )
        header = [self.properties.get(column, column) for column in columns]
        doubled = sorted({name for name in header if header.count(name) > 1})
        if doubled:
            raise HubSpotInputError(
                f"Property {', '.join(doubled)} would get two columns; map each property from one column."
            )
        if self.id_property is not None and self.id_property not in header:
            raise HubSpotInputError(
                f"id_property {self.id_property!r} is not among the file's properties ({', '.join(header)}). "
                f"Select a column for it, or map one to it in properties."
            )
        return header

    def import_request(self, name: str, file_name: str, header: Sequence[str]) -> dict[str, Any]:
        mappings: list[dict[str, Any]] = []
        for prop in header:
            entry: dict[str, Any] = {
                "columnName": prop,
                "propertyName": prop,
                "columnObjectTypeId": self.type_id,
            }
            if prop == self.id_property:
                entry["idColumnType"] = (
                    "HUBSPOT_OBJECT_ID" if prop == OBJECT_ID_PROPERTY else "HUBSPOT_ALTERNATE_ID"
                )
            mappings.append(entry)
        return {
            "name": name,
            "importOperations": {self.type_id: self.operation},
            "dateFormat": self.date_format,
            "files": [
                {
                    "fileName": file_name,
                    "fileFormat": "CSV",
                    "fileImportPage": {"hasHeader": True, "columnMappings": mappings},
                }
            ],
        }


def checked_mapping(
    object_type: str,
    operation: str,
    id_property: str | None,
    properties: Mapping[str, str] | None,
    date_format: str,
) -> ImportMapping:
    from airflow_provider_hubspot_imports.transfers.formatting import check_date_format

    op = str(operation).upper()
    if op not in OPERATIONS:
        raise HubSpotInputError(f"operation is {operation!r}; pass one of {', '.join(OPERATIONS)}.")
    if op in ("UPSERT", "UPDATE") and not id_property:
        raise HubSpotInputError(
            f"operation={op} needs id_property, the property HubSpot matches records by: e.g. 'email' "
            f"for contacts, 'domain' for companies, 'hs_object_id' for record ids, or a unique property."
        )
    if properties is not None and not isinstance(properties, Mapping):
        raise HubSpotInputError(
            f"properties is a {type(properties).__name__}; pass a dict of SQL column -> HubSpot property."
        )
    return ImportMapping(
        object_type_id(object_type), op, id_property, dict(properties or {}), check_date_format(date_format)
    )
