"""Start one import per key: find the import an earlier try (or run) started, or start one.

`start_exactly_once` is the seam every starting task uses (the start operator; an operator that
starts several imports gives each its own key): reconnect to the import kept in a task state
store, else adopt the one the import list shows carrying the key, else upload. The decisions
(the key, the marked name, which import may be adopted) are in `core.start_key`; this module
drives the hook: the lookup through HubSpot's import list, the upload, and the lookup again when
a start's answer was lost (HubSpot may have created the import).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_hubspot_imports.core.retry import RetryPolicy
from airflow_provider_hubspot_imports.core.start import parse_import_request
from airflow_provider_hubspot_imports.core.start_key import (
    LOOKUP_LIMIT,
    STATE_STORE_KEY,
    StartKey,
    pick_adoptable,
    state_store_value,
    stored_import_id,
)
from airflow_provider_hubspot_imports.errors import HubSpotError

if TYPE_CHECKING:
    from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook
    from airflow_provider_hubspot_imports.models import ImportRecord

# Uploads within one try: the first, and again after each lost answer the lookup proved created
# nothing (e.g. the connection dropped mid-upload).
START_ATTEMPTS = 3
EARLIER_TRY = "started by an earlier try of this task instance"
EARLIER_TRY_KEPT = "started by an earlier try of this task instance, kept in its task state store"
THIS_TRY = "created by this try although HubSpot's answer was lost"


class StartUnresolvedError(HubSpotError):
    """A start whose answer was lost, with a lookup that could not see the whole list: uploading
    again could make a second import. Not permanent: the task's retry looks again."""

    permanent = False


def start_exactly_once(
    hook: HubSpotHook,
    import_request: Mapping[str, Any] | str,
    files: list[Any],
    key: StartKey | None,
    log: Any,
    store: Any = None,
    store_name: str = STATE_STORE_KEY,
    before_upload: Callable[[], None] | None = None,
) -> tuple[ImportRecord, bool]:
    """Start `import_request` once under `key`, or adopt the import already started under it:
    (the import's record, whether it was adopted).

    `store`: Airflow 3.3's ``task_state_store`` (anything with ``get(name)`` and ``set(name,
    value)``), or None; `store_name`: the name the import's id is kept under (one per import
    when a task starts several). An import kept there is reconnected to while active, reused when DONE,
    and replaced by a new import when it ended FAILED, CANCELED or REVERTED (whoever canceled
    it: a retry or a clear means "do it again"). `key` should be narrowed to the request
    (`StartKey.for_request`), so that only an import of this very request is ever adopted.
    `before_upload` runs once, only when no import was found and the files are about to be
    uploaded (pre-flight validation).
    """
    if key is not None and store is not None:
        found = _kept_import(hook, key, store.get(store_name), log)
        if found is not None:
            return found, True
    record, adopted = start_once(hook, import_request, files, key, log, before_upload)
    if key is not None and store is not None:
        store.set(store_name, state_store_value(key, record.id))
    return record, adopted


def _kept_import(hook: HubSpotHook, key: StartKey, kept: Any, log: Any) -> ImportRecord | None:
    """The import an earlier try kept in the task state store, read afresh; None when there is
    none, or when it ended in a failure state (then a new one is started)."""
    from airflow_provider_hubspot_imports.models import FAILURE_STATES

    import_id = stored_import_id(key, kept)
    if import_id is None:
        return None
    record = hook.get_import(import_id)
    if record.state in FAILURE_STATES:
        log.warning(
            "HubSpot import %s, %s (key %s), is %s: starting a new import instead of adopting it.",
            import_id,
            EARLIER_TRY_KEPT,
            key.marker,
            record.state.value,
        )
        return None
    log.warning(
        "Adopting HubSpot import %s %s (key %s, %s) instead of starting another: it is %s.",
        import_id,
        EARLIER_TRY_KEPT,
        key.marker,
        key.source,
        record.state.value,
    )
    return record


