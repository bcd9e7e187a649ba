"""How a task waiting on an import ends: one pure table from (ending, the task's rules, tries left)
to (what the task does, whether its import is canceled).

Every path asks `decide`: the worker's wait, the check before deferring, the resume after the
trigger's event or after Airflow ended the deferral, the worker's `on_kill` and the trigger's.
The endings are recognised from exception types and Airflow's task states (in `waiting` and
`triggers.imports`), never from message text. `docs/stopping.md` shows `table()`; a test keeps
the two equal. Canceling cannot be undone, so every rule errs towards leaving the import running:
a later try, a re-run after a clear, or another triggerer may still wait on it.
"""

from __future__ import annotations

import enum
import itertools
from dataclasses import dataclass


class Ending(enum.Enum):
    """What ended (or interrupted) the wait."""

    SUCCEEDED = "the import succeeded"
    IMPORT_FAILED = "the import ended in a failure state"
    GATE_BREACHED = "the quality gate was breached"
    PERMANENT_ERROR = "a permanent API error (401, 403, 404, bad input)"
    WAIT_TIMEOUT = "the wait's timeout passed"
    EXECUTION_TIMEOUT = "execution_timeout passed"
    KILLED = "the running try was stopped (SIGTERM: a mark, a clear, a worker shutdown)"
    MARKED = "a person marked the deferred task failed or skipped"
    MARKED_SUCCESS = "a person marked the deferred task success"
    CLEARED = "a person cleared the deferred task"
    WAITED_ON_ELSEWHERE = "the trigger moved, or the task waits on in another try or deferral"


class TaskEnd(enum.Enum):
    """What the task does."""

    RETURN = "returns the import's record"
    FAIL = "fails without retries"
    SENSOR_TIMEOUT = "fails without retries (AirflowSensorTimeout)"
    TIMEOUT = "fails as an execution timeout (retried while tries are left)"
    SKIP = "is skipped"
    AS_AIRFLOW_SETS = "ends as Airflow or the person set it"


@dataclass(frozen=True)
class Rules:
    """The task's settings that change how it ends.

    `sensor`: the task waits on an import it did not start (`ImportStateSensor`). Airflow's sensor
    rule applies, where `soft_fail` skips any final failure (a failed import too); on the start
    operator `soft_fail` skips the wait's timeout only. A kill of a running sensor never cancels:
    its re-run after a clear waits on the same import.
    """

    soft_fail: bool = False
    never_fail: bool = False
    cancel_on_timeout: bool = False
    sensor: bool = False


@dataclass(frozen=True)
class Decision:
    end: TaskEnd
    cancel: bool


# Endings after which the import (or the wait on it) goes on: nothing to cancel, Airflow decides.
_LEFT_RUNNING = frozenset({Ending.MARKED_SUCCESS, Ending.CLEARED, Ending.WAITED_ON_ELSEWHERE})
# Endings where the import has finished, or the task failed for a cause the import did not make.
_FINAL_FAILURES = frozenset({Ending.IMPORT_FAILED, Ending.GATE_BREACHED, Ending.PERMANENT_ERROR})


