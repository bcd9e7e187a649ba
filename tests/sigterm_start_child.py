"""A start operator waiting in its own process, with Airflow's task-runner SIGTERM handler
(`sigterm_support`). After the operator's first poll the connection is gone from the
environment, so a cancel that looked it up would fail.
Arguments: CSV path, "retry" or "last" (whether Airflow would retry this try), and the run id that
makes this task instance's key.
"""

from __future__ import annotations

import os
import sys
from types import SimpleNamespace
from typing import Any

from sigterm_support import on_sigterm_call_on_kill, say

from airflow_provider_hubspot_imports.operators.imports import HubSpotStartImportOperator

DAG_ID = "test_stop_start_sigterm"
TASK_ID = "start_import"


def start_operator(csv_path: str) -> HubSpotStartImportOperator:
    """The operator, as this child and the retry in the test both run it."""
    return HubSpotStartImportOperator(
        task_id=TASK_ID,
        import_request={"name": "Contacts", "files": [{"fileName": "contacts.csv", "fileFormat": "CSV"}]},
        files=csv_path,
        wait_for_completion=True,
        deferrable=False,
        poke_interval=0.2,
        timeout=600,
        cancel_on_timeout=True,
    )


def task_instance(run_id: str, try_number: int, retry: bool) -> SimpleNamespace:
    """What the operator reads of Airflow's task instance: its identity (the key), and whether
    Airflow retries this try (its try number and max tries, public on Airflow 3 and 2.11)."""
    return SimpleNamespace(
        dag_id=DAG_ID,
        run_id=run_id,
        task_id=TASK_ID,
        map_index=-1,
        try_number=try_number,
        max_tries=try_number if retry else try_number - 1,
        xcom_push=lambda key, value: None,  # the "HubSpot import" link
    )


def main(csv_path: str, which_try: str, run_id: str) -> None:
    operator = start_operator(csv_path)

    on_sigterm_call_on_kill(operator)
    poll = operator._poll

    def poll_then_lose_the_connection(hook: Any, raw_record: dict[str, Any]) -> dict[str, Any]:
        result = poll(hook, raw_record)
        os.environ.pop("AIRFLOW_CONN_HUBSPOT_DEFAULT", None)
        operator._poll = lambda hook, raw_record: raw_record  # type: ignore[method-assign]
        say(f"polled {operator.import_id}")
        return result

    operator._poll = poll_then_lose_the_connection  # type: ignore[method-assign]
    operator.execute({"ti": task_instance(run_id, 1, which_try == "retry")})  # type: ignore[arg-type]


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
