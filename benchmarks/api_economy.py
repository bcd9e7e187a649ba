"""Figure 3: API requests per wait, for an import lasting D seconds polled every P seconds.

A real ``dag.test()`` of gate DAGs against the emulator process, one with the sensor in reschedule
mode and one with ``deferrable=True`` (on Airflow 3.3, ``dag.test()`` runs the trigger inline);
the import's lifecycle is driven by time (PROCESSING for D seconds from its first GET, then DONE),
so the count depends on the poke interval only. Goal in both modes: exactly ceil(D/P) + 1
requests per wait.

In deferrable mode the first request is the sensor's check before it defers; the trigger's first
poll comes one interval after that check (`first_poll_at`), as the next poke would.
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
from typing import Any

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
    with DAG(f"gate_deferred_every_{{poke_interval}}s", schedule=None, start_date=datetime(2026, 1, 1),
             catchup=False, params={{"import_id": "0"}}):
        ImportStateSensor(task_id="wait_for_import", import_id="{{{{ params.import_id }}}}",
                          deferrable=True, poke_interval=poke_interval, timeout=300)
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

# Every case runs in both modes, through its own DAG of GATE_DAGS.
MODES = ("reschedule", "deferrable")
DAG_IDS = {"reschedule": "gate_every_{}s", "deferrable": "gate_deferred_every_{}s"}


def measure(emulator: EmulatorProcess, cases: tuple[Case, ...]) -> list[Row]:
    runs = []
    for mode in MODES:
        for case in cases:
            lifecycle = [{"state": "PROCESSING", "seconds": case.duration}, ["DONE"]]
            (import_id,) = emulator.add_imports(lifecycle)
            runs.append((mode, case, DAG_IDS[mode].format(case.poke_interval), import_id))
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
        argument = json.dumps([[dag_id, import_id] for _, _, dag_id, import_id in runs])
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
    return [
        _row(mode, case, dag_id, import_id, outcome, emulator.counts([import_id]))
        for (mode, case, dag_id, import_id), outcome in zip(runs, outcomes, strict=True)
    ]


def _row(
    mode: str, case: Case, dag_id: str, import_id: int, outcome: dict[str, Any], counts: dict[str, Any]
) -> Row:
    requests: int = counts["total"]
    offsets: list[float] = counts["offsets"]
    success = outcome["state"] == "success"
    holds = success and requests == case.expected
    measured = f"{requests} requests, run {outcome['state']}"
    details: dict[str, Any] = {
        "dag_id": dag_id,
        "import_id": import_id,
        "run_seconds": outcome["seconds"],
        "request_offsets_seconds": offsets,
    }
    quick_fail = not holds
    if mode == "deferrable" and len(offsets) >= 2:
        # The first request is the sensor's check before deferring, every later one a trigger poll.
        first_poll = offsets[1]
        details["trigger_polls"] = requests - 1
        details["first_trigger_poll_after_check_seconds"] = first_poll
        measured += f" (1 check + {requests - 1} trigger polls, the 1st {first_poll:.2f} s after the check)"
    return Row(
        f"3 requests per wait, {mode} mode, D={case.duration}s P={case.poke_interval}s",
        measured,
        f"exactly ceil(D/P)+1 = {case.expected}",
        holds,
        quick_fail=quick_fail,
        details=details,
    )
