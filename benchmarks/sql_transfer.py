"""Figure 10: `SqlToHubSpotImportOperator` from PostgreSQL to the emulator's upload, against the floor.

A throw-away PostgreSQL 15 cluster (tests/postgres_cluster.py) holds a table of 8 columns (integer,
text, numeric, boolean, date, timestamptz); the emulator runs in its own process. Side by side, in
interleaved rounds of one run:

- the transfer: a fresh process runs the operator (query through a server-side cursor, staging
  as RFC 4180 CSV, one upload per part; ``wait_for_completion=False``: no waiting);
- the floor: ``psql -c "\\copy (query) TO file CSV HEADER"`` (PostgreSQL's own CSV writer), then one
  plain upload of that file with `HubSpotHook.start_import` in a fresh process.

Goals: the transfer takes at most 2x the floor (best round of each) at 1,000,000 rows; its peak RSS
grows by at most 100 MB over the process's warmed-up baseline, at 100,000 and at 1,000,000 rows.

    python benchmarks/sql_transfer.py            # 100,000 and 1,000,000 rows, 2 rounds
    python benchmarks/sql_transfer.py --quick    # 200,000 rows, 1 round (CI)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
for folder in (REPO, REPO / "tests"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from benchmarks.report import Row  # noqa: E402
from benchmarks.upload_memory import MEASURED as PLAIN_UPLOAD  # noqa: E402
from benchmarks.upload_memory import start_emulator  # noqa: E402

GOAL_RATIO = 2.0
GOAL_RSS_MB = 100.0
# Quick mode (200,000 rows, one round: fixed costs weigh more) fails only beyond these.
QUICK_LIMIT_RATIO = 6.0
QUICK_LIMIT_RSS_MB = 150.0
COLUMNS = "id, email, firstname, lastname, company, score, active, signed_up"

TRANSFER = r"""
import json, resource, sys, time
from types import SimpleNamespace
from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook
from airflow_provider_hubspot_imports.transfers import SqlToHubSpotImportOperator
from airflow_provider_hubspot_imports.transfers.source import db_hook

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes

sql, staging, run_id = sys.argv[1], sys.argv[2], sys.argv[3]
conn = db_hook("bench_pg", None).get_conn()  # warm-up: driver, connection, HTTP session
conn.cursor().execute("SELECT 1")
conn.close()
hook = HubSpotHook(timeout=300)
list(hook.list_imports(limit=1))
hook.close()
baseline = peak_mb()
operator = SqlToHubSpotImportOperator(
    task_id="bench", sql=sql, conn_id="bench_pg", object_type="contacts", id_property="email",
    staging_path=staging, wait_for_completion=False, preflight="off",
)
ti = SimpleNamespace(dag_id="bench", run_id=run_id, task_id="bench", map_index=-1, try_number=1,
                     xcom_push=lambda key, value: None)
started = time.monotonic()
summary = operator.execute({"ti": ti})
seconds = time.monotonic() - started
print(json.dumps({"baseline_mb": baseline, "peak_mb": peak_mb(), "seconds": seconds,
                  "rows": summary["rows_sent"], "parts": len(summary["parts"])}))
"""


@dataclass(frozen=True)
class Settings:
    sizes: tuple[int, ...]  # rows of each measured transfer; the last one gets the ratio
    rounds: int
    quick: bool


FULL = Settings((100_000, 1_000_000), 2, False)
QUICK = Settings((200_000,), 1, True)


def fill_table(pg: Any, rows: int) -> None:
    pg.psql(
        "SET ROLE transfer;"
        "CREATE TABLE bench (id int PRIMARY KEY, email text, firstname text, lastname text, company text,"
        " score numeric(10,2), active boolean, signed_up timestamptz);"
        "INSERT INTO bench SELECT n, 'person' || n || '@example.com', 'First' || (n % 97),"
        " 'Last' || (n % 89), 'Company ' || (n % 1000) || ', Inc.', (n % 10000) / 100.0, n % 3 = 0,"
        " timestamptz '2020-01-01 00:00:00+00' + n * interval '17 seconds'"
        f" FROM generate_series(1, {rows}) n;"
    )
    pg.psql("VACUUM ANALYZE bench")


def run_child(args: list[str], env: dict[str, str], timeout: float) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"the measured process failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def floor(pg: Any, query: str, folder: Path, env: dict[str, str], timeout: float) -> dict[str, Any]:
    """psql's own CSV export of the query, then one plain upload of the file."""
    csv = folder / "floor.csv"
    started = time.monotonic()
    subprocess.run(
        [*pg.psql_argv(), "-X", "-q", "-c", f"\\copy ({query}) TO '{csv}' CSV HEADER"],
        check=True,
        capture_output=True,
        timeout=timeout,
    )
    copy_seconds = time.monotonic() - started
    upload = run_child([PLAIN_UPLOAD, str(csv), csv.name], env, timeout)
    size = csv.stat().st_size
    csv.unlink()
    return {
        "copy_seconds": copy_seconds,
        "upload_seconds": upload["seconds"],
        "seconds": copy_seconds + upload["seconds"],
        "file_mb": round(size / 2**20, 1),
    }


