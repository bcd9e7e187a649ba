"""Many imports at once: start one import per CSV file, then wait on all of them with one mapped sensor.

Trigger with ``{"csv_paths": ["/data/contacts_eu.csv", "/data/contacts_us.csv"]}``; each CSV's header
is ``email,firstname,lastname``. HubSpot runs at
most three imports of an account at a time and queues the rest as DEFERRED; the sensors wait
through that. Each sensor check is one API request: with many imports, keep ``poke_interval``
generous so the account's rate limit is left for other work.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

from airflow_provider_hubspot_imports.operators.imports import HubSpotStartImportOperator
from airflow_provider_hubspot_imports.sensors.imports import ImportStateSensor

try:
    from airflow.sdk import DAG, task
except ImportError:  # Airflow 2.11
    from airflow import DAG  # type: ignore[no-redef,attr-defined]
    from airflow.decorators import task  # type: ignore[no-redef]


def import_id_of(record: dict[str, Any]) -> str:
    return str(record["id"])


with DAG(
    "example_hubspot_many_imports",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"csv_paths": ["/data/contacts_eu.csv", "/data/contacts_us.csv"]},
    tags=["example", "hubspot"],
):

    @task
    def plan_imports(params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """One start per file: the request names the file it uploads."""
        plans = []
        for path in (params or {})["csv_paths"]:
            name = PurePosixPath(path).name
            request = {
                "name": f"Contacts from {name}",
                "files": [
                    {
                        "fileName": name,
                        "fileFormat": "CSV",
                        "fileImportPage": {
                            "hasHeader": True,
                            "columnMappings": [
                                {
                                    "columnName": "email",
                                    "propertyName": "email",
                                    "columnObjectTypeId": "0-1",
                                    "idColumnType": "HUBSPOT_ALTERNATE_ID",
                                },
                                # HubSpot fails an import whose columns are not all mapped, in order.
                                {
                                    "columnName": "firstname",
                                    "propertyName": "firstname",
                                    "columnObjectTypeId": "0-1",
                                },
                                {
                                    "columnName": "lastname",
                                    "propertyName": "lastname",
                                    "columnObjectTypeId": "0-1",
                                },
                            ],
                        },
                    }
                ],
            }
            plans.append({"import_request": request, "files": [path]})
        return plans

    started = HubSpotStartImportOperator.partial(task_id="start_import").expand_kwargs(plan_imports())

    waited = ImportStateSensor.partial(
        task_id="wait_for_import", poke_interval=120, timeout=12 * 60 * 60, max_error_rows=0
    ).expand(import_id=started.output.map(import_id_of))

    @task
    def report(records: list[dict[str, Any]]) -> dict[str, int]:
        """Downstream work sees every final import record, in the order of the files."""
        rows = {record["id"]: record["metadata"]["counters"].get("TOTAL_ROWS", 0) for record in records}
        print(f"All {len(rows)} imports are DONE without errors: {rows}")
        return rows

    report(waited.output)
