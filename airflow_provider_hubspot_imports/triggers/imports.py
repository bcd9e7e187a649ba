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

from airflow_provider_hubspot_imports._compat import AIRFLOW_V3, AirflowNotFoundException
from airflow_provider_hubspot_imports.canceling import TRIGGER_STEP_SECONDS, cancel_quietly
from airflow_provider_hubspot_imports.core.endings import Ending, Rules, decide
from airflow_provider_hubspot_imports.core.ids import validate_import_id
from airflow_provider_hubspot_imports.core.outcome import Verdict, judge, wait_rules
from airflow_provider_hubspot_imports.core.stops import ending_of_task_state, next_poll_delay
from airflow_provider_hubspot_imports.errors import HubSpotError
from airflow_provider_hubspot_imports.models import ImportState

# Event payload "status" values, read by ImportStateSensor.execute_complete.
SUCCEEDED = Verdict.SUCCEEDED.value
FAILED = Verdict.FAILED.value
TIMEOUT = "timeout"
ERROR = "error"
# What `task_state_in_database` answers for a deferral past its timeout.
TIMED_OUT = "deferral timed out"


class ImportStateTrigger(BaseTrigger):
    """Poll one import every `poll_interval` seconds until it ends or `end_time` passes.

    Logs what only it sees: a state that differs from the last one logged (by the task before it
    deferred, `logged_state`, or by this trigger), and transient trouble. The outcome is the
    event's ``message``, which the task logs when it resumes, so the trigger does not log it too.

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
    :param cancel_on_timeout: cancel the import when a person marks the deferred task failed or
        skipped (Airflow 3.3+ calls `on_kill` then). Not when the task was cleared (its re-run
        reconnects to the import), the trigger moves to another triggerer or the task will be
        retried: the task's state tells these apart (`core.endings`).
    :param exponential_backoff: double the interval after each poll, as a sensor's
        ``exponential_backoff`` does; `max_wait` caps it (seconds). Restarts from `poll_interval`
        when the trigger is started again (another triggerer, a restart).
    :param logged_state: the import's state as the deferring task last logged it (None: unknown).
    :param ends_at_execution_timeout: `end_time` is the task's ``execution_timeout`` (earlier than
        the wait's own timeout): the ``timeout`` event then carries ``"execution_timeout": True``,
        and the task ends as an execution timeout, retried while it has tries left.
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
        cancel_on_timeout: bool = False,
        exponential_backoff: bool = False,
        max_wait: float | None = None,
        ends_at_execution_timeout: bool = False,
        logged_state: str | None = None,
    ) -> None:
        super().__init__()
        self.logged_state = logged_state
        self.ends_at_execution_timeout = bool(ends_at_execution_timeout)
        self.cancel_on_timeout = bool(cancel_on_timeout)
        self.exponential_backoff = bool(exponential_backoff)
        self.max_wait = None if max_wait is None else float(max_wait)
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
                "cancel_on_timeout": self.cancel_on_timeout,
                "exponential_backoff": self.exponential_backoff,
                "max_wait": self.max_wait,
                "ends_at_execution_timeout": self.ends_at_execution_timeout,
                "logged_state": self.logged_state,
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
        except asyncio.CancelledError:
            if not AIRFLOW_V3:  # Airflow 2.11's triggerer stops a trigger without calling on_kill
                await self._stopped(task_state_in_database)
            raise
        yield event

    async def _wait(self) -> TriggerEvent:
        from airflow_provider_hubspot_imports.hooks.hubspot_async import HubSpotAsyncClient

        validate_import_id(self.import_id)
        last_state = None if self.logged_state is None else ImportState(self.logged_state)
        if self.first_poll_at is not None:
            until = self.first_poll_at if self.end_time is None else min(self.first_poll_at, self.end_time)
            await asyncio.sleep(max(0.0, until - time.time()))
        polls = 0
        async with HubSpotAsyncClient(self.hubspot_conn_id, log=self.log) as client:
            while True:
                polls += 1
                delay = next_poll_delay(
                    self.poll_interval, polls, exponential=self.exponential_backoff, max_wait=self.max_wait
                )
                try:
                    record = await client.get_import(self.import_id)
                except HubSpotError as error:
                    if error.permanent:
                        return self._event(ERROR, str(error))
                    # HubSpot's Retry-After, when longer than the interval, sets the next poll.
                    delay = max(delay, error.retry_after or 0.0)
                    self.log.warning(
                        "Could not read import %s this time; polling again in %g s. %s",
                        self.import_id,
                        delay,
                        error,
                    )
                else:
                    outcome = judge(record, self.success_states, self.failure_states)
                    if outcome.verdict is not Verdict.WAITING:  # the resumed task logs it
                        return self._event(outcome.verdict.value, outcome.message, record.raw)
                    if record.state != last_state:  # one line per change, not per poll
                        self.log.info(outcome.message)
                        last_state = record.state
                remaining = None if self.end_time is None else self.end_time - time.time()
                if remaining is not None and remaining <= 0:
                    event = self._event(TIMEOUT, self._timeout_message())
                    if self.ends_at_execution_timeout:
                        event.payload["execution_timeout"] = True
                    return event
                await asyncio.sleep(delay if remaining is None else min(delay, remaining))

    async def on_kill(self) -> None:
        """Airflow 3.3+ calls this when it removes the trigger from this triggerer because of a
        person's action on the task, and also when the trigger moved to another triggerer."""
        await self._stopped(task_state)

    async def _stopped(self, read_state: Any) -> None:
        """With `cancel_on_timeout`, cancel the import only if the task's state, read now, stands
        for an ending `core.endings.decide` cancels on (a person's mark; a clear never does: the
        re-run reconnects to the import). A state that cannot be read, or a deferral that ended at
        its timeout (the resumed task decides then), leaves it running. Each step (the state, the
        cancel: one attempt) is bounded by `TRIGGER_STEP_SECONDS`, well inside the triggerer's 30 s."""
        if not self.cancel_on_timeout:
            return
        ti = getattr(self, "task_instance", None)
        if ti is None:
            self.log.warning("Trigger for import %s killed; no task to ask: left running.", self.import_id)
            return
        try:
            state = await asyncio.wait_for(asyncio.to_thread(read_state, ti), TRIGGER_STEP_SECONDS)
        except Exception as error:
            self.log.warning(
                "Trigger for import %s killed; the task's state could not be read (%s): left running.",
                self.import_id,
                error or type(error).__name__,
            )
            return
        ending = Ending.WAITED_ON_ELSEWHERE if state == TIMED_OUT else ending_of_task_state(state)
        if not decide(ending, Rules(cancel_on_timeout=True), tries_left=False).cancel:
            self.log.info(
                "Trigger for import %s stopped while the task is %s: the import is left running (%s).",
                self.import_id,
                state,
                ending.value,
            )
            return
        reason = f"the task was marked {state} while deferred"
        cancel = asyncio.to_thread(
            cancel_quietly, self.hubspot_conn_id, self.import_id, reason, self.log, quick=True
        )
        try:  # the connection's lookup, then one attempt of at most QUICK_CANCEL_SECONDS
            await asyncio.wait_for(cancel, TRIGGER_STEP_SECONDS)
        except asyncio.TimeoutError:
            self.log.error(
                "Could not cancel HubSpot import %s after %s: no answer in time.", self.import_id, reason
            )

    def _timeout_message(self) -> str:
        deadline = "task's execution_timeout" if self.ends_at_execution_timeout else "sensor's timeout"
        return (
            f"Import {self.import_id} did not reach {' or '.join(_names(self.success_states))} "
            f"or a failure state before the {deadline}."
        )


