"""Figure 3: API requests per wait, for an import lasting D seconds polled every P seconds.

A real ``dag.test()`` of a gate DAG (reschedule mode) against the emulator process; the import's
lifecycle is driven by time (PROCESSING for D seconds from its first GET, then DONE), so the
count depends on the poke interval only. Goal: exactly ceil(D/P) + 1 requests per wait.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.emulator_process import REPO, EmulatorProcess
from benchmarks.report import Row

GATE_DAGS = """
from datetime import datetime
from airflow.sdk import DAG
from airflow_provider_hubspot_imports.sensors.imports import ImportStateSensor

for poke_interval in {intervals}:
    with DAG(f"gate_every_{{poke_interval}}s", schedule=None, start_date=datetime(2026, 1, 1),
             catchup=False, params={{"import_id": "0"}}):
        ImportStateSensor(task_id="wait_for_import", import_id="{{{{ params.import_id }}}}",
                          mode="reschedule", poke_interval=poke_interval, timeout=300)
"""


@dataclass(frozen=True)
class Case:
    duration: int  # D, seconds the import stays PROCESSING from its first GET
    poke_interval: int  # P

    @property
    def expected(self) -> int:
        return math.ceil(self.duration / self.poke_interval) + 1


# D a multiple of P: scheduling overhead per poke stays far below what would skip a poll.
FULL = (Case(4, 2), Case(6, 2), Case(6, 3))
QUICK = (Case(2, 1),)


def measure(emulator: EmulatorProcess, cases: tuple[Case, ...]) -> list[Row]:
    runs = []
    for case in cases:
        lifecycle = [{"state": "PROCESSING", "seconds": case.duration}, ["DONE"]]
        (import_id,) = emulator.add_imports(lifecycle)
        runs.append((case, f"gate_every_{case.poke_interval}s", import_id))
    intervals = sorted({case.poke_interval for case in cases})
    with tempfile.TemporaryDirectory(prefix="hubspot-bench-airflow-") as tmp:
        home = Path(tmp)
        dags = home / "dags"
        dags.mkdir()
        (dags / "gate_dags.py").write_text(GATE_DAGS.format(intervals=intervals))
        env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
        env.update(
            AIRFLOW_HOME=str(home),
            AIRFLOW__CORE__DAGS_FOLDER=str(dags),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__DATABASE__LOAD_DEFAULT_CONNECTIONS="False",
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
            AIRFLOW_CONN_HUBSPOT_DEFAULT=emulator.connection_json(),
        )
        argument = json.dumps([[dag_id, import_id] for _, dag_id, import_id in runs])
        completed = subprocess.run(
            [sys.executable, "-m", "benchmarks.gate_run", argument],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(f"dag.test() of the gate DAG failed:\n{completed.stderr[-3000:]}")
    outcomes = json.loads(lines[-1][len("RESULT ") :])
    rows = []
    for (case, dag_id, import_id), outcome in zip(runs, outcomes, strict=True):
        counts = emulator.counts([import_id])
        requests = counts["total"]
        holds = outcome["state"] == "success" and requests == case.expected
        rows.append(
            Row(
                f"3 requests per wait, reschedule mode, D={case.duration}s P={case.poke_interval}s",
                f"{requests} requests, run {outcome['state']}",
                f"exactly ceil(D/P)+1 = {case.expected}",
                holds,
                quick_fail=not holds,
                details={
                    "dag_id": dag_id,
                    "import_id": import_id,
                    "run_seconds": outcome["seconds"],
                    "request_offsets_seconds": counts["offsets"],
                },
            )
        )
    # SLOT for the deferrable mode: when ImportStateTrigger lands, add a second task (or DAG) with
    # deferrable=True to GATE_DAGS, run the same cases through it, and replace this row with the
    # measured rows (same goal: exactly ceil(D/P)+1 requests per wait).
    rows.append(
        Row(
            "3 requests per wait, deferrable mode (slot: lands with the trigger)",
            "not measured yet",
            "exactly ceil(D/P)+1",
            None,
        )
    )
    return rows
