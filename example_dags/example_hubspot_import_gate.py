"""Gate downstream work on a HubSpot CRM import.

Trigger it with the import's id, e.g. ``airflow dags trigger example_hubspot_import_gate -c
'{"import_id": "12345678"}'``. The sensor waits, in reschedule mode, until HubSpot reports the import
finished; a FAILED, CANCELED or REVERTED import fails the run at once. The downstream task reads the
import record (exactly as HubSpot sent it) from XCom and logs its counters.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from airflow_provider_hubspot_imports.sensors.imports import ImportStateSensor

try:
    from airflow.sdk import DAG, Param, task
except ImportError:  # Airflow 2.11
    from airflow import DAG  # type: ignore[no-redef,attr-defined]
    from airflow.decorators import task  # type: ignore[no-redef]
    from airflow.models.param import Param  # type: ignore[no-redef]

log = logging.getLogger(__name__)

# Each poke is one API request. Imports take minutes to hours: in production 60 s or more is
# plenty. The example polls every 10 s so a demo against the emulator finishes quickly.
POKE_INTERVAL_SECONDS = 10

with DAG(
    dag_id="example_hubspot_import_gate",
    description="Wait for a HubSpot CRM import, then use its record downstream.",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"import_id": Param("1", type="string", pattern=r"^[0-9]+$", description="HubSpot import id")},
    tags=["hubspot", "example"],
) as dag:
    wait_for_import = ImportStateSensor(
        task_id="wait_for_import",
        import_id="{{ params.import_id }}",
        hubspot_conn_id="hubspot_default",
        poke_interval=POKE_INTERVAL_SECONDS,
        timeout=6 * 60 * 60,
    )

    @task
    def report_counters(record: dict[str, Any]) -> dict[str, int]:
        counters = record.get("metadata", {}).get("counters", {})
        log.info("Import %s finished as %s with counters %s", record["id"], record["state"], counters)
        return counters

    report_counters(wait_for_import.output)
