"""The one table of how a task ends (`core.endings`): its rules, the docs' copy of it, and a
mutation check: each hand-made mutant of the table must be caught by at least one rule."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from airflow_provider_hubspot_imports.core.endings import (
    Decision,
    Ending,
    Rules,
    TaskEnd,
    decide,
    table,
    table_markdown,
)

Decide = Callable[[Ending, Rules, bool], Decision]
DOC = Path(__file__).parent.parent / "docs" / "stopping.md"
ALL_RULES = [rules for ending, rules, tries_left, _ in table() if ending is Ending.SUCCEEDED and tries_left]

# ---- the rules, each a check of a `decide` function ---------------------------------------------


def no_cancel_without_the_option(decide: Decide) -> None:
    for ending, rules, tries_left, _ in table():
        if not rules.cancel_on_timeout:
            assert not decide(ending, rules, tries_left).cancel, (ending, rules, tries_left)


def no_cancel_while_a_retry_waits_on(decide: Decide) -> None:
    for ending in (Ending.EXECUTION_TIMEOUT, Ending.KILLED):
        for rules in ALL_RULES:
            assert not decide(ending, rules, True).cancel, (ending, rules)


def the_last_try_cancels_with_the_option(decide: Decide) -> None:
    for rules in ALL_RULES:
        assert decide(Ending.EXECUTION_TIMEOUT, rules, False).cancel is rules.cancel_on_timeout, rules
        if not rules.sensor:
            assert decide(Ending.KILLED, rules, False).cancel is rules.cancel_on_timeout, rules


def a_kill_never_cancels_a_sensors_import(decide: Decide) -> None:
    """A kill cannot tell a clear from a mark, and a cleared sensor waits on the same import."""
    for rules in ALL_RULES:
        if rules.sensor:
            for tries_left in (True, False):
                assert not decide(Ending.KILLED, rules, tries_left).cancel, (rules, tries_left)


def execution_timeout_is_retried_while_tries_are_left(decide: Decide) -> None:
    for rules in ALL_RULES:
        for tries_left in (True, False):
            assert decide(Ending.EXECUTION_TIMEOUT, rules, tries_left).end is TaskEnd.TIMEOUT


def the_wait_timeout_is_final_and_cancels_with_the_option(decide: Decide) -> None:
    for rules in ALL_RULES:
        for tries_left in (True, False):
            decision = decide(Ending.WAIT_TIMEOUT, rules, tries_left)
            skips = rules.soft_fail or rules.never_fail
            assert decision.end is (TaskEnd.SKIP if skips else TaskEnd.SENSOR_TIMEOUT), rules
            assert decision.cancel is rules.cancel_on_timeout, rules


def a_finished_import_or_a_permanent_error_is_never_canceled(decide: Decide) -> None:
    for ending in (Ending.SUCCEEDED, Ending.IMPORT_FAILED, Ending.GATE_BREACHED, Ending.PERMANENT_ERROR):
        for rules in ALL_RULES:
            for tries_left in (True, False):
                assert not decide(ending, rules, tries_left).cancel, (ending, rules)


def failures_fail_unless_airflow_rules_skip_them(decide: Decide) -> None:
    """`never_fail` skips any failure; `soft_fail` only on a sensor (Airflow's rule); the start
    operator's `soft_fail` covers the wait's timeout only."""
    for ending in (Ending.IMPORT_FAILED, Ending.GATE_BREACHED, Ending.PERMANENT_ERROR):
        for rules in ALL_RULES:
            skips = rules.never_fail or (rules.soft_fail and rules.sensor)
            assert decide(ending, rules, True).end is (TaskEnd.SKIP if skips else TaskEnd.FAIL), (
                ending,
                rules,
            )


def success_returns_the_record(decide: Decide) -> None:
    for rules in ALL_RULES:
        assert decide(Ending.SUCCEEDED, rules, False).end is TaskEnd.RETURN


def only_a_persons_mark_cancels_a_deferred_task(decide: Decide) -> None:
    """A clear means "do it again" (the re-run reconnects), a mark success accepts the import, a
    moved trigger waits on: none cancels. A mark failed or skipped does, with the option."""
    for rules in ALL_RULES:
        for tries_left in (True, False):
            for ending in (Ending.CLEARED, Ending.MARKED_SUCCESS, Ending.WAITED_ON_ELSEWHERE):
                assert decide(ending, rules, tries_left) == Decision(TaskEnd.AS_AIRFLOW_SETS, False), ending
            marked = decide(Ending.MARKED, rules, tries_left)
            assert marked == Decision(TaskEnd.AS_AIRFLOW_SETS, rules.cancel_on_timeout), rules


RULES = [
    no_cancel_without_the_option,
    no_cancel_while_a_retry_waits_on,
    the_last_try_cancels_with_the_option,
    a_kill_never_cancels_a_sensors_import,
    execution_timeout_is_retried_while_tries_are_left,
    the_wait_timeout_is_final_and_cancels_with_the_option,
    a_finished_import_or_a_permanent_error_is_never_canceled,
    failures_fail_unless_airflow_rules_skip_them,
    success_returns_the_record,
    only_a_persons_mark_cancels_a_deferred_task,
]


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.__name__)
def test_the_table_keeps_its_rule(rule: Callable[[Decide], None]):
    rule(decide)


# ---- mutation check: each mutant breaks a rule some check above guards ----------------------------


def mutant(when: Callable[[Ending, Rules, bool], bool], change: Callable[[Decision], Decision]) -> Decide:
    def mutated(ending: Ending, rules: Rules, tries_left: bool) -> Decision:
        decision = decide(ending, rules, tries_left)
        return change(decision) if when(ending, rules, tries_left) else decision

    return mutated


def cancel(decision: Decision) -> Decision:
    return replace(decision, cancel=True)


def keep(decision: Decision) -> Decision:
    return replace(decision, cancel=False)


def end(what: TaskEnd) -> Callable[[Decision], Decision]:
    return lambda decision: replace(decision, end=what)


MUTANTS: dict[str, Decide] = {
    # `and not tries_left` dropped: every execution_timeout cancels, the first try's too
    "execution_timeout cancels on every try": mutant(
        lambda e, r, t: e is Ending.EXECUTION_TIMEOUT and r.cancel_on_timeout, cancel
    ),
    "a kill cancels on every try": mutant(lambda e, r, t: e is Ending.KILLED and r.cancel_on_timeout, cancel),
    "a kill on the last try does not cancel": mutant(lambda e, r, t: e is Ending.KILLED, keep),
    "a kill cancels a sensor's import": mutant(
        lambda e, r, t: e is Ending.KILLED and r.sensor and r.cancel_on_timeout and not t, cancel
    ),
    "a clear cancels": mutant(lambda e, r, t: e is Ending.CLEARED and r.cancel_on_timeout, cancel),
    "a mark success cancels": mutant(
        lambda e, r, t: e is Ending.MARKED_SUCCESS and r.cancel_on_timeout, cancel
    ),
    "a moved trigger cancels": mutant(
        lambda e, r, t: e is Ending.WAITED_ON_ELSEWHERE and r.cancel_on_timeout, cancel
    ),
    "a mark failed does not cancel": mutant(lambda e, r, t: e is Ending.MARKED, keep),
    "the wait's timeout does not cancel": mutant(lambda e, r, t: e is Ending.WAIT_TIMEOUT, keep),
    "the wait's timeout cancels without the option": mutant(lambda e, r, t: e is Ending.WAIT_TIMEOUT, cancel),
    "a failed import is canceled": mutant(
        lambda e, r, t: e is Ending.IMPORT_FAILED and r.cancel_on_timeout, cancel
    ),
    "soft_fail ignored at the wait's timeout": mutant(
        lambda e, r, t: e is Ending.WAIT_TIMEOUT and r.soft_fail and not r.never_fail,
        end(TaskEnd.SENSOR_TIMEOUT),
    ),
    "the start operator's soft_fail skips a failed import": mutant(
        lambda e, r, t: e is Ending.IMPORT_FAILED and r.soft_fail and not r.sensor, end(TaskEnd.SKIP)
    ),
    "never_fail ignored for a breached gate": mutant(
        lambda e, r, t: e is Ending.GATE_BREACHED and r.never_fail, end(TaskEnd.FAIL)
    ),
    "execution_timeout is final": mutant(
        lambda e, r, t: e is Ending.EXECUTION_TIMEOUT, end(TaskEnd.SENSOR_TIMEOUT)
    ),
    "a permanent error is retried": mutant(
        lambda e, r, t: e is Ending.PERMANENT_ERROR and not r.never_fail, end(TaskEnd.TIMEOUT)
    ),
    "success skips": mutant(lambda e, r, t: e is Ending.SUCCEEDED, end(TaskEnd.SKIP)),
}


def caught(decide_function: Decide) -> list[str]:
    """The rules a `decide` function breaks."""
    broken = []
    for rule in RULES:
        try:
            rule(decide_function)
        except AssertionError:
            broken.append(rule.__name__)
    return broken


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_every_mutant_of_the_table_is_caught(name: str):
    assert caught(MUTANTS[name]), f"no rule catches the mutant {name!r}"


def test_the_mutants_change_the_table():
    """A mutant that changed nothing would be 'caught' by nothing and prove nothing."""
    for name, mutated in MUTANTS.items():
        assert any(mutated(e, r, t) != d for e, r, t, d in table()), name


# ---- the docs show the code's table ------------------------------------------------------------


def test_docs_stopping_shows_the_codes_table():
    text = DOC.read_text()
    found = re.search(r"<!-- endings-table -->\n(.*?)\n<!-- /endings-table -->", text, re.S)
    assert found, "docs/stopping.md has no <!-- endings-table --> block"
    assert found.group(1).strip() == table_markdown(), (
        "docs/stopping.md's table differs from core.endings: paste the output of "
        "`python -c 'from airflow_provider_hubspot_imports.core.endings import table_markdown; "
        "print(table_markdown())'`"
    )


def test_every_ending_has_a_rule_for_every_case():
    assert len(table()) == len(Ending) * 2**5
    assert {ending for ending, *_ in table()} == set(Ending)
