"""DAGs the tests run with `dag.test()`; the import id comes from the run's conf (params)."""

from __future__ import annotations

from datetime import datetime

from airflow_provider_hubspot_imports.operators.imports import HubSpotGetImportOperator
from airflow_provider_hubspot_imports.sensors.imports import ImportStateSensor

try:
    from airflow.sdk import DAG
except ImportError:
    from airflow import DAG  # type: ignore[no-redef,attr-defined]

START = datetime(2026, 1, 1)

with DAG("test_reschedule_gate", schedule=None, start_date=START, catchup=False, params={"import_id": "0"}):
    wait = ImportStateSensor(
        task_id="wait_for_import",
        import_id="{{ params.import_id }}",
        poke_interval=1,
        timeout=120,
        retries=2,
    )
    fetch = HubSpotGetImportOperator(task_id="get_import", import_id="{{ params.import_id }}")
    wait >> fetch
