"""Checks on a new import's request and files, made before a single byte is uploaded."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_hubspot_imports.core.multipart import FilePart
from airflow_provider_hubspot_imports.errors import HubSpotInputError

MAX_FILE_BYTES = 512 * 1024 * 1024  # HubSpot refuses larger import files
FILE_FORMATS = ("CSV", "SPREADSHEET")

_SHAPE = (
    'Pass a dict such as {"name": "Contacts", "files": [{"fileName": "contacts.csv", "fileFormat": "CSV", '
    '"fileImportPage": {"hasHeader": true, "columnMappings": [...]}}]}.'
)


def parse_import_request(value: Any) -> dict[str, Any]:
    """The import request as a dict; a JSON string (e.g. from a rendered template) is parsed."""
    if isinstance(value, str):
        if "{{" in value or "{%" in value:
            raise HubSpotInputError(
                f"import_request {value[:60]!r} is a Jinja template that was never rendered. Pass it to "
                f"the operator's templated import_request field, or render it before calling the hook."
            )
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise HubSpotInputError(
                f"import_request is a string but not valid JSON ({exc}). {_SHAPE}"
            ) from None
    if not isinstance(value, Mapping):
        raise HubSpotInputError(f"import_request is a {type(value).__name__}, not a JSON object. {_SHAPE}")
    return dict(value)


def check_start(import_request: Mapping[str, Any], files: Sequence[FilePart]) -> None:
    """Refuse a start HubSpot would refuse (or that would upload gigabytes first), naming the fix."""
    if not files:
        raise HubSpotInputError(
            "No files to import: pass at least one file path (or ObjectStoragePath) in files."
        )
    described = import_request.get("files")
    if not isinstance(described, list) or not described:
        raise HubSpotInputError(f"import_request has no 'files' list describing the uploaded files. {_SHAPE}")
    names: list[str] = []
    for index, entry in enumerate(described):
        if not isinstance(entry, Mapping) or not entry.get("fileName"):
            raise HubSpotInputError(
                f"import_request files[{index}] has no fileName; name the uploaded file it describes."
            )
        fmt = entry.get("fileFormat")  # optional: HubSpot reads a file without one as CSV
        if fmt is not None and not isinstance(fmt, str):
            raise HubSpotInputError(
                f"import_request files[{index}] ({entry['fileName']}) has fileFormat {fmt!r}; give "
                f"{' or '.join(FILE_FORMATS)} as a string, or leave it out for CSV."
            )
        names.append(str(entry["fileName"]))
    uploaded = [part.filename for part in files]
    if len(set(uploaded)) != len(uploaded):
        raise HubSpotInputError(
            f"Two uploaded files share a name ({', '.join(uploaded)}); HubSpot matches files to "
            f"files[].fileName by name, so give each a distinct name."
        )
    if sorted(uploaded) != sorted(names):
        raise HubSpotInputError(
            f"The uploaded files ({', '.join(sorted(uploaded))}) do not match import_request "
            f"files[].fileName ({', '.join(sorted(names))}). Each uploaded file's name (without its "
            f"directory) must appear exactly once as a fileName."
        )
    for part in files:
        if part.size > MAX_FILE_BYTES:
            raise HubSpotInputError(
                f"{part.filename} is {part.size / 2**20:.0f} MiB; HubSpot accepts import files up to "
                f"512 MiB. Split it into several files or imports."
            )
