"""What every waiter does with an import record, and how it gives up: shared by sensor and operator."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from airflow_provider_hubspot_imports._compat import AirflowFailException, AirflowSensorTimeout
from airflow_provider_hubspot_imports.canceling import (
    cancel_in_signal_handler,
    cancel_quietly,
    write_from_signal_handler,
)
from airflow_provider_hubspot_imports.core.endings import Decision, Ending, Rules, TaskEnd, decide
from airflow_provider_hubspot_imports.core.outcome import Verdict, judge
from airflow_provider_hubspot_imports.core.quality import MAX_ERRORS_SHOWN, QualityGate, gate_failure_message
from airflow_provider_hubspot_imports.models import ImportRecord, ImportState

if TYPE_CHECKING:
    from airflow_provider_hubspot_imports.core.oauth import AccessTokens
    from airflow_provider_hubspot_imports.core.settings import HubSpotSettings
    from airflow_provider_hubspot_imports.errors import HubSpotError
    from airflow_provider_hubspot_imports.triggers.imports import ImportStateTrigger

E = TypeVar("E", bound=BaseException)
# The attribute on an exception this package raises that names its ending (`core.endings.Ending`).
ENDING_ATTRIBUTE = "hubspot_ending"


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
        raise _failure(outcome.message, raw_record, Ending.IMPORT_FAILED)
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
        raise _failure(message, raw_record, Ending.GATE_BREACHED)
    return dict(raw_record)


def _failure(message: str, raw_record: Mapping[str, Any], ending: Ending) -> AirflowFailException:
    """The task failure, carrying the record that caused it (read for lineage by `reporting`)."""
    error = ended(AirflowFailException(message), ending)
    error.import_record = dict(raw_record)  # type: ignore[attr-defined]
    return error


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


def will_retry(ti: Any) -> bool:
    """Whether Airflow retries this task instance when the current try fails: its public
    `try_number` and `max_tries` (Airflow 3's `RuntimeTaskInstance` and 2.11's `TaskInstance`
    alike: a try is retried while ``try_number <= max_tries``), else 2.11's
    `is_eligible_to_retry()`. Both are in memory: no round trip. Unknown (no task instance, as in
    a bare `execute()` call) counts as no retry."""
    if ti is None:
        return False
    try_number, max_tries = getattr(ti, "try_number", None), getattr(ti, "max_tries", None)
    if isinstance(try_number, int) and isinstance(max_tries, int):
        return try_number <= max_tries
    eligible = getattr(ti, "is_eligible_to_retry", None)
    return bool(eligible()) if callable(eligible) else False


def ending_of(error: BaseException, *, deadline: Ending, soft_fail: bool) -> Ending | None:
    """Which ending of the table `error` is, from its type (and for a skip, its cause); None when
    it is none of them (a transient failure, a bug): the task then fails as usual, retried while
    tries are left, and the import is left alone.

    `deadline`: the kind of deadline this task's deferral ends at (`deadline_kind`), for a
    deferral Airflow itself ended. `soft_fail`: a skip without a cause is Airflow's poke loop
    skipping at the sensor's timeout (it raises it without a cause), not a person's skip.
    """
    kinds = exception_kinds()
    marked = getattr(error, ENDING_ATTRIBUTE, None)
    if isinstance(marked, Ending):
        return marked
    if isinstance(error, kinds["skip"]):
        if error.__cause__ is not None:
            return ending_of(error.__cause__, deadline=deadline, soft_fail=soft_fail)
        return Ending.WAIT_TIMEOUT if soft_fail else None
    if isinstance(error, kinds["deferral_timeout"]):
        return deadline
    if isinstance(error, AirflowSensorTimeout):
        cause = error.__cause__
        if cause is not None and isinstance(cause, kinds["deferral_timeout"]):
            return deadline  # Airflow's sensor turned the deferral's end into a sensor timeout
        return Ending.WAIT_TIMEOUT
    if isinstance(error, kinds["task_timeout"]):
        return Ending.EXECUTION_TIMEOUT
    if isinstance(error, AirflowFailException):
        return Ending.PERMANENT_ERROR
    return None


def deadline_kind(waiter: Any) -> Ending:
    """The deadline a waiter's deferral ends at, from its settings alone (so the task resumed by
    Airflow after the deferral's timeout finds the same one): its `execution_timeout` when that
    is shorter than the wait's `timeout`, else the wait's timeout."""
    execution_timeout = getattr(waiter, "execution_timeout", None)
    if execution_timeout is not None and execution_timeout.total_seconds() < float(waiter.timeout):
        return Ending.EXECUTION_TIMEOUT
    return Ending.WAIT_TIMEOUT


def raise_as(decision: Decision, error: BaseException, rules: Rules) -> NoReturn:
    """Raise what `decision` says the task ends with, keeping `error` when it already is that."""
    kinds = exception_kinds()
    skip = kinds["skip"][0]
    end = decision.end
    if end is TaskEnd.SKIP:
        if isinstance(error, skip):
            raise error
        setting = "soft_fail" if rules.soft_fail else "never_fail"
        raise skip(f"Skipping due to {setting} is set to True: {error}") from error
    if isinstance(error, skip) and error.__cause__ is not None:
        error = error.__cause__  # Airflow skipped where the table fails: the cause is the failure
    if end is TaskEnd.FAIL and not isinstance(error, AirflowFailException):
        raise AirflowFailException(str(error)) from error
    if end is TaskEnd.SENSOR_TIMEOUT and not isinstance(error, AirflowSensorTimeout):
        raise AirflowSensorTimeout(str(error) or "The wait's timeout passed.") from error
    if end is TaskEnd.TIMEOUT and not isinstance(error, kinds["task_timeout"] + kinds["deferral_error"]):
        raise execution_timeout_error(str(error) or "execution_timeout passed.") from error
    raise error


def execution_timeout_error(message: str) -> BaseException:
    """What a task raises when its deferred wait reached `execution_timeout`: what Airflow raises
    for it where it applies `execution_timeout` itself, so the task is retried while it has tries
    left, as in a worker. Airflow 3: `AirflowTaskTimeout`; Airflow 2.11, whose scheduler ends such
    a deferral: `TaskDeferralError("Trigger/execution timeout")`."""
    from airflow_provider_hubspot_imports._compat import AIRFLOW_V3

    kinds = exception_kinds()
    if AIRFLOW_V3:
        return kinds["task_timeout"][0](message)
    return kinds["deferral_error"][0](f"Trigger/execution timeout: {message}")


def exception_kinds() -> dict[str, tuple[type[BaseException], ...]]:
    deferral_errors: tuple[type[BaseException], ...]
    try:  # Airflow 3 (3.2+; 3.1 has them in airflow.exceptions only)
        from airflow.sdk.exceptions import (  # type: ignore[attr-defined,unused-ignore]
            AirflowSkipException,
            AirflowTaskTimeout,
            TaskDeferralError,
            TaskDeferralTimeout,
        )

        deferral_errors = (TaskDeferralError, TaskDeferralTimeout)
    except ImportError:  # Airflow 2.11 and 3.1
        from airflow.exceptions import (  # type: ignore[no-redef,attr-defined,unused-ignore]
            AirflowSkipException,
            AirflowTaskTimeout,
            TaskDeferralError,
        )

        try:  # Airflow 3.1: Airflow ends a deferral at its timeout with TaskDeferralTimeout
            from airflow.exceptions import (  # type: ignore[no-redef,attr-defined,unused-ignore]
                TaskDeferralTimeout,
            )

            deferral_errors = (TaskDeferralError, TaskDeferralTimeout)
        except ImportError:  # Airflow 2.11: TaskDeferralError("Trigger/execution timeout")
            deferral_errors = (TaskDeferralError,)
    return {
        "sensor_timeout": (AirflowSensorTimeout,),
        "skip": (AirflowSkipException,),
        "task_timeout": (AirflowTaskTimeout,),
        "deferral_error": deferral_errors,
        # Airflow ending a deferral at its timeout: 3.x's own type; 2.11 has only TaskDeferralError
        # (also for a trigger that crashed, which this package's trigger reports as an event instead).
        "deferral_timeout": deferral_errors[1:] or deferral_errors,
    }


def deferral_deadline(waiter: Any, *, try_started: float, wait_ends: float) -> tuple[float, bool]:
    """When a deferred wait must end (epoch seconds), and whether that is the task's
    `execution_timeout`, counted from the start of the try, rather than the wait's own timeout
    (`deadline_kind`). Airflow 3 does not apply `execution_timeout` to a deferred task, so the
    trigger does; the task then ends as an execution timeout (retried while tries remain), as it
    would in a worker."""
    if deadline_kind(waiter) is Ending.EXECUTION_TIMEOUT:
        return try_started + waiter.execution_timeout.total_seconds(), True
    return wait_ends, False


def deferral_timeout(end_time: float, now: float, settings: HubSpotSettings | None) -> timedelta:
    """`defer()`'s timeout: the trigger's deadline plus a margin, so that the trigger's own event
    (sent at its deadline, after its last poll) comes before the scheduler's deferral timeout: two
    of the scheduler's timeout checks (`[scheduler] trigger_timeout_check_interval`) plus the
    longest a poll can take (the connection's `timeout` plus `retry_max_seconds`). Should the
    scheduler still end the deferral first, the task ends the same way (`deadline_kind`)."""
    from airflow.configuration import conf

    from airflow_provider_hubspot_imports.core.settings import DEFAULT_RETRY_MAX_SECONDS, DEFAULT_TIMEOUT

    check = conf.getfloat("scheduler", "trigger_timeout_check_interval", fallback=15.0)
    poll = DEFAULT_TIMEOUT + DEFAULT_RETRY_MAX_SECONDS
    if settings is not None:
        poll = settings.timeout + settings.retry_max_seconds
    return timedelta(seconds=max(end_time - now, 0.0) + 2 * check + poll)


def import_trigger(
    waiter: Any,
    import_id: Any,
    *,
    end_time: float | None,
    first_poll_at: float | None,
    at_execution_timeout: bool = False,
    logged_state: str | None = None,
) -> ImportStateTrigger:
    """The `ImportStateTrigger` a deferring waiter (sensor or start operator) hands its wait to:
    its connection, interval, states and `cancel_on_timeout`, and its backoff if it has one. The
    first poll comes at `first_poll_at`, one interval after the record the waiter just read;
    `at_execution_timeout` says that `end_time` is the task's `execution_timeout`;
    `logged_state` is the state the waiter logged last (the trigger logs only changes from it)."""
    from datetime import timedelta

    from airflow_provider_hubspot_imports.triggers.imports import ImportStateTrigger

    max_wait = getattr(waiter, "max_wait", None)
    return ImportStateTrigger(
        import_id=import_id,
        hubspot_conn_id=waiter.hubspot_conn_id,
        poll_interval=waiter.poke_interval,
        end_time=end_time,
        success_states=sorted(state.value for state in waiter.success_states),
        failure_states=sorted(state.value for state in waiter.failure_states),
        first_poll_at=first_poll_at,
        cancel_on_timeout=waiter.cancel_on_timeout,
        exponential_backoff=bool(getattr(waiter, "exponential_backoff", False)),
        max_wait=max_wait.total_seconds() if isinstance(max_wait, timedelta) else max_wait,
        ends_at_execution_timeout=at_execution_timeout,
        logged_state=logged_state,
    )


# What a cancel's log line says the task gave up on, by ending.
GIVE_UP_REASONS = {
    Ending.WAIT_TIMEOUT: "the wait timed out",
    Ending.EXECUTION_TIMEOUT: "execution_timeout passed on the last try",
    Ending.KILLED: "the task was killed on its last try",
}


class CancelOnGiveUp:
    """Mixin for a task waiting on an import: every end of a try goes through the table of
    `core.endings`, which says what the task raises and whether `cancel_on_timeout` cancels.

    `_watch(context, body)` runs a try's body (`execute`, `resume_execution`): the error that
    ends it is recognised (`ending_of`), decided on (`decide`), the import canceled if the table
    says so, and the decided error raised. `on_kill` (SIGTERM: runs in a signal handler) asks the
    same table. Expects `cancel_on_timeout`, `hubspot_conn_id`, `import_id` and `timeout`
    attributes; calls `remember_settings(hook)` once its hook has read them.
    """

    cancel_on_timeout: bool
    hubspot_conn_id: str
    import_id: Any
    log: Any
    # Airflow's sensor rule for `soft_fail` (it skips any final failure); see `core.endings.Rules`.
    ends_like_a_sensor = False
    # The task instance of this try, the settings and tokens its last request used (for an
    # `on_kill` cancel without a connection lookup or token grant), and whether `_watch` has
    # already dealt with the end of the try (so that a later `on_kill` has nothing to do).
    _task_instance: Any = None
    _hubspot_settings: HubSpotSettings | None = None
    _hubspot_tokens: AccessTokens | None = None
    _try_over = False

    @property
    def ending_rules(self) -> Rules:
        return Rules(
            soft_fail=bool(getattr(self, "soft_fail", False)),
            never_fail=bool(getattr(self, "never_fail", False)),
            cancel_on_timeout=bool(self.cancel_on_timeout),
            sensor=self.ends_like_a_sensor,
        )

    def execute(self, context: Any) -> Any:
        return self._watch(context, lambda: super(CancelOnGiveUp, self).execute(context))  # type: ignore[misc]

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Any) -> Any:
        return self._watch(
            context,
            lambda: super(CancelOnGiveUp, self).resume_execution(next_method, next_kwargs, context),  # type: ignore[misc]
        )

    def _watch(self, context: Any, run: Any) -> Any:
        self._task_instance = context.get("ti") if isinstance(context, Mapping) else None
        self._try_over = False
        try:
            return run()
        except BaseException as error:
            rules = self.ending_rules
            ending = ending_of(error, deadline=deadline_kind(self), soft_fail=rules.soft_fail)
            if ending is None:
                raise
            decision = decide(ending, rules, will_retry(self._task_instance))
            if decision.cancel:
                self._give_up(ending)
            raise_as(decision, error, rules)
        finally:
            self._try_over = True

    def remember_settings(self, hook: Any) -> None:
        """Keep the settings and tokens a hook has used, for an `on_kill` cancel that neither looks
        the connection up nor grants a token."""
        settings = hook.__dict__.get("settings")
        if settings is not None:
            self._hubspot_settings = settings
        tokens = hook.__dict__.get("tokens")
        if tokens is not None:
            self._hubspot_tokens = tokens

    def on_kill(self) -> None:
        """SIGTERM (or `execution_timeout`, after `execute` has already handled it). Runs in a signal
        handler: no logger (its lock may be held by the code the signal interrupted), no lookup, no
        token grant; see `canceling.cancel_in_signal_handler`."""
        if not self._try_over and self.cancel_on_timeout and self.import_id is not None:
            tries_left = will_retry(self._task_instance)
            if decide(Ending.KILLED, self.ending_rules, tries_left).cancel:
                cancel_in_signal_handler(
                    self._hubspot_settings,
                    self._hubspot_tokens,
                    self.import_id,
                    GIVE_UP_REASONS[Ending.KILLED],
                )
            elif tries_left:
                write_from_signal_handler(
                    logging.WARNING,
                    "Task killed; HubSpot import %s is left running: a retry of this task waits on it.",
                    self.import_id,
                )
            else:
                write_from_signal_handler(
                    logging.WARNING,
                    "Task killed; HubSpot import %s is left running: a kill cannot tell a clear from a "
                    "mark, and a cleared sensor waits on the same import. Cancel it in HubSpot to stop it.",
                    self.import_id,
                )
        super().on_kill()  # type: ignore[misc]

    def _give_up(self, ending: Ending) -> None:
        if self.import_id is not None:
            cancel_quietly(
                self.hubspot_conn_id,
                self.import_id,
                GIVE_UP_REASONS[ending],
                self.log,
                self._hubspot_settings,
            )


def fail_task_if_permanent(error: HubSpotError) -> None:
    """Raise `AirflowFailException` (no task retries) when waiting or retrying cannot help."""
    if error.permanent:
        raise ended(AirflowFailException(str(error)), Ending.PERMANENT_ERROR) from None


def ended(error: E, ending: Ending) -> E:
    """`error`, marked with the ending it stands for (read by `ending_of`)."""
    setattr(error, ENDING_ATTRIBUTE, ending)
    return error
