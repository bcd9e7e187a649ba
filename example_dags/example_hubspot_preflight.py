"""Check a contacts CSV against its import request and the account's schema, then import it.

``validate`` is the dry run: nothing is uploaded, the report (errors with HubSpot's error types and
line numbers, skipped checks, totals) is its XCom, and the task fails when HubSpot would refuse the
import or fail rows. Only a file that passed is uploaded. Trigger with
``{"csv_path": "/data/contacts.csv"}``; the CSV's header is ``email,firstname,lastname,
lifecyclestage,date_of_birth`` with dates written as 12/31/1990. The connection's token needs
``crm.import`` and, for the schema checks, ``crm.schemas.contacts.read``.
"""

from __future__ import annotations

from datetime import datetime

from airflow_provider_hubspot_imports.operators.imports import HubSpotStartImportOperator
from airflow_provider_hubspot_imports.operators.validate import HubSpotValidateImportOperator

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.11
    from airflow import DAG  # type: ignore[no-redef,attr-defined]

COLUMNS = [
    {
        "columnName": "email",
        "propertyName": "email",
        "columnObjectTypeId": "0-1",
        "idColumnType": "HUBSPOT_ALTERNATE_ID",
    },
    {"columnName": "firstname", "propertyName": "firstname", "columnObjectTypeId": "0-1"},
    {"columnName": "lastname", "propertyName": "lastname", "columnObjectTypeId": "0-1"},
    {"columnName": "lifecyclestage", "propertyName": "lifecyclestage", "columnObjectTypeId": "0-1"},
    {"columnName": "date_of_birth", "propertyName": "date_of_birth", "columnObjectTypeId": "0-1"},
]
IMPORT_REQUEST = {
    "name": "Contacts {{ ds }}",
    "dateFormat": "MONTH_DAY_YEAR",
    "files": [
        {
            "fileName": "{{ params.csv_path.split('/')[-1] }}",
            "fileFormat": "CSV",
            "fileImportPage": {"hasHeader": True, "columnMappings": COLUMNS},
        }
    ],
}

with DAG(
    "example_hubspot_preflight",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"csv_path": "/data/contacts.csv"},
    tags=["example", "hubspot"],
):
    validate = HubSpotValidateImportOperator(
        task_id="validate",
        import_request=IMPORT_REQUEST,
        files="{{ params.csv_path }}",
        rows="all",  # or e.g. 1000: check the first rows only, as HubSpot's in-app importer does
    )

    start = HubSpotStartImportOperator(
        task_id="start_import",
        import_request=IMPORT_REQUEST,
        files="{{ params.csv_path }}",
        preflight="off",  # the file was just checked; "error" (the default) checks it again
        wait_for_completion=True,
        poke_interval=30,
        max_error_rows=0,
    )

    validate >> start
