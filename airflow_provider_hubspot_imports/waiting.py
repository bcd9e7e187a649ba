"""What every waiter does with an import record, and how it gives up: shared by sensor and operator."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from airflow_provider_hubspot_imports._compat import AirflowFailException, AirflowSensorTimeout
from airflow_provider_hubspot_imports.core.outcome import Verdict, check_states_disjoint, judge
from airflow_provider_hubspot_imports.core.quality import MAX_ERRORS_SHOWN, QualityGate, gate_failure_message
from airflow_provider_hubspot_imports.models import (
    FAILURE_STATES,
    SUCCESS_STATES,
    ImportRecord,
    ImportState,
    parse_states,
)


def wait_rules(
    success_states: Iterable[str] | None,
    failure_states: Iterable[str] | None,
    max_error_rows: int | None,
    max_error_ratio: float | None,
) -> tuple[frozenset[ImportState], frozenset[ImportState], QualityGate]:
    """A waiter's arguments checked at DAG-parse time: (success states, failure states, quality gate)."""
    success = parse_states(success_states, SUCCESS_STATES, name="success_states")
    failure = parse_states(failure_states, FAILURE_STATES, name="failure_states")
    check_states_disjoint(success, failure)
    return success, failure, QualityGate(max_error_rows, max_error_ratio)


def settle(
    raw_record: Mapping[str, Any],
    *,
    success_states: frozenset[ImportState],
    failure_states: frozenset[ImportState],
    gate: QualityGate,
    hubspot_conn_id: str,
    log: Any,
) -> dict[str, Any] | None:
    """The record (as sent) when the wait is over and good; None to wait on; AirflowFailException else.

    A success state that breaks the quality gate fails with the import's first errors, read from
    HubSpot's errors endpoint (without row data: rows can hold personal data). When the counters
    lack ERRORS, that endpoint's rows are counted instead (a failure to read them is raised: the
    gate does not pass what it cannot check).
    """
    record = ImportRecord(raw_record)
    outcome = judge(record, success_states, failure_states)
    log.info(outcome.message)
    if outcome.verdict is Verdict.FAILED:
        raise AirflowFailException(outcome.message)
    if outcome.verdict is Verdict.WAITING:
        return None
    if not gate.active:
        return dict(raw_record)
    counted, counted_all, errors, note = None, True, None, None
    to_count = gate.rows_to_count(record)
    if to_count is not None:
        # HubSpot's counters have no documented keys: with ERRORS missing, the errors endpoint decides.
        limit = max(to_count, MAX_ERRORS_SHOWN)
        errors = _first_errors(hubspot_conn_id, record.id, limit, fail=True)[0]
        counted, counted_all = len(errors), len(errors) < limit
        log.info(
            "Import %s: the counters have no ERRORS; counted %s%d error rows from the errors endpoint "
            "for the quality gate.",
            record.id,
            "" if counted_all else "at least ",
            counted,
        )
    else:
        log.info("Import %s: the quality gate reads the ERRORS counter (%d).", record.id, record.error_rows)
    breach = gate.breach(record, counted, counted_all=counted_all)
    if breach:
        if errors is None:
            errors, note = _first_errors(hubspot_conn_id, record.id, MAX_ERRORS_SHOWN)
        message = gate_failure_message(record, breach, errors, note)
        log.error(message)
        raise AirflowFailException(message)
    return dict(raw_record)


def _first_errors(
    hubspot_conn_id: str, import_id: str, limit: int, *, fail: bool = False
) -> tuple[list[dict[str, Any]], str | None]:
    """The import's first `limit` errors (without row data: rows can hold personal data). A failure
    to read them is a note for the message, or raised when `fail` (the gate needs the count)."""
    from airflow_provider_hubspot_imports.errors import HubSpotError
    from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook

    hook = HubSpotHook(hubspot_conn_id)
    try:
        return list(hook.get_import_errors(import_id, limit=limit)), None
    except HubSpotError as error:
        if fail:
            raise
        return [], f"The import's errors could not be read: {error}"
    finally:
        hook.close()


def cancel_quietly(hubspot_conn_id: str, import_id: Any, reason: str, log: Any) -> dict[str, Any] | None:
    """Cancel an import because the task gave up on it; logs the outcome, never raises a HubSpot error.

    The caller re-raises what made it give up: a failed cancel must not hide that.
    """
    from airflow_provider_hubspot_imports.errors import HubSpotError
    from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook

    hook = HubSpotHook(hubspot_conn_id)
    try:
        answer = hook.cancel_import(import_id)
    except HubSpotError as error:
        log.error("Could not cancel HubSpot import %s after %s: %s", import_id, reason, error)
        return None
    finally:
        hook.close()
    log.warning("Canceled HubSpot import %s after %s. HubSpot answered: %s", import_id, reason, answer)
    return answer


class CancelOnGiveUp:
    """Mixin for a task waiting on an import: with `cancel_on_timeout`, cancel the import when the
    wait times out (`AirflowSensorTimeout`, also after a deferral) or the task is killed, then go on
    failing as before. Expects `cancel_on_timeout`, `hubspot_conn_id` and `import_id` attributes.
    A class that defines its own `execute` calls `_give_up` itself where it times out.
    """

    cancel_on_timeout: bool
    hubspot_conn_id: str
    import_id: Any
    log: Any

    def execute(self, context: Any) -> Any:
        try:
            return super().execute(context)  # type: ignore[misc]
        except AirflowSensorTimeout:
            self._give_up("the wait timed out")
            raise

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Any) -> Any:
        try:
            return super().resume_execution(next_method, next_kwargs, context)  # type: ignore[misc]
        except AirflowSensorTimeout:
            self._give_up("the wait timed out")
            raise

    def on_kill(self) -> None:
        self._give_up("the task was killed")
        super().on_kill()  # type: ignore[misc]

    def _give_up(self, reason: str) -> None:
        if self.cancel_on_timeout and self.import_id is not None:
            cancel_quietly(self.hubspot_conn_id, self.import_id, reason, self.log)
