"""What the scenarios share: sizes per mode, triggering runs through the REST API, reading task
instances from the metadata database, the emulator's request log, figures to JSON."""

from __future__ import annotations

import json
import logging
import math
import os
import statistics
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deployment import Deployment

log = logging.getLogger("scenarios")
POKE_INTERVAL = 5.0  # the DAGs' poke_interval (deploy/dags/hubspot_deploy_dags.py)
SIZES_FULL = os.environ.get("HUBSPOT_DEPLOY_MODE", "") == "full"


@dataclass(frozen=True)
class Sizes:
    deferred_waits: int
    deferred_seconds: float  # how long each import of the triggerer scenario stays PROCESSING
    reschedule_waits: int
    scheduler_runs: int
    rotation_waits: int
    margin_waits: int  # deferred waits per case of the deadline scenario


QUICK_SIZES = Sizes(
    deferred_waits=20,
    deferred_seconds=60,
    reschedule_waits=4,
    scheduler_runs=6,
    rotation_waits=3,
    margin_waits=3,
)
FULL_SIZES = Sizes(
    deferred_waits=200,
    deferred_seconds=420,
    reschedule_waits=12,
    scheduler_runs=40,
    rotation_waits=10,
    margin_waits=4,  # no more than the worker slots: every wait defers before a deadline passes
)


@dataclass(frozen=True)
class Run:
    dag_id: str
    run_id: str
    import_id: int