def measure(settings: Settings) -> list[Row]:
    from postgres_cluster import PostgresCluster, missing_binaries

    figure = "10 SQL transfer: PostgreSQL to the emulator's upload"
    reason = missing_binaries()
    if reason is not None:
        return [Row(figure, f"not measured: {reason}", f"<= {GOAL_RATIO:g}x the floor", None)]
    from airflow_provider_hubspot_imports.testing.model import DEFAULT_TOKEN

    largest = max(settings.sizes)
    timeout = 60 + largest / 2_000
    results: dict[int, dict[str, Any]] = {}
    with PostgresCluster() as pg, tempfile.TemporaryDirectory(prefix="hubspot-sql-bench-") as tmp:
        fill_table(pg, largest)
        emulator, base_url = start_emulator()
        try:
            env = dict(
                os.environ,
                AIRFLOW_CONN_HUBSPOT_DEFAULT=json.dumps(
                    {"conn_type": "hubspot", "host": base_url, "password": DEFAULT_TOKEN}
                ),
                AIRFLOW_CONN_BENCH_PG=pg.connection_json(),
            )
            for rows in settings.sizes:
                query = f"SELECT {COLUMNS} FROM bench WHERE id <= {rows} ORDER BY id"
                runs: dict[str, list[dict[str, Any]]] = {"transfer": [], "floor": []}
                for round_number in range(settings.rounds):
                    runs["floor"].append(floor(pg, query, Path(tmp), env, timeout))
                    transfer = run_child(
                        [TRANSFER, query, str(Path(tmp) / "staging"), f"r{rows}-{round_number}"], env, timeout
                    )
                    if transfer["rows"] != rows:
                        raise RuntimeError(f"the transfer sent {transfer['rows']} rows of {rows}")
                    transfer["added_mb"] = round(transfer["peak_mb"] - transfer["baseline_mb"], 1)
                    runs["transfer"].append(transfer)
                results[rows] = runs
        finally:
            emulator.terminate()
            emulator.wait(timeout=10)
    return rows_for(settings, results)


def rows_for(settings: Settings, results: dict[int, dict[str, list[dict[str, Any]]]]) -> list[Row]:
    out = []
    largest = max(settings.sizes)
    best = {
        rows: {kind: min(r["seconds"] for r in runs[kind]) for kind in runs} for rows, runs in results.items()
    }
    ratio = best[largest]["transfer"] / best[largest]["floor"]
    limit = QUICK_LIMIT_RATIO if settings.quick else GOAL_RATIO
    out.append(
        Row(
            f"10a SQL transfer time, {largest:,} rows x 8 columns, PostgreSQL to upload",
            f"{ratio:.2f}x the floor ({best[largest]['transfer']:.1f} s vs psql \\copy + upload "
            f"{best[largest]['floor']:.1f} s)",
            f"<= {GOAL_RATIO:g}x",
            ratio <= GOAL_RATIO,
            quick_fail=settings.quick and ratio > limit,
            details={"results": {str(rows): runs for rows, runs in results.items()}, "best_seconds": best},
        )
    )
    for rows in settings.sizes:
        added = max(r["added_mb"] for r in results[rows]["transfer"])
        out.append(
            Row(
                f"10b SQL transfer peak RSS growth, {rows:,} rows",
                f"{added:.1f} MB",
                f"<= {GOAL_RSS_MB:g} MB",
                added <= GOAL_RSS_MB,
                quick_fail=settings.quick and added > QUICK_LIMIT_RSS_MB,
            )
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="200,000 rows, one round")
    parser.add_argument(
        "--rows", type=int, nargs="*", help="the table sizes to measure (the last gets the ratio)"
    )
    parser.add_argument("--rounds", type=int)
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    if args.rows or args.rounds:
        settings = Settings(
            tuple(args.rows or settings.sizes), args.rounds or settings.rounds, settings.quick
        )
    from benchmarks.report import table

    started = time.monotonic()
    rows = measure(settings)
    print(table(rows))
    if not settings.quick:
        from benchmarks.report import write_json

        out = REPO / "benchmarks" / "results" / "sql_transfer.json"
        write_json(out, rows, mode="full", seconds=time.monotonic() - started)
        print(f"results in {out.relative_to(REPO)}")
    return 0 if all(row.holds is not False for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
