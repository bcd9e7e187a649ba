"""DAGs for lineage and asset events: a CSV import started and waited for, with an outlet."""

from __future__ import annotations

from datetime import datetime

from airflow_provider_hubspot_imports.operators.imports import HubSpotStartImportOperator
from airflow_provider_hubspot_imports.sensors.imports import ImportStateSensor

try:
    from airflow.sdk import DAG, Asset
except ImportError:  # Airflow 2.11
    from airflow import DAG  # type: ignore[no-redef,attr-defined]
    from airflow.datasets import Dataset as Asset  # type: ignore[no-redef,attr-defined]

START = datetime(2026, 1, 1)
CONTACTS = Asset("hubspot://424242/contacts")

with DAG("test_lineage_start", schedule=None, start_date=START, catchup=False, params={"csv_path": ""}):
    HubSpotStartImportOperator(
        task_id="start_import",
        import_request={
            "name": "Contacts from the warehouse",
            "files": [
                {
                    "fileName": "{{ params.csv_path.split('/')[-1] }}",
                    "fileFormat": "CSV",
                    "fileImportPage": {
                        "hasHeader": True,
                        "columnMappings": [
                            {"columnObjectTypeId": "0-1", "columnName": "email", "propertyName": "email"},
                            {
                                "columnObjectTypeId": "0-1",
                                "columnName": "firstname",
                                "propertyName": "firstname",
                            },
                        ],
                    },
                }
            ],
        },
        files=["{{ params.csv_path }}"],
        wait_for_completion=True,
        poke_interval=0.2,
        timeout=30,
        max_error_rows=10,
        outlets=[CONTACTS],
    )

with DAG("test_lineage_sensor", schedule=None, start_date=START, catchup=False, params={"import_id": "0"}):
    ImportStateSensor(
        task_id="wait_for_import",
        import_id="{{ params.import_id }}",
        poke_interval=1,
        timeout=30,
        max_error_ratio=0.05,
    )
