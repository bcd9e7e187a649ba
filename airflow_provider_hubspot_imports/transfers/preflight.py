"""Pre-flight checks of a staged file against the account, before its upload, when the hook has them.

The hook's ``validate_import(import_request, files, *, rows="all")`` returns a report with
``errors`` and ``warnings``; a hook without it (an older release) skips the check, saying so once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_hubspot_imports.errors import HubSpotInputError

MODES = ("error", "warn", "off")


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise HubSpotInputError(f"preflight is {mode!r}; pass one of {', '.join(MODES)}.")
    return mode


def preflight(hook: Any, import_request: Mapping[str, Any], files: list[Any], mode: str, log: Any) -> bool:
    """Check one part's request and file; False when the hook cannot check (nothing was checked).
    With ``mode="error"`` a report with errors raises, naming them; with ``"warn"`` they are logged."""
    if mode == "off":
        return False
    validate = getattr(hook, "validate_import", None)
    if validate is None:
        log.info("Pre-flight skipped: this HubSpotHook has no validate_import.")
        return False
    report = validate(import_request, files, rows="all")
    errors, warnings = _items(report, "errors"), _items(report, "warnings")
    names = ", ".join(str(getattr(file, "name", file)) for file in files)
    for warning in warnings:
        log.warning("Pre-flight of %s: %s", names, warning)
    if errors:
        text = "\n".join(f"  - {error}" for error in errors)
        if mode == "error":
            raise HubSpotInputError(
                f"Pre-flight of {names} found {len(errors)} error(s); this try started no part:\n{text}\n"
                f"Fix the query or the properties mapping, or pass preflight='warn' to import anyway."
            )
        log.warning("Pre-flight of %s found %d error(s) (preflight='warn'):\n%s", names, len(errors), text)
    return True


def _items(report: Any, name: str) -> list[Any]:
    value = report.get(name) if isinstance(report, Mapping) else getattr(report, name, None)
    return list(value or [])
