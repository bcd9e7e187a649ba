"""DAGs running SqlToHubSpotImportOperator with `dag.test()`: deferred between checks, and
incremental. The source is the ``transfer_source`` connection the tests point at a SQLite file."""

from __future__ import annotations

from datetime import datetime

from airflow_provider_hubspot_imports.transfers import SqlToHubSpotImportOperator

try:
    from airflow.sdk import DAG, Asset
except ImportError:
    from airflow import DAG  # type: ignore[no-redef,attr-defined]
    from airflow.datasets import Dataset as Asset  # type: ignore[no-redef,attr-defined]

START = datetime(2026, 1, 1)
CONTACTS = Asset("hubspot://transfer-tests/contacts")
PARAMS = {"staging": "", "failed_rows": ""}

with DAG("test_transfer_deferrable", schedule=None, start_date=START, catchup=False, params=PARAMS):
    SqlToHubSpotImportOperator(
        task_id="to_hubspot",
        conn_id="transfer_source",
        sql="SELECT email, firstname, lastname FROM contacts ORDER BY id",
        object_type="contacts",
        id_property="email",
        rows_per_file=1000,
        max_active_imports=2,
        deferrable=True,
        poke_interval=0.2,
        timeout=120,
        max_error_rows=100,
        staging_path="{{ params.staging }}",
        failed_rows_destination="{{ params.failed_rows }}",
    )

with DAG("test_transfer_incremental", schedule=None, start_date=START, catchup=False, params=PARAMS):
    SqlToHubSpotImportOperator(
        task_id="to_hubspot",
        conn_id="transfer_source",
        sql=(
            "SELECT email, firstname, updated_at FROM contacts "
            "WHERE :watermark IS NULL OR updated_at > :watermark ORDER BY id"
        ),
        object_type="contacts",
        id_property="email",
        properties={"updated_at": "date_of_birth"},  # a date property of the emulator's contacts
        incremental_column="updated_at",
        outlets=[CONTACTS],
        poke_interval=0.1,
        timeout=120,
        max_error_ratio=0.1,
        staging_path="{{ params.staging }}",
    )
