"""Run the provider's performance benchmarks and print one table: figure | measured | goal | holds?

    python benchmarks/run.py           # full run (about ten minutes)
    python benchmarks/run.py --quick   # CI: about a minute and a half; exit 1 only when a goal is missed
                                       # by the wide margin each figure states (see docs/performance.md)

Everything runs on 127.0.0.1 against the emulator in its own process, in a throw-away AIRFLOW_HOME,
and stops by itself: every child process has a timeout and the whole run has a time limit.
Results go to benchmarks/results/latest.json (quick runs to latest-quick.json); figure 6 keeps
trigger_scale.py's JSON as trigger_scale.json (quick runs: trigger_scale-quick.json), figures 7
and 8 async_floor.py's as async_floor.json, async_floor_tls.json (over HTTPS) and
async_floor_pool_sizes.json (quick: async_floor-quick.json, plain HTTP only).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

RESULTS = REPO / "benchmarks" / "results"
TIME_LIMIT_SECONDS = {"full": 1800, "quick": 300}


def _isolate(home: Path) -> None:
    """A private AIRFLOW_HOME for this process and its children; no proxy for loopback."""
    os.environ.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__LOAD_DEFAULT_CONNECTIONS="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    for name in ("AIRFLOW_CONN_HUBSPOT_DEFAULT", "AIRFLOW_CONN_HUBSPOT_HTTP"):
        os.environ.pop(name, None)


def _time_limit(seconds: int) -> None:
    def expire(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"the benchmark run passed its {seconds} s time limit")

    signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short run for CI; fails only on wide misses")
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "full"
    _time_limit(TIME_LIMIT_SECONDS[mode])
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="hubspot-bench-home-") as home:
        _isolate(Path(home))
        from benchmarks.figures import run_all

        rows = run_all(quick=args.quick, say=lambda text: print(f"[bench] {text}", flush=True))
    signal.alarm(0)
    seconds = time.monotonic() - started

    from benchmarks.report import table, write_json

    out = RESULTS / ("latest-quick.json" if args.quick else "latest.json")
    write_json(out, rows, mode=mode, seconds=seconds)
    print()
    print(table(rows))
    print(f"\n{mode} run: {seconds:.0f} s; results in {out.relative_to(REPO)}")
    if args.quick:
        failed = [row.figure for row in rows if row.quick_fail]
        if failed:
            print(f"quick mode: goal missed by more than the margin: {'; '.join(failed)}", file=sys.stderr)
        return 1 if failed else 0
    return 0 if all(row.holds is not False for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
