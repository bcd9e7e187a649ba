"""Reschedule-mode sensors while a Celery worker's whole session is SIGKILLed mid-poke.

The task it ran is noticed through `[scheduler] task_instance_heartbeat_timeout` (45 s here),
retried (retries=2) and must succeed; so must every other wait.
"""

from __future__ import annotations

import time

from deployment import WORKERS
from support import SIZES, Scenario, log, states_of

DAG_ID = "hubspot_reschedule_wait"
PROCESSING_SECONDS = 40.0


def test_worker_sigkill_mid_poke(scenario: Scenario) -> None:
    started = time.monotonic()
    runs = scenario.start_waits(DAG_ID, SIZES.reschedule_waits, PROCESSING_SECONDS)
    victim: dict[str, str] = {}

    def poking_on_a_worker() -> bool:
        # A poke is short: catch a sensor that has polled once (it is mid-wait) and runs again now.
        for row in scenario.task_rows(runs):
            if row["task_id"] == "wait" and row["state"] == "running" and row["hostname"] in WORKERS:
                polled = scenario.polls([next(r.import_id for r in runs if r.run_id == row["run_id"])])
                if any(polled.values()):
                    victim.update(row)
                    return True
        return False

    scenario.wait_for("a sensor mid-poke on a worker", poking_on_a_worker, timeout=300, every=0.3)
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
