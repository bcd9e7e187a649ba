"""When an import fails its quality gate, hand the failed rows to the people who fix the data.

Trigger it with the import's id: ``airflow dags trigger example_hubspot_failed_rows -c
'{"import_id": "12345678"}'``. The sensor waits for the import and fails when more than 5% of its
rows were refused; only then does the export run (``trigger_rule="all_failed"``): it writes every
error row to a CSV (without the rows' values: they are personal data, often) and the last task
reports where the file is and what went wrong, by error type. Swap its body for your e-mail or
chat notifier.
"""

from __future__ import annotations

import logging
import tempfile
from datetime import datetime
from typing import Any

from airflow_provider_hubspot_imports.operators.export import HubSpotExportImportErrorsOperator
from airflow_provider_hubspot_imports.sensors.imports import ImportStateSensor

try:
    from airflow.sdk import DAG, Param, task
except ImportError:  # Airflow 2.11
    from airflow import DAG  # type: ignore[no-redef,attr-defined]
    from airflow.decorators import task  # type: ignore[no-redef]
    from airflow.models.param import Param  # type: ignore[no-redef]

log = logging.getLogger(__name__)

with DAG(
    dag_id="example_hubspot_failed_rows",
    description="Quality gate fails -> export the failed rows -> notify.",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={
        "import_id": Param("1", type="string", pattern=r"^[0-9]+$", description="HubSpot import id"),
        "export_dir": Param(tempfile.gettempdir(), type="string", description="where the CSV goes"),
    },
    tags=["hubspot", "example"],
) as dag:
    wait_for_import = ImportStateSensor(
        task_id="wait_for_import",
        import_id="{{ params.import_id }}",
        poke_interval=10,
        timeout=60 * 60,
        max_error_ratio=0.05,
    )
    export_failed_rows = HubSpotExportImportErrorsOperator(
        task_id="export_failed_rows",
        import_id="{{ params.import_id }}",
        destination="{{ params.export_dir }}/hubspot-import-{{ params.import_id }}-errors.csv",
        trigger_rule="all_failed",  # only when the gate (or the import) failed
    )

    @task
    def notify(summary: dict[str, Any]) -> str:
        kinds = ", ".join(f"{count} {kind}" for kind, count in summary["by_error_type"].items())
        message = (
            f"HubSpot import {summary['import_id']} failed its quality gate: {summary['rows']} rows were "
            f"refused ({kinds or 'no error rows listed'}). They are in {summary['destination']}."
        )
        log.warning(message)
        return message

    wait_for_import >> export_failed_rows
    notify(export_failed_rows.output)
