"""A token rotated in the secrets backend mid-wait: HubSpot (the emulator) refuses the old token
from that moment on, and the connections file the secrets backend reads holds the new one.

Reschedule-mode sensors read the connection at every poke and must carry on. A deferred wait's
trigger reads the connection once, when it starts; what it does after the rotation is measured and
reported. OAuth waits (refresh token, client secret) run alongside, so the log scan sees them too.
"""

from __future__ import annotations

import secrets
import time

from support import SIZES, SIZES_FULL, Scenario, log, states_of

PROCESSING_SECONDS = 120.0 if SIZES_FULL else 40.0  # longer than it takes all to start
OAUTH = {"client_id": "deploy-client-id"}


def test_token_rotated_mid_wait(scenario: Scenario) -> None:
    deployment = scenario.deployment
    old_token = deployment.state.get("token") or ""
    oauth = scenario.emulator.add_oauth_app(
        "deploy-client-id", f"cs-{secrets.token_hex(12)}", f"rt-{secrets.token_hex(12)}"
    )
    deployment.write_connections(old_token, oauth)
    deferred = scenario.start_waits("hubspot_deferred_wait", SIZES.rotation_waits, PROCESSING_SECONDS)
    rescheduled = scenario.start_waits("hubspot_reschedule_wait", SIZES.rotation_waits, PROCESSING_SECONDS)
    oauth_runs = scenario.start_waits("hubspot_oauth_wait", 1, PROCESSING_SECONDS)
    runs = deferred + rescheduled

    # Mid-wait: every reschedule sensor has poked once, and every deferred one has polled from the
    # triggerer too (its trigger opens its client, and reads the connection, at its first poll).
    # Waiting for all of them to sit in deferred/up_for_reschedule at one instant is a race.
    def all_waiting() -> bool:
        polls = scenario.polls(run.import_id for run in runs)
        return all(len(polls[run.import_id]) >= 2 for run in deferred) and all(
            polls[run.import_id] for run in rescheduled
        )

    scenario.wait_for("every wait polling", all_waiting, timeout=600, every=0.5)
    polled_before = scenario.polls(run.import_id for run in runs)
    new_token = f"pat-na1-{secrets.token_hex(16)}"
    deployment.write_connections(new_token, oauth)
    scenario.emulator.rotate_token(old_token, new_token)
    deployment.state.setdefault("rotated_tokens", []).append(new_token)
    deployment.state["oauth"] = oauth
    deployment.save()
    rotated_at = time.time()
    log.info("rotated the token of hubspot_default; the old one is refused from now on")

    rows = scenario.wait_all_finished(runs, timeout=900)
    oauth_rows = scenario.wait_all_finished(oauth_runs, timeout=600)
    refused = [
        entry
        for entry in scenario.emulator.requests([run.import_id for run in runs])
        if entry["status"] == 401 and entry["at"] >= rotated_at
    ]
    deferred_rows = [
        row for row in rows if row["dag_id"] == "hubspot_deferred_wait" and row["task_id"] == "wait"
    ]
    reschedule_rows = [
        row for row in rows if row["dag_id"] == "hubspot_reschedule_wait" and row["task_id"] == "wait"
    ]
    figures = {
        "waits_per_mode": SIZES.rotation_waits,
        "reschedule_wait_states": states_of(reschedule_rows),
        "reschedule_max_try_number": max(row["try_number"] for row in reschedule_rows),
        "deferred_wait_states": states_of(deferred_rows),
        "deferred_try_numbers": sorted(row["try_number"] for row in deferred_rows),
        "requests_refused_401_after_rotation": len(refused),
        "fewest_polls_before_rotation": {
            "deferred": min(len(polled_before[run.import_id]) for run in deferred),
            "reschedule": min(len(polled_before[run.import_id]) for run in rescheduled),
        },
        "oauth_task_states": states_of(oauth_rows),
    }
    scenario.write_figures("token_rotation", figures)

    # The rotation came mid-wait: each deferred wait had polled from its trigger, each reschedule
    # sensor had poked.
    assert figures["fewest_polls_before_rotation"]["deferred"] >= 2, figures
    assert figures["fewest_polls_before_rotation"]["reschedule"] >= 1, figures
    assert figures["reschedule_wait_states"] == {"success": len(rescheduled)}, figures
    assert figures["reschedule_max_try_number"] == 1, figures
    assert figures["oauth_task_states"] == {"success": 3}, figures
    # A deferred wait's 401 makes its client read the connection again (from the secrets backend).
    assert figures["deferred_wait_states"] == {"success": len(deferred)}, figures
    assert figures["deferred_try_numbers"][-1] == 1, figures
