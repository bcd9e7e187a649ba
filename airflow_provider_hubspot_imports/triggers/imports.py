"""`ImportStateTrigger`: wait for a HubSpot import in the triggerer, without holding a worker slot.

One GET per poll through `HubSpotAsyncClient` (the async twin of the hook); the verdict comes from
`core.outcome.judge`, the same function the reschedule-mode sensor uses, so the two modes cannot
disagree on what a record means.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_hubspot_imports._compat import AirflowNotFoundException
from airflow_provider_hubspot_imports.core.ids import validate_import_id
from airflow_provider_hubspot_imports.core.outcome import Verdict, judge
from airflow_provider_hubspot_imports.errors import HubSpotError
from airflow_provider_hubspot_imports.models import ImportState
from airflow_provider_hubspot_imports.waiting import wait_rules

# Event payload "status" values, read by ImportStateSensor.execute_complete.
SUCCEEDED = Verdict.SUCCEEDED.value
FAILED = Verdict.FAILED.value
TIMEOUT = "timeout"
ERROR = "error"


class ImportStateTrigger(BaseTrigger):
    """Poll one import every `poll_interval` seconds until it ends or `end_time` passes.

    Fires one event, a dict with ``status`` (``succeeded``, ``failed``, ``timeout`` or ``error``),
    ``import_id``, ``message`` and, for a terminal state, ``record``: the import's JSON exactly as
    HubSpot sent it. Transient trouble (network errors, timeouts, 429, 5xx, a non-JSON answer) that
    outlasts the client's own retries is logged and the wait goes on; permanent trouble (401, 403,
    404, a malformed record, bad input) ends it with an ``error`` event naming the cause.

    :param import_id: the import's numeric id.
    :param hubspot_conn_id: Airflow connection of type ``hubspot``.
    :param poll_interval: seconds between polls.
    :param end_time: deadline as epoch seconds (``time.time()``), or None to wait for ever.
    :param success_states: state names that end the wait successfully.
    :param failure_states: state names that end it as a failure.
    :param first_poll_at: epoch seconds of the first poll (None: at once). The sensor checks the
        import just before it defers, so it sets this one interval later: no request is wasted on a
        state it has just read. After a triggerer restart a past time means "poll now".
    """

    def __init__(
        self,
        *,
        import_id: int | str,
        hubspot_conn_id: str = "hubspot_default",
        poll_interval: float = 60.0,
        end_time: float | None = None,
        success_states: Iterable[str] | None = None,
        failure_states: Iterable[str] | None = None,
        first_poll_at: float | None = None,
    ) -> None:
        super().__init__()
        self.first_poll_at = None if first_poll_at is None else float(first_poll_at)
        self.import_id = import_id
        self.hubspot_conn_id = hubspot_conn_id
        self.poll_interval = float(poll_interval)
        self.end_time = None if end_time is None else float(end_time)
        self.success_states, self.failure_states, _ = wait_rules(success_states, failure_states, None, None)
        if not self.poll_interval > 0:
            raise ValueError(f"poll_interval is {poll_interval!r}; it must be a positive number of seconds.")

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(import_id={self.import_id!r}, hubspot_conn_id={self.hubspot_conn_id!r})"
        )

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "import_id": self.import_id,
                "hubspot_conn_id": self.hubspot_conn_id,
                "poll_interval": self.poll_interval,
                "end_time": self.end_time,
                "success_states": _names(self.success_states),
                "failure_states": _names(self.failure_states),
                "first_poll_at": self.first_poll_at,
            },
        )

    def _event(self, status: str, message: str, record: Any = None) -> TriggerEvent:
        payload: dict[str, Any] = {"status": status, "import_id": str(self.import_id), "message": message}
        if record is not None:
            payload["record"] = dict(record)
        return TriggerEvent(payload)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        try:
            event = await self._wait()
        except HubSpotError as error:  # bad input or settings: refused before any request
            event = self._event(ERROR, str(error))
        except AirflowNotFoundException as error:
            event = self._event(
                ERROR,
                f"Connection '{self.hubspot_conn_id}' is not defined ({error}). Create a connection of "
                f"type hubspot with that id, or pass the id of an existing one as hubspot_conn_id.",
            )
        yield event

    async def _wait(self) -> TriggerEvent:
        from airflow_provider_hubspot_imports.hooks.hubspot_async import HubSpotAsyncClient

        validate_import_id(self.import_id)
        last_state: ImportState | None = None
        if self.first_poll_at is not None:
            until = self.first_poll_at if self.end_time is None else min(self.first_poll_at, self.end_time)
            await asyncio.sleep(max(0.0, until - time.time()))
        async with HubSpotAsyncClient(self.hubspot_conn_id, log=self.log) as client:
            while True:
                delay = self.poll_interval
                try:
                    record = await client.get_import(self.import_id)
                except HubSpotError as error:
                    if error.permanent:
                        return self._event(ERROR, str(error))
                    # HubSpot's Retry-After, when longer than the interval, sets the next poll.
                    delay = max(self.poll_interval, error.retry_after or 0.0)
                    self.log.warning(
                        "Could not read import %s this time; polling again in %g s. %s",
                        self.import_id,
                        delay,
                        error,
                    )
                else:
                    outcome = judge(record, self.success_states, self.failure_states)
                    if outcome.verdict is not Verdict.WAITING:
                        self.log.info(outcome.message)
                        return self._event(outcome.verdict.value, outcome.message, record.raw)
                    if record.state != last_state:  # one line per change, not per poll
                        self.log.info(outcome.message)
                        last_state = record.state
                remaining = None if self.end_time is None else self.end_time - time.time()
                if remaining is not None and remaining <= 0:
                    return self._event(TIMEOUT, self._timeout_message())
                await asyncio.sleep(delay if remaining is None else min(delay, remaining))

    def _timeout_message(self) -> str:
        return (
            f"Import {self.import_id} did not reach {' or '.join(_names(self.success_states))} "
            f"or a failure state before the sensor's timeout."
        )


def _names(states: Iterable[ImportState]) -> list[str]:
    return sorted(state.value for state in states)
