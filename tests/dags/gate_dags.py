"""DAGs the tests run with `dag.test()`; the import id comes from the run's conf (params)."""

from __future__ import annotations

from datetime import datetime

from airflow_provider_hubspot_imports.operators.imports import HubSpotGetImportOperator
from airflow_provider_hubspot_imports.sensors.imports import ImportStateSensor

try:
    from airflow.sdk import DAG, task
except ImportError:
    from airflow import DAG  # type: ignore[no-redef,attr-defined]
    from airflow.decorators import task  # type: ignore[no-redef,attr-defined]

START = datetime(2026, 1, 1)

with DAG("test_reschedule_gate", schedule=None, start_date=START, catchup=False, params={"import_id": "0"}):
    wait = ImportStateSensor(
        task_id="wait_for_import",
        import_id="{{ params.import_id }}",
        poke_interval=0.2,
        timeout=120,
        retries=2,
    )
    fetch = HubSpotGetImportOperator(task_id="get_import", import_id="{{ params.import_id }}")
    wait >> fetch


with DAG("test_deferrable_gate", schedule=None, start_date=START, catchup=False, params={"import_id": "0"}):
    deferred_wait = ImportStateSensor(
        task_id="wait_for_import",
        import_id="{{ params.import_id }}",
        hubspot_conn_id="hubspot_default",
        deferrable=True,
        poke_interval=0.2,
        timeout=120,
        retries=2,
    )

    @task
    def load(record: dict) -> dict:
        """Stands for the downstream load: receives the import record the sensor pushed."""
        print(f"loading after import {record['id']} ended {record['state']}")
        return record

    load(deferred_wait.output)

with DAG(
    "test_deferrable_gate_db_conn", schedule=None, start_date=START, catchup=False, params={"import_id": "0"}
):
    ImportStateSensor(
        task_id="wait_for_import",
        import_id="{{ params.import_id }}",
        hubspot_conn_id="hubspot_in_db",
        deferrable=True,
        poke_interval=0.2,
        timeout=120,
    )
