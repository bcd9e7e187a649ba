"""What a waiter does with an import record: succeed, fail, or wait on. Shared by every waiting path."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from airflow_provider_hubspot_imports.core.quality import QualityGate
from airflow_provider_hubspot_imports.models import (
    FAILURE_STATES,
    SUCCESS_STATES,
    ImportRecord,
    ImportState,
    parse_states,
)


class Verdict(enum.Enum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    WAITING = "waiting"


@dataclass(frozen=True)
class Outcome:
    """A verdict on a record. `message` is built when read: a trigger polling an unchanged state
    logs nothing, so it never pays for the line."""

    verdict: Verdict
    record: ImportRecord

    @property
    def message(self) -> str:
        record, state = self.record, self.record.state
        if self.verdict is Verdict.SUCCEEDED:
            return f"HubSpot {record.summary()}: finished."
        if self.verdict is Verdict.FAILED:
            return (
                f"HubSpot {record.summary()}. {state.value} is a failure state, which will not change: "
                f"failing without retries."
            )
        return f"HubSpot {record.summary()}: waiting."


def judge(
    record: ImportRecord,
    success_states: frozenset[ImportState],
    failure_states: frozenset[ImportState],
) -> Outcome:
    state = record.state
    if state in success_states:
        return Outcome(Verdict.SUCCEEDED, record)
    if state in failure_states:
        return Outcome(Verdict.FAILED, record)
    return Outcome(Verdict.WAITING, record)


def check_states_disjoint(success: frozenset[ImportState], failure: frozenset[ImportState]) -> None:
    both = success & failure
    if both:
        names = ", ".join(sorted(state.value for state in both))
        raise ValueError(f"{names} is in both success_states and failure_states; keep each state in one.")
    if not success:
        raise ValueError("success_states is empty: the wait could never succeed. Pass e.g. {'DONE'}.")


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
