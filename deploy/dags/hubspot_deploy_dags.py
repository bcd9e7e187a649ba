"""DAGs of the deployment scenarios: each run waits on the import named in its conf, then a
downstream task runs (its start time gives the latency from DONE to the next task)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow.sdk import DAG, task

from airflow_provider_hubspot_imports.operators.imports import HubSpotStartImportOperator
from airflow_provider_hubspot_imports.sensors.imports import ImportStateSensor

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
IMPORT_ID = "{{ dag_run.conf['import_id'] }}"


@task
def downstream() -> str:
    return "ran"


with DAG(
    "hubspot_deferred_wait",
    schedule=None,
    start_date=START,
    max_active_runs=1000,
    max_active_tasks=1000,
    catchup=False,
):
    (
        ImportStateSensor(
            task_id="wait",
            import_id=IMPORT_ID,
            deferrable=True,
            poke_interval=5,
            timeout=1800,
            retries=2,
            retry_delay=timedelta(seconds=2),
        )
        >> downstream()
    )

with DAG(
    "hubspot_deadline_margin",
    schedule=None,
    start_date=START,
    max_active_runs=100,
    max_active_tasks=100,
    catchup=False,
):
    # One deadline, reported by the trigger or by the scheduler's deferral timeout (scenario 06): a
    # deferred wait ended by its execution_timeout (16 s, shorter than its timeout) on an import
    # that never finishes in time. Try 1 must be retried and leave
    # the import running; the last try cancels it. The connection bounds a poll by a few seconds,
    # so the deferral's margin after the deadline is seconds (deploy/deployment.py).
    (
        ImportStateSensor(
            task_id="wait",
            import_id=IMPORT_ID,
            hubspot_conn_id="hubspot_quick_polls",
            deferrable=True,
            poke_interval=5,
            timeout=1800,
            execution_timeout=timedelta(seconds=16),
            retries=1,
            retry_delay=timedelta(seconds=5),  # long enough to see try 1 sit in up_for_retry
            cancel_on_timeout=True,
        )
        >> downstream()
    )

with DAG(
    "hubspot_reschedule_wait",
    schedule=None,
    start_date=START,
    max_active_runs=1000,
    max_active_tasks=1000,
    catchup=False,
):
    (
        ImportStateSensor(
            task_id="wait",
            import_id=IMPORT_ID,
            mode="reschedule",
            poke_interval=5,
            timeout=1800,
            retries=2,
            retry_delay=timedelta(seconds=2),
        )
        >> downstream()
    )

with DAG(
    "hubspot_oauth_wait",
    schedule=None,
    start_date=START,
    max_active_runs=100,
    max_active_tasks=100,
    catchup=False,
):
    # The same import waited on both ways through an OAuth connection (refresh token, client secret).
    after = downstream()
    for mode_name, deferrable in (("deferred", True), ("reschedule", False)):
        (
            ImportStateSensor(
                task_id=f"wait_{mode_name}",
                import_id=IMPORT_ID,
                hubspot_conn_id="hubspot_oauth",
                deferrable=deferrable,
                mode="reschedule",
                poke_interval=5,
                timeout=1800,
                retries=2,
                retry_delay=timedelta(seconds=2),
            )
            >> after
        )


for start_dag_id, start_deferrable in (("hubspot_start_deferred", True), ("hubspot_start_worker", False)):
    with DAG(
        start_dag_id,
        schedule=None,
        start_date=START,
        max_active_runs=100,
        max_active_tasks=100,
        catchup=False,
    ):
        # The run id in the name tells the runs' imports apart in the emulator; the operator adds
        # the task instance's key to it.
        (
            HubSpotStartImportOperator(
                task_id="start",
                import_request={
                    "name": "Deploy {{ run_id }}",
                    "files": [{"fileName": "contacts.csv", "fileFormat": "CSV"}],
                },
                files="{{ dag_run.conf['csv'] }}",
                wait_for_completion=True,
                deferrable=start_deferrable,
                poke_interval=5,
                timeout=1800,
                retries=2,
                retry_delay=timedelta(seconds=2),
            )
            >> downstream()
        )
