"""Reschedule-mode sensors while a Celery worker's whole session is SIGKILLed mid-poke.

A poke lasts milliseconds, and a task instance still shown `running` may already have handed its
poke back: so the emulator holds one sensor's next poll, and the worker is killed while that poll is
held, surely mid-poke. The task is noticed through `[scheduler] task_instance_heartbeat_timeout`
(45 s here), retried (retries=2) and must succeed; so must every other wait.
"""

from __future__ import annotations

import time
from typing import Any

from deployment import WORKERS
from support import SIZES, Scenario, log, states_of

DAG_ID = "hubspot_reschedule_wait"
PROCESSING_SECONDS = 40.0
HELD_POLL_SECONDS = 20.0  # far longer than it takes to see the poll arrive and kill the worker


def test_worker_sigkill_mid_poke(scenario: Scenario) -> None:
    started = time.monotonic()
    runs = scenario.start_waits(DAG_ID, SIZES.reschedule_waits, PROCESSING_SECONDS)
    victim: dict[str, Any] = {}

    def wait_row() -> dict[str, Any]:
        return next(
            row
            for row in scenario.task_rows(runs)
            if row["run_id"] == victim["run_id"] and row["task_id"] == "wait"
        )

    def between_pokes() -> bool:
        for row in scenario.task_rows(runs):
            if row["task_id"] == "wait" and row["state"] == "up_for_reschedule":
                victim.update(row)
                return True
        return False

    def held_poke_on_a_worker() -> bool:
        if not scenario.emulator.held_poll_arrived(import_id):
            return False
        victim.update(wait_row())
        return bool(victim["state"] == "running" and victim["hostname"] in WORKERS)

    scenario.wait_for("a sensor that has poked once", between_pokes, timeout=300, every=0.3)
    import_id = next(run.import_id for run in runs if run.run_id == victim["run_id"])
    scenario.emulator.hold_next_poll(import_id, HELD_POLL_SECONDS)
    scenario.wait_for("its next poke, held by the emulator", held_poke_on_a_worker, timeout=120, every=0.2)
    worker = victim["hostname"]
    killed_at = time.time()
    pids = scenario.deployment.kill(worker)
    log.info("SIGKILLed %s (%d processes) while it ran %s", worker, len(pids), victim["run_id"])
    time.sleep(5)
    scenario.deployment.start_component(worker)  # the pod comes back

    rows = scenario.wait_all_finished(runs, timeout=900)
    killed_task = next(row for row in rows if row["run_id"] == victim["run_id"] and row["task_id"] == "wait")
    figures = {
        "waits": len(runs),
        "killed": worker,
        "held_poll_s": HELD_POLL_SECONDS,
        "killed_processes": len(pids),
        "wait_states": states_of(rows, "wait"),
        "downstream_states": states_of(rows, "downstream"),
        "killed_task_try_number": killed_task["try_number"],
        "killed_task_succeeded_after_s": round(killed_task["end"] - killed_at, 1)
        if killed_task["end"]
        else None,
        "cancel_requests": scenario.cancels(),
        "scenario_wall_s": round(time.monotonic() - started, 1),
    }
    scenario.write_figures("worker_kill_reschedule", figures)

    assert figures["wait_states"] == {"success": len(runs)}, figures
    assert figures["downstream_states"] == {"success": len(runs)}, figures
    assert killed_task["try_number"] >= 2, "the killed poke was not retried"
    assert killed_task["hostname"] in WORKERS
