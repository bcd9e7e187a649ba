"""Figure 5: the emulator is not the bottleneck of the other figures.

A few keep-alive clients (separate processes) drive it flat out; its throughput, and the capacity
its own CPU time per request implies, are compared with the highest rate any figure drives.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

from benchmarks.emulator_process import REPO, EmulatorProcess
from benchmarks.report import Row

GOAL_FACTOR = 3.0  # "several times": at least 3x the highest driven rate
QUICK_LIMIT = 1.5


@dataclass(frozen=True)
class Plan:
    clients: int
    seconds: float


FULL = Plan(clients=3, seconds=3.0)
QUICK = Plan(clients=3, seconds=1.5)


def measure(emulator: EmulatorProcess, plan: Plan, driven: dict[str, float]) -> list[Row]:
    (import_id,) = emulator.add_imports([["PROCESSING"]])
    url = f"{emulator.base_url}/crm/imports/2026-03/{import_id}"
    cpu_before = emulator.cpu_seconds()
    served_before = emulator.counts()["total"]
    clients = [
        subprocess.Popen(
            [sys.executable, "-m", "benchmarks.load_client", url, emulator.token, str(plan.seconds)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(plan.clients)
    ]
    answered = 0
    for client in clients:
        out, _ = client.communicate(timeout=plan.seconds + 60)
        answered += int(out.strip())
    served = emulator.counts()["total"] - served_before
    cpu_ms = (emulator.cpu_seconds() - cpu_before) / served * 1000
    throughput = answered / plan.seconds
    by_cpu = 1000 / cpu_ms
    busiest = max(driven, key=lambda name: driven[name])
    factor = throughput / driven[busiest]
    return [
        Row(
            f"5 emulator throughput, {plan.clients} keep-alive clients vs busiest figure",
            f"{throughput:,.0f} req/s = {factor:.1f}x {busiest} ({driven[busiest]:,.0f} req/s); "
            f"{cpu_ms:.2f} ms CPU/request",
            f">= {GOAL_FACTOR:g}x",
            factor >= GOAL_FACTOR,
            quick_fail=factor < QUICK_LIMIT,
            details={
                "throughput_rps": round(throughput),
                "capacity_by_cpu_rps": round(by_cpu),
                "emulator_cpu_ms_per_request": round(cpu_ms, 4),
                "driven_rps": {name: round(rate, 1) for name, rate in driven.items()},
            },
        )
    ]
