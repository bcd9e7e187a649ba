"""Figure 4: many concurrent waits under HubSpot's rolling rate limit.

50 sensors start together and poke faster than the budget allows. Measured: requests sent, 429s
received, time to finish, against the least time the limit allows for the requests that were
answered. Goal: no wait fails; the finish is within a small factor of that minimum.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass

from benchmarks.emulator_process import REPO, EmulatorProcess
from benchmarks.report import Row

TIME_GOAL = 2.0  # finish within 2x the least time the limit allows
TIME_QUICK_LIMIT = 4.0


@dataclass(frozen=True)
class Plan:
    waits: int
    budget: int
    window_seconds: float
    duration: float  # D: each import is PROCESSING for D seconds from its first GET
    poke_interval: float  # P
    deadline: float

    @property
    def label(self) -> str:
        limit = f"{self.budget} req/{self.window_seconds:g} s"
        return f"{self.waits} waits, {limit}, D={self.duration:g}s P={self.poke_interval:g}s"

    @property
    def wanted(self) -> int:
        """Requests the waits would send without any limit."""
        return self.waits * (math.ceil(self.duration / self.poke_interval) + 1)


FULL = Plan(waits=50, budget=100, window_seconds=10, duration=4, poke_interval=2, deadline=240)
# Quick mode: HubSpot's budget on a 2 s window instead of 10 s (same shape, five times faster).
QUICK = Plan(waits=50, budget=100, window_seconds=2, duration=1, poke_interval=0.5, deadline=60)


def least_seconds(answered: int, plan: Plan) -> float:
    """The earliest the last answered request can be admitted, and at least D (a second poll is due)."""
    return max(plan.duration, plan.window_seconds * ((answered - 1) // plan.budget))


def measure(emulator: EmulatorProcess, plan: Plan) -> tuple[list[Row], float]:
    lifecycle = [{"state": "PROCESSING", "seconds": plan.duration}, ["DONE"]]
    import_ids = emulator.add_imports(lifecycle, count=plan.waits)
    emulator.command("rate_limit", budget=plan.budget, window_seconds=plan.window_seconds)
    env = {**os.environ, "AIRFLOW_CONN_HUBSPOT_DEFAULT": emulator.connection_json()}
    try:
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.rate_limit_waits",
                json.dumps(import_ids),
                str(plan.poke_interval),
                str(plan.deadline),
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=plan.deadline + 120,
        )
    finally:
        emulator.command("rate_limit", budget=None)
    lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
    if not lines:
        raise RuntimeError(f"the concurrent waits crashed:\n{completed.stderr[-3000:]}")
    outcome = json.loads(lines[-1][len("RESULT ") :])
    counts = emulator.counts(import_ids)
    by_status = counts["by_status"]
    answered, limited = by_status.get("200", 0), by_status.get("429", 0)
    failed = [wait for wait in outcome["waits"] if not wait.get("ok")] + [{}] * outcome["unfinished"]
    least = least_seconds(answered, plan)
    time_ratio = outcome["seconds"] / least
    peak_rate = counts["total"] / outcome["seconds"]
    details = {
        "plan": plan.label,
        "requests": counts["total"],
        "by_status": by_status,
        "wanted_without_limit": plan.wanted,
        "seconds": round(outcome["seconds"], 2),
        "least_seconds": least,
        "failed_waits": failed[:5],
        "waits_with_429": len(counts["429_by_import"]),
        "most_429s_in_one_wait": max(counts["429_by_import"].values(), default=0),
        "pokes_per_wait_max": max((wait.get("pokes", 0) for wait in outcome["waits"]), default=0),
    }
    rows = [
        Row(
            f"4a rate limit: {plan.label}: waits failed",
            f"{len(failed)} of {plan.waits} failed",
            "0",
            not failed,
            quick_fail=bool(failed),
            details=details,
        ),
        Row(
            "4b rate limit: requests sent / 429s received",
            f"{counts['total']} sent ({answered} answered, {limited} x 429 in "
            f"{len(counts['429_by_import'])} waits, at most "
            f"{max(counts['429_by_import'].values(), default=0)} per wait); {plan.wanted} wanted unlimited",
            "report only",
            None,
        ),
        Row(
            "4c rate limit: time to finish vs least the limit allows",
            f"{time_ratio:.2f}x ({outcome['seconds']:.1f} s vs {least:g} s)",
            f"<= {TIME_GOAL:g}x",
            time_ratio <= TIME_GOAL,
            quick_fail=time_ratio > TIME_QUICK_LIMIT,
        ),
    ]
    return rows, peak_rate
