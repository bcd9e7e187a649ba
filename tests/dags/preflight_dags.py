"""A start operator with pre-flight on (the default), retries allowed: a file with problems must
fail the task at once, upload nothing, and leave the report in XCom."""

from __future__ import annotations

from datetime import datetime

from airflow_provider_hubspot_imports.operators.imports import HubSpotStartImportOperator

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.11
    from airflow import DAG  # type: ignore[no-redef,attr-defined]

COLUMNS = ["email", "lifecyclestage", "date_of_birth"]

with DAG(
    "test_start_preflight",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"csv_path": "/nonexistent.csv"},
):
    HubSpotStartImportOperator(
        task_id="start_import",
        import_request={
            "name": "Contacts",
            "files": [
                {
                    "fileName": "{{ params.csv_path.split('/')[-1] }}",
                    "fileFormat": "CSV",
                    "fileImportPage": {
                        "hasHeader": True,
                        "columnMappings": [
                            {"columnName": name, "columnObjectTypeId": "0-1", "propertyName": name}
                            for name in COLUMNS
                        ],
                    },
                }
            ],
        },
        files="{{ params.csv_path }}",
        retries=2,
    )
