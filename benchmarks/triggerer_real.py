"""Deferrable waits through real Airflow components: scheduler, dag-processor, triggerer, api-server.

    python benchmarks/triggerer_real.py [--runs 100]
    python benchmarks/triggerer_real.py --compare aiohttp=.venv/bin/airflow own-0.2.0=/tmp/v020/bin/airflow \
        --rounds 3 --poke-interval 2 --polls-before-done 12     # side by side, interleaved rounds

A throw-away AIRFLOW_HOME on SQLite with the LocalExecutor (as `airflow standalone` uses) runs a
catch-up DAG whose `--runs` runs each defer on their own emulated import. The emulator runs in
this process; the Airflow components are separate processes. Reported: how many runs succeeded,
the delay from the moment the emulator first served DONE to the sensor task's success and to the
downstream task's start (median, p95), the triggerer's CPU seconds and peak RSS (process tree),
its CPU per poll while imports were waiting (all of it, and less its rate with nothing to poll,
measured for `--idle-seconds` after the last run), and how many worker slots were held while
imports were waiting. JSON goes to benchmarks/results/triggerer_real.json.

`--compare NAME=AIRFLOW ...` measures several installs of the package (each the `airflow` command of
its own environment: the package version and its transport under test; the emulator is this
checkout's) in `--rounds` interleaved rounds, the order rotating each round, and writes every
round and each side's median to benchmarks/results/triggerer_real_compare.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "triggerer_real.json"
COMPARE_RESULTS = HERE / "results" / "triggerer_real_compare.json"
DAG_ID = "hubspot_triggerer_real"
START = datetime(2026, 1, 1, tzinfo=timezone.utc)
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")

DAG_FILE = """
from datetime import datetime, timedelta, timezone

from airflow.sdk import DAG, task
from airflow_provider_hubspot_imports.sensors.imports import ImportStateSensor


@task
def downstream():
    return "ran"


START = datetime(2026, 1, 1, tzinfo=timezone.utc)
with DAG(
    "{dag_id}",
    schedule=timedelta(hours=1),
    start_date=START,
    end_date=START + timedelta(hours={last_hour}),
    catchup=True,
    max_active_runs={runs},
    max_active_tasks={runs},
):
    ImportStateSensor(
        task_id="wait_for_import",
        import_id="{{{{ data_interval_start.strftime('%m%d%H') }}}}",
        deferrable=True,
        poke_interval={poke_interval},
        timeout=1800,
    ) >> downstream()
"""


def import_id_for(hour: int) -> int:
    return int((START + timedelta(hours=hour)).strftime("%m%d%H"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Sampler(threading.Thread):
    """Every 0.5 s: the triggerer tree's RSS and CPU, and task instances by state."""

    def __init__(self, triggerer_pid: int, db: Path) -> None:
        super().__init__(daemon=True)
        import psutil

        self.root = psutil.Process(triggerer_pid)
        self.db = db
        self.peak_rss = 0
        self.cpu: dict[int, float] = {}
        # The tree's CPU when the first task deferred: start-up cost, not spent on polls.
        self.cpu_at_first_deferral: float | None = None
        self.first_deferral_at: float | None = None
        self.max_running_while_deferred = 0
        self.max_deferred = 0
        self.max_running = 0
        self.stop_event = threading.Event()

    def run(self) -> None:
        import psutil

        while not self.stop_event.wait(0.5):
            try:
                tree = [self.root, *self.root.children(recursive=True)]
                rss = 0
                for process in tree:
                    with_info = process.as_dict(["memory_info", "cpu_times"])
                    if with_info["memory_info"] is None:
                        continue
                    rss += with_info["memory_info"].rss
                    times = with_info["cpu_times"]
                    self.cpu[process.pid] = times.user + times.system
                self.peak_rss = max(self.peak_rss, rss)
            except psutil.Error:
                pass
            states = ti_states(self.db)
            running, deferred = states.get("running", 0), states.get("deferred", 0)
            self.max_running = max(self.max_running, running)
            self.max_deferred = max(self.max_deferred, deferred)
            if deferred and self.cpu_at_first_deferral is None:
                self.cpu_at_first_deferral = sum(self.cpu.values())
                self.first_deferral_at = time.monotonic()
            if deferred:
                self.max_running_while_deferred = max(self.max_running_while_deferred, running)


