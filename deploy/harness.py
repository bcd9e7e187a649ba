#!/usr/bin/env python3
"""The production-shaped deployment, started by one command.

    python3 deploy/harness.py scenarios --quick   # CI: install, start, one fault of each kind, stop
    python3 deploy/harness.py scenarios --full    # the figures (200 waits); results in deploy/results/
    python3 deploy/harness.py up                  # start and leave running (deploy/runs/current)
    python3 deploy/harness.py down                # stop what `up` started

PostgreSQL 15 (throw-away cluster), Redis, the HubSpot emulator and Airflow 3.3.2 with the
CeleryExecutor (api-server, scheduler, dag-processor, two triggerers, two Celery workers), all on
127.0.0.1, each in its own session, logs per component in the run folder (deploy/runs/<time>/logs).
Must run as root (it starts PostgreSQL as the postgres system user). Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import contextlib

from deployment import DEPLOY, Deployment, say
from processes import memory_of

RUNS = DEPLOY / "runs"
RESULTS = DEPLOY / "results"


class MemorySampler(threading.Thread):
    """Peak RSS and PSS of every process of every component session, sampled every 2 s."""

    def __init__(self, deployment: Deployment) -> None:
        super().__init__(daemon=True, name="memory-sampler")
        self.deployment = deployment
        self.peak_rss = self.peak_pss = self.peak_processes = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(2.0):
            try:
                self.deployment.state = Deployment.load(self.deployment.run).state
                pids = self.deployment.all_pids()
            except (OSError, ValueError, KeyError):
                continue
            rss, pss = memory_of(pids)
            self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)
            self.peak_processes = max(self.peak_processes, len(pids))

    def figures(self) -> dict[str, Any]:
        return {
            "peak_rss_mb": round(self.peak_rss / 2**20),
            "peak_pss_mb": round(self.peak_pss / 2**20),
            "peak_processes": self.peak_processes,
        }


def new_run(quick: bool) -> Deployment:
    from install import venv

    started = time.monotonic()
    python = venv()
    run = RUNS / time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    deployment = Deployment.create(run, python, quick)
    deployment.state["timings"]["install_s"] = round(time.monotonic() - started, 1)
    current = RUNS / "current"
    current.unlink(missing_ok=True)
    current.symlink_to(run.name)
    return deployment


def stop_on_signals(deployment: Deployment) -> None:
    """SIGTERM/SIGINT to the harness stops the deployment before exiting."""

    def handler(signum: int, _frame: Any) -> None:
        say(f"signal {signum}: stopping the deployment")
        deployment.state = Deployment.load(deployment.run).state
        deployment.down()
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def scenarios(quick: bool, pytest_args: list[str]) -> int:
    deployment = new_run(quick)
    stop_on_signals(deployment)
    sampler = MemorySampler(deployment)
    rc = 1
    try:
        deployment.up(token=f"pat-na1-{secrets.token_hex(16)}")
        sampler.start()
        env = {
            **os.environ,
            "HUBSPOT_DEPLOY_RUN": str(deployment.run),
            "HUBSPOT_DEPLOY_MODE": "quick" if quick else "full",
            "PYTHONDONTWRITEBYTECODE": "1",
            # The scenarios import the package (and so Airflow) only to inspect it: keep that
            # Airflow's files in the run folder, away from the components' home and ~/airflow.
            "AIRFLOW_HOME": str(deployment.run / "scenarios-airflow-home"),
        }
        argv = [
            str(deployment.python),
            "-m",
            "pytest",
            "-c",
            str(DEPLOY / "scenarios" / "pytest.ini"),
            "--rootdir",
            str(DEPLOY / "scenarios"),
            str(DEPLOY / "scenarios"),
            *pytest_args,
        ]
        say("running the scenarios: " + " ".join(argv[1:]))
        rc = subprocess.run(argv, env=env, check=False).returncode
    finally:
        sampler.stopped.set()
        with contextlib.suppress(OSError, ValueError):
            deployment.state = Deployment.load(deployment.run).state
        say("stopping the deployment")
        deployment.down()
        write_results(deployment, sampler, rc, selected=bool(pytest_args))
    return rc


def write_results(deployment: Deployment, sampler: MemorySampler, rc: int, selected: bool) -> None:
    """figures.json in the run folder, and deploy/results/<mode>.json (<mode>-selected.json when
    pytest arguments chose some scenarios only)."""
    figures: dict[str, Any] = {
        "mode": "quick" if deployment.state["quick"] else "full",
        "run": deployment.run.name,
        "pytest_exit_code": rc,
        "timings": deployment.state["timings"],
        "memory": sampler.figures(),
        "scenarios": {},
    }
    for path in sorted((deployment.run / "figures").glob("*.json")):
        figures["scenarios"][path.stem] = json.loads(path.read_text())
    text = json.dumps(figures, indent=2) + "\n"
    (deployment.run / "figures.json").write_text(text)
    RESULTS.mkdir(exist_ok=True)
    name = f"{figures['mode']}-selected.json" if selected else f"{figures['mode']}.json"
    (RESULTS / name).write_text(text)
    say(f"figures: {RESULTS / name}")
    print(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="install, start everything and leave it running")
    up.add_argument("--quick", action="store_true")
    sub.add_parser("down", help="stop the deployment `up` started (deploy/runs/current)")
    run = sub.add_parser("scenarios", help="up, run the scenarios, down; figures in deploy/results/")
    mode = run.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="CI size (default)")
    mode.add_argument("--full", action="store_true", help="the figures: 200 waits")
    args, rest = parser.parse_known_args(argv)
    if os.geteuid() != 0:
        parser.error("run as root: PostgreSQL is started as the postgres system user")
    if args.command == "up":
        deployment = new_run(args.quick)
        try:
            deployment.up(token=f"pat-na1-{secrets.token_hex(16)}")
        except BaseException:
            deployment.down()
            raise
        print(json.dumps({"run": str(deployment.run), "api": deployment.api_url}, indent=2))
        return 0
    if args.command == "down":
        Deployment.load((RUNS / "current").resolve()).down()
        return 0
    return scenarios(quick=not args.full, pytest_args=rest)


if __name__ == "__main__":
    sys.exit(main())
