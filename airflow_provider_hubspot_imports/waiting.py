"""What every waiter does with an import record, and how it gives up: shared by sensor and operator."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from airflow_provider_hubspot_imports.core.settings import HubSpotSettings
    from airflow_provider_hubspot_imports.errors import HubSpotError
    from airflow_provider_hubspot_imports.triggers.imports import ImportStateTrigger


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
        raise _failure(outcome.message, raw_record)
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
        raise _failure(message, raw_record)
    return dict(raw_record)


def _failure(message: str, raw_record: Mapping[str, Any]) -> AirflowFailException:
    """The task failure, carrying the record that caused it (read for lineage by `reporting`)."""
    error = AirflowFailException(message)
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


# The cancel `on_kill` sends must end well inside the 5 s Airflow leaves between SIGTERM and SIGKILL.
QUICK_CANCEL_SECONDS = 3.0


def cancel_quietly(
    hubspot_conn_id: str,
    import_id: Any,
    reason: str,
    log: Any,
    settings: HubSpotSettings | None = None,
    *,
    quick: bool = False,
) -> dict[str, Any] | None:
    """Cancel an import because the task gave up on it; logs the outcome, never raises a HubSpot error.

    With `settings` (the connection as a poke already read it) no connection is looked up: that is
    how `on_kill` cancels without a round trip to Airflow's supervisor, which the interrupted poke
    may still be waiting on. `quick`: one attempt of at most `QUICK_CANCEL_SECONDS`.
    The caller re-raises what made it give up: a failed cancel must not hide that.
    """
    from airflow_provider_hubspot_imports.errors import HubSpotError
    from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook

    if quick and settings is not None:
        settings = replace(
            settings, timeout=QUICK_CANCEL_SECONDS, max_retries=0, retry_max_seconds=QUICK_CANCEL_SECONDS
        )
    if settings is not None:
        hook = HubSpotHook.from_settings(settings)
    elif quick:
        hook = HubSpotHook(
            hubspot_conn_id,
            timeout=QUICK_CANCEL_SECONDS,
            max_retries=0,
            retry_max_seconds=QUICK_CANCEL_SECONDS,
        )
    else:
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


def will_retry(ti: Any) -> bool:
    """Whether Airflow retries this task instance when the current try fails.

    Airflow 3 decides it on the server before the try starts (`should_retry` in the context the
    worker receives, read by `task_runner._finalize_task_failure`); Airflow 2.11 from the try
    number (`TaskInstance.is_eligible_to_retry`). Both are in memory: no round trip. Unknown (no
    task instance, as in a bare `execute()` call) counts as no retry.
    """
    if ti is None:
        return False
    from_server = getattr(ti, "_ti_context_from_server", None)
    if from_server is not None:
        return bool(getattr(from_server, "should_retry", False))
    eligible = getattr(ti, "is_eligible_to_retry", None)
    return bool(eligible()) if callable(eligible) else False


def give_up_reason(error: BaseException, retrying: bool) -> str | None:
    """Why the task gives up its import for good when `error` ends the try; None when it does not.

    The wait's own timeout is final (Airflow fails a sensor timeout without retries; with
    `soft_fail` or `never_fail` it skips instead, the timeout being the skip's cause or, in Airflow's
    poke loop, a skip without cause that says "timed out"). `execution_timeout`, and Airflow's own
    end of a deferral at its timeout, are final only when no retry follows. Other failures leave
    the import alone: it has ended already, or a retry waits on it again.
    """
    kinds = exception_kinds()
    if isinstance(error, kinds["sensor_timeout"]):
        return "the wait timed out"
    if isinstance(error, kinds["skip"]):
        cause = error.__cause__
        if cause is None:
            return "the wait timed out (skipped: soft_fail)" if "timed out" in str(error) else None
        if isinstance(cause, kinds["sensor_timeout"]) or _ran_out_of_time(cause):
            return f"the wait timed out (skipped: {cause.__class__.__name__})"
        return None
    if _ran_out_of_time(error) and not retrying:
        return "execution_timeout passed on the last try"
    return None


def _ran_out_of_time(error: BaseException) -> bool:
    """`execution_timeout` in a worker, or the end of a deferral at its timeout."""
    return isinstance(error, exception_kinds()["task_timeout"]) or deferral_timed_out(error)


def deferral_timed_out(error: BaseException) -> bool:
    """Airflow ended a deferral at the timeout given to `defer()` (the triggerer was down): Airflow
    3's `TaskDeferralTimeout`; Airflow 2.11 raises `TaskDeferralError("Trigger/execution timeout")`."""
    return isinstance(error, exception_kinds()["deferral_error"]) and "timeout" in str(error).lower()


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
    }


