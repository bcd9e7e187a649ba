"""Figure 6: what waiting in the triggerer costs, from `trigger_scale.py` run as a child process.

N `ImportStateTrigger` instances share one event loop against their own emulator process (1,000
in the full run, 100 in quick mode), then a bare `aiohttp.ClientSession` loop (a reference async
client) makes the same GETs. The child writes its JSON to a temporary file; this module turns
it into rows and keeps it as ``results/trigger_scale.json`` (full run, committed) or
``results/trigger_scale-quick.json`` (quick run, not tracked), so CI never overwrites the committed
full-run figures.
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
from benchmarks.trigger_scale import GOAL_CPU_RATIO, GOAL_RSS_MB

RESULTS = REPO / "benchmarks" / "results"
SCRIPT = REPO / "benchmarks" / "trigger_scale.py"
GOAL_TRIGGERS = 1000  # the memory goal is stated for this many waiting triggers
CPU_QUICK_LIMIT = 3.0  # quick mode fails only beyond 3x the bare loop's CPU per poll
RSS_QUICK_LIMIT_MB = 2 * GOAL_RSS_MB  # ... and beyond twice the memory goal (scaled to 1,000)


@dataclass(frozen=True)
class Settings:
    arguments: tuple[str, ...]  # for trigger_scale.py
    output: Path
    timeout_seconds: int


FULL = Settings((), RESULTS / "trigger_scale.json", 600)  # 1,000 triggers
QUICK = Settings(("--quick",), RESULTS / "trigger_scale-quick.json", 100)  # 100 triggers


def run_child(settings: Settings) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="hubspot-bench-triggers-") as tmp:
        output = Path(tmp) / "trigger_scale.json"
        completed = subprocess.run(
            [sys.executable, str(SCRIPT), *settings.arguments, "--output", str(output)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=settings.timeout_seconds,
        )
        # Exit status 1 means a goal was missed: the rows say which. No JSON means it broke.
        if completed.returncode not in (0, 1) or not output.exists():
            raise RuntimeError(
                f"trigger_scale.py failed (exit {completed.returncode}):\n{completed.stderr[-3000:]}"
            )
        text = output.read_text()
    settings.output.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = settings.output.with_suffix(".json.tmp")
    tmp_path.write_text(text)
    tmp_path.replace(settings.output)
    result: dict[str, Any] = json.loads(text)
    return result


def measure(settings: Settings) -> list[Row]:
    data = run_child(settings)
    count: int = data["triggers"]
    trig, bare = data["trigger"], data["bare_aiohttp_loop"]
    label = f"{count:,} ImportStateTriggers in one event loop"
    shape = f"{data['polls_per_import']} polls each, every {data['poll_interval_s']:g} s"

    completed: int = data["completed"]
    all_done = completed == count

    per_poll: float = trig["requests_per_poll"]
    one_each = per_poll == 1.0

    ratio: float = data["cpu_ratio_trigger_to_bare"]

    growth_mb: float = trig["rss_growth_mb"]
    per_trigger_kb = growth_mb * 1024 / count
    scaled_mb = per_trigger_kb * GOAL_TRIGGERS / 1024
    memory = f"{per_trigger_kb:.1f} KB per trigger ({growth_mb:.1f} MB total for {count:,}"
    memory += ")" if count == GOAL_TRIGGERS else f"; {scaled_mb:.0f} MB at {GOAL_TRIGGERS:,})"

    details = {"results_file": str(settings.output.relative_to(REPO)), "trigger_scale": data}
    return [
        Row(
            f"6a triggerer: {label}, all completed",
            f"{completed} of {count} succeeded ({shape})",
            "all",
            all_done,
            quick_fail=not all_done,
            details=details,
        ),
        Row(
            "6b triggerer: requests per poll (emulator log / client polls)",
            f"{per_poll:.3f} ({trig['requests']} requests, {trig['polls']} polls)",
            "exactly 1.000",
            one_each,
            quick_fail=not one_each,
        ),
        Row(
            "6c triggerer: CPU per poll, triggers vs bare aiohttp loop",
            f"{ratio:.2f}x ({trig['cpu_ms_per_poll']:.2f} vs {bare['cpu_ms_per_poll']:.2f} ms per poll)",
            f"<= {GOAL_CPU_RATIO:g}x",
            ratio <= GOAL_CPU_RATIO,
            quick_fail=ratio > CPU_QUICK_LIMIT,
        ),
        Row(
            "6d triggerer: memory per waiting trigger (peak RSS growth)",
            memory,
            f"total <= {GOAL_RSS_MB:g} MB for {GOAL_TRIGGERS:,}",
            scaled_mb <= GOAL_RSS_MB,
            quick_fail=scaled_mb > RSS_QUICK_LIMIT_MB,
        ),
    ]
