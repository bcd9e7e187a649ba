"""Run a trigger to its first event in a fresh event loop, as the triggerer (or dag.test) would."""

from __future__ import annotations

import asyncio
from typing import Any

from airflow.triggers.base import BaseTrigger


def first_event(trigger: BaseTrigger, timeout: float = 30.0) -> dict[str, Any]:
    async def run() -> Any:
        return await asyncio.wait_for(anext(trigger.run()), timeout)

    event = asyncio.run(run())
    assert isinstance(event.payload, dict), event
    return event.payload
