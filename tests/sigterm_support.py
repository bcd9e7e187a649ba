"""A task in a process of its own, stopped as Airflow stops one: SIGTERM, then SIGKILL 5 s later.

The child side installs the handler Airflow's task runner has (`task_runner._on_term` on Airflow
3.3, `TaskInstance._run_raw_task`'s on 2.11: it calls `task.on_kill()`); the test side starts the
child, waits for the line that says it is ready, and stops it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from typing import Any

# Airflow's supervisor sends SIGKILL this long after SIGTERM (`WatchedSubprocess.kill`).
SIGKILL_AFTER = 5.0


def say(line: str) -> None:
    """Write a line to stdout in one system call, past Python's buffered stream: a signal can
    neither interrupt a buffered write here nor meet this one half done in its handler."""
    os.write(1, (line + "\n").encode())


def on_sigterm_call_on_kill(task: Any) -> None:
    """In the child: on SIGTERM, call `task.on_kill()`, say how long it took, and exit."""

    def on_term(signum: int, frame: object) -> None:
        started = time.monotonic()
        task.on_kill()
        say(f"on_kill took {time.monotonic() - started:.3f} s")
        os._exit(0)

    signal.signal(signal.SIGTERM, on_term)


def sigterm_when_ready(args: list[str], env: Mapping[str, str], ready: str) -> str:
    """Run `python args...`, SIGTERM it once it prints a line starting with `ready`, SIGKILL it
    `SIGKILL_AFTER` seconds later if it is still running; everything it printed."""
    child = subprocess.Popen(
        [sys.executable, *args], env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert child.stdout is not None
    lines = []
    for line in child.stdout:
        lines.append(line)
        if line.startswith(ready):
            break
    child.send_signal(signal.SIGTERM)
    try:
        out, _ = child.communicate(timeout=SIGKILL_AFTER)
    except subprocess.TimeoutExpired:
        child.kill()
        out, _ = child.communicate()
        out += "\n(SIGKILL: on_kill did not finish in time)"
    return "".join(lines) + out