def ti_states(db: Path) -> dict[str, int]:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            rows = conn.execute(
                "SELECT state, count(*) FROM task_instance WHERE dag_id = ? GROUP BY state", (DAG_ID,)
            ).fetchall()
    except sqlite3.Error:
        return {}
    return {str(state): count for state, count in rows}


def finished_tasks(db: Path, task_id: str = "wait_for_import") -> list[tuple[str, str, str, str]]:
    """(data interval start, state, start date, end date) of `task_id` in every run."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        return conn.execute(
            "SELECT dr.data_interval_start, ti.state, ti.start_date, ti.end_date FROM task_instance ti "
            "JOIN dag_run dr ON dr.run_id = ti.run_id AND dr.dag_id = ti.dag_id "
            "WHERE ti.dag_id = ? AND ti.task_id = ?",
            (DAG_ID, task_id),
        ).fetchall()


def import_id_of(interval_start: str) -> int:
    return int(parse_db_time(interval_start).strftime("%m%d%H"))


def wait_for_execution_api(port: int, process: subprocess.Popen[bytes], deadline: float) -> None:
    import urllib.error
    import urllib.request

    started = time.monotonic()
    while time.monotonic() - started < deadline:
        if process.poll() is not None:
            raise RuntimeError("airflow api-server exited before it answered")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/execution/health", timeout=5):
                return
        except (OSError, urllib.error.URLError):
            time.sleep(1)
    raise RuntimeError(f"the execution API did not answer within {deadline:.0f} s")


def parse_db_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--poke-interval", type=float, default=5.0)
    parser.add_argument("--polls-before-done", type=int, default=3)
    parser.add_argument("--parallelism", type=int, default=8, help="LocalExecutor worker slots")
    parser.add_argument("--deadline", type=float, default=1500.0, help="give up after this many seconds")
    parser.add_argument(
        "--idle-seconds",
        type=float,
        default=15.0,
        help="after the last run, how long to measure the triggerer's CPU with nothing to poll",
    )
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument(
        "--airflow",
        default=str(Path(sys.executable).with_name("airflow")),
        help="the airflow command of the environment to measure (default: this interpreter's)",
    )
    parser.add_argument("--compare", nargs="+", metavar="NAME=AIRFLOW", help="measure these side by side")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per side (--compare)")
    args = parser.parse_args(argv)
    if args.compare:
        return compare(args)
    args.output = args.output or RESULTS

    from airflow_provider_hubspot_imports.testing import HubSpotEmulator

    home = Path(tempfile.mkdtemp(prefix="hubspot-triggerer-real-"))
    dags = home / "dags"
    dags.mkdir()
    (dags / "hubspot_triggerer_real.py").write_text(
        textwrap.dedent(
            DAG_FILE.format(
                dag_id=DAG_ID, last_hour=args.runs - 1, runs=args.runs, poke_interval=args.poke_interval
            )
        )
    )
    db = home / "airflow.db"
    port = free_port()
    emulator = HubSpotEmulator().start()
    ids = {hour: import_id_for(hour) for hour in range(args.runs + 1)}
    for import_id in ids.values():
        emulator.add_import(import_id, lifecycle=[("PROCESSING", args.polls_before_done), ("DONE",)])
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": str(args.parallelism),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{db}",
        "AIRFLOW__DATABASE__LOAD_DEFAULT_CONNECTIONS": "False",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API_AUTH__JWT_SECRET": "benchmark-only-jwt-secret-0123456789",
        "AIRFLOW__API__SECRET_KEY": "benchmark-only-secret-key",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        "AIRFLOW_CONN_HUBSPOT_DEFAULT": emulator.connection_json(retry_backoff_seconds=0.2),
    }
    airflow = args.airflow
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True)
    logs = home / "logs-components"
    logs.mkdir()
    processes: dict[str, subprocess.Popen[bytes]] = {}
    started = time.time()
    try:
        for name in COMPONENTS:
            out = (logs / f"{name}.log").open("wb")
            processes[name] = subprocess.Popen(
                [airflow, name], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
            if name == "api-server":
                # Tasks reach the database only through the execution API: a task started before
                # it answers fails at once (seen on a loaded machine), so nothing is scheduled
                # until it does.
                wait_for_execution_api(port, processes[name], args.deadline)
        sampler = Sampler(processes["triggerer"].pid, db)
        sampler.start()
        while time.time() - started < args.deadline:
            time.sleep(2)
            rows = finished_tasks(db, "downstream") if db.exists() else []
            done = [row for row in rows if row[1] in ("success", "failed", "skipped", "upstream_failed")]
            if len(rows) >= args.runs and len(done) == len(rows):
                break
            for name, process in processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"airflow {name} exited; see {logs / (name + '.log')}")
        # Airflow's triggerer spends CPU every second whether or not it has triggers (heartbeats,
        # database and supervisor round trips): its rate with nothing deferred, to subtract.
        waited_until, cpu_at_end = time.monotonic(), sum(sampler.cpu.values())
        time.sleep(args.idle_seconds)
        idle_cpu_per_s = (sum(sampler.cpu.values()) - cpu_at_end) / (time.monotonic() - waited_until)
        sampler.stop_event.set()
        sampler.join()
    finally:
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        emulator.stop()

    offset = time.time() - time.monotonic()  # emulator log times are monotonic
    first_done: dict[int, float] = {}
    for entry in emulator.requests():
        if (
            entry.status == 200
            and entry.import_id is not None
            and entry.import_id not in first_done
            and entry.response_json().get("state") == "DONE"
        ):
            first_done[entry.import_id] = entry.at + offset
    rows = finished_tasks(db)
    delays: list[float] = []
    states: dict[str, int] = {}
    for interval_start, state, _, end_date in rows:
        states[state] = states.get(state, 0) + 1
        import_id = int(parse_db_time(interval_start).strftime("%m%d%H"))
        if state == "success" and end_date and import_id in first_done:
            delays.append(parse_db_time(end_date).timestamp() - first_done[import_id])
    delays.sort()
    p95 = delays[min(len(delays) - 1, round(0.95 * (len(delays) - 1)))] if delays else None
    downstream_delays = sorted(
        parse_db_time(start_date).timestamp() - first_done[import_id_of(interval_start)]
        for interval_start, state, start_date, _ in finished_tasks(db, "downstream")
        if start_date and import_id_of(interval_start) in first_done
    )
    downstream_p95 = (
        downstream_delays[min(len(downstream_delays) - 1, math.ceil(0.95 * len(downstream_delays)) - 1)]
        if downstream_delays
        else None
    )
    requests = emulator.requests()
    waiting_cpu = cpu_at_end - (sampler.cpu_at_first_deferral or 0.0)
    waiting_s = waited_until - (sampler.first_deferral_at or waited_until)
    above_idle_cpu = max(0.0, waiting_cpu - idle_cpu_per_s * waiting_s)
    # Every run's sensor reads the import once on the worker before it defers; the rest are the
    # triggerer's polls.
    import_gets = sum(1 for entry in requests if entry.method == "GET" and entry.import_id is not None)
    triggerer_polls = max(0, import_gets - len(rows))
    results = {
        "runs": len(rows),
        "task_states": states,
        "database": "SQLite",
        "executor": f"LocalExecutor, parallelism {args.parallelism}",
        "poke_interval_s": args.poke_interval,
        "polls_before_done": args.polls_before_done,
        "done_to_success_s": {
            "median": statistics.median(delays) if delays else None,
            "p95": p95,
            "max": delays[-1] if delays else None,
        },
        "done_to_downstream_start_s": {
            "median": statistics.median(downstream_delays) if downstream_delays else None,
            "p95": downstream_p95,
            "max": downstream_delays[-1] if downstream_delays else None,
        },
        "triggerer_cpu_s": cpu_at_end,
        "triggerer_cpu_s_while_waiting": waiting_cpu,
        "triggerer_waiting_s": waiting_s,
        "triggerer_idle_cpu_s_per_s": idle_cpu_per_s,
        "triggerer_polls": triggerer_polls,
        # Everything the triggerer spent from the first deferral on, over the polls: an upper bound.
        "triggerer_cpu_ms_per_poll": 1000 * waiting_cpu / triggerer_polls if triggerer_polls else None,
        # Less what it spends idle over the same time: what the waits themselves cost it.
        "triggerer_cpu_ms_per_poll_above_idle": (
            1000 * above_idle_cpu / triggerer_polls if triggerer_polls else None
        ),
        "triggerer_peak_rss_mb": sampler.peak_rss / 2**20,
        "max_deferred_at_once": sampler.max_deferred,
        "max_running_tasks": sampler.max_running,
        "max_running_tasks_while_any_deferred": sampler.max_running_while_deferred,
        "emulator_requests": len(requests),
        "emulator_non_200": sum(1 for entry in requests if entry.status != 200),
        "wall_s": time.time() - started,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    print(f"Airflow home (logs): {home}")
    return 0 if states.get("success") == len(rows) and len(rows) >= args.runs else 1


PER_POLL = ("triggerer_cpu_ms_per_poll_above_idle", "triggerer_cpu_ms_per_poll")


def compare(args: argparse.Namespace) -> int:
    """Each side once per round, in a child process of its own, the order rotating every round."""
    sides = dict(side.split("=", 1) for side in args.compare)
    names = list(sides)
    passed = [
        *("--runs", str(args.runs), "--poke-interval", str(args.poke_interval)),
        *("--polls-before-done", str(args.polls_before_done), "--parallelism", str(args.parallelism)),
        *("--deadline", str(args.deadline), "--idle-seconds", str(args.idle_seconds)),
    ]
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="hubspot-triggerer-compare-") as tmp:
        for number in range(args.rounds):
            shift = number % len(names)
            for name in names[shift:] + names[:shift]:
                output = Path(tmp) / f"{name}-{number}.json"
                command = [
                    sys.executable,
                    __file__,
                    *passed,
                    "--airflow",
                    sides[name],
                    "--output",
                    str(output),
                ]
                print(f"round {number + 1}, {name}: {' '.join(command)}", file=sys.stderr, flush=True)
                completed = subprocess.run(command, capture_output=True, text=True)
                if not output.exists():
                    raise RuntimeError(f"{name}, round {number + 1} failed:\n{completed.stderr[-3000:]}")
                result = json.loads(output.read_text())
                result["round"], result["exit_code"] = number + 1, completed.returncode
                rounds[name].append(result)
                above_idle = result["triggerer_cpu_ms_per_poll_above_idle"]
                print(
                    f"  {name}: {above_idle} ms CPU per poll above idle, "
                    f"{result['triggerer_polls']} polls, {result['task_states']}",
                    file=sys.stderr,
                    flush=True,
                )
    medians = {
        name: {
            key: statistics.median(float(run[key]) for run in runs if run[key] is not None)
            for key in PER_POLL
        }
        for name, runs in rounds.items()
    }
    first = names[0]
    summary = {
        "sides": sides,
        "options": passed,
        "rounds_per_side": args.rounds,
        "median": medians,
        f"ratio_to_{first}": {
            name: {
                key: medians[name][key] / medians[first][key] if medians[first][key] else None
                for key in PER_POLL
            }
            for name in names
        },
        "rounds": rounds,
    }
    output = args.output or COMPARE_RESULTS
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({key: summary[key] for key in ("median", f"ratio_to_{first}")}, indent=2))
    return 0 if all(run["exit_code"] == 0 for runs in rounds.values() for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