def deferral_deadline(waiter: Any, *, try_started: float, wait_ends: float) -> tuple[float, bool]:
    """When a deferred wait must end (epoch seconds), and whether that is the task's
    `execution_timeout`, counted from the start of the try, rather than the wait's own timeout.
    Airflow 3 does not apply `execution_timeout` to a deferred task, so the trigger does; the task
    then ends as an execution timeout (retried while tries remain), as it would in a worker."""
    execution_timeout = getattr(waiter, "execution_timeout", None)
    if execution_timeout is None:
        return wait_ends, False
    task_ends = try_started + execution_timeout.total_seconds()
    return (task_ends, True) if task_ends < wait_ends else (wait_ends, False)


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


class CancelOnGiveUp:
    """Mixin for a task waiting on an import: with `cancel_on_timeout`, cancel the import when the
    task gives up on it for good, then go on failing (or skipping) as before:

    - the wait's own timeout, with or without `soft_fail`/`never_fail` (also after a deferral);
    - `execution_timeout` on the last try (also while deferred: the deferral ends at it);
    - SIGTERM (`on_kill`) on the last try: a person marking or clearing the running task.

    A try that Airflow will retry never cancels: the retry waits on the same import. A person
    clearing or marking a *deferred* task reaches `ImportStateTrigger.on_kill` instead.
    Expects `cancel_on_timeout`, `hubspot_conn_id` and `import_id` attributes. A class that
    defines its own `execute` runs its body through `_watch(context, body)` (or calls `_give_up`
    itself where it gives up), and calls `remember_settings(hook)` once its hook has read them.
    """

    cancel_on_timeout: bool
    hubspot_conn_id: str
    import_id: Any
    log: Any
    # The task instance of this try, the settings its last request used, and whether `_watch`
    # has already dealt with the end of the try (so that a later `on_kill` has nothing to do).
    _task_instance: Any = None
    _hubspot_settings: HubSpotSettings | None = None
    _try_over = False

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
            reason = give_up_reason(error, will_retry(self._task_instance))
            if reason is not None:
                self._give_up(reason)
            raise
        finally:
            self._try_over = True

    def remember_settings(self, hook: Any) -> None:
        """Keep the settings a hook has read, for an `on_kill` cancel without a connection lookup."""
        settings = hook.__dict__.get("settings")
        if settings is not None:
            self._hubspot_settings = settings

    def on_kill(self) -> None:
        """SIGTERM (or `execution_timeout`, after `execute` has already handled it). Runs in a signal
        handler: no connection lookup, one short attempt."""
        if not self._try_over and self.cancel_on_timeout and self.import_id is not None:
            if will_retry(self._task_instance):
                self.log.warning(
                    "Task killed; HubSpot import %s is left running: a retry of this task waits on it.",
                    self.import_id,
                )
            else:
                cancel_quietly(
                    self.hubspot_conn_id,
                    self.import_id,
                    "the task was killed on its last try",
                    self.log,
                    self._hubspot_settings,
                    quick=True,
                )
        super().on_kill()  # type: ignore[misc]

    def _give_up(self, reason: str) -> None:
        if self.cancel_on_timeout and self.import_id is not None:
            cancel_quietly(self.hubspot_conn_id, self.import_id, reason, self.log, self._hubspot_settings)


def fail_task_if_permanent(error: HubSpotError) -> None:
    """Raise `AirflowFailException` (no task retries) when waiting or retrying cannot help."""
    if error.permanent:
        raise AirflowFailException(str(error)) from None
