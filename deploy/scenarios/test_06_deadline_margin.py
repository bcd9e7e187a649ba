"""One deadline, one outcome: a deferred wait ends the same whether its trigger's event reports
the deadline or the scheduler's deferral timeout does.

The deployment runs `[scheduler] trigger_timeout_check_interval = 1` (Airflow's default is 15 s).
Each case starts deferred `ImportStateSensor`s (`execution_timeout` 16 s, shorter than their
`timeout`; `retries=1`; `cancel_on_timeout=True`) on imports that stay PROCESSING for an hour.
docs/stopping.md's table: an execution timeout is retried while tries are left and leaves the
import running; on the last try the task fails as an execution timeout and cancels its import.

1. `trigger_reports`: the triggerers run. `defer(timeout=...)` lies two scheduler checks plus a
   poll's budget after the trigger's deadline, so every try must be ended by the trigger's event.
2. `scheduler_reports`: both triggerers' sessions are SIGKILLed once every wait has deferred, so
   the scheduler's deferral timeout ends every try; they are started again once the last tries
   have been ended, and the scenario waits until both heartbeat.

Both cases must end alike: try 1 `up_for_retry` (never failed), no cancel before the last try's
end, the last try failed and its import canceled exactly once. Who ended each try is read from
the metadata database while the scenario runs (a resumed task instance's `next_method`: the
trigger's `execute_complete` or the scheduler's `__fail__`, and `scheduled_dttm`, the moment of
the report), and checked against the scheduler's log ("Timed out N deferred tasks without fired
triggers") and each try's task log (`TaskDeferralTimeout` is the cause of what a try ended by the
scheduler raised; a try ended by the trigger's event raises the event's message).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

from deployment import QUICK_POLLS_EXTRAS, TRIGGER_TIMEOUT_CHECK_INTERVAL, TRIGGERERS
from support import SIZES, Run, Scenario, log, percentiles, states_of

DAG_ID = "hubspot_deadline_margin"
EXECUTION_TIMEOUT_S = 16.0  # the DAG's execution_timeout (deploy/dags/hubspot_deploy_dags.py)
NEVER_IN_TIME_S = 3600.0  # how long each import stays PROCESSING
# defer()'s timeout after the trigger's deadline (docs/stopping.md): two scheduler checks plus
# the longest one poll of the DAG's connection can take (its `timeout` plus `retry_max_seconds`).
POLL_BUDGET_S = QUICK_POLLS_EXTRAS["timeout"] + QUICK_POLLS_EXTRAS["retry_max_seconds"]
MARGIN_S = 2 * TRIGGER_TIMEOUT_CHECK_INTERVAL + POLL_BUDGET_S
TRY_ENDS = ("up_for_retry", "failed", "success", "skipped", "upstream_failed")
SCHEDULER_TIMED_OUT = re.compile(rb"Timed out (\d+) deferred tasks without fired triggers")
CASE_TIMEOUT_S = 600.0


@dataclass
class TryReport:
    """One try's deferral as the metadata database showed it."""

    deferral_ends: float | None = None  # `trigger_timeout` (epoch seconds) while deferred
    reported_by: str | None = None  # "trigger" or "scheduler"
    reported_at: float | None = None  # `scheduled_dttm` set by the report
    # The state the try ended in: `up_for_retry` (seen for the retry delay: task_instance_history
    # archives such a try as failed) or a final state.
    ended_as: str | None = None

    @property
    def deadline(self) -> float | None:
        """The trigger's deadline: the deferral's timeout less the margin (later than the trigger's
        own `end_time` by the defer call's round trip to the API server)."""
        return None if self.deferral_ends is None else self.deferral_ends - MARGIN_S


