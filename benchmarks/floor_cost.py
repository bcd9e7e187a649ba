"""Figures 7 and 8, from `async_floor.py` run as a child process.

7: CPU per poll of `ImportStateTrigger` against the raw asyncio HTTP/1.1 floor, with bare aiohttp
and httpx as references, side by side in interleaved rounds against an independent stand-in
server (300 and 1,000 concurrent waits, over plain HTTP and over HTTPS; quick mode: 300 over plain
HTTP, no httpx). Information, no goal: the cost that matters is a poll's in a real triggerer,
Airflow's bookkeeping included (`triggerer_real.py`).
8 (full run only): the shared pool's size: CPU per poll and how long the first burst of polls
takes to drain, at several pool sizes, against a stand-in that answers after 100 ms as HubSpot
would across the internet: 300 and 1,000 waits polling every second, and 190 waits (one HubSpot
account's budget per 10 s) polling together every 10 s. Reported, no goal: it is the figure the
pool size was chosen by.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.emulator_process import REPO
from benchmarks.report import Row

RESULTS = REPO / "benchmarks" / "results"
SCRIPT = REPO / "benchmarks" / "async_floor.py"
# Quick mode fails only on a return towards httpx's cost (40-80x the floor when it was the transport).
QUICK_LIMIT_RATIO = 15.0
POOL_SIZES = "5,10,20,50,100"  # the budget sweep reuses it
POOL_LATENCY_S = 0.1


@dataclass(frozen=True)
class Settings:
    arguments: tuple[str, ...]
    output: Path
    timeout_seconds: int
    pool_sizes: bool  # figure 8 too
    tls: bool = False  # figure 7 over HTTPS too


FULL = Settings((), RESULTS / "async_floor.json", 600, True, True)
QUICK = Settings(("--quick", "--interval", "0.5"), RESULTS / "async_floor-quick.json", 120, False)


def run_child(arguments: tuple[str, ...], output: Path | None, timeout: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="hubspot-bench-floor-") as tmp:
        written = Path(tmp) / "async_floor.json"
        completed = subprocess.run(
            [sys.executable, str(SCRIPT), *arguments, "--output", str(written)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if completed.returncode != 0 or not written.exists():
            raise RuntimeError(
                f"async_floor.py failed (exit {completed.returncode}):\n{completed.stderr[-3000:]}"
            )
        text = written.read_text()
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)
    result: dict[str, Any] = json.loads(text)
    return result


def client_rows(data: dict[str, Any]) -> list[Row]:
    rows = []
    over = "HTTPS" if data.get("tls") else "plain HTTP"
    for count, found in data["results"].items():
        best, ratios = found["best"], found["ratio_to_raw"]
        trigger, raw = best["trigger"], best["raw"]
        ratio = ratios["trigger"]
        references = ", ".join(
            f"{client} {best[client]['cpu_ms_per_poll']:.3f} ms ({ratios[client]:.1f}x)"
            for client in ("aiohttp", "httpx")
            if client in best
        )
        rows.append(
            Row(
                f"7 triggerer floor: CPU per poll, {int(count):,} waits over {over}, "
                f"ImportStateTrigger / raw asyncio",
                f"{ratio:.1f}x ({trigger['cpu_ms_per_poll']:.3f} vs {raw['cpu_ms_per_poll']:.3f} ms; "
                f"{references}; {trigger['requests_per_poll']:.3f} requests per poll)",
                "- (reported)",
                None,
                quick_fail=ratio > QUICK_LIMIT_RATIO or trigger["requests_per_poll"] != 1.0,
                details={"async_floor": found},
            )
        )
    return rows


def pool_rows(data: dict[str, Any]) -> list[Row]:
    by_count: dict[int, list[dict[str, Any]]] = {}
    for entry in data["results"].values():
        by_count.setdefault(entry["waits"], []).append(entry)
    rows = []
    for count, entries in sorted(by_count.items()):
        cells = "; ".join(
            f"{entry['pool_size']}: {entry['cpu_ms_per_poll']:.2f} ms, burst {entry['first_burst_s']:.1f} s"
            for entry in sorted(entries, key=lambda entry: entry["pool_size"])
        )
        shape = f"{count:,} waits every {data['interval_s']:g} s, {data['latency_s'] * 1000:g} ms answers"
        rows.append(
            Row(
                f"8 shared pool size ({shape}): CPU per poll, first burst",
                cells,
                "-",
                None,
                details={"pool_sizes": entries},
            )
        )
    return rows


def measure(settings: Settings) -> list[Row]:
    rows = client_rows(run_child(settings.arguments, settings.output, settings.timeout_seconds))
    if settings.tls:
        output = RESULTS / "async_floor_tls.json"
        rows += client_rows(run_child((*settings.arguments, "--tls"), output, settings.timeout_seconds))
    if settings.pool_sizes:
        arguments = ("--pool-sizes", POOL_SIZES, "--latency", str(POOL_LATENCY_S))
        output = RESULTS / "async_floor_pool_sizes.json"
        rows += pool_rows(run_child(arguments, output, settings.timeout_seconds))
        # One account's whole budget at once: 190 waits polling together every 10 s.
        budget = (*arguments, "--counts", "190", "--interval", "10", "--polls", "3")
        output = RESULTS / "async_floor_pool_sizes_budget.json"
        rows += pool_rows(run_child(budget, output, settings.timeout_seconds))
    return rows
