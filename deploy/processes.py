"""Start each component in its own session; stop it by PID, the whole session, as a dying pod would.

A PID is trusted only while the process's start time (field 22 of /proc/PID/stat) is the one
recorded at launch: a recycled PID is never signalled. Standard library only.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Launched:
    """A component's session leader: its PID (= session id) and kernel start time."""

    name: str
    pid: int
    start_ticks: int
    log: str

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    return text[text.rindex(")") + 2 :].split()


def start_ticks(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None  # field 22 overall


def is_alive(launched: Launched) -> bool:
    """The recorded process still runs (same PID and start time) and is not a zombie."""
    fields = _stat_fields(launched.pid)
    return fields is not None and fields[0] != "Z" and int(fields[19]) == launched.start_ticks


def session_members(sid: int) -> list[int]:
    """Every live process whose session id is `sid` (field 6 of /proc/PID/stat)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat_fields(int(entry))
        if fields and fields[0] != "Z" and int(fields[3]) == sid:
            members.append(int(entry))
    return members


def launch(name: str, argv: list[str], env: dict[str, str], log: Path, cwd: Path | None = None) -> Launched:
    """Start `argv` as the leader of a new session, stdout and stderr appended to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    ticks = start_ticks(process.pid)
    if ticks is None:
        raise RuntimeError(f"{name} exited at once; see {log}")
    # The Popen object is dropped on purpose: the harness tracks the PID and start time, and the
    # process is reaped by whichever Python waits on it (see reap()).
    return Launched(name, process.pid, ticks, str(log))


def reap() -> None:
    """Collect exited children so they do not linger as zombies."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def kill_session(launched: Launched, sig: int = signal.SIGKILL, wait: float = 30.0) -> list[int]:
    """Send `sig` to every process of the component's session and wait until all are gone.

    Returns the PIDs signalled. SIGKILL is asynchronous, and the task SDK puts task processes and
    the triggerer's runner in process groups of their own, so the whole session is walked, not one
    group, until nothing in it is left. Does nothing if the leader's PID was recycled.
    """
    ticks = start_ticks(launched.pid)
    if ticks is not None and ticks != launched.start_ticks:
        return []  # the PID now belongs to another process
    signalled: list[int] = []
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        members = session_members(launched.pid)
        if not members:
            return signalled
        for pid in members:
            try:
                os.kill(pid, sig)
                signalled.append(pid)
            except ProcessLookupError:
                pass
        reap()
        time.sleep(0.1)
    if sig != signal.SIGKILL:
        return signalled + kill_session(launched, signal.SIGKILL, wait)
    raise RuntimeError(f"{launched.name}: processes {session_members(launched.pid)} survived SIGKILL")


def stop(launched: Launched, grace: float = 20.0) -> None:
    """SIGTERM the session, then SIGKILL whatever is left after `grace` seconds."""
    kill_session(launched, signal.SIGTERM, wait=grace)


def memory_of(pids: list[int]) -> tuple[int, int]:
    """(RSS, PSS) in bytes summed over `pids`, from /proc/PID/smaps_rollup."""
    rss = pss = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        for line in text.splitlines():
            if line.startswith("Rss:"):
                rss += int(line.split()[1]) * 1024
            elif line.startswith("Pss:"):
                pss += int(line.split()[1]) * 1024
    return rss, pss


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (not its children)."""
    fields = _stat_fields(pid)
    if not fields:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
