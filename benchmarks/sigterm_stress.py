"""SIGTERM at the worst moment: the stop tests' children (`tests/sigterm_child.py`,
`tests/sigterm_start_child.py`) killed right after their ready line, N times, while two busy loops
hold both cores and stdout is buffered (no PYTHONUNBUFFERED). A run passes when `on_kill`
finished, nothing raised (no traceback, no `reentrant call`), no SIGKILL was needed, and the
import was canceled on the start operator's last try and left running otherwise (before the last
try, and by a sensor, whose re-run after a clear waits on the same import).

    python benchmarks/sigterm_stress.py            # 50 runs; writes results/sigterm_stress.json
    python benchmarks/sigterm_stress.py --runs 10 --output out.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent / "tests"
sys.path.insert(0, str(TESTS))

from sigterm_support import sigterm_when_ready  # noqa: E402

from airflow_provider_hubspot_imports.testing import HubSpotEmulator  # noqa: E402

BUSY_LOOP = "while True: pass"
SCENARIOS = ("sensor last", "sensor retry", "start last", "start retry")


def child_env(emulator: HubSpotEmulator, home: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        AIRFLOW_CONN_HUBSPOT_DEFAULT=emulator.connection_json(retry_backoff_seconds=0.05),
        PYTHONPATH=os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")]),
    )
    return env


def one_run(emulator: HubSpotEmulator, env: dict[str, str], scenario: str, run: int, csv: Path) -> dict:
    kind, which_try = scenario.split()
    if kind == "sensor":
        import_id = emulator.add_import(lifecycle=[("PROCESSING",)])
        args = [str(TESTS / "sigterm_child.py"), str(import_id), which_try]
        output = sigterm_when_ready(args, env, "poked")
    else:
        emulator.set_start_lifecycle([("PROCESSING",)])
        before = {item["id"] for item in emulator.started_imports()}
        args = [str(TESTS / "sigterm_start_child.py"), str(csv), which_try, f"manual__stress_{run}"]
        output = sigterm_when_ready(args, env, "polled")
        new = [item["id"] for item in emulator.started_imports() if item["id"] not in before]
        import_id = new[0] if len(new) == 1 else None
    canceled = None
    if import_id is not None:
        canceled = sum(entry.method == "POST" for entry in emulator.requests(int(import_id)))
    # Only the start operator cancels on its last try; a sensor's re-run after a clear waits on.
    expected = 1 if which_try == "last" and kind == "start" else 0
    problems = [
        problem
        for problem, found in (
            ("on_kill did not finish", "on_kill took" not in output),
            ("traceback", "Traceback" in output),
            ("reentrant call", "reentrant call" in output),
            ("SIGKILL", "SIGKILL" in output),
            (f"{canceled} cancels, expected {expected}", canceled != expected),
        )
        if found
    ]
    return {"scenario": scenario, "ok": not problems, "problems": problems, "output": output[-1500:]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--output", type=Path, default=HERE / "results" / "sigterm_stress.json")
    args = parser.parse_args()
    busy = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(2)]
    results = []
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory() as home, HubSpotEmulator() as emulator:
            csv = Path(home) / "contacts.csv"
            csv.write_text("email,firstname\na@example.com,A\n")
            env = child_env(emulator, Path(home))
            for run in range(args.runs):
                result = one_run(emulator, env, SCENARIOS[run % len(SCENARIOS)], run, csv)
                results.append(result)
                print(f"{run + 1:3d} {result['scenario']:13s} {'ok' if result['ok'] else result['problems']}")
    finally:
        for loop in busy:
            loop.kill()
            loop.wait()
    passed = sum(result["ok"] for result in results)
    summary = {
        "runs": len(results),
        "passed": passed,
        "busy_loops": len(busy),
        "stdout": "buffered (PYTHONUNBUFFERED unset)",
        "seconds": round(time.monotonic() - started, 1),
        "failures": [result for result in results if not result["ok"]],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"{passed} of {len(results)} runs passed; written to {args.output}")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
