"""`ImportWatchTrigger` against the emulator: one list read per round, each import that finishes
while watched reported once, under both of HubSpot's readings of its list."""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import json
import logging
import os
import sqlite3
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

import airflow
import pytest
from packaging.version import Version

from airflow_provider_hubspot_imports.testing import HubSpotEmulator
from airflow_provider_hubspot_imports.testing.model import LIST_MODES
from airflow_provider_hubspot_imports.triggers.watch import REPORTED_KEY, STORE_KEY, ImportWatchTrigger

# Asset state stores (where the watcher keeps the imports it follows) exist from Airflow 3.3.
HAS_ASSET_STATE_STORE = Version(Version(airflow.__version__).base_version) >= Version("3.3")


def _finish(emulator: HubSpotEmulator, import_id: int, state: str = "DONE") -> None:
    """HubSpot finishing an import: from now on it is not active, so it leaves the list."""
    with emulator.model.lock:
        emulator.model.imports[import_id].forced_state = state


def _calls(emulator: HubSpotEmulator) -> list[str]:
    """The requests served, as 'list' or the id of the import read."""
    return ["list" if entry.import_id is None else str(entry.import_id) for entry in emulator.requests()]


def _polls(trigger: ImportWatchTrigger, rounds: int = 1) -> list[list[str]]:
    async def run() -> list[list[str]]:
        found = []
        for _ in range(rounds):
            found.append([record.id for record in await trigger.poll()])
            await asyncio.sleep(trigger.poll_interval)  # as run() waits between rounds
        return found

    return asyncio.run(run())


def test_each_finished_import_is_reported_once_with_one_list_read_per_round(
    hubspot_connection: HubSpotEmulator,
):
    contacts = hubspot_connection.add_import(lifecycle=[("PROCESSING",)])
    companies = hubspot_connection.add_import(lifecycle=[("PROCESSING",)], mappedObjectTypeIds=["0-2"])
    trigger = ImportWatchTrigger(poll_interval=0.05)

    assert _polls(trigger) == [[]]
    assert _calls(hubspot_connection) == ["list"]

    _finish(hubspot_connection, contacts)
    assert _polls(trigger, rounds=2) == [[str(contacts)], []]  # read once when it left the list
    assert _calls(hubspot_connection) == ["list", "list", str(contacts), "list"]

    _finish(hubspot_connection, companies, "CANCELED")
    assert _polls(trigger) == [[str(companies)]]


def test_watchers_of_one_account_share_one_list_read_per_round(hubspot_connection: HubSpotEmulator):
    contacts = hubspot_connection.add_import(lifecycle=[("PROCESSING",)])
    watchers = [
        ImportWatchTrigger(poll_interval=1, object_types=[kind])
        for kind in ("contacts", "companies", "deals")
    ]

    async def rounds() -> list[list[list[str]]]:
        first = await asyncio.gather(*(watcher.poll() for watcher in watchers))
        _finish(hubspot_connection, contacts)
        await asyncio.sleep(0.6)  # more than half the interval: the next round reads again
        second = await asyncio.gather(*(watcher.poll() for watcher in watchers))
        return [[[record.id for record in found] for found in result] for result in (first, second)]

    assert asyncio.run(rounds()) == [[[], [], []], [[str(contacts)], [], []]]
    lists = [entry for entry in hubspot_connection.requests() if entry.import_id is None]
    assert len(lists) == 2  # one per round for the three watchers


def test_states_and_object_types_filter_what_is_reported(hubspot_connection: HubSpotEmulator):
    done_contacts = hubspot_connection.add_import(lifecycle=[("PROCESSING",)])
    done_companies = hubspot_connection.add_import(lifecycle=[("PROCESSING",)], mappedObjectTypeIds=["0-2"])
    failed_contacts = hubspot_connection.add_import(lifecycle=[("PROCESSING",)])
    trigger = ImportWatchTrigger(poll_interval=0.05, states=["DONE"], object_types=["contacts"])
    _polls(trigger)

    for import_id in (done_contacts, done_companies):
        _finish(hubspot_connection, import_id)
    _finish(hubspot_connection, failed_contacts, "FAILED")

    assert _polls(trigger, rounds=2) == [[str(done_contacts)], []]


