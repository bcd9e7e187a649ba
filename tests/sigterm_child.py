"""A poke-mode ImportStateSensor in its own process, with Airflow's task-runner SIGTERM handler.

`airflow.sdk.execution_time.task_runner._on_term` (Airflow 3.3) and `TaskInstance._run_raw_task`'s
handler (2.11) call `task.on_kill()` from the SIGTERM handler; this child does the same. After its
first poke the connection is gone from the environment, so a cancel that looked it up would fail.
Arguments: import id, and "retry" or "last" (whether Airflow would retry this try).
"""

from __future__ import annotations

import os
import sys
from types import SimpleNamespace

from sigterm_support import on_sigterm_call_on_kill, say

from airflow_provider_hubspot_imports.sensors.imports import ImportStateSensor


def main(import_id: str, which_try: str) -> None:
    retry = which_try == "retry"
    sensor = ImportStateSensor(
        task_id="wait",
        import_id=import_id,
        mode="poke",
        poke_interval=0.2,
        timeout=600,
        cancel_on_timeout=True,
    )
    # What Airflow's task instance tells about retries (public on Airflow 3 and 2.11 alike): this
    # try's number and the last try's.
    ti = SimpleNamespace(
        try_number=1,
        max_tries=1 if retry else 0,
        xcom_push=lambda key, value: None,  # the "HubSpot import" link
    )

    on_sigterm_call_on_kill(sensor)
    poke = sensor.poke

    def poke_then_lose_the_connection(context: object) -> object:
        result = poke(context)  # type: ignore[arg-type]
        os.environ.pop("AIRFLOW_CONN_HUBSPOT_DEFAULT", None)
        sensor.poke = poke_without_connection  # type: ignore[method-assign]
        say("poked")
        return result

    def poke_without_connection(context: object) -> bool:
        return False

    sensor.poke = poke_then_lose_the_connection  # type: ignore[method-assign]
    sensor.execute({"ti": ti})


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
