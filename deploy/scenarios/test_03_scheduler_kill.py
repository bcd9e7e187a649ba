"""The scheduler's whole session is SIGKILLed mid-run and started again: nothing is lost.

Deferred and reschedule-mode waits are in flight when it dies; every run must finish with every
task successful, each wait on its first try, and no import polled more than its budget.
"""

from __future__ import annotations

import time

from support import SIZES, Scenario, log, states_of

PROCESSING_SECONDS = 30.0


def test_scheduler_sigkill_and_restart(scenario: Scenario) -> None:
    started = time.monotonic()
    half = SIZES.scheduler_runs // 2
    runs = scenario.start_waits("hubspot_deferred_wait", half, PROCESSING_SECONDS)
    runs += scenario.start_waits("hubspot_reschedule_wait", SIZES.scheduler_runs - half, PROCESSING_SECONDS)

    def some_in_flight() -> bool:
        states = states_of(scenario.task_rows(runs), "wait")
        return states.get("deferred", 0) + states.get("up_for_reschedule", 0) >= max(2, len(runs) // 3)

    scenario.wait_for("waits in flight", some_in_flight, timeout=300, every=0.5)
    in_flight = states_of(scenario.task_rows(runs), "wait")
    pids = scenario.deployment.kill("scheduler")
    down_at = time.monotonic()
    log.info("SIGKILLed the scheduler (%d processes); waits: %s", len(pids), in_flight)
    time.sleep(10)
    scenario.deployment.start_component("scheduler")
    restarted_after = time.monotonic() - down_at

    rows = scenario.wait_all_finished(runs, timeout=900)
    polls = scenario.polls(run.import_id for run in runs)
    budget = scenario.request_budget(PROCESSING_SECONDS)
    per_wait = [len(entries) for entries in polls.values()]
    figures = {
        "runs": len(runs),
        "wait_states_at_kill": in_flight,
        "scheduler_down_s": round(restarted_after, 1),
        "wait_states": states_of(rows, "wait"),
        "downstream_states": states_of(rows, "downstream"),
        "max_try_number": max(row["try_number"] for row in rows),
        "requests_per_wait": {"max": max(per_wait), "budget": budget},
        "cancel_requests": scenario.cancels(),
        "scenario_wall_s": round(time.monotonic() - started, 1),
    }
    scenario.write_figures("scheduler_kill", figures)

    assert figures["wait_states"] == {"success": len(runs)}, figures
    assert figures["downstream_states"] == {"success": len(runs)}, figures
    assert figures["max_try_number"] == 1, rows
    assert max(per_wait) <= budget, per_wait
