"""Pre-flight's cost: `HubSpotHook.validate_import` (local and schema checks) against a bare
`csv.reader` pass over the same file, side by side in one process, and its peak-memory growth.

Each size runs in a fresh child process with the emulator in a thread (the schema comes over
HTTP, once): a warm-up validation of a tiny file, then the baseline peak RSS, then alternating
rounds of the bare pass and the validation. The file has 10 columns of a contacts import: two
id/unique columns (repeat detection), two enumerations, a date, a number, an email.

    python benchmarks/preflight.py --rows 1000000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.report import Row

RATIO_GOAL = 2.0  # validation at most twice a bare csv.reader pass
RATIO_GOAL_ROWS = 1_000_000  # the size the time goal is set at (smaller files: reported)
MEMORY_GOAL_MB = 64.0  # peak RSS growth, whatever the file's size
QUICK = {"sizes": (20_000,), "rounds": 1}
FULL = {"sizes": (100_000, 1_000_000), "rounds": 3}
COLUMNS: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("email", "email", {"idColumnType": "HUBSPOT_ALTERNATE_ID"}),
    ("firstname", "firstname", {}),
    ("lastname", "lastname", {}),
    ("phone", "phone", {}),
    ("city", "city", {}),
    ("lifecyclestage", "lifecyclestage", {}),
    ("hs_lead_status", "hs_lead_status", {}),
    ("date_of_birth", "date_of_birth", {}),
    ("loyalty_points", "loyalty_points", {}),
    ("customer_id", "customer_id", {}),
)
STAGES = ("subscriber", "lead", "Marketing Qualified Lead", "customer", "opportunity")
STATUSES = ("NEW", "OPEN", "In Progress", "UNQUALIFIED")

MEASURED = r"""
import csv, json, os, resource, sys, time
from pathlib import Path
from airflow_provider_hubspot_imports.testing import HubSpotEmulator

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes

path, tiny, rounds = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
request = json.loads(sys.argv[4])
tiny_request = json.loads(sys.argv[5])
with HubSpotEmulator() as emulator:
    os.environ["AIRFLOW_CONN_HUBSPOT_DEFAULT"] = emulator.connection_json()
    from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook
    hook = HubSpotHook()
    warm = hook.validate_import(tiny_request, [tiny])  # imports, session, the schema request
    assert not warm.has_errors, warm.summary()
    baseline = peak_mb()
    bare, checked, bare_cpu, checked_cpu = [], [], [], []
    for _ in range(rounds):
        started, cpu = time.perf_counter(), time.process_time()
        report = hook.validate_import(request, [path])
        checked.append(time.perf_counter() - started)
        checked_cpu.append(time.process_time() - cpu)
        assert not report.has_errors and report.files[0].read_to_end, report.summary()
        started, cpu = time.perf_counter(), time.process_time()
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.reader(handle):
                pass
        bare.append(time.perf_counter() - started)
        bare_cpu.append(time.process_time() - cpu)
    print(json.dumps({"baseline_mb": baseline, "peak_mb": peak_mb(), "bare": bare, "validate": checked,
                      "bare_cpu": bare_cpu, "validate_cpu": checked_cpu,
                      "rows": report.files[0].rows, "schema_requests": len(emulator.requests())}))
"""


def import_request(file_name: str) -> dict:
    return {
        "name": "benchmark",
        "dateFormat": "YEAR_MONTH_DAY",
        "files": [
            {
                "fileName": file_name,
                "fileFormat": "CSV",
                "fileImportPage": {
                    "hasHeader": True,
                    "columnMappings": [
                        {"columnName": name, "columnObjectTypeId": "0-1", "propertyName": prop, **more}
                        for name, prop, more in COLUMNS
                    ],
                },
            }
        ],
    }


def write_csv(path: Path, rows: int) -> None:
    """About 100 bytes a row: unique emails and customer ids, repeated names, cities and options."""
    block = 10_000
    with path.open("w", newline="") as handle:
        handle.write(",".join(name for name, _, _ in COLUMNS) + "\n")
        for first in range(0, rows, block):
            handle.write(
                "".join(
                    f"person{n:09d}@example-mail.com,First{n % 613},Last{n % 911},+1 555 {n % 10_000:04d},"
                    f"City{n % 97},{STAGES[n % 5]},{STATUSES[n % 4]},"
                    f"{1950 + n % 60}-{1 + n % 12:02d}-{1 + n % 28:02d},{n % 5000},C{n:09d}\n"
                    for n in range(first, min(rows, first + block))
                )
            )


def run_child(rows: int, rounds: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="hubspot-preflight-bench-") as folder:
        path, tiny = Path(folder) / "contacts.csv", Path(folder) / "tiny.csv"
        write_csv(path, rows)
        write_csv(tiny, 10)
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                MEASURED,
                str(path),
                str(tiny),
                str(rounds),
                json.dumps(import_request(path.name)),
                json.dumps(import_request(tiny.name)),
            ],
            capture_output=True,
            text=True,
            timeout=1200,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"the measured process failed:\n{done.stderr[-3000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result["file_mb"] = round(path.stat().st_size / 2**20, 1)
    result["ratio"] = min(result["validate"]) / min(result["bare"])
    # Every round's own ratio, wall clock and CPU time (the CPU time of this process, which other
    # work on a loaded machine disturbs less than the wall clock).
    pairs = zip(result["validate"], result["bare"], strict=True)
    result["round_ratios"] = [round(checked / bare, 2) for checked, bare in pairs]
    result["cpu_ratio"] = min(result["validate_cpu"]) / min(result["bare_cpu"])
    result["added_mb"] = round(result["peak_mb"] - result["baseline_mb"], 1)
    return result


def measure(plan: dict, *, quick: bool = False) -> list[Row]:
    rows: list[Row] = []
    for size in plan["sizes"]:
        result = run_child(size, plan["rounds"])
        label = f"{size:,} rows x 10 columns ({result['file_mb']} MB)"
        judged = not quick and size >= RATIO_GOAL_ROWS
        if judged:
            goal = f"<= {RATIO_GOAL:.0f}x"
        else:
            goal = f"<= {RATIO_GOAL:.0f}x at {RATIO_GOAL_ROWS:,} rows (this size: reported)"
        rows.append(
            Row(
                f"9a pre-flight time vs a bare csv.reader pass, {label}",
                f"{result['ratio']:.2f}x ({min(result['validate']):.2f} s vs {min(result['bare']):.2f} s; "
                f"rounds {', '.join(f'{r:.2f}x' for r in result['round_ratios'])}; "
                f"CPU {result['cpu_ratio']:.2f}x)",
                goal,
                result["ratio"] <= RATIO_GOAL if judged else None,
                details=result,
            )
        )
        rows.append(
            Row(
                f"9b pre-flight peak RSS growth, {label}",
                f"{result['added_mb']:.1f} MB",
                f"<= {MEMORY_GOAL_MB:.0f} MB",
                result["added_mb"] <= MEMORY_GOAL_MB,
                quick_fail=result["added_mb"] > 2 * MEMORY_GOAL_MB,
                details=result,
            )
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    result = run_child(args.rows, args.rounds)
    print(json.dumps(result))
    fast = result["ratio"] <= RATIO_GOAL or args.rows < RATIO_GOAL_ROWS
    ok = fast and result["added_mb"] <= MEMORY_GOAL_MB
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
