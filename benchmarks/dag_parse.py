"""Figure 2: what this provider adds to every parse of a DAG file.

Fresh interpreters each time (a DAG processor parses in fresh processes too), bytecode cached as in
any real deployment, medians over repeats; the DagBag comparison alternates the two DAG files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.emulator_process import REPO
from benchmarks.report import Row
from benchmarks.stats import median

IMPORT_GOAL_MS = 30.0
IMPORT_QUICK_LIMIT_MS = 60.0  # quick mode fails only at twice the goal
PARSE_QUICK_LIMIT = 1.25  # quick mode fails only when 25 % slower than the HttpSensor DAG
SENSORS = 50

HUBSPOT_DAG = """
from datetime import datetime
from airflow.sdk import DAG
from airflow_provider_hubspot_imports.sensors.imports import ImportStateSensor

with DAG("hubspot_sensors", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    for number in range({count}):
        ImportStateSensor(task_id=f"wait_{{number}}", import_id=number + 1, poke_interval=60)
"""

HTTP_DAG = """
from datetime import datetime
from airflow.sdk import DAG
from airflow.providers.http.sensors.http import HttpSensor

with DAG("http_sensors", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    for number in range({count}):
        HttpSensor(
            task_id=f"wait_{{number}}",
            http_conn_id="http_default",
            endpoint=f"crm/imports/2026-03/{{number + 1}}",
            mode="reschedule",
            poke_interval=60,
        )
"""


@dataclass(frozen=True)
class Plan:
    import_repeats: int
    parse_pairs: int


FULL = Plan(import_repeats=9, parse_pairs=7)
QUICK = Plan(import_repeats=3, parse_pairs=2)


def _child(*args: str) -> dict[str, Any]:
    # Bytecode is cached as in a deployment: this machine sets PYTHONDONTWRITEBYTECODE.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.parse_child", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def _dag_folders(root: Path) -> tuple[Path, Path]:
    folders = []
    for name, source in (("hubspot", HUBSPOT_DAG), ("http", HTTP_DAG)):
        folder = root / name
        folder.mkdir()
        (folder / f"{name}_sensors.py").write_text(source.format(count=SENSORS))
        folders.append(folder)
    return folders[0], folders[1]


def measure(plan: Plan) -> list[Row]:
    _child("import")  # writes the bytecode caches of this package
    imports = [_child("import") for _ in range(plan.import_repeats)]
    import_ms = median([run["seconds"] * 1000 for run in imports])
    leaked = sorted({name for run in imports for name in run["loaded_by_sensor"]})
    with tempfile.TemporaryDirectory(prefix="hubspot-bench-dags-") as tmp:
        ours, theirs = _dag_folders(Path(tmp))
        _child("dagbag", str(ours))
        _child("dagbag", str(theirs))
        pairs = []
        for number in range(plan.parse_pairs):
            order = (ours, theirs) if number % 2 == 0 else (theirs, ours)
            runs = {folder: _child("dagbag", str(folder)) for folder in order}
            for run in runs.values():
                if run["errors"] or run["tasks"] != SENSORS:
                    raise RuntimeError(f"the benchmark DAG did not parse: {run}")
            pairs.append((runs[ours]["seconds"], runs[theirs]["seconds"]))
    parse_ratio = median([a / b for a, b in pairs])
    return [
        Row(
            "2a DAG-parse import cost: sensors + operators after airflow.sdk",
            f"{import_ms:.1f} ms (median of {len(imports)} fresh processes)",
            f"<= {IMPORT_GOAL_MS:.0f} ms",
            import_ms <= IMPORT_GOAL_MS,
            quick_fail=import_ms > IMPORT_QUICK_LIMIT_MS,
            details={"runs": imports},
        ),
        Row(
            "2b sensor module imports no requests / aiohttp / hook",
            "none imported" if not leaked else f"imported: {', '.join(leaked)}",
            "none",
            not leaked,
            quick_fail=bool(leaked),
        ),
        Row(
            f"2c DagBag parse, {SENSORS} ImportStateSensors vs {SENSORS} HttpSensors",
            f"{parse_ratio:.2f}x (median of {len(pairs)} alternating pair{'s' if len(pairs) != 1 else ''})",
            "<= 1.00x (no slower)",
            parse_ratio <= 1.0,
            quick_fail=parse_ratio > PARSE_QUICK_LIMIT,
            details={
                "pairs_seconds": pairs,
                "median_ms": {
                    "ImportStateSensor": round(median([p[0] for p in pairs]) * 1000, 1),
                    "HttpSensor": round(median([p[1] for p in pairs]) * 1000, 1),
                },
            },
        ),
    ]
