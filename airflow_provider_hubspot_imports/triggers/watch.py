"""`ImportWatchTrigger`: an event trigger for `AssetWatcher` that fires once for each import of
the account that finishes while it watches, so a DAG can be scheduled on "contacts landed in HubSpot".

One poll per interval reads the account's list of imports (``GET /crm/imports/...``, one request
per page). Watchers of one connection in one triggerer share that read: a list read less than half
an interval ago (or in flight) serves them all, so watching contacts and companies separately costs
one read a round. HubSpot's references read that list two ways: the *active* imports started by
the same app, or every import, finished ones included, in either order. The watcher is right under
both: the imports the first list it reads already shows finished finished before it watched and are
never reported; an import is followed from the first time the list shows it unfinished; it is
reported once when the list shows it finished, or, when it leaves the list, after one read
(``GET .../{id}``) of its final state. An import that first appears finished after the first read
started and finished between two reads and is reported.

Across triggerer restarts: on Airflow 3.3+ the ids of the imports being followed and of those
reported are kept in the watched asset's state store, so an import that was followed before the
restart and finished while no triggerer ran is read and reported after it, and nothing reported
before is reported again. What may happen is one repeat: an event emitted just before a crash,
when the crash comes before the store was updated. A restarted watcher starts watching anew: an
import started *and* finished while no triggerer ran is not reported. Without a state store
(Airflow before 3.3), the followed ids live in memory: imports that finish while the watcher is
down are missed, and nothing is repeated.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable
from typing import Any

try:  # Airflow 3: event-driven scheduling
    from airflow.triggers.base import BaseEventTrigger  # type: ignore[attr-defined,unused-ignore]
except ImportError:  # Airflow 2.11 has no AssetWatcher; the trigger still runs where a trigger can
    from airflow.triggers.base import BaseTrigger as BaseEventTrigger  # type: ignore[assignment,unused-ignore]
from airflow.triggers.base import TriggerEvent

from airflow_provider_hubspot_imports.errors import HubSpotError, HubSpotNotFoundError
from airflow_provider_hubspot_imports.lineage.naming import OBJECT_TYPE_IDS, object_type_name
from airflow_provider_hubspot_imports.models import TERMINAL_STATES, ImportRecord, parse_states

STORE_KEY = "hubspot_followed_imports"
REPORTED_KEY = "hubspot_reported_imports"
REMEMBERED = 10_000  # ids of finished imports not to report (again), even if the list shows them twice
STORED_REPORTS = 1_000  # the latest reported ids kept in the state store for a restarted watcher

log = logging.getLogger(__name__)


class ImportWatchTrigger(BaseEventTrigger):
    """Fire a `TriggerEvent` each time an import of the account finishes.

    The event's payload: ``import_id``, ``state``, ``object_types`` (names such as ``contacts``),
    ``counters`` and ``record`` (the import exactly as HubSpot sent it). Airflow puts it in the
    asset event's extra (``extra["payload"]``).

    :param hubspot_conn_id: Airflow connection of type ``hubspot``.
    :param poll_interval: seconds between reads of the list (default 60).
    :param states: terminal states to report (default all: DONE, FAILED, CANCELED, REVERTED).
    :param object_types: report only imports writing one of these object types (names such as
        ``contacts`` or ids such as ``0-1``); None for all.
    """

    def __init__(
        self,
        *,
        hubspot_conn_id: str = "hubspot_default",
        poll_interval: float = 60.0,
        states: Iterable[str] | None = None,
        object_types: Iterable[str] | None = None,
    ) -> None:
        super().__init__()
        self.hubspot_conn_id = hubspot_conn_id
        self.poll_interval = float(poll_interval)
        if not self.poll_interval > 0:
            raise ValueError(f"poll_interval is {poll_interval!r}; it must be a positive number of seconds.")
        self.states = sorted(state.value for state in parse_states(states, TERMINAL_STATES, name="states"))
        not_terminal = set(self.states) - {state.value for state in TERMINAL_STATES}
        if not_terminal:
            raise ValueError(f"states {sorted(not_terminal)} are not terminal; an import never stops there.")
        if isinstance(object_types, str):
            raise TypeError(
                f"object_types must be a list such as ['contacts'], not the string {object_types!r}"
            )
        self.object_types = None if object_types is None else sorted(str(item) for item in object_types)
        self._followed: dict[str, str] = {}  # import id -> last state seen in the list
        # Finished imports never to report (again): reported ones and those finished before watching.
        self._settled: OrderedDict[str, None] = OrderedDict()
        self._reported: list[str] = []  # the latest reported ids, oldest first, for the state store
        self._watching = False  # True once a list was read: what it showed finished is settled
        self._saved: tuple[dict[str, str], list[str]] = ({}, [])

    def __repr__(self) -> str:
        return f"{type(self).__name__}(hubspot_conn_id={self.hubspot_conn_id!r})"

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "hubspot_conn_id": self.hubspot_conn_id,
                "poll_interval": self.poll_interval,
                "states": self.states,
                "object_types": self.object_types,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        await self._restore()
        while True:
            for record in await self.poll():
                yield TriggerEvent(self._payload(record))
            await self._save()  # after the events: a crash in between repeats them, never loses them
            await asyncio.sleep(self.poll_interval)

    async def poll(self) -> list[ImportRecord]:
        """One round: read the list, read the imports that left it; the finished ones to report."""
        from airflow_provider_hubspot_imports.hooks.hubspot_async import HubSpotAsyncClient

        try:
            async with HubSpotAsyncClient(self.hubspot_conn_id, log=self.log) as client:
                listed = await _shared_list(self.hubspot_conn_id, client, max_age=self.poll_interval / 2)
                self._settle_what_finished_before_watching(listed)
                finished = [record for record in listed.values() if record.is_terminal]
                for import_id, record in listed.items():
                    if not record.is_terminal:
                        self._followed[import_id] = record.state.value
                for import_id in [i for i in self._followed if i not in listed]:
                    final = await self._final_record(client, import_id)
                    if final is not None:
                        finished.append(final)
        except HubSpotError as error:
            self.log.warning(
                "Could not read the imports of connection '%s' this time: %s", self.hubspot_conn_id, error
            )
            return []
        reports = []
        for record in finished:
            self._followed.pop(record.id, None)
            if record.id in self._settled:
                self._settled.move_to_end(record.id)  # still listed: kept over older ids
                continue
            self._settle(record.id)
            if self._wanted(record):
                reports.append(record)
                self._reported = [*self._reported, record.id][-STORED_REPORTS:]
        return reports

    def _settle_what_finished_before_watching(self, listed: dict[str, ImportRecord]) -> None:
        """On the first list read: the imports it shows finished (and this watcher did not follow
        before a restart) finished before it watched; they are never reported."""
        if self._watching:
            return
        self._watching = True
        for import_id, record in listed.items():
            if record.is_terminal and import_id not in self._followed:
                self._settle(import_id)

    async def _final_record(self, client: Any, import_id: str) -> ImportRecord | None:
        """Read an import that left the list once; None while it is not finished (still followed)."""
        try:
            record = await client.get_import(import_id)
        except HubSpotNotFoundError:
            self.log.warning(
                "Import %s left the list and HubSpot no longer knows it; not reported.", import_id
            )
            self._followed.pop(import_id, None)
            return None
        except HubSpotError as error:
            if error.permanent:
                raise
            self.log.warning(
                "Could not read import %s this time; reading it next round. %s", import_id, error
            )
            return None
        return record if record.is_terminal else None

    def _wanted(self, record: ImportRecord) -> bool:
        if record.state.value not in self.states:
            return False
        if self.object_types is None:
            return True
        wanted = {OBJECT_TYPE_IDS.get(item, item) for item in self.object_types}
        return bool(wanted & set(record.mapped_object_type_ids))

    def _settle(self, import_id: str) -> None:
        self._settled[import_id] = None
        while len(self._settled) > REMEMBERED:
            self._settled.popitem(last=False)

    def _payload(self, record: ImportRecord) -> dict[str, Any]:
        return {
            "import_id": record.id,
            "state": record.state.value,
            "object_types": [object_type_name(type_id) for type_id in record.mapped_object_type_ids],
            "counters": record.counters,
            "record": dict(record.raw),
        }

    # ---- what survives a triggerer restart (Airflow 3.3+: the asset's state store) ---------------

    async def _restore(self) -> None:
        store = getattr(self, "asset_state_store", None)
        if store is None:
            return
        try:
            saved = await store.aget(STORE_KEY, None)
            reported = await store.aget(REPORTED_KEY, None)
        except Exception as error:  # a watcher of several assets, or an older store: memory only
            self.log.info("Followed imports are kept in memory only (%s).", error)
            return
        if isinstance(reported, list):
            self._reported = [str(import_id) for import_id in reported][-STORED_REPORTS:]
            for import_id in self._reported:
                self._settle(import_id)
        if isinstance(saved, dict):
            self._followed.update({str(key): str(value) for key, value in saved.items()})
            if self._followed:
                self.log.info("Following %d imports again after a restart.", len(self._followed))
        self._saved = (dict(self._followed), list(self._reported))

    async def _save(self) -> None:
        store = getattr(self, "asset_state_store", None)
        current = (dict(self._followed), list(self._reported))
        if store is None or current == self._saved:
            return
        try:
            if current[1] != self._saved[1]:
                await store.aset(REPORTED_KEY, current[1])
            if current[0] != self._saved[0]:
                await store.aset(STORE_KEY, current[0])
            self._saved = current
        except Exception as error:
            self.log.debug("Could not save the followed imports: %s", error)


_recent_lists: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[str, tuple[float, asyncio.Future[dict[str, ImportRecord]]]]
] = weakref.WeakKeyDictionary()


async def _shared_list(conn_id: str, client: Any, *, max_age: float) -> dict[str, ImportRecord]:
    """The account's list, read once for every watcher of `conn_id` in this event loop: a read
    started less than `max_age` seconds ago (finished or in flight) is shared; a failed one is not.

    A shared read runs on the client of the watcher that started it. When the triggerer stops that
    watcher mid-read, its client closes and the read fails with an error of its own: the others
    then read on their own clients rather than fail."""
    reads = _recent_lists.setdefault(asyncio.get_running_loop(), {})
    now = time.monotonic()
    recent = reads.get(conn_id)
    if recent is not None and now - recent[0] < max_age and not _failed(recent[1]):
        try:
            return dict(await asyncio.shield(recent[1]))
        except HubSpotError:
            raise  # HubSpot's answer: the same for every watcher
        except Exception as error:  # the read's client closed under it
            log.debug("The shared read of the imports list failed (%s); reading again.", error)
    read = asyncio.ensure_future(_list_imports(client))
    read.add_done_callback(_retrieve)
    reads[conn_id] = (now, read)
    return dict(await asyncio.shield(read))


def _failed(read: asyncio.Future[Any]) -> bool:
    return read.done() and (read.cancelled() or read.exception() is not None)


def _retrieve(read: asyncio.Future[Any]) -> None:
    """Mark a read's failure as seen: a read whose watchers were all stopped has nobody awaiting it,
    and asyncio would log its error as never retrieved."""
    if not read.cancelled():
        read.exception()


async def _list_imports(client: Any) -> dict[str, ImportRecord]:
    """Every page of the account's list of imports, by id."""
    from airflow_provider_hubspot_imports.core import protocol

    settings = await client.settings()
    records: dict[str, ImportRecord] = {}
    after: str | None = None
    seen: set[str] = set()
    while True:
        request = protocol.list_imports_request(settings, limit=100, after=after)
        page = await client.call(request, protocol.parse_page)
        for raw in page.results:
            record = protocol.parse_import_record(request, raw)
            records[record.id] = record
        if page.after is None or page.after in seen:
            return records
        seen.add(page.after)
        after = page.after
