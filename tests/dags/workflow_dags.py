"""DAGs for the imports workflow: the quality gate, cancel on give-up, start-and-wait, cancel."""

from __future__ import annotations

from datetime import datetime

from airflow_provider_hubspot_imports.operators.imports import (
    HubSpotCancelImportOperator,
    HubSpotStartImportOperator,
)
from airflow_provider_hubspot_imports.sensors.imports import ImportStateSensor

try:
    from airflow.sdk import DAG
except ImportError:
    from airflow import DAG  # type: ignore[no-redef,attr-defined]

START = datetime(2026, 1, 1)

with DAG("test_quality_gate", schedule=None, start_date=START, catchup=False, params={"import_id": "0"}):
    ImportStateSensor(
        task_id="wait_for_import",
        import_id="{{ params.import_id }}",
        poke_interval=0.2,
        timeout=60,
        retries=2,
        max_error_ratio=0.05,
    )

with DAG("test_cancel_on_timeout", schedule=None, start_date=START, catchup=False, params={"import_id": "0"}):
    ImportStateSensor(
        task_id="wait_for_import",
        import_id="{{ params.import_id }}",
        poke_interval=0.2,
        timeout=0.6,  # a few pokes, then the timeout
        cancel_on_timeout=True,
    )

with DAG(
    "test_start_and_wait",
    schedule=None,
    start_date=START,
    catchup=False,
    params={"csv_path": "/nonexistent.csv", "max_error_rows": 0},
):
    HubSpotStartImportOperator(
        task_id="start_import",
        import_request={
            "name": "Test import",
            "files": [{"fileName": "{{ params.csv_path.split('/')[-1] }}", "fileFormat": "CSV"}],
        },
        files=["{{ params.csv_path }}"],
        wait_for_completion=True,
        poke_interval=0.2,
        timeout=30,
        max_error_rows=0,
    )

with DAG("test_start_wait_timeout", schedule=None, start_date=START, catchup=False, params={"csv_path": ""}):
    HubSpotStartImportOperator(
        task_id="start_import",
        import_request={"files": [{"fileName": "{{ params.csv_path.split('/')[-1] }}", "fileFormat": "CSV"}]},
        files="{{ params.csv_path }}",
        wait_for_completion=True,
        poke_interval=0.3,
        timeout=1,
        cancel_on_timeout=True,
        retries=2,
    )

with DAG("test_cancel_import", schedule=None, start_date=START, catchup=False, params={"import_id": "0"}):
    HubSpotCancelImportOperator(task_id="cancel_import", import_id="{{ params.import_id }}")