class DeferralWatch:
    """Samples the `wait` task instances of some runs and records, per (run id, try), when the
    deferral was due to time out and who ended it. A report is seen while the resumed try is
    scheduled, queued or running: several seconds on any machine, sampled every 0.5 s."""

    def __init__(self, scenario: Scenario, runs: list[Run]) -> None:
        self.scenario = scenario
        self.runs = runs
        self.tries: dict[tuple[str, int], TryReport] = {}

    def observe(self) -> None:
        quoted = ",".join(f"'{run.run_id}'" for run in self.runs)
        rows = self.scenario.deployment.psql(
            "SELECT run_id, try_number, coalesce(state, ''), coalesce(next_method, ''), "
            "coalesce(extract(epoch from trigger_timeout)::text, ''), "
            "coalesce(extract(epoch from scheduled_dttm)::text, '') "
            f"FROM task_instance WHERE dag_id = '{DAG_ID}' AND task_id = 'wait' AND run_id IN ({quoted})"
        )
        for run_id, try_number, state, next_method, trigger_timeout, scheduled in rows:
            report = self.tries.setdefault((run_id, int(try_number)), TryReport())
            if state in TRY_ENDS:
                report.ended_as = report.ended_as or state
            if state == "deferred" and trigger_timeout:
                report.deferral_ends = float(trigger_timeout)
            elif report.deferral_ends is not None and report.reported_by is None and next_method:
                report.reported_by = "scheduler" if next_method == "__fail__" else "trigger"
                report.reported_at = float(scheduled) if scheduled else None

    def deferred(self, try_number: int) -> bool:
        return all(self.report(run, try_number).deferral_ends is not None for run in self.runs)

    def reported(self, try_number: int) -> bool:
        return all(self.report(run, try_number).reported_by is not None for run in self.runs)

    def report(self, run: Run, try_number: int) -> TryReport:
        return self.tries.get((run.run_id, try_number), TryReport())


def scheduler_timed_out(scenario: Scenario, from_byte: int) -> int:
    """Deferrals the scheduler's log says it ended, from byte `from_byte` of the log on."""
    with open(scenario.deployment.logs / "scheduler.log", "rb") as scheduler_log:
        scheduler_log.seek(from_byte)
        return sum(int(count) for count in SCHEDULER_TIMED_OUT.findall(scheduler_log.read()))


def scheduler_log_size(scenario: Scenario) -> int:
    return (scenario.deployment.logs / "scheduler.log").stat().st_size


def try_ends(scenario: Scenario, runs: list[Run]) -> dict[tuple[str, int], float]:
    """(run id, try) -> when the try ended (epoch seconds): earlier tries from
    `task_instance_history`, the latest from `task_instance`."""
    quoted = ",".join(f"'{run.run_id}'" for run in runs)
    ends: dict[tuple[str, int], float] = {}
    for table in ("task_instance_history", "task_instance"):
        rows = scenario.deployment.psql(
            f"SELECT run_id, try_number, extract(epoch from end_date)::text FROM {table} "
            f"WHERE dag_id = '{DAG_ID}' AND task_id = 'wait' AND run_id IN ({quoted}) "
            "AND end_date IS NOT NULL"
        )
        for run_id, try_number, end in rows:
            ends[(run_id, int(try_number))] = float(end)
    return ends


def failed_with(scenario: Scenario, run: Run, try_number: int) -> tuple[str, ...]:
    """The exception chain (types, outermost first) the try's task log says it failed with: from
    the trigger's event `AirflowTaskTimeout` alone; from Airflow's end of the deferral the same
    with `AirflowSensorTimeout` and `TaskDeferralTimeout` as its causes. Empty if none is logged."""
    path = (
        scenario.deployment.run
        / "task-logs"
        / f"dag_id={DAG_ID}"
        / f"run_id={run.run_id}"
        / "task_id=wait"
        / f"attempt={try_number}.log"
    )
    for line in path.read_text().splitlines():
        if '"Task failed with exception"' in line:
            return tuple(str(error.get("exc_type")) for error in json.loads(line).get("error_detail") or [])
    return ()


def cancels_of(scenario: Scenario, runs: list[Run]) -> dict[int, list[float]]:
    """Import id -> times (epoch seconds) of the cancel requests the emulator received for it."""
    by_import: dict[int, list[float]] = {run.import_id: [] for run in runs}
    for entry in scenario.emulator.requests(list(by_import)):
        if entry["method"] == "POST" and entry["path"].endswith("/cancel"):
            by_import[entry["import_id"]].append(entry["at"])
    return by_import