class _Store:
    """What Airflow 3.3's triggerer injects as `asset_state_store` for a watcher of one asset."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    async def aget(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    async def aset(self, key: str, value: Any) -> None:
        self.values[key] = value


def _events(trigger: ImportWatchTrigger, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
    """Run the trigger as the triggerer does until it fired `count` events."""

    async def run() -> list[dict[str, Any]]:
        events, stream = [], trigger.run()
        while len(events) < count:  # asyncio.wait_for: asyncio.timeout is Python 3.11+
            events.append((await asyncio.wait_for(anext(stream), timeout)).payload)
        await stream.aclose()
        return events

    return asyncio.run(run())


def test_run_fires_an_event_with_the_final_record(hubspot_connection: HubSpotEmulator):
    import_id = hubspot_connection.add_import(
        lifecycle=[("PROCESSING",)], counters={"TOTAL_ROWS": 9, "CREATED_OBJECTS": 9}
    )
    trigger = ImportWatchTrigger(poll_interval=0.05)
    _polls(trigger)
    _finish(hubspot_connection, import_id)

    [event] = _events(trigger, 1)

    assert event["import_id"] == str(import_id)
    assert event["state"] == "DONE"
    assert event["object_types"] == ["contacts"]
    assert event["counters"] == {"TOTAL_ROWS": 9, "CREATED_OBJECTS": 9}
    assert event["record"] == hubspot_connection.requests(import_id)[-1].response_json()


def test_after_a_restart_the_followed_imports_come_from_the_state_store(hubspot_connection: HubSpotEmulator):
    import_id = hubspot_connection.add_import(lifecycle=[("PROCESSING",)])
    store = _Store()
    before = ImportWatchTrigger(poll_interval=0.05)
    before.asset_state_store = store

    async def one_round() -> None:
        stream = before.run()
        task = asyncio.ensure_future(anext(stream))
        while STORE_KEY not in store.values:
            await asyncio.sleep(0.01)
        task.cancel()

    asyncio.run(one_round())  # the triggerer stops after a round: the import was being followed
    assert store.values[STORE_KEY] == {str(import_id): "PROCESSING"}
    _finish(hubspot_connection, import_id)  # ... and finishes while no triggerer runs

    after = ImportWatchTrigger(poll_interval=0.05)
    after.asset_state_store = store
    [event] = _events(after, 1)
    assert event["import_id"] == str(import_id)

    forgetful = ImportWatchTrigger(poll_interval=0.05)  # before Airflow 3.3: no store, memory only
    assert _polls(forgetful) == [[]]


def _rounds_begun(emulator: HubSpotEmulator) -> int:
    """The list reads begun: first pages only (a list spanning pages is read page after page)."""
    return sum(1 for entry in emulator.requests() if entry.import_id is None and "after" not in entry.query)


def _watch(trigger: ImportWatchTrigger, emulator: HubSpotEmulator, rounds: int) -> list[str]:
    """Run the trigger as the triggerer does for `rounds` whole rounds (events, state store
    written, the wait), then stop it as a triggerer restart would; the ids it reported."""

    async def run() -> list[str]:
        reported: list[str] = []

        async def consume() -> None:
            async for event in trigger.run():
                reported.append(event.payload["import_id"])

        task = asyncio.ensure_future(consume())
        done_when = _rounds_begun(emulator) + rounds + 1  # the next round begun: the last one is over
        while _rounds_begun(emulator) < done_when and not task.done():
            await asyncio.sleep(0.005)
        if task.done():
            task.result()  # the trigger failed: raise it here
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return reported

    return asyncio.run(run())


@pytest.mark.parametrize("mode", LIST_MODES)
def test_only_what_finishes_while_watched_is_reported_once_also_across_a_restart(
    hubspot_connection: HubSpotEmulator, mode: str
):
    """Whether the list holds the active imports or the whole history (either order, several
    pages): what finished before the watcher began is never reported, what finishes while it
    watches is reported once, and a watcher restarted on the same store repeats none of it."""
    hubspot_connection.set_list_mode(mode)
    hubspot_connection.model.list_page_size = 2  # the history spans pages
    history = mode != "active"
    for state in ("DONE", "CANCELED", "FAILED"):  # finished weeks before anything watched
        hubspot_connection.add_import(lifecycle=[(state,)])
    running = hubspot_connection.add_import(lifecycle=[("PROCESSING",)])
    store = _Store()
    first = ImportWatchTrigger(poll_interval=0.02)
    first.asset_state_store = store

    assert _watch(first, hubspot_connection, rounds=2) == []

    _finish(hubspot_connection, running)
    # Started and finished between two reads: only a list holding the history shows it.
    quick = hubspot_connection.add_import(lifecycle=[("DONE",)])
    finished_while_watched = sorted([str(running)] + ([str(quick)] if history else []))
    assert sorted(_watch(first, hubspot_connection, rounds=3)) == finished_while_watched  # once each
    assert sorted(store.values[REPORTED_KEY]) == finished_while_watched

    followed = hubspot_connection.add_import(lifecycle=[("PROCESSING",)])
    assert _watch(first, hubspot_connection, rounds=1) == []
    assert store.values[STORE_KEY] == {str(followed): "PROCESSING"}
    _finish(hubspot_connection, followed, "CANCELED")  # ... while no triggerer runs

    restarted = ImportWatchTrigger(poll_interval=0.02)
    restarted.asset_state_store = store
    assert _watch(restarted, hubspot_connection, rounds=3) == [str(followed)]
    assert store.values[STORE_KEY] == {}
    assert _watch(ImportWatchTrigger(poll_interval=0.02), hubspot_connection, rounds=2) == []  # no store


@pytest.mark.parametrize("mode", LIST_MODES)
def test_a_restart_reports_nothing_again_when_the_store_holds_only_the_reports(
    hubspot_connection: HubSpotEmulator, mode: str
):
    """The reported ids alone keep a restarted watcher from repeating an import the list still
    shows finished, even if it was still followed when the triggerer stopped."""
    hubspot_connection.set_list_mode(mode)
    import_id = hubspot_connection.add_import(lifecycle=[("PROCESSING",)])
    store = _Store()
    store.values[STORE_KEY] = {str(import_id): "PROCESSING"}  # saved before the round that reported it
    store.values[REPORTED_KEY] = [str(import_id)]
    _finish(hubspot_connection, import_id)

    restarted = ImportWatchTrigger(poll_interval=0.02)
    restarted.asset_state_store = store
    assert _watch(restarted, hubspot_connection, rounds=2) == []


def test_a_watcher_stopped_during_a_shared_read_leaves_the_others_reading(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    """Watchers share the list read one of them started, on its client. When the triggerer stops
    that one mid-read (its client closes), the others read again on their own: no error, and no
    "exception never retrieved" left behind."""
    from async_loopback_servers import LoopbackServer, Request, answer, import_record

    def slow_list(request: Request, conn: Any) -> None:  # two pages, the first one slow
        if "after=" in request.path:
            answer(conn, 200, {"results": [import_record("8", "PROCESSING")]})
            return
        time.sleep(0.3)
        answer(conn, 200, {"results": [import_record("7", "PROCESSING")], "paging": {"next": {"after": "2"}}})

    async def scenario(starter: ImportWatchTrigger, other: ImportWatchTrigger) -> list[str]:
        first = asyncio.ensure_future(starter.poll())
        while not server.requests:
            await asyncio.sleep(0.01)
        second = asyncio.ensure_future(other.poll())  # shares the read in flight
        await asyncio.sleep(0.05)
        first.cancel()
        found = [record.id for record in await second]
        await asyncio.gather(first, return_exceptions=True)
        return found

    with LoopbackServer(slow_list) as server:
        monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", server.connection_json(extra={"max_retries": 0}))
        with caplog.at_level(logging.ERROR):
            found = asyncio.run(
                scenario(ImportWatchTrigger(poll_interval=5), ImportWatchTrigger(poll_interval=5))
            )
            gc.collect()  # an unretrieved failure is logged when its future is collected

    assert found == []  # read, and nothing finished
    pages = [request.path.partition("?")[2] for request in server.requests]
    assert pages == [
        "limit=100",
        "limit=100",
        "limit=100&after=2",
    ]  # the stopped watcher's first page; the other's read
    assert not [record for record in caplog.records if "never retrieved" in record.getMessage()]


def test_serialize_round_trips_and_bad_arguments_are_refused():
    trigger = ImportWatchTrigger(
        hubspot_conn_id="crm", poll_interval=30, states=["done"], object_types=["0-1"]
    )
    path, kwargs = trigger.serialize()
    assert path == "airflow_provider_hubspot_imports.triggers.watch.ImportWatchTrigger"
    assert ImportWatchTrigger(**kwargs).serialize() == (path, kwargs)
    with pytest.raises(ValueError, match="not terminal"):
        ImportWatchTrigger(states=["PROCESSING"])
    with pytest.raises(ValueError, match="positive"):
        ImportWatchTrigger(poll_interval=0)
    with pytest.raises(TypeError, match="list such as"):
        ImportWatchTrigger(object_types="contacts")


# The real-triggerer test's budget: waiting for the event, a settling pause, then stopping (a grace
# for SIGTERM, as long again for SIGKILL) stay inside pytest's timeout even when nothing ever fires.
WAIT_FOR_THE_EVENT = 220.0
SETTLE = 3.0
STOP_GRACE = 20.0
REAL_TRIGGERER_TIMEOUT = 300  # pytest's timeout for every test (pyproject.toml)
assert WAIT_FOR_THE_EVENT + SETTLE + 2 * STOP_GRACE + 30 < REAL_TRIGGERER_TIMEOUT


@pytest.mark.dagrun
@pytest.mark.timeout(REAL_TRIGGERER_TIMEOUT)
def test_a_real_triggerer_runs_the_watcher_and_records_the_asset_event(
    airflow_db: Path, hubspot_emulator: HubSpotEmulator, tmp_path: Path
) -> None:
    """`airflow dag-processor`, `scheduler` and `triggerer` processes: the watcher of
    tests/dags/watch_dags.py is registered, run, fires once when the import finishes, and Airflow
    records the asset event with the payload; the followed ids went through the state store."""
    pytest.importorskip("airflow.sdk", reason="AssetWatcher needs Airflow 3")
    from airflow_provider_hubspot_imports._compat import AIRFLOW_V3

    if not AIRFLOW_V3:
        pytest.skip("AssetWatcher needs Airflow 3")
    if not HAS_ASSET_STATE_STORE:
        pytest.skip(
            "real components run on Airflow 3.3+, where the watcher keeps its ids in the asset state store"
        )
    # An id no other test uses: a deferred task left behind in the shared database by an earlier
    # test would be resumed by this triggerer, through hubspot_default, and read its own import.
    import_id = hubspot_emulator.add_import(import_id=4_242_424_242, lifecycle=[("PROCESSING",)])
    env = {
        **os.environ,
        "AIRFLOW_CONN_HUBSPOT_DEFAULT": hubspot_emulator.connection_json(retry_backoff_seconds=0.05),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        # Only tests/dags: the example watcher would follow the same import.
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(
            [
                bundle
                for bundle in json.loads(os.environ["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"])
                if bundle["name"] == "dags-folder"
            ]
        ),
    }
    database = os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].removeprefix("sqlite:///")
    # Started and stopped as the deployment harness does: each in a session of its own, stopped with
    # everything in it (the scheduler's LocalExecutor runs the DAG's task, whose supervisor, in a
    # process group of its own, waits on an API server this test does not start).
    processes = _deploy_processes()
    components = [
        processes.launch(name, [sys.executable, "-m", "airflow", name], env, tmp_path / f"{name}.log")
        for name in ("dag-processor", "scheduler", "triggerer")
    ]
    rows: list[tuple[str]] = []
    try:
        deadline = time.monotonic() + WAIT_FOR_THE_EVENT
        finished = False
        while time.monotonic() < deadline and not rows:
            if not finished and any(entry.import_id is None for entry in hubspot_emulator.requests()):
                _finish(hubspot_emulator, import_id)  # the watcher is running: finish the import
                finished = True
            with sqlite3.connect(database) as db:
                # An earlier test's `airflow dags test` may have stored this DAG paused, and a
                # paused DAG's watchers do not run.
                db.execute("UPDATE dag SET is_paused = 0 WHERE dag_id = 'test_watch_imports'")
                rows = db.execute(
                    "SELECT e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id WHERE a.uri = ?",
                    ("hubspot://watched/contacts",),
                ).fetchall()
            time.sleep(1)
        time.sleep(SETTLE)  # a second event, if any, would be recorded by now
        with sqlite3.connect(database) as db:
            rows = db.execute(
                "SELECT e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id WHERE a.uri = ?",
                ("hubspot://watched/contacts",),
            ).fetchall()
            stored = db.execute(
                "SELECT s.value FROM asset_state_store s JOIN asset a ON a.id = s.asset_id "
                "WHERE a.uri = ? AND s.key = ?",
                ("hubspot://watched/contacts", STORE_KEY),
            ).fetchall()
            runs = _asset_triggered_runs(db, "test_watch_imports")
    finally:
        with ThreadPoolExecutor(len(components)) as pool:  # stopped side by side: one grace for all
            list(pool.map(lambda component: processes.stop(component, grace=STOP_GRACE), components))

    assert len(rows) == 1, f"the watcher fired no event (or more than one); logs in {tmp_path}"
    extra = json.loads(rows[0][0])
    assert extra["from_trigger"] is True
    assert extra["payload"]["import_id"] == str(import_id)
    assert extra["payload"]["state"] == "DONE"
    reads = hubspot_emulator.requests(import_id)
    assert len(reads) == 1, f"read once, when it left the list, not: {reads}"
    final_read = reads[0]
    assert extra["payload"]["record"] == final_read.response_json()
    assert [json.loads(value) for (value,) in stored] == [{}]  # nothing left to follow
    assert runs == 1, f"the scheduler made {runs} runs of the DAG scheduled on the asset; logs in {tmp_path}"


def _asset_triggered_runs(db: Any, dag_id: str) -> int:
    """Runs the scheduler created for `dag_id` from asset events."""
    (count,) = db.execute(
        "SELECT count(*) FROM dag_run WHERE dag_id = ? AND run_type = 'asset_triggered'", (dag_id,)
    ).fetchone()
    return int(count)


def _deploy_processes() -> ModuleType:
    """deploy/processes.py (standard library only), the one place that knows how to stop a
    component's whole session; deploy/ is not a package, so it is loaded from its file."""
    name = "hubspot_deploy_processes"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).resolve().parents[1] / "deploy" / "processes.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # before running it: its dataclasses look their module up
        spec.loader.exec_module(module)
    return sys.modules[name]
