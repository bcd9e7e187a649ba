"""The system test's DAG: every call whose answer only HubSpot can confirm, on a few test contacts.

Read the list of imports; start a tiny import and wait for it in reschedule mode, then read its
errors; start another and wait for it deferred; start a third and cancel it at once. Connection
``hubspot_system``; the CSV path comes in the run's conf. See docs/testing.md, "The system test".
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook
from airflow_provider_hubspot_imports.operators.imports import (
    HubSpotCancelImportOperator,
    HubSpotStartImportOperator,
)
from airflow_provider_hubspot_imports.sensors.imports import ImportStateSensor

try:
    from airflow.sdk import DAG, task
except ImportError:  # Airflow 2.11
    from airflow import DAG  # type: ignore[no-redef,attr-defined]
    from airflow.decorators import task  # type: ignore[no-redef]

CONN_ID = "hubspot_system"
POKE_SECONDS = float(os.environ.get("HUBSPOT_SYSTEM_TEST_POKE_SECONDS", "5"))
WAIT_SECONDS = 15 * 60  # HubSpot takes seconds for a few rows; minutes when its queue is long
# The CSV's columns, each written to the contact property of its name; contacts are matched by email.
CONTACT_COLUMNS = [
    {"columnName": name, "propertyName": name, "columnObjectTypeId": "0-1"}
    | ({"idColumnType": "HUBSPOT_ALTERNATE_ID"} if name == "email" else {})
    for name in ("email", "firstname", "lastname")
]


def start(task_id: str, purpose: str) -> HubSpotStartImportOperator:
    return HubSpotStartImportOperator(
        task_id=task_id,
        hubspot_conn_id=CONN_ID,
        import_request={
            "name": f"airflow-provider-hubspot-imports system test: {purpose}",
            "files": [
                {
                    "fileName": "{{ params.csv_path.split('/')[-1] }}",
                    "fileFormat": "CSV",
                    "fileImportPage": {"hasHeader": True, "columnMappings": CONTACT_COLUMNS},
                }
            ],
        },
        files=["{{ params.csv_path }}"],
    )


def import_id_of(task_id: str) -> str:
    return "{{ ti.xcom_pull(task_ids='" + task_id + "')['id'] }}"


with DAG(
    "example_hubspot_imports_system",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"csv_path": "/nonexistent.csv"},
    tags=["system", "hubspot"],
):

    @task
    def read_imports_list() -> int:
        """The list, page after page (at most 200 imports): how many it holds."""
        return sum(1 for _ in HubSpotHook(CONN_ID).list_imports(limit=200))

    @task
    def read_errors(record: dict[str, Any]) -> list[str]:
        """The waited import's errors, without row data: their types."""
        errors = HubSpotHook(CONN_ID).get_import_errors(record["id"], limit=100)
        return sorted({str(error.get("errorType")) for error in errors})

    listed = read_imports_list()
    waited = start("start_waited_in_reschedule_mode", "waited in reschedule mode")
    wait_reschedule = ImportStateSensor(
        task_id="wait_in_reschedule_mode",
        hubspot_conn_id=CONN_ID,
        import_id=import_id_of("start_waited_in_reschedule_mode"),
        mode="reschedule",
        deferrable=False,
        poke_interval=POKE_SECONDS,
        timeout=WAIT_SECONDS,
    )
    deferred = start("start_waited_deferred", "waited deferred")
    wait_deferred = ImportStateSensor(
        task_id="wait_deferred",
        hubspot_conn_id=CONN_ID,
        import_id=import_id_of("start_waited_deferred"),
        deferrable=True,
        poke_interval=POKE_SECONDS,
        timeout=WAIT_SECONDS,
    )
    canceled = start("start_canceled", "canceled at once")
    cancel = HubSpotCancelImportOperator(
        task_id="cancel", hubspot_conn_id=CONN_ID, import_id=import_id_of("start_canceled")
    )

    listed >> waited >> wait_reschedule
    read_errors(wait_reschedule.output)
    # One import at a time: HubSpot runs few at once per account.
    wait_reschedule >> deferred >> wait_deferred >> canceled >> cancel
