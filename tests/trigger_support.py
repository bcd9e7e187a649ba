"""Run a trigger to its first event in a fresh event loop, as the triggerer (or dag.test) would;
give it the supervisor channel it has in Airflow 3's triggerer."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

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
