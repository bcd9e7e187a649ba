"""Each staged file becomes one import, once per task instance: started at most `max_active` at a
time, reconnected to after a retry, polled until it ends.

Every part has a start key of its own (the task instance's, with the part's number), so the start
operator's machinery applies per part: `starting.start_once` adopts an active import carrying the
key instead of uploading again (also when HubSpot's answer was lost). The id HubSpot gives a part
is recorded next to the staged files, and in the task state store on Airflow 3.3+, so a retry
reconnects to a part that has finished too (HubSpot may list only active imports).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_hubspot_imports.models import SUCCESS_STATES, TERMINAL_STATES, ImportRecord

if TYPE_CHECKING:
    from airflow_provider_hubspot_imports.core.start_key import StartKey
    from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook
    from airflow_provider_hubspot_imports.transfers.staging import StagedFile, Staging


@dataclass
class Part:
    number: int  # from 1
    file: StagedFile
    key: StartKey
    record: dict[str, Any] | None = field(default=None)

    @property
    def import_id(self) -> str | None:
        return None if self.record is None else ImportRecord(self.record).id

    @property
    def started(self) -> bool:
        return self.record is not None

    @property
    def finished(self) -> bool:
        return self.record is not None and ImportRecord(self.record).state in TERMINAL_STATES

    @property
    def failed(self) -> bool:
        return self.finished and ImportRecord(self.record or {}).state not in SUCCESS_STATES

    @property
    def state(self) -> str:
        return "NOT_STARTED" if self.record is None else ImportRecord(self.record).state.value

    def describe(self) -> str:
        where = f"import {self.import_id}" if self.started else "not started"
        return f"part {self.number} ({self.file.name}, {where})"


def part_key(dag_id: str, run_id: str, task_id: str, map_index: int | None, number: int) -> StartKey:
    """The start key of part `number`: one per (task instance, part), the same in every try."""
    from airflow_provider_hubspot_imports.core.start_key import task_instance_key

    return task_instance_key(dag_id, run_id, f"{task_id}#part-{number}", map_index)


def state_store_key(number: int) -> str:
    from airflow_provider_hubspot_imports.core.start_key import STATE_STORE_KEY

    return f"{STATE_STORE_KEY}.part-{number}"


class PartRunner:
    """Starts and polls the parts of one transfer with one hook."""

    def __init__(
        self,
        hook: HubSpotHook,
        staging: Staging,
        parts: list[Part],
        request_for: Callable[[Part], dict[str, Any]],
        *,
        max_active: int,
        state_store: Any,
        log: Any,
    ) -> None:
        self.hook = hook
        self.staging = staging
        self.parts = parts
        self.request_for = request_for
        self.max_active = max_active
        self.state_store = state_store
        self.log = log

    # ---- an earlier try's parts ------------------------------------------------------------------

    def reconnect(self) -> None:
        """Read afresh every part an earlier try started and recorded (task state store first, then
        the staging's record); one that ended FAILED, CANCELED or REVERTED is started again, as the
        start operator does. Parts started but not recorded are found by `start_once`'s lookup."""
        from airflow_provider_hubspot_imports.models import FAILURE_STATES

        for part in self.parts:
            import_id = self._recorded_id(part)
            if import_id is None:
                continue
            record = self.hook.get_import(import_id)
            if record.state in FAILURE_STATES:  # a clear means "do it again": a new import for this part
                self.log.warning(
                    "Part %d: HubSpot import %s of an earlier try (key %s) is %s: starting a new import "
                    "for this part instead of adopting it.",
                    part.number,
                    import_id,
                    part.key.marker,
                    record.state.value,
                )
                continue
            part.record = dict(record.raw)
            self.log.warning(
                "Part %d: reconnected to HubSpot import %s started by an earlier try (key %s): it is %s.",
                part.number,
                import_id,
                part.key.marker,
                part.state,
            )

    def _recorded_id(self, part: Part) -> str | None:
        from airflow_provider_hubspot_imports.core.start_key import stored_import_id

        if self.state_store is not None:
            found = stored_import_id(part.key, self.state_store.get(state_store_key(part.number)))
            if found is not None:
                return found
        recorded = self.staging.started_import(part.number)
        return stored_import_id(part.key, recorded) if recorded is not None else None

    # ---- starting and polling ---------------------------------------------------------------------

    @property
    def active(self) -> list[Part]:
        return [part for part in self.parts if part.started and not part.finished]

    @property
    def waiting(self) -> list[Part]:
        return [part for part in self.parts if not part.started]

    def start_ready(self) -> list[Part]:
        """Start parts in order while fewer than `max_active` are active; the parts started."""
        started = []
        for part in self.waiting:
            if len(self.active) >= self.max_active:
                break
            self.start(part)
            started.append(part)
        return started

    def start(self, part: Part) -> None:
        from airflow_provider_hubspot_imports.core.start_key import state_store_value
        from airflow_provider_hubspot_imports.starting import start_once

        path = self.staging.file(part.file.name)
        record, adopted = start_once(self.hook, self.request_for(part), [path], part.key, self.log)
        part.record = dict(record.raw)
        self.staging.record_started(part.number, record.id, part.key.digest)
        if self.state_store is not None:
            self.state_store.set(state_store_key(part.number), state_store_value(part.key, record.id))
        if not adopted:
            self.log.info(
                "Part %d of %d (%s, %d rows): started HubSpot %s",
                part.number,
                len(self.parts),
                part.file.name,
                part.file.rows,
                record.summary(),
            )

    def poll(self) -> None:
        """Read every active part's record; a transient failure keeps the last one read."""
        from airflow_provider_hubspot_imports.errors import HubSpotError
        from airflow_provider_hubspot_imports.waiting import fail_task_if_permanent

        for part in self.active:
            before = part.state
            try:
                part.record = dict(self.hook.get_import(str(part.import_id)).raw)
            except HubSpotError as error:
                fail_task_if_permanent(error)
                self.log.warning(
                    "Could not read part %d's import %s this time: %s", part.number, part.import_id, error
                )
                continue
            if part.state != before:
                self.log.info("Part %d: HubSpot %s", part.number, ImportRecord(part.record).summary())
