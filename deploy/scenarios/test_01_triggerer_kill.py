"""Deferred waits spread over both triggerers; one triggerer's whole session is SIGKILLed mid-wait.

Every wait must succeed, on its first try (so the dead triggerer's waits were resumed by the other
one, not re-run by a worker), within ceil(D/P) + 2 requests, with no import canceled.
"""

from __future__ import annotations

import time

from deployment import TRIGGERERS
from support import SIZES, Scenario, log, percentiles, states_of

DAG_ID = "hubspot_deferred_wait"


def trigger_holders(scenario: Scenario) -> dict[int, str]:
    """Trigger id -> hostname of the triggerer holding it."""
    rows = scenario.deployment.psql(
        "SELECT t.id, j.hostname FROM trigger t JOIN job j ON j.id = t.triggerer_id"
    )
    return {int(trigger_id): hostname for trigger_id, hostname in rows}


def deferred_imports(scenario: Scenario, import_of_run: dict[str, int]) -> dict[int, int]:
    """Trigger id -> import id, for the deferred task instances of this scenario's runs."""
    rows = scenario.deployment.psql(
        f"SELECT run_id, trigger_id FROM task_instance WHERE dag_id = '{DAG_ID}' AND trigger_id IS NOT NULL"
    )
    return {int(trigger_id): import_of_run[run_id] for run_id, trigger_id in rows if run_id in import_of_run}


def test_triggerer_sigkill_mid_wait(scenario: Scenario) -> None:
    seconds = SIZES.deferred_seconds
    started = time.monotonic()
    runs = scenario.start_waits(DAG_ID, SIZES.deferred_waits, seconds)
    import_of_run = {run.run_id: run.import_id for run in runs}
    log.info("triggered %d deferred waits of %g s each", len(runs), seconds)

    # Wait until every wait has made its first check and each one still waiting is held by a
    # triggerer (D is longer than it takes to defer them all, so all of them should be).
    def all_held() -> bool:
        if not all(scenario.polls(import_of_run.values()).values()):
            return False
        ours, holders = deferred_imports(scenario, import_of_run), trigger_holders(scenario)
        return len(ours) == len(runs) and all(trigger in holders for trigger in ours)

    deferral_s = scenario.wait_for("every wait deferred to a triggerer", all_held, timeout=900)
    holders = trigger_holders(scenario)
    ours = deferred_imports(scenario, import_of_run)
    split = {name: sum(1 for trigger in ours if holders.get(trigger) == name) for name in TRIGGERERS}
    victim = max(split, key=lambda name: split[name])
    survivor = next(name for name in TRIGGERERS if name != victim)
    victim_imports = {ours[trigger] for trigger in ours if holders.get(trigger) == victim}
    killed_at = time.time()
    pids = scenario.deployment.kill(victim)
    log.info(
        "split %s; SIGKILLed %s (%d processes) holding %d waits",
        split,
        victim,
        len(pids),
        len(victim_imports),
    )

    rows = scenario.wait_all_finished(runs, timeout=seconds + 900)
    wall_s = time.monotonic() - started
    # The victim comes back (as a restarted pod would) so later scenarios have two triggerers again.
    scenario.deployment.start_component(victim)

    polls = scenario.polls(import_of_run.values())
    budget = scenario.request_budget(seconds)
    per_wait = {import_id: len(entries) for import_id, entries in polls.items()}
    resumed_after = [
        min(entry["at"] for entry in polls[import_id] if entry["at"] > killed_at) - killed_at
        for import_id in victim_imports
        if any(entry["at"] > killed_at for entry in polls[import_id])
    ]
    latency = percentiles(scenario.done_to(runs, rows))
    figures = {
        "waits": len(runs),
        "processing_seconds": seconds,
        "poke_interval_s": 5.0,
        "split_before_kill": split,
        "killed": victim,
        "killed_processes": len(pids),
        "waits_on_killed_triggerer": len(victim_imports),
        "wait_states": states_of(rows, "wait"),
        "downstream_states": states_of(rows, "downstream"),
        "max_try_number": max(row["try_number"] for row in rows),
        "requests_per_wait": {
            "budget_ceil_D_over_P_plus_2": budget,
            "min": min(per_wait.values()),
            "max": max(per_wait.values()),
            "mean": round(sum(per_wait.values()) / len(per_wait), 2),
        },
        "killed_waits_resumed_after_s": percentiles(resumed_after),
        "cancel_requests": scenario.cancels(),
        "done_to_downstream_start_s": latency,
        "done_to_wait_success_s": percentiles(scenario.done_to(runs, rows, "wait", "end")),
        "deferral_of_all_waits_s": round(deferral_s, 1),
        "scenario_wall_s": round(wall_s, 1),
        "survivor": survivor,
    }
    scenario.write_figures("triggerer_kill", figures)

    assert figures["wait_states"] == {"success": len(runs)}, figures
    assert figures["downstream_states"] == {"success": len(runs)}, figures
    assert victim_imports, "the killed triggerer held no wait"
    # First try everywhere: the killed triggerer's waits were resumed by the other triggerer.
    assert all(row["try_number"] == 1 for row in rows if row["task_id"] == "wait"), rows
    # Each of them was polled after the kill, and only the survivor was alive to poll it.
    assert len(resumed_after) == len(victim_imports), (len(resumed_after), len(victim_imports))
    assert max(per_wait.values()) <= budget, per_wait
    assert figures["cancel_requests"] == 0