def outcome(
    scenario: Scenario, runs: list[Run], rows: list[dict[str, Any]], watch: DeferralWatch
) -> dict[str, Any]:
    """What each wait did, try by try, and the case's figures."""
    ends = try_ends(scenario, runs)
    cancels = cancels_of(scenario, runs)
    final = {row["run_id"]: row for row in rows if row["task_id"] == "wait"}
    try_ended_as: dict[str, dict[str, int]] = {}
    reported_by: dict[str, dict[str, int]] = {}
    to_report, to_end, cancel_after, per_wait = [], [], [], []
    early_cancels = 0
    failures: dict[str, int] = {}

    def count(table: dict[str, dict[str, int]], key: str, value: str) -> None:
        table.setdefault(key, {})
        table[key][value] = table[key].get(value, 0) + 1

    for run in runs:
        last_try = final[run.run_id]["try_number"]
        tries = []
        for try_number in range(1, last_try + 1):
            report = watch.report(run, try_number)
            count(try_ended_as, f"try {try_number}", report.ended_as or "not seen")
            count(reported_by, f"try {try_number}", report.reported_by or "not seen")
            chain = " <- ".join(failed_with(scenario, run, try_number)) or "none logged"
            failures[chain] = failures.get(chain, 0) + 1
            deadline, ended = report.deadline, ends.get((run.run_id, try_number))
            if deadline is not None and report.reported_at is not None:
                to_report.append(report.reported_at - deadline)
            if deadline is not None and ended is not None:
                to_end.append(ended - deadline)
            tries.append((report.ended_as or "not seen", report.reported_by or "not seen"))
        last_report = watch.report(run, last_try).reported_at
        for at in cancels[run.import_id]:
            if last_report is None or at < last_report:
                early_cancels += 1
            else:
                cancel_after.append(at - last_report)
        final_state, canceled = final[run.run_id]["state"], len(cancels[run.import_id])
        per_wait.append({"tries": tries, "final_state": final_state, "cancels": canceled})
    return {
        "waits": len(runs),
        "per_wait": per_wait,
        "try_ended_as": try_ended_as,
        "reported_by": reported_by,
        "tries_failed_with": failures,
        "wait_states": states_of(rows, "wait"),
        "downstream_states": states_of(rows, "downstream"),
        "final_try_numbers": sorted(row["try_number"] for row in final.values()),
        "cancel_requests_per_import": sorted(len(times) for times in cancels.values()),
        "cancels_before_the_last_try_was_ended": early_cancels,
        "deadline_to_report_s": percentiles(to_report),
        "deadline_to_try_end_s": percentiles(to_end),
        "last_report_to_cancel_s": percentiles(cancel_after),
    }


def ends_as_documented(figures: dict[str, Any]) -> None:
    """docs/stopping.md's execution-timeout rows: retried (import left running), then the last try
    fails as an execution timeout and cancels its import once."""
    waits = figures["waits"]
    assert figures["try_ended_as"] == {"try 1": {"up_for_retry": waits}, "try 2": {"failed": waits}}, figures
    assert figures["wait_states"] == {"failed": waits}, figures
    assert figures["final_try_numbers"] == [2] * waits, figures
    assert figures["cancels_before_the_last_try_was_ended"] == 0, figures
    assert figures["cancel_requests_per_import"] == [1] * waits, figures


