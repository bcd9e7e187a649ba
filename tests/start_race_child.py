"""One DAG run's start task with a shared idempotency key, run in its own process as a worker
would run it; prints the record it ends with as JSON.
Arguments: CSV path, the run id, "wait" or "start-only".
"""

from __future__ import annotations

import json
import sys
from types import SimpleNamespace

from airflow_provider_hubspot_imports.operators.imports import HubSpotStartImportOperator

KEY = "contacts-nightly"
REQUEST = {"name": "Contacts", "files": [{"fileName": "contacts.csv", "fileFormat": "CSV"}]}


def main(csv_path: str, run_id: str, mode: str) -> None:
    operator = HubSpotStartImportOperator(
        task_id="start_import",
        import_request=REQUEST,
        files=csv_path,
        idempotency_key=KEY,
        wait_for_completion=mode == "wait",
        deferrable=False,
        poke_interval=0.2,
        timeout=60,
    )
    ti = SimpleNamespace(
        dag_id="nightly",
        run_id=run_id,
        task_id="start_import",
        map_index=-1,
        try_number=1,
        max_tries=0,
        xcom_push=lambda key, value: None,  # the "HubSpot import" link
    )
    record = operator.execute({"ti": ti})  # type: ignore[arg-type]
    print(json.dumps(record))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
