"""DAGs for what `cancel_on_timeout` cancels and what it leaves running; the import id comes from params."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow_provider_hubspot_imports.sensors.imports import ImportStateSensor

try:
    from airflow.sdk import DAG
except ImportError:
    from airflow import DAG  # type: ignore[no-redef,attr-defined]

START = datetime(2026, 1, 1)


def _dag(dag_id: str, **sensor: Any) -> None:
    with DAG(dag_id, schedule=None, start_date=START, catchup=False, params={"import_id": "0"}):
        ImportStateSensor(task_id="wait_for_import", import_id="{{ params.import_id }}", **sensor)


# execution_timeout in a worker: the first try is retried (the import must stay), the last cancels.
_dag(
    "test_stop_execution_timeout_poke",
    mode="poke",
    poke_interval=0.5,
    timeout=600,
    execution_timeout=timedelta(seconds=2),
    retries=1,
    retry_delay=timedelta(0),
    cancel_on_timeout=True,
)
# execution_timeout while deferred: the deferral ends at it (Airflow 3 does not apply it there);
# with a retry, the first try is retried (the import stays) and only the last try cancels.
for _retries, _suffix in ((0, ""), (1, "_retried")):
    _dag(
        f"test_stop_execution_timeout_deferred{_suffix}",
        deferrable=True,
        poke_interval=1,
        timeout=600,
        execution_timeout=timedelta(seconds=3),
        retries=_retries,
        retry_delay=timedelta(0),
        cancel_on_timeout=True,
    )
# The sensor's own timeout with soft_fail: skipped, and the import canceled (or not, option off).
for _mode in ("reschedule", "deferrable"):
    for _cancel in (True, False):
        _dag(
            f"test_stop_soft_fail_timeout_{_mode}_{'cancel' if _cancel else 'keep'}",
            mode="reschedule",
            deferrable=_mode == "deferrable",
            poke_interval=1,
            timeout=2,
            soft_fail=True,
            cancel_on_timeout=_cancel,
        )
# Parity: the first check before deferring and a later poll end alike.
for _mode in ("poke", "reschedule", "deferrable"):
    for _flag in ("soft_fail", "never_fail", "silent_fail"):
        _dag(
            f"test_parity_{_mode}_{_flag}",
            mode="reschedule" if _mode == "deferrable" else _mode,
            deferrable=_mode == "deferrable",
            poke_interval=1,
            timeout=60,
            **{_flag: True},
        )
