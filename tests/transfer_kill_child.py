"""A transfer in its own process that stops dead once part `k` was started, for the test to SIGKILL.

Arguments: the run id, the part k, and "recorded" (stop after the staging recorded part k's import)
or "unrecorded" (stop when HubSpot answered, before the record: only the key finds it then).
The connections come from the environment; the operator's arguments from `transfer_kill_args`.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from transfer_support import context_for, task_instance

from airflow_provider_hubspot_imports.transfers import SqlToHubSpotImportOperator
from airflow_provider_hubspot_imports.transfers.staging import Staging

DAG_ID = "transfer_kill"
TASK_ID = "to_hubspot"


def stop_at(part: int, where: str) -> None:
    record = Staging.record_started

    def record_then_stop(self: Staging, number: int, import_id: str, key_digest: str) -> None:
        if number == part and where == "unrecorded":
            print(f"started part {number}: {import_id}", flush=True)
            time.sleep(600)
        record(self, number, import_id, key_digest)
        if number == part:
            print(f"started part {number}: {import_id}", flush=True)
            time.sleep(600)

    Staging.record_started = record_then_stop  # type: ignore[method-assign]


def main(run_id: str, part: int, where: str) -> None:
    arguments: dict[str, Any] = json.loads(os.environ["TRANSFER_KILL_ARGS"])
    stop_at(part, where)
    operator = SqlToHubSpotImportOperator(task_id=TASK_ID, **arguments)
    operator.execute(context_for(task_instance(DAG_ID, run_id, TASK_ID, 1)))  # type: ignore[arg-type]


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
