"""Run a trigger to its first event in a fresh event loop, as the triggerer (or dag.test) would;
give it the supervisor channel it has in Airflow 3's triggerer."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from airflow.triggers.base import BaseTrigger


def first_event(trigger: BaseTrigger, timeout: float = 30.0) -> dict[str, Any]:
    async def run() -> Any:
        return await asyncio.wait_for(anext(trigger.run()), timeout)

    event = asyncio.run(run())
    assert isinstance(event.payload, dict), event
    return event.payload


@contextmanager
def airflow_supervisor() -> Iterator[None]:
    """The supervisor channel a trigger has in the triggerer, served in-process against the
    test database (as Airflow's `InProcessTestSupervisor.run_trigger_in_process` does)."""
    import psutil
    import structlog
    from airflow.sdk.execution_time.supervisor import (
        InProcessSupervisorComms,
        InProcessTestSupervisor,
        set_supervisor_comms,
    )

    supervisor = InProcessTestSupervisor(
        id=uuid.uuid4(),
        pid=os.getpid(),
        process=psutil.Process(),
        process_log=structlog.get_logger(logger_name="task").bind(),
        client=InProcessTestSupervisor._api_client(),
    )
    supervisor.comms = InProcessSupervisorComms(supervisor=supervisor)
    with set_supervisor_comms(supervisor.comms):
        yield


def set_task_state(ti: Any, state: str | None, trigger_timeout: Any = None) -> None:
    """Change a task instance's state in the metadata database, as a person's action would."""
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        session.query(TaskInstance).filter_by(dag_id=ti.dag_id, run_id=ti.run_id, task_id=ti.task_id).update(
            {"state": state, "trigger_timeout": trigger_timeout}
        )


def kill_trigger(trigger: BaseTrigger) -> None:
    """Airflow 3.3's triggerer removing a trigger: its `on_kill`, with the supervisor channel."""
    with airflow_supervisor():
        asyncio.run(trigger.on_kill())  # type: ignore[attr-defined]


def stop_running_trigger(trigger: BaseTrigger, polled: Callable[[], int]) -> None:
    """Airflow 2.11's triggerer removing a trigger: it cancels the trigger's asyncio task (for a
    person's action, a move, its own shutdown and a deferral timeout alike). `polled()` counts the
    trigger's requests: it is stopped once it has made one."""

    async def run_then_stop() -> None:
        before = polled()
        waiting = asyncio.ensure_future(anext(trigger.run()))
        while polled() == before:
            await asyncio.sleep(0.05)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting

    asyncio.run(asyncio.wait_for(run_then_stop(), 60))
