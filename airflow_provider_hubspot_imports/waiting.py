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
    HubSpot's errors endpoint (without row data: rows can hold personal data).
    """
    record = ImportRecord(raw_record)
    outcome = judge(record, success_states, failure_states)
    log.info(outcome.message)
    if outcome.verdict is Verdict.FAILED:
        raise _failure(outcome.message, raw_record)
    if outcome.verdict is Verdict.WAITING:
        return None
    breach = gate.breach(record) if gate.active else None
    if breach:
        errors, note = _first_errors(hubspot_conn_id, record.id)
        message = gate_failure_message(record, breach, errors, note)
        log.error(message)
        raise _failure(message, raw_record)
    return dict(raw_record)


def _failure(message: str, raw_record: Mapping[str, Any]) -> AirflowFailException:
    """The task failure, carrying the record that caused it (read for lineage by `reporting`)."""
    error = AirflowFailException(message)
    error.import_record = dict(raw_record)  # type: ignore[attr-defined]
    return error


def _first_errors(hubspot_conn_id: str, import_id: str) -> tuple[list[dict[str, Any]], str | None]:
    from airflow_provider_hubspot_imports.errors import HubSpotError
    from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook

    hook = HubSpotHook(hubspot_conn_id)
    try:
        return list(hook.get_import_errors(import_id, limit=MAX_ERRORS_SHOWN)), None
    except HubSpotError as error:
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
