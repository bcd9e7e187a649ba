"""What a task does when `ImportStateTrigger` fires: one function for the sensor and the start operator,
so a deferred wait ends with the same verdict, messages and XCom as a wait in the worker."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from airflow_provider_hubspot_imports._compat import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
)


def finish_wait(
    event: Mapping[str, Any] | None,
    import_id: Any,
    settle_record: Callable[[Mapping[str, Any]], dict[str, Any] | None],
) -> dict[str, Any]:
    """The XCom of a finished wait, from the trigger's event; raises what the task fails with.

    `settle_record` is the waiter's own judgement of a record (`waiting.settle` with its states and
    quality gate): the XCom when the import is done and good, None while it would wait on, and
    `AirflowFailException` for a failure state or a quality-gate breach.
    """
    from airflow_provider_hubspot_imports.triggers import imports as trigger

    status = event.get("status") if isinstance(event, Mapping) else None
    message = str(event.get("message", "")) if isinstance(event, Mapping) else ""
    if status in (trigger.SUCCEEDED, trigger.FAILED) and isinstance(event, Mapping):
        record = event.get("record")
        if not isinstance(record, Mapping):
            raise AirflowException(f"The trigger reported {status!r} without the import record: {event!r}")
        done = settle_record(record)
        if done is not None:
            return done
        raise AirflowException(
            f"The trigger reported {status!r} but the record it sent is not finished by this task's "
            f"states: {message}"
        )
    if status == trigger.TIMEOUT:
        if isinstance(event, Mapping) and event.get("execution_timeout"):
            from airflow_provider_hubspot_imports.waiting import execution_timeout_error

            # As in a worker: retried while the task has tries left, final on the last one.
            raise execution_timeout_error(message)
        raise AirflowSensorTimeout(message)
    if status == trigger.ERROR:
        from airflow_provider_hubspot_imports.core.endings import Ending
        from airflow_provider_hubspot_imports.waiting import ended

        raise ended(AirflowFailException(message), Ending.PERMANENT_ERROR)
    raise AirflowException(f"Unexpected event from ImportStateTrigger for import {import_id}: {event!r}")