def task_state(ti: Any) -> str | None:
    """The current state of the trigger's task instance, asked of Airflow's supervisor (the
    triggerer's, on Airflow 3); None when it has none (cleared)."""
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    states = RuntimeTaskInstance.get_task_states(
        dag_id=ti.dag_id, task_ids=[ti.task_id], run_ids=[ti.run_id], map_index=ti.map_index
    )
    key = ti.task_id if ti.map_index is None or ti.map_index < 0 else f"{ti.task_id}_{ti.map_index}"
    run_states = states.get(ti.run_id)
    if not run_states or key not in run_states:
        raise LookupError(f"no task instance {ti.dag_id}.{key} in run {ti.run_id}")
    state = run_states[key]
    return None if state is None else str(getattr(state, "value", state))


def task_state_in_database(ti: Any) -> str | None:
    """Airflow 2.11 (the triggerer reads the metadata database itself): the task's state, or
    `TIMED_OUT` when its deferral has passed its timeout, which Airflow 2.11 also ends by stopping
    the trigger."""
    from datetime import datetime, timezone

    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        row: Any = (
            session.query(TaskInstance.state, TaskInstance.trigger_timeout)
            .filter_by(dag_id=ti.dag_id, run_id=ti.run_id, task_id=ti.task_id, map_index=ti.map_index)
            .one_or_none()
        )
    if row is None:
        raise LookupError(f"no task instance {ti.dag_id}.{ti.task_id} in run {ti.run_id}")
    state, trigger_timeout = row
    if trigger_timeout is not None:
        deadline = trigger_timeout if trigger_timeout.tzinfo else trigger_timeout.replace(tzinfo=timezone.utc)
        if deadline <= datetime.now(timezone.utc):
            return TIMED_OUT
    return None if state is None else str(getattr(state, "value", state))


def _names(states: Iterable[ImportState]) -> list[str]:
    return sorted(state.value for state in states)
