"""DAGs for what `cancel_on_timeout` does to the start operator's import; the CSV path comes from params."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow_provider_hubspot_imports.operators.imports import HubSpotStartImportOperator

try:
    from airflow.sdk import DAG
except ImportError:
    from airflow import DAG  # type: ignore[no-redef,attr-defined]

START = datetime(2026, 1, 1)

# The wait's own timeout, in the worker and deferred, failing or skipped (soft_fail), with the
# option on or off. retries=1: a timeout is final all the same.
for _mode in ("worker", "deferred"):
    for _soft_fail in (False, True):
        for _cancel in (True, False):
            _dag_id = (
                f"test_stop_start_timeout_{_mode}_{'soft_fail' if _soft_fail else 'fails'}"
                f"_{'cancel' if _cancel else 'keep'}"
            )
            with DAG(
                _dag_id, schedule=None, start_date=START, catchup=False, params={"csv_path": "/none.csv"}
            ):
                HubSpotStartImportOperator(
                    task_id="start_import",
                    import_request={
                        "name": "Contacts",
                        "files": [{"fileName": "contacts.csv", "fileFormat": "CSV"}],
                    },
                    files="{{ params.csv_path }}",
                    wait_for_completion=True,
                    deferrable=_mode == "deferred",
                    poke_interval=0.5,
                    timeout=timedelta(seconds=1.5),
                    soft_fail=_soft_fail,
                    cancel_on_timeout=_cancel,
                    retries=1,
                    retry_delay=timedelta(0),
                )
