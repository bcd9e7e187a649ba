"""Start a CSV import into HubSpot, wait until it is DONE with few enough errors, then load downstream.

Set up a connection ``hubspot_default`` (type ``hubspot``, access token in the password field) and
trigger with ``{"csv_path": "/data/contacts.csv"}``. The CSV needs a header row with ``email``,
``firstname`` and ``lastname`` columns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow_provider_hubspot_imports.operators.imports import HubSpotStartImportOperator
from airflow_provider_hubspot_imports.sensors.imports import ImportStateSensor

try:
    from airflow.sdk import DAG, task
except ImportError:  # Airflow 2.11
    from airflow import DAG  # type: ignore[no-redef,attr-defined]
    from airflow.decorators import task  # type: ignore[no-redef]

CONTACT_COLUMNS = [
    {
        "columnName": "email",
        "propertyName": "email",
        "columnObjectTypeId": "0-1",
        "idColumnType": "HUBSPOT_ALTERNATE_ID",
    },
    {"columnName": "firstname", "propertyName": "firstname", "columnObjectTypeId": "0-1"},
    {"columnName": "lastname", "propertyName": "lastname", "columnObjectTypeId": "0-1"},
]

with DAG(
    "example_hubspot_import",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"csv_path": "/data/contacts.csv"},
    tags=["example", "hubspot"],
):
    start = HubSpotStartImportOperator(
        task_id="start_import",
        import_request={
            "name": "Contacts {{ ds }}",
            "files": [
                {
                    # HubSpot matches the uploaded file to this entry by its name.
                    "fileName": "{{ params.csv_path.split('/')[-1] }}",
                    "fileFormat": "CSV",
                    "fileImportPage": {"hasHeader": True, "columnMappings": CONTACT_COLUMNS},
                }
            ],
        },
        files=["{{ params.csv_path }}"],
    )

    wait = ImportStateSensor(
        task_id="wait_for_import",
        import_id="{{ ti.xcom_pull(task_ids='start_import')['id'] }}",
        poke_interval=60,  # reschedule mode: no worker slot is held between checks
        timeout=6 * 60 * 60,
        max_error_ratio=0.05,  # more than 5% bad rows: stop here, list the first errors
        cancel_on_timeout=True,
    )

    @task
    def load_downstream(record: dict[str, Any]) -> int:
        """Stand-in for the real downstream load: it gets HubSpot's final import record."""
        counters = record["metadata"]["counters"]
        created = counters.get("CREATED_OBJECTS", 0) + counters.get("UPDATED_OBJECTS", 0)
        print(f"Import {record['id']} wrote {created} contacts; loading them downstream.")
        return created

    start >> wait
    load_downstream(wait.output)
