"""DAGs for "one import per task instance": a start operator whose first try can be made to fail
at a chosen point (`params.crash_at`), as a worker crash or a lost try would, in both wait modes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow_provider_hubspot_imports.models import ImportState
from airflow_provider_hubspot_imports.operators.imports import HubSpotStartImportOperator
from airflow_provider_hubspot_imports.triggers.imports import ImportStateTrigger

try:
    from airflow.sdk import DAG
except ImportError:
    from airflow import DAG  # type: ignore[no-redef,attr-defined]

START = datetime(2026, 1, 1)
# Crash points of the first try (the second try runs undisturbed).
BEFORE_UPLOAD = "before_upload"  # the try dies before a byte is uploaded
NOT_SAVED = "answer_not_saved"  # HubSpot answered, the try dies before the task state store write
WAITING = "waiting_in_worker"  # the try dies while polling in the worker
DEFERRED = "deferred"  # the try is lost while deferred, the import still running
FINISHED = "finished"  # the try is lost as it resumes, the import already finished


class SimulatedCrash(RuntimeError):
    """What the first try dies of."""


class CrashingStart(HubSpotStartImportOperator):
    """The start operator, failing its first try at `params.crash_at`."""

    def execute(self, context: Any) -> Any:
        self._context = context
        return super().execute(context)

    def _crash(self, point: str, context: Any = None) -> None:
        context = context or self._context
        if context["params"].get("crash_at") == point and context["ti"].try_number == 1:
            raise SimulatedCrash(f"simulated crash of try 1: {point}")

    def _start(self, context: Any, hook: Any, key: Any) -> Any:
        self._crash(BEFORE_UPLOAD, context)
        started = super()._start(context, hook, key)
        if super()._state_store(context) is None:  # before 3.3: the answer is lost all the same
            self._crash(NOT_SAVED, context)
        return started

    def _state_store(self, context: Any) -> Any:
        store = super()._state_store(context)
        if store is None:
            return None
        operator = self

        class CrashingStore:
            """The task state store, crashing the first try just before the id is saved."""

            def get(self, name: str) -> Any:
                return store.get(name)

            def set(self, name: str, value: Any) -> None:
                operator._crash(NOT_SAVED, context)
                store.set(name, value)

        return CrashingStore()

    def _poll(self, hook: Any, raw_record: dict[str, Any]) -> dict[str, Any]:
        self._crash(WAITING)
        return super()._poll(hook, raw_record)

    def _trigger(self, import_id: str, **timing: Any) -> ImportStateTrigger:
        trigger = super()._trigger(import_id, **timing)
        if self._context["params"].get("crash_at") == DEFERRED and self._context["ti"].try_number == 1:
            # The try's wait ends while the import is still PROCESSING, and the try dies there.
            trigger.success_states = trigger.success_states | {ImportState.PROCESSING}
        return trigger

    def execute_complete(self, context: Any, event: Any = None, import_id: str | None = None) -> Any:
        self._crash(DEFERRED, context)
        self._crash(FINISHED, context)
        return super().execute_complete(context, event, import_id)


def start_dag(dag_id: str, *, deferrable: bool, **operator_args: Any) -> None:
    with DAG(
        dag_id,
        schedule=None,
        start_date=START,
        catchup=False,
        params={"csv_path": "/nonexistent.csv", "crash_at": ""},
    ):
        CrashingStart(
            task_id="start_import",
            import_request={
                "name": "Contacts",
                "files": [{"fileName": "{{ params.csv_path.split('/')[-1] }}", "fileFormat": "CSV"}],
            },
            files="{{ params.csv_path }}",
            **{
                "wait_for_completion": True,
                "deferrable": deferrable,
                "poke_interval": timedelta(seconds=0.2),
                "timeout": timedelta(seconds=30),
                "retries": 2,
                "retry_delay": timedelta(0),
                **operator_args,
            },
        )


start_dag("test_start_once_worker", deferrable=False)
start_dag("test_start_once_deferred", deferrable=True)
start_dag("test_start_no_key", deferrable=False, idempotency_key=False)
start_dag("test_start_gate_worker", deferrable=False, max_error_rows=0)
start_dag("test_start_gate_deferred", deferrable=True, max_error_rows=0)
# The wait's own timeout, in the worker and deferred, failing or skipped (soft_fail), with
# `cancel_on_timeout` on or off (tests/test_stops_start.py). A timeout is final: retries stay unused.
for _mode in ("worker", "deferred"):
    for _ending in ("fails", "soft_fail"):
        for _option in ("cancel", "keep"):
            start_dag(
                f"test_stop_start_timeout_{_mode}_{_ending}_{_option}",
                deferrable=_mode == "deferred",
                poke_interval=0.5,
                timeout=timedelta(seconds=1.5),
                soft_fail=_ending == "soft_fail",
                cancel_on_timeout=_option == "cancel",
            )
# execution_timeout in the worker, or while deferred (where the trigger applies it): the first try
# is retried (its import must stay, and the retry waits on it), the last try cancels it.
for _deferrable in (False, True):
    start_dag(
        "test_stop_start_execution_timeout" + ("_deferred" if _deferrable else ""),
        deferrable=_deferrable,
        poke_interval=0.5,
        timeout=timedelta(minutes=10),
        execution_timeout=timedelta(seconds=3),
        retries=1,
        cancel_on_timeout=True,
    )
