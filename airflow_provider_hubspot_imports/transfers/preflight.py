"""Pre-flight of each staged part before its upload: the start operator's gate, part by part.

`preflight.gate_upload` checks one part's file against its request and the account's schema
(``HubSpotHook.validate_import``), logs the summary and pushes the report to XCom
``preflight_report`` (the last part's); with ``"error"`` a part with errors stops the transfer
before any part of this try is started.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def check_mode(mode: Any) -> str:
    """``"error"``, ``"warn"`` or ``"off"``, as the start operator takes it."""
    from airflow_provider_hubspot_imports.preflight import preflight_mode

    return preflight_mode(mode)


def preflight_parts(
    hook: Any, parts: Iterable[tuple[Mapping[str, Any], Any]], mode: str, context: Any, log: Any
) -> None:
    """Check every (import request, staged file) in turn; raises on the first part with errors."""
    from airflow_provider_hubspot_imports.preflight import gate_upload

    if mode == "off":
        return
    for import_request, path in parts:
        gate_upload(hook, import_request, [path], mode, context, log)