def start_once(
    hook: HubSpotHook,
    import_request: Mapping[str, Any] | str,
    files: list[Any],
    key: StartKey | None,
    log: Any,
    before_upload: Callable[[], None] | None = None,
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
    if key is not None and (found := adopt(hook, key, log, EARLIER_TRY)[0]) is not None:
        return found, True
    if before_upload is not None:
        before_upload()
    for attempt in range(1, START_ATTEMPTS + 1):
        try:
            started = hook.start_import(body, files)
        except HubSpotError as error:
            if key is None or attempt == START_ATTEMPTS or not RetryPolicy.may_have_been_processed(error):
                raise
            log.warning(
                "The start's answer was lost (%s). Looking for an import carrying key %s before "
                "uploading again.",
                error,
                key.marker,
            )
        else:
            return (started, False) if key is None else yield_to_an_earlier_start(hook, key, started, log)
        found, complete = adopt(hook, key, log, THIS_TRY)
        if found is not None:
            return found, True
        if not complete:
            raise StartUnresolvedError(
                f"The start's answer was lost and the lookup for key {key.marker} read the first "
                f"{LOOKUP_LIMIT} listed imports without seeing all of them: HubSpot may have created the "
                f"import, so none is uploaded again. Retry the task (a retry looks again), or cancel "
                f"finished imports from the list if HubSpot lists them."
            )
        log.warning(
            "No active import carries key %s: HubSpot did not create one. Uploading again.", key.marker
        )
    raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover


def yield_to_an_earlier_start(
    hook: HubSpotHook, key: StartKey, started: ImportRecord, log: Any
) -> tuple[ImportRecord, bool]:
    """After an upload under `key`: the import to go on with, and whether it was adopted.

    Two starts with one key that both looked before either uploaded both upload. Each then looks
    again, and they settle on the import created first (`pick_adoptable`): the later start sees
    it (it was created before its own), cancels the import it just started and adopts the first,
    as if the two starts had run one after the other. The earlier start keeps its import, whether
    or not it sees the later one. A lookup that fails keeps the import just started.
    """
    try:
        lookup = hook.find_started_imports(key)
    except (HubSpotError, OSError) as error:
        log.warning(
            "Could not look again for another import carrying key %s (%s); going on with import %s.",
            key.marker,
            error,
            started.id,
        )
        return started, False
    others = [record for record in lookup.found if record.id != started.id]
    first, _ = pick_adoptable(key, [started, *others])
    if first is None or first.id == started.id:
        return started, False
    try:
        answer = hook.cancel_import(started.id)
    except (HubSpotError, OSError) as error:
        log.error(
            "Another start with key %s (%s) uploaded at the same moment; its import %s was created "
            "first, but canceling import %s, which this try started, failed (%s): both imports run. "
            "Going on with import %s.",
            key.marker,
            key.source,
            first.id,
            started.id,
            error,
            started.id,
        )
        return started, False
    log.warning(
        "Another start with key %s (%s) uploaded at the same moment and its import %s was created "
        "first: canceled import %s, which this try started, and adopting %s instead. HubSpot "
        "answered the cancel: %s",
        key.marker,
        key.source,
        first.id,
        started.id,
        first.id,
        answer,
    )
    return first, True


def adopt(hook: HubSpotHook, key: StartKey, log: Any, started_by: str) -> tuple[ImportRecord | None, bool]:
    """(the adoptable import carrying `key`, logged as adopted, or None; whether the lookup saw
    the whole list). The list may hold active imports only, or finished ones too (HubSpot's two
    readings); either way only an active or DONE import is adopted (`pick_adoptable`)."""
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
        return None, lookup.complete
    log.warning(
        "Adopting HubSpot import %s %s (key %s, %s) instead of starting another.",
        chosen.id,
        started_by,
        key.marker,
        key.source,
    )
    if others:
        log.warning("Imports %s carry the same key too; they were left alone.", ", ".join(others))
    return chosen, lookup.complete
