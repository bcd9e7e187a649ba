"""Start operators (deferred and not, retries=2) while a worker is SIGKILLed at crash points of a
start: exactly one import per task instance.

Crash points, each a SIGKILL of the whole worker session running the start:
- `answer_in_flight` (both modes): HubSpot has created the import but its answer has not reached
  the task yet (the emulator holds each start's answer for a while). The retry finds the import
  by the task instance's key in HubSpot's list of active imports and adopts it.
- `waiting_in_worker` (full mode, worker wait): the import's id is saved, the try polls it. The
  retry reconnects to it through the task state store.
A try killed before its upload creates nothing, so its retry's single start is trivially the one
import; that point is covered by the package's own crash-point tests, not here.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from deployment import WORKERS
from support import SIZES_FULL, Run, Scenario, log, states_of

START_DELAY_S = 20.0
DAGS = {"deferred": "hubspot_start_deferred", "worker": "hubspot_start_worker"}


def imports_of(scenario: Scenario, run: Run) -> list[dict[str, object]]:
    """Imports started for `run` (their names carry its run id)."""
    prefix = f"Deploy {run.run_id}"
    return [item for item in scenario.emulator.started_imports() if str(item["name"]).startswith(prefix)]


def start_task(scenario: Scenario, run: Run) -> dict[str, object] | None:
    return next((row for row in scenario.task_rows([run]) if row["task_id"] == "start"), None)


def kill_worker_when(
    scenario: Scenario, runs: list[Run], ready: Callable[[Run], bool], what: str
) -> dict[str, list[str]]:
    """For each run, once `ready(run)` holds, SIGKILL the worker running its start (each worker once)."""
    killed: dict[str, list[str]] = {}
    pending = list(runs)
    deadline = time.monotonic() + 600
    while pending:
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        for run in list(pending):
            row = start_task(scenario, run)
            if row and row["state"] == "running" and row["hostname"] in WORKERS and ready(run):
                worker = str(row["hostname"])
                if worker not in killed:
                    pids = scenario.deployment.kill(worker)
                    log.info(
                        "%s: SIGKILLed %s (%d processes) running %s", what, worker, len(pids), run.run_id
                    )
                    killed[worker] = []
                killed[worker].append(run.run_id)
                pending.remove(run)
        time.sleep(0.3)
    time.sleep(3)
    for worker in killed:
        scenario.deployment.start_component(worker)  # the pods come back
    return killed


def test_start_operator_worker_kill_exactly_one_import(scenario: Scenario) -> None:
    started = time.monotonic()
    csv = scenario.deployment.run / "data" / "contacts.csv"
    csv.parent.mkdir(exist_ok=True)
    csv.write_text("email,firstname\n" + "".join(f"p{n}@example.com,P{n}\n" for n in range(50)))
    scenario.emulator.set_start_lifecycle([{"state": "PROCESSING", "polls": 3}, "DONE"])
    conf = {"csv": str(csv)}
    figures: dict[str, object] = {}
    all_runs: list[Run] = []

    # Crash point 1: the import exists, the start's answer is still on its way.
    scenario.emulator.set_start_delay(START_DELAY_S)
    in_flight = [scenario.trigger(dag_id, 0, conf) for dag_id in DAGS.values()]
    killed = kill_worker_when(
        scenario, in_flight, lambda run: bool(imports_of(scenario, run)), "answer_in_flight"
    )
    scenario.emulator.set_start_delay(0)
    figures["answer_in_flight"] = {"killed": killed}
    all_runs += in_flight

    if SIZES_FULL:
        # Crash point 2: the import's id is saved; the try is polling it in the worker.
        waiting = [scenario.trigger(DAGS["worker"], 0, conf)]

        def polled(run: Run) -> bool:
            ids = [int(str(item["id"])) for item in imports_of(scenario, run)]
            return bool(ids) and any(scenario.polls(ids).values())

        figures["waiting_in_worker"] = {
            "killed": kill_worker_when(scenario, waiting, polled, "waiting_in_worker")
        }
        all_runs += waiting

    rows = scenario.wait_all_finished(all_runs, timeout=900)
    per_task = {run.run_id: len(imports_of(scenario, run)) for run in all_runs}
    starts = {row["run_id"]: row for row in rows if row["task_id"] == "start"}
    figures.update(
        {
            "task_instances": len(all_runs),
            "imports_per_task_instance": per_task,
            "start_states": states_of(rows, "start"),
            "downstream_states": states_of(rows, "downstream"),
            "start_try_numbers": {run_id: row["try_number"] for run_id, row in starts.items()},
            "scenario_wall_s": round(time.monotonic() - started, 1),
        }
    )
    scenario.write_figures("start_operator_worker_kill", figures)

    assert figures["start_states"] == {"success": len(all_runs)}, figures
    assert figures["downstream_states"] == {"success": len(all_runs)}, figures
    assert set(per_task.values()) == {1}, per_task
    assert all(row["try_number"] >= 2 for row in starts.values()), "a killed start was not retried"
