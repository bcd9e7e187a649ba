"""Start one import per task instance: find the import an earlier try started, or start one.

The decisions (the key, the marked name, which listed import to adopt) are in `core.start_key`;
this module drives the hook: the lookup through the list of active imports, the upload, and the
lookup again when a start's answer was lost (HubSpot may have created the import).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_hubspot_imports.core.retry import RetryPolicy
from airflow_provider_hubspot_imports.core.start import parse_import_request
from airflow_provider_hubspot_imports.core.start_key import LOOKUP_LIMIT, StartKey, pick_adoptable
from airflow_provider_hubspot_imports.errors import HubSpotError

if TYPE_CHECKING:
    from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook
    from airflow_provider_hubspot_imports.models import ImportRecord

# Uploads within one try: the first, and again after each lost answer the lookup proved created
# nothing (e.g. the connection dropped mid-upload).
START_ATTEMPTS = 3
EARLIER_TRY = "started by an earlier try of this task instance"
THIS_TRY = "created by this try although HubSpot's answer was lost"


def start_once(
    hook: HubSpotHook,
    import_request: Mapping[str, Any] | str,
    files: list[Any],
    key: StartKey | None,
    log: Any,
) -> tuple[ImportRecord, bool]:
    """(the import's record, whether it was adopted rather than started by this call).

    Bad input is refused before any request. With a key, an import already carrying it is adopted
    instead of uploading; a start that may have created the import (5xx, reset or read timeout
    after the body was sent) is resolved by looking again, at once.
    """
    from airflow_provider_hubspot_imports.core import protocol
    from airflow_provider_hubspot_imports.hooks.upload import file_part

    body = parse_import_request(import_request)
    if key is not None:
        body = key.mark(body)
    protocol.start_import_request(hook.settings, body, [file_part(file) for file in files])  # checks only
    if key is not None and (found := adopt(hook, key, log, EARLIER_TRY)) is not None:
        return found, True
    for attempt in range(1, START_ATTEMPTS + 1):
        try:
            return hook.start_import(body, files), False
        except HubSpotError as error:
            if key is None or attempt == START_ATTEMPTS or not RetryPolicy.may_have_been_processed(error):
                raise
            log.warning(
                "The start's answer was lost (%s). Looking for an import carrying key %s before "
                "uploading again.",
                error,
                key.marker,
            )
        if (found := adopt(hook, key, log, THIS_TRY)) is not None:
            return found, True
        log.warning(
            "No active import carries key %s: HubSpot did not create one. Uploading again.", key.marker
        )
    raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover


def adopt(hook: HubSpotHook, key: StartKey, log: Any, started_by: str) -> ImportRecord | None:
    """The active import carrying `key`, logged as adopted; None when no import carries it."""
    lookup = hook.find_started_imports(key)
    chosen, others = pick_adoptable(key, lookup.found)
    if chosen is None:
        if not lookup.complete:
            log.warning(
                "Read the first %d active imports without finding key %s; more are listed. Starting "
                "a new import (the lookup's bound is %d imports).",
                lookup.scanned,
                key.marker,
                LOOKUP_LIMIT,
            )
        return None
    log.warning(
        "Adopting HubSpot import %s %s (key %s, %s) instead of starting another.",
        chosen.id,
        started_by,
        key.marker,
        key.source,
    )
    if others:
        log.warning("Imports %s carry the same key too; they were left alone.", ", ".join(others))
    return chosen
