"""Child of figure 4: many sensors poking at once, each in its own thread, as reschedule mode does.

Every poke is ``ImportStateSensor.poke()``: a fresh hook (connection lookup, session) and one GET,
with the hook's own retries on 429. argv: JSON list of import ids, poke interval, deadline seconds.
Prints one RESULT line; the sensors' logs go to this process's stderr.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any


def wait(import_id: int, poke_interval: float, deadline: float, start: threading.Barrier) -> dict[str, Any]:
    from airflow_provider_hubspot_imports.sensors.imports import ImportStateSensor

    sensor = ImportStateSensor(
        task_id=f"wait_{import_id}", import_id=import_id, poke_interval=poke_interval, timeout=deadline
    )
    start.wait()
    began = time.monotonic()
    pokes = 0
    while True:
        pokes += 1
        try:
            result = sensor.poke({})  # type: ignore[arg-type]
        except Exception as error:
            return {"ok": False, "pokes": pokes, "error": f"{type(error).__name__}: {error}"}
        if getattr(result, "is_done", result):
            return {"ok": True, "pokes": pokes, "seconds": time.monotonic() - began}
        if time.monotonic() - began > deadline:
            return {"ok": False, "pokes": pokes, "error": "deadline passed"}
        time.sleep(poke_interval)


def main(import_ids: list[int], poke_interval: float, deadline: float) -> None:
    start = threading.Barrier(len(import_ids) + 1)
    results: list[dict[str, Any]] = [{} for _ in import_ids]

    def run(index: int, import_id: int) -> None:
        results[index] = wait(import_id, poke_interval, deadline, start)

    threads = [
        threading.Thread(target=run, args=(index, import_id), daemon=True)
        for index, import_id in enumerate(import_ids)
    ]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.monotonic()
    for thread in threads:
        thread.join(timeout=deadline + 60)
    elapsed = time.monotonic() - began
    unfinished = sum(1 for thread in threads if thread.is_alive())
    print(
        "RESULT " + json.dumps({"seconds": elapsed, "unfinished": unfinished, "waits": results}), flush=True
    )


if __name__ == "__main__":
    main(json.loads(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]))
