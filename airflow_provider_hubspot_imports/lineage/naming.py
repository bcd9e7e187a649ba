"""Names of what an import reads and writes, as OpenLineage datasets and Airflow assets.

Pure: no OpenLineage import. The namespace of HubSpot data is ``hubspot://<account>``, where the
account is the connection's portal id when it has one, else the API host (``api.hubapi.com``);
each object type is one dataset named as people say it (``contacts``, ``companies``, ...).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

SCHEME = "hubspot"

# HubSpot's ids of its standard CRM objects (objectTypeId) and the names its APIs use for them.
OBJECT_TYPE_NAMES: dict[str, str] = {
    "0-1": "contacts",
    "0-2": "companies",
    "0-3": "deals",
    "0-5": "tickets",
    "0-7": "products",
    "0-8": "line_items",
    "0-14": "quotes",
    "0-27": "tasks",
    "0-46": "notes",
    "0-47": "meetings",
    "0-48": "calls",
    "0-49": "emails",
    "0-136": "leads",
}
OBJECT_TYPE_IDS: dict[str, str] = {name: type_id for type_id, name in OBJECT_TYPE_NAMES.items()}


@dataclass(frozen=True)
class DatasetName:
    """An OpenLineage dataset's identity: the namespace and the name within it."""

    namespace: str
    name: str

    @property
    def uri(self) -> str:
        """The same dataset as an Airflow asset URI (``hubspot://123/contacts``)."""
        return f"{self.namespace}/{self.name}"


def account_of(base_url: str, portal_id: str | None) -> str:
    """What identifies the account: its portal id when known, else the API host (with any port)."""
    if portal_id:
        return str(portal_id).strip()
    return (urlsplit(base_url).netloc or base_url).lower()


def object_type_name(type_id: str, custom_names: Mapping[str, str] | None = None) -> str:
    """``0-1`` -> ``contacts``; a custom object's id -> its name from `custom_names`, else the id."""
    text = str(type_id).strip()
    if custom_names and text in custom_names:
        return str(custom_names[text])
    return OBJECT_TYPE_NAMES.get(text, text)


def object_dataset(account: str, type_id: str, custom_names: Mapping[str, str] | None = None) -> DatasetName:
    return DatasetName(f"{SCHEME}://{account}", object_type_name(type_id, custom_names))


def file_dataset(file: Any) -> DatasetName:
    """An uploaded file as OpenLineage names it: a local path is ``file://<host>`` + absolute path;
    an ObjectStoragePath ``scheme://bucket/key`` is namespace ``scheme://bucket``, name ``key``."""
    if isinstance(file, (str, os.PathLike)) and "://" not in str(file):
        return DatasetName(f"file://{socket.gethostname()}", os.path.abspath(os.fspath(file)))
    parts = urlsplit(str(file))
    if parts.scheme in ("", "file", "local"):
        return DatasetName(f"file://{parts.netloc or socket.gethostname()}", parts.path)
    return DatasetName(f"{parts.scheme}://{parts.netloc}", parts.path.lstrip("/") or "/")


@dataclass(frozen=True)
class ColumnMapping:
    """One ``columnMappings`` entry: a file column feeding a HubSpot property of an object type."""

    file_name: str
    column: str
    object_type_id: str
    property_name: str


def request_files(import_request: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    files = import_request.get("files")
    return [entry for entry in files if isinstance(entry, Mapping)] if isinstance(files, list) else []


def column_mappings(
    import_request: Mapping[str, Any], default_type_ids: Iterable[str] = ()
) -> list[ColumnMapping]:
    """The request's column -> property mappings. A mapping without ``columnObjectTypeId`` belongs to
    the import's only object type when there is exactly one; otherwise it is left out."""
    defaults = sorted(set(default_type_ids) | set(_operation_types(import_request)))
    fallback = defaults[0] if len(defaults) == 1 else None
    found: list[ColumnMapping] = []
    for entry in request_files(import_request):
        page = entry.get("fileImportPage")
        mappings = page.get("columnMappings") if isinstance(page, Mapping) else None
        for mapping in mappings if isinstance(mappings, list) else []:
            if not isinstance(mapping, Mapping):
                continue
            column, prop = mapping.get("columnName"), mapping.get("propertyName")
            type_id = mapping.get("columnObjectTypeId") or fallback
            if column and prop and type_id:
                found.append(ColumnMapping(str(entry.get("fileName")), str(column), str(type_id), str(prop)))
    return found


def _operation_types(import_request: Mapping[str, Any]) -> list[str]:
    operations = import_request.get("importOperations")
    return [str(key) for key in operations] if isinstance(operations, Mapping) else []


def object_type_ids(
    import_request: Mapping[str, Any] | None, record: Mapping[str, Any] | None = None
) -> list[str]:
    """The object types an import writes: the record's ``mappedObjectTypeIds`` when there is a
    record, else what the request names (``importOperations`` keys and mapped columns' types)."""
    if record is not None and isinstance(record.get("mappedObjectTypeIds"), list):
        ids = [str(type_id) for type_id in record["mappedObjectTypeIds"]]
        if ids:
            return sorted(set(ids))
    if not import_request:
        return []
    found = set(_operation_types(import_request))
    found |= {mapping.object_type_id for mapping in column_mappings(import_request)}
    return sorted(found)
