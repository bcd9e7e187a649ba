"""The emulator in its own process, so its CPU is not charged to the client being measured.

The parent talks to it over the child's stdin/stdout, one JSON object a line; HTTP stays free of
benchmark traffic. Closing stdin stops the child. It binds 127.0.0.1 only.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def _serve() -> int:
    from airflow_provider_hubspot_imports.testing import HubSpotEmulator

    with HubSpotEmulator(host="127.0.0.1") as emulator:
        print(json.dumps({"base_url": emulator.base_url, "token": emulator.token}), flush=True)
        for line in sys.stdin:
            command = json.loads(line)
            print(json.dumps(_apply(emulator, command)), flush=True)
    return 0


def _apply(emulator: Any, command: dict[str, Any]) -> dict[str, Any]:
    op = command.pop("op")
    model = emulator.model
    if op == "add_imports":
        lifecycle = command["lifecycle"]
        return {"import_ids": [emulator.add_import(lifecycle=lifecycle) for _ in range(command["count"])]}
    if op == "rate_limit":
        emulator.set_rate_limit(command.get("budget"), float(command.get("window_seconds", 10.0)))
        return {}
    if op == "counts":
        wanted = set(command.get("import_ids") or [])
        with model.lock:
            entries = [entry for entry in model.log if not wanted or entry.import_id in wanted]
        by_status: dict[str, int] = {}
        limited: dict[str, int] = {}
        for entry in entries:
            by_status[str(entry.status)] = by_status.get(str(entry.status), 0) + 1
            if entry.status == 429:
                limited[str(entry.import_id)] = limited.get(str(entry.import_id), 0) + 1
        offsets = [round(entry.at - entries[0].at, 3) for entry in entries] if entries else []
        return {"total": len(entries), "by_status": by_status, "429_by_import": limited, "offsets": offsets}
    if op == "clear_log":
        with model.lock:
            model.log.clear()
        return {}
    if op == "cpu":
        return {"cpu_seconds": time.process_time()}
    raise ValueError(f"unknown op {op!r}")


class EmulatorProcess:
    """Start with ``with EmulatorProcess() as emulator:``; `command()` sends one control message."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None
        self.base_url = ""
        self.token = ""

    def __enter__(self) -> EmulatorProcess:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.emulator_process"],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        hello = json.loads(self._readline())
        self.base_url, self.token = hello["base_url"], hello["token"]
        return self

    def _readline(self) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError("the emulator process exited")
        return line

    def command(self, op: str, **arguments: Any) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(json.dumps({"op": op, **arguments}) + "\n")
        self._proc.stdin.flush()
        answer: dict[str, Any] = json.loads(self._readline())
        return answer

    def add_imports(self, lifecycle: list[Any], count: int = 1) -> list[int]:
        ids: list[int] = self.command("add_imports", lifecycle=lifecycle, count=count)["import_ids"]
        return ids

    def counts(self, import_ids: list[int] | None = None) -> dict[str, Any]:
        return self.command("counts", import_ids=import_ids or [])

    def cpu_seconds(self) -> float:
        return float(self.command("cpu")["cpu_seconds"])

    def connection_json(self, **extra: Any) -> str:
        conn: dict[str, Any] = {"conn_type": "hubspot", "host": self.base_url, "password": self.token}
        if extra:
            conn["extra"] = extra
        return json.dumps(conn)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(_serve())
