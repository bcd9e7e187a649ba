"""The start key: how a task instance recognises the HubSpot import it started, across its tries.

A start carries a short marker in the import's ``name`` (HubSpot keeps the request's name with the
import and lists it with the import's record): ``"<the user's name> [airflow:<16 hex digits>]"``.
The 16 hex digits are the first 64 bits of a SHA-256 of the task instance (dag id, run id, task
id, map index) or of a key the DAG author chose. Before uploading, a try looks for an import whose
name ends with its marker and adopts it instead of starting another.

Pure logic: no I/O here.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_hubspot_imports.errors import HubSpotInputError
from airflow_provider_hubspot_imports.models import FAILURE_STATES, ImportRecord

# HubSpot documents no limit on an import's name; the import list in HubSpot's UI shows short
# names, so a marked name is kept within this many characters (the user's part is shortened).
MAX_NAME_CHARS = 100
DEFAULT_NAME = "Airflow import"
# How many active imports the lookup reads at most before it gives up looking (about 10 pages of 100).
LOOKUP_LIMIT = 1000
# The `task_state_store` key (Airflow 3.3+) holding the started import's id and the marker.
STATE_STORE_KEY = "hubspot_start_import"

_MARKER = re.compile(r"\[airflow:([0-9a-f]{16})\]\s*$")


@dataclass(frozen=True)
class StartKey:
    """One task instance's key: `digest` (16 hex digits) and where it came from (for log lines)."""

    digest: str
    source: str

    @property
    def marker(self) -> str:
        return f"[airflow:{self.digest}]"

    def mark(self, import_request: Mapping[str, Any]) -> dict[str, Any]:
        """The import request with the marker appended to its name (shortened to fit)."""
        name = str(import_request.get("name") or DEFAULT_NAME)
        existing = _MARKER.search(name)
        if existing:  # a name marked by an earlier call (or by hand) keeps only this key's marker
            name = name[: existing.start()].rstrip() or DEFAULT_NAME
        room = MAX_NAME_CHARS - len(self.marker) - 1
        if len(name) > room:
            name = name[: room - 1].rstrip() + "…"
        return {**import_request, "name": f"{name} {self.marker}"}

    def for_request(self, import_request: Mapping[str, Any]) -> StartKey:
        """This key narrowed to one request: its file names, object types and operations (not its
        name, which carries the marker). An import started for another request, or for this task
        before its request was edited, never carries it, so it is never adopted."""
        material = "\x1f".join(("request", self.digest, request_fingerprint(import_request)))
        return StartKey(_digest(material), self.source)

    def carried_by(self, raw_record: Mapping[str, Any]) -> bool:
        """Whether an import record (as HubSpot lists it) was started with this key."""
        return self.digest in markers_of(raw_record)


@dataclass(frozen=True)
class KeyLookup:
    """What a scan of the active imports found: the imports carrying the key, and how far it read."""

    found: list[ImportRecord]
    scanned: int
    complete: bool  # False: it stopped at LOOKUP_LIMIT with more imports left unread


def task_instance_key(dag_id: str, run_id: str, task_id: str, map_index: int | None) -> StartKey:
    """The key of one task instance: the same in every try, different for every other instance."""
    index = -1 if map_index is None else int(map_index)
    material = "\x1f".join(("task-instance", dag_id, run_id, task_id, str(index)))
    where = f"{dag_id}/{run_id}/{task_id}" + (f"[{index}]" if index >= 0 else "")
    return StartKey(_digest(material), f"task instance {where}")


def own_key(value: str, map_index: int | None = None) -> StartKey:
    """A key chosen by the DAG author: any non-empty text; only its hash travels to HubSpot. The
    map index of a mapped task instance is always part of it: mapped instances never share a key."""
    if not isinstance(value, str) or not value.strip():
        raise HubSpotInputError(
            f"idempotency_key is {value!r}. Pass a non-empty string of your own, None (the default: "
            f"a key derived from the task instance), or False to start without a key."
        )
    if "{{" in value or "{%" in value:
        raise HubSpotInputError(
            f"idempotency_key {value[:60]!r} is a Jinja template that was never rendered: pass it to "
            f"the operator, whose idempotency_key field is templated."
        )
    index = -1 if map_index is None else int(map_index)
    if index < 0:
        return StartKey(_digest("\x1f".join(("own", value))), f"idempotency_key {value!r}")
    return StartKey(_digest("\x1f".join(("own", value, str(index)))), f"idempotency_key {value!r}[{index}]")


def request_fingerprint(import_request: Mapping[str, Any]) -> str:
    """What makes two import requests the same import: the file names, the object types their
    columns map to, and the operations per object type (canonical JSON)."""
    files = [entry for entry in import_request.get("files") or [] if isinstance(entry, Mapping)]
    names = sorted(str(entry.get("fileName")) for entry in files)
    types: set[str] = set()
    for entry in files:
        page = entry.get("fileImportPage")
        mappings = page.get("columnMappings") if isinstance(page, Mapping) else None
        for mapping in mappings if isinstance(mappings, list) else []:
            if isinstance(mapping, Mapping) and mapping.get("columnObjectTypeId") is not None:
                types.add(str(mapping["columnObjectTypeId"]))
    operations = import_request.get("importOperations")
    ops = sorted((str(k), str(v)) for k, v in operations.items()) if isinstance(operations, Mapping) else []
    return json.dumps([names, sorted(types), ops], separators=(",", ":"))


def markers_of(raw_record: Mapping[str, Any]) -> set[str]:
    """The key digests an import record carries: in `importName` or in its request's `name`."""
    names = [raw_record.get("importName")]
    request = raw_record.get("importRequestJson")
    if isinstance(request, Mapping):
        names.append(request.get("name"))
    found = set()
    for name in names:
        match = _MARKER.search(name) if isinstance(name, str) else None
        if match:
            found.add(match.group(1))
    return found


def pick_adoptable(key: StartKey, records: Iterable[ImportRecord]) -> tuple[ImportRecord | None, list[str]]:
    """The import to adopt among those listed, and the ids of other imports carrying the key.

    An import that ended FAILED, CANCELED or REVERTED is never adopted (a clear or a retry means
    "do it again": a new import is started); an active or DONE one is. Of several, the one created
    first is adopted: two starts that looked at the same moment and both uploaded settle on it
    (the later start sees the earlier import, created before its own, while the earlier start may
    not yet see the later one). The caller names the others.
    """
    carrying = [
        record for record in records if key.carried_by(record.raw) and record.state not in FAILURE_STATES
    ]
    if not carrying:
        return None, []
    carrying.sort(key=lambda record: (str(record.raw.get("createdAt") or ""), _numeric(record.id)))
    return carrying[0], [record.id for record in carrying[1:]]


def stored_import_id(key: StartKey, stored: Any) -> str | None:
    """The import id an earlier try saved in the task state store, if it was saved under this key."""
    if not isinstance(stored, Mapping) or stored.get("start_key") != key.digest:
        return None
    import_id = stored.get("import_id")
    return str(import_id) if import_id not in (None, "") else None


def state_store_value(key: StartKey, import_id: str) -> dict[str, Any]:
    return {"import_id": str(import_id), "start_key": key.digest}


def _digest(material: str) -> str:
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def _numeric(import_id: str) -> int:
    return int(import_id) if import_id.isdigit() else -1