def decide(ending: Ending, rules: Rules, tries_left: bool) -> Decision:
    """What the task does when `ending` ends its try, and whether it cancels its import.

    `tries_left`: Airflow retries this try if it fails (known before the try starts).
    A clear never makes a task fail on its own cancel: a cleared deferred task leaves its import
    running, and a killed running try (a mark, a clear, a worker's shutdown alike) cancels only
    the import of a task that starts a new one when it finds its import canceled.
    """
    if ending is Ending.SUCCEEDED:
        return Decision(TaskEnd.RETURN, cancel=False)
    if ending in _LEFT_RUNNING:
        return Decision(TaskEnd.AS_AIRFLOW_SETS, cancel=False)
    if ending is Ending.MARKED:
        return Decision(TaskEnd.AS_AIRFLOW_SETS, cancel=rules.cancel_on_timeout)
    if ending is Ending.KILLED:
        # A kill cannot tell a person's mark from a clear. A sensor's re-run waits on the same
        # import, so a kill never cancels it; a start's re-run starts a new import in its place.
        cancel = rules.cancel_on_timeout and not tries_left and not rules.sensor
        return Decision(TaskEnd.AS_AIRFLOW_SETS, cancel=cancel)
    if ending in _FINAL_FAILURES:
        skips = rules.never_fail or (rules.soft_fail and rules.sensor)
        return Decision(TaskEnd.SKIP if skips else TaskEnd.FAIL, cancel=False)
    if ending is Ending.WAIT_TIMEOUT:
        skips = rules.soft_fail or rules.never_fail
        return Decision(TaskEnd.SKIP if skips else TaskEnd.SENSOR_TIMEOUT, cancel=rules.cancel_on_timeout)
    if ending is Ending.EXECUTION_TIMEOUT:
        return Decision(TaskEnd.TIMEOUT, cancel=rules.cancel_on_timeout and not tries_left)
    raise ValueError(f"no rule for ending {ending!r}")  # pragma: no cover - every Ending has one


def table() -> list[tuple[Ending, Rules, bool, Decision]]:
    """Every case of `decide`: each ending under every combination of rules and tries."""
    rows = []
    for ending in Ending:
        for soft_fail, never_fail, cancel, sensor, tries_left in itertools.product((False, True), repeat=5):
            rules = Rules(soft_fail=soft_fail, never_fail=never_fail, cancel_on_timeout=cancel, sensor=sensor)
            rows.append((ending, rules, tries_left, decide(ending, rules, tries_left)))
    return rows


SETTING_NAMES = ("soft_fail", "never_fail", "cancel_on_timeout", "sensor", "tries left")
Case = tuple[bool | None, ...]  # one value per setting; None: any


def table_markdown() -> str:
    """`table()` folded for people: endings that decide alike share a row, and cases that differ
    in one setting only and decide alike are merged until none can be ("any" in that column)."""
    lines = [
        "| ending | " + " | ".join(SETTING_NAMES) + " | the task | cancels |",
        "|---|" + "---|" * len(SETTING_NAMES) + "---|---|",
    ]
    groups: dict[tuple[tuple[Case, Decision], ...], list[Ending]] = {}
    for ending in Ending:
        cases = {
            _values(rules, tries_left): decision
            for case_ending, rules, tries_left, decision in table()
            if case_ending is ending
        }
        groups.setdefault(tuple(_fold(cases)), []).append(ending)
    for folded, endings in groups.items():
        names = "; ".join(ending.value for ending in endings)
        for case, decision in folded:
            cells = ["any" if value is None else ("yes" if value else "no") for value in case]
            cancel = "yes" if decision.cancel else "no"
            lines.append(f"| {names} | " + " | ".join(cells) + f" | {decision.end.value} | {cancel} |")
    return "\n".join(lines)


def _values(rules: Rules, tries_left: bool) -> Case:
    return (rules.soft_fail, rules.never_fail, rules.cancel_on_timeout, rules.sensor, tries_left)


def _fold(cases: dict[Case, Decision]) -> list[tuple[Case, Decision]]:
    """Merge two cases that decide alike and differ in one setting, until none do; sorted."""
    current = dict(cases)
    merged = True
    while merged:
        merged = False
        for (first, decision), (second, other) in itertools.combinations(list(current.items()), 2):
            differ = [index for index in range(len(first)) if first[index] != second[index]]
            if decision == other and len(differ) == 1 and None not in (first[differ[0]], second[differ[0]]):
                del current[first], current[second]
                merged_case = (*first[: differ[0]], None, *first[differ[0] + 1 :])
                current[merged_case] = decision
                merged = True
                break
    order = {None: 0, False: 1, True: 2}
    return sorted(current.items(), key=lambda item: tuple(order[value] for value in item[0]))