def endings(figures: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Each wait's try states and cancels, whoever reported its deadlines."""
    return sorted(
        (tuple(state for state, _ in wait["tries"]), wait["final_state"], wait["cancels"])
        for wait in figures["per_wait"]
    )


def run_case(scenario: Scenario, name: str, triggerers_down: bool) -> dict[str, Any]:
    started = time.monotonic()
    log_from = scheduler_log_size(scenario)
    runs = scenario.start_waits(DAG_ID, SIZES.margin_waits, NEVER_IN_TIME_S)
    watch = DeferralWatch(scenario, runs)

    def deferred() -> bool:
        watch.observe()
        return watch.deferred(1)

    scenario.wait_for(f"{name}: every wait deferred", deferred, timeout=CASE_TIMEOUT_S, every=0.5)
    killed_at: float | None = None
    restarted_at: float | None = None

    def on_poll() -> None:
        nonlocal restarted_at
        watch.observe()
        if killed_at is not None and restarted_at is None and watch.reported(2):
            restarted_at = restore_triggerers(scenario)

    try:
        if triggerers_down:
            deployment = scenario.refresh()  # an earlier scenario may have restarted a triggerer
            killed_at = time.time()
            killed = {component: len(deployment.kill(component)) for component in TRIGGERERS}
            log.info("%s: every wait deferred; SIGKILLed both triggerers %s", name, killed)
        rows = scenario.wait_all_finished(runs, timeout=CASE_TIMEOUT_S, on_poll=on_poll, every=0.5)
        watch.observe()
    finally:
        if killed_at is not None and restarted_at is None:
            restarted_at = restore_triggerers(scenario)
    figures = outcome(scenario, runs, rows, watch)
    figures["scheduler_log_deferrals_timed_out"] = scheduler_timed_out(scenario, log_from)
    if killed_at is not None and restarted_at is not None:
        figures["triggerers_down_s"] = round(restarted_at - killed_at, 1)
        figures["triggerers_heartbeating_after_restart_s"] = round(
            wait_triggerers_alive(scenario, restarted_at), 1
        )
    figures["case_wall_s"] = round(time.monotonic() - started, 1)
    return figures


def restore_triggerers(scenario: Scenario) -> float:
    """Start both triggerers again (as restarted pods); returns when (epoch seconds)."""
    restarted_at = time.time()
    for component in TRIGGERERS:
        scenario.deployment.start_component(component)
    log.info("started both triggerers again")
    return restarted_at


def wait_triggerers_alive(scenario: Scenario, restarted_at: float) -> float:
    """Seconds from the restart until both new triggerers heartbeat (their own job rows)."""

    def alive() -> bool:
        return scenario.deployment.live_jobs("TriggererJob", started_after=restarted_at) == sorted(TRIGGERERS)

    scenario.wait_for("both triggerers heartbeating again", alive, timeout=300, every=1.0)
    return time.time() - restarted_at


def test_one_deadline_one_outcome_whoever_reports_it(scenario: Scenario) -> None:
    started = time.monotonic()
    by_trigger = run_case(scenario, "trigger_reports", triggerers_down=False)
    by_scheduler = run_case(scenario, "scheduler_reports", triggerers_down=True)
    figures = {
        "trigger_timeout_check_interval_s": TRIGGER_TIMEOUT_CHECK_INTERVAL,
        "execution_timeout_s": EXECUTION_TIMEOUT_S,
        "deferral_margin_s": MARGIN_S,
        "trigger_reports": by_trigger,
        "scheduler_reports": by_scheduler,
        "same_outcome": endings(by_trigger) == endings(by_scheduler),
        "scenario_wall_s": round(time.monotonic() - started, 1),
    }
    scenario.write_figures("deadline_margin", figures)

    waits = SIZES.margin_waits
    # The margin held: the trigger's event ended every try, the scheduler none.
    by_the_trigger = {"try 1": {"trigger": waits}, "try 2": {"trigger": waits}}
    assert by_trigger["reported_by"] == by_the_trigger, figures
    assert by_trigger["scheduler_log_deferrals_timed_out"] == 0, figures
    assert by_trigger["tries_failed_with"] == {"AirflowTaskTimeout": 2 * waits}, figures
    # With no triggerer, the scheduler's deferral timeout ended every try ...
    by_the_scheduler = {"try 1": {"scheduler": waits}, "try 2": {"scheduler": waits}}
    assert by_scheduler["reported_by"] == by_the_scheduler, figures
    assert by_scheduler["scheduler_log_deferrals_timed_out"] == 2 * waits, figures
    chain = "AirflowTaskTimeout <- AirflowSensorTimeout <- TaskDeferralTimeout"
    assert by_scheduler["tries_failed_with"] == {chain: 2 * waits}, figures
    # ... and each case ended as the table says, the one as the other.
    ends_as_documented(by_trigger)
    ends_as_documented(by_scheduler)
    assert figures["same_outcome"], figures