class Scenario:
    """A deployment, its emulator, and the figures a scenario reports."""

    def __init__(self, deployment: Deployment, emulator: Any) -> None:
        self.deployment = deployment
        self.emulator = emulator

    def refresh(self) -> Deployment:
        """Reload the state (a component restarted by another test has a new PID)."""
        self.deployment.state = Deployment.load(self.deployment.run).state
        return self.deployment

    # ---- runs ----------------------------------------------------------------------------------

    def trigger(self, dag_id: str, import_id: int, conf: dict[str, Any] | None = None) -> Run:
        """Start a run of `dag_id` (conf: the import id, or `conf`) through the REST API."""
        run_id = f"{dag_id}-{import_id}-{uuid.uuid4().hex[:6]}"
        conf = conf if conf is not None else {"import_id": import_id}
        body = json.dumps({"dag_run_id": run_id, "logical_date": None, "conf": conf})
        request = urllib.request.Request(
            f"{self.deployment.api_url}/api/v2/dags/{dag_id}/dagRuns",
            data=body.encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=60) as answer:
            answer.read()
        return Run(dag_id, run_id, import_id)

    def start_waits(self, dag_id: str, count: int, processing_seconds: float) -> list[Run]:
        lifecycle = [{"state": "PROCESSING", "seconds": processing_seconds}, "DONE"]
        return [self.trigger(dag_id, self.emulator.add_import(None, lifecycle)) for _ in range(count)]

    def task_rows(self, runs: Iterable[Run]) -> list[dict[str, Any]]:
        """Task instances of `runs`: dag, run, task, state, try number, hostname, start and end (epoch)."""
        run_ids = [run.run_id for run in runs]
        if not run_ids:
            return []
        quoted = ",".join("'" + run_id.replace("'", "''") + "'" for run_id in run_ids)
        rows = self.deployment.psql(
            "SELECT dag_id, run_id, task_id, coalesce(state, ''), try_number, coalesce(hostname, ''), "
            "coalesce(extract(epoch from start_date)::text, ''), "
            "coalesce(extract(epoch from end_date)::text, '') "
            f"FROM task_instance WHERE run_id IN ({quoted})"
        )
        return [
            {
                "dag_id": dag_id,
                "run_id": run_id,
                "task_id": task_id,
                "state": state,
                "try_number": int(try_number),
                "hostname": hostname,
                "start": float(start) if start else None,
                "end": float(end) if end else None,
            }
            for dag_id, run_id, task_id, state, try_number, hostname, start, end in rows
        ]

    def wait_all_finished(
        self,
        runs: list[Run],
        timeout: float,
        on_poll: Callable[[], None] | None = None,
        every: float = 2.0,
    ) -> list[dict[str, Any]]:
        """Wait until every task of `runs` is in a finished state (checking every `every` seconds,
        `on_poll` called before each pause); returns the task rows."""
        finished = {"success", "failed", "skipped", "upstream_failed", "removed"}
        deadline = time.monotonic() + timeout
        while True:
            rows = self.task_rows(runs)
            expected = len(runs) * self.tasks_per_run(runs)
            done = [row for row in rows if row["state"] in finished]
            if len(rows) >= expected and len(done) == len(rows):
                return rows
            if time.monotonic() > deadline:
                states: dict[str, int] = {}
                for row in rows:
                    states[row["state"]] = states.get(row["state"], 0) + 1
                raise AssertionError(f"runs not finished after {timeout:.0f} s: task states {states}")
            if on_poll:
                on_poll()
            time.sleep(every)

    @staticmethod
    def tasks_per_run(runs: list[Run]) -> int:
        return 3 if runs and runs[0].dag_id == "hubspot_oauth_wait" else 2

    def wait_for(self, what: str, predicate: Callable[[], bool], timeout: float, every: float = 1.0) -> float:
        """Poll `predicate` until true; returns the seconds it took."""
        started = time.monotonic()
        while not predicate():
            if time.monotonic() - started > timeout:
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
            time.sleep(every)
        return time.monotonic() - started

    # ---- the emulator's log --------------------------------------------------------------------

    def polls(self, import_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
        """GETs of each import, in order."""
        by_id: dict[int, list[dict[str, Any]]] = {import_id: [] for import_id in import_ids}
        for entry in self.emulator.requests(list(by_id)):
            if entry["method"] == "GET" and entry["import_id"] in by_id:
                by_id[entry["import_id"]].append(entry)
        return by_id

    def cancels(self) -> int:
        return sum(1 for entry in self.emulator.requests() if entry["path"].endswith("/cancel"))

    @staticmethod
    def request_budget(processing_seconds: float) -> int:
        """ceil(D/P) + 2: what one wait may spend on an import that stays PROCESSING D seconds."""
        return math.ceil(processing_seconds / POKE_INTERVAL) + 2

    def done_to(
        self, runs: list[Run], rows: list[dict[str, Any]], task_id: str = "downstream", moment: str = "start"
    ) -> list[float]:
        """Per run: seconds from the emulator's first DONE answer to `task_id`'s start (or end)."""
        first_done: dict[int, float] = {}
        for import_id, polls in self.polls(run.import_id for run in runs).items():
            done = [entry["at"] for entry in polls if entry["state"] == "DONE"]
            if done:
                first_done[import_id] = min(done)
        starts = {row["run_id"]: row[moment] for row in rows if row["task_id"] == task_id and row[moment]}
        return [
            starts[run.run_id] - first_done[run.import_id]
            for run in runs
            if run.run_id in starts and run.import_id in first_done
        ]

    # ---- figures -------------------------------------------------------------------------------

    def write_figures(self, name: str, figures: dict[str, Any]) -> None:
        folder = self.deployment.run / "figures"
        folder.mkdir(exist_ok=True)
        (folder / f"{name}.json").write_text(json.dumps(figures, indent=2, default=str) + "\n")
        log.info("%s: %s", name, json.dumps(figures, default=str))


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "max": None, "n": 0}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    return {
        "p50": round(statistics.median(ordered), 2),
        "p95": round(p95, 2),
        "max": round(ordered[-1], 2),
        "n": len(ordered),
    }


def states_of(rows: list[dict[str, Any]], task_id: str | None = None) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        if task_id is None or row["task_id"] == task_id:
            counts[row["state"]] = counts.get(row["state"], 0) + 1
    return counts


def runtime_folder() -> Path:
    return Path(os.environ["HUBSPOT_DEPLOY_RUN"])


SIZES = FULL_SIZES if SIZES_FULL else QUICK_SIZES
