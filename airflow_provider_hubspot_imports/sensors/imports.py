"""`ImportStateSensor`: wait until a HubSpot CRM import has finished, and finished well.

DAG files import this module on every parse, so the hook (and `requests`), the trigger and the
async client are imported where a task runs, not here.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_hubspot_imports._compat import (
    AirflowException,
    BaseSensorOperator,
    PokeReturnValue,
)
from airflow_provider_hubspot_imports.core.outcome import wait_rules
from airflow_provider_hubspot_imports.extra_links import HubSpotImportLink, persist_import_link
from airflow_provider_hubspot_imports.models import ImportState
from airflow_provider_hubspot_imports.reporting import reports_import
from airflow_provider_hubspot_imports.waiting import CancelOnGiveUp, fail_task_if_permanent, settle

if TYPE_CHECKING:
    from airflow_provider_hubspot_imports._compat import Context
    from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook
    from airflow_provider_hubspot_imports.triggers.imports import ImportStateTrigger


def _default_deferrable() -> bool:
    from airflow.configuration import conf

    return conf.getboolean("operators", "default_deferrable", fallback=False)


@reports_import
class ImportStateSensor(CancelOnGiveUp, BaseSensorOperator):
    """Wait for a HubSpot CRM import to reach a terminal state.

    Succeeds when the import's state is in `success_states` (``DONE``) and pushes the final import
    record, exactly as HubSpot sent it, as the task's XCom ``return_value``. Fails at once, without
    task retries, when the state is in `failure_states` (``FAILED``, ``CANCELED``, ``REVERTED``):
    those states never change. Transient trouble (rate limits, 5xx, network errors) that outlasts
    the hook's own retries is logged and waited out until the next poke; the sensor's `timeout`
    bounds the whole wait.

    :param import_id: the import's numeric id (templated).
    :param hubspot_conn_id: Airflow connection of type ``hubspot``.
    :param success_states: states that end the wait successfully (default ``{"DONE"}``).
    :param failure_states: states that fail the task (default ``{"FAILED", "CANCELED", "REVERTED"}``).
    :param mode: ``reschedule`` by default: no worker slot is held between pokes.
    :param poke_interval: seconds between checks (default 60; each check is one API request).
    :param max_error_rows: quality gate: a DONE import with more error rows (counter ERRORS) fails.
    :param max_error_ratio: quality gate: a DONE import whose ERRORS / TOTAL_ROWS exceeds this
        fraction (e.g. 0.05) fails. A gate failure lists the import's first errors.
    :param cancel_on_timeout: cancel the import when the task gives up on it for good: its
        `timeout` (also with `soft_fail`), `execution_timeout` or a kill on the last try, a person
        marking it failed or skipped while deferred (a clear leaves it for the re-run). Never when
        a retry or another triggerer waits on;
        see docs/stopping.md.
    :param deferrable: wait in the triggerer (`ImportStateTrigger`) instead of a worker; defaults to
        ``[operators] default_deferrable``. The import is checked once first and the task only
        defers if it has not finished yet. The outcome and the XCom are the same in both modes.
    """

    template_fields: Sequence[str] = ("import_id",)
    ends_like_a_sensor = True
    _logged_state: str | None = None  # the state the last check logged (its trigger logs changes only)
    ui_color = "#ff7a59"
    operator_extra_links = (HubSpotImportLink(),)

    def __init__(
        self,
        *,
        import_id: int | str,
        hubspot_conn_id: str = "hubspot_default",
        success_states: Iterable[str] | None = None,
        failure_states: Iterable[str] | None = None,
        mode: str = "reschedule",
        poke_interval: float = 60,
        max_error_rows: int | None = None,
        max_error_ratio: float | None = None,
        cancel_on_timeout: bool = False,
        deferrable: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(mode=mode, poke_interval=poke_interval, **kwargs)
        if not self.poke_interval > 0:
            raise ValueError(
                f"poke_interval is {poke_interval!r}; it must be more than 0 seconds (each check is one "
                f"API request; HubSpot imports take minutes): pass e.g. poke_interval=60."
            )
        self.deferrable = _default_deferrable() if deferrable is None else deferrable
        self.import_id = import_id
        self.hubspot_conn_id = hubspot_conn_id
        self.max_error_rows = max_error_rows
        self.max_error_ratio = max_error_ratio
        self.cancel_on_timeout = cancel_on_timeout
        self.success_states, self.failure_states, self.quality_gate = wait_rules(
            success_states, failure_states, max_error_rows, max_error_ratio
        )

    def _hook(self) -> HubSpotHook:
        from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook

        return HubSpotHook(self.hubspot_conn_id)

    def poke(self, context: Context) -> PokeReturnValue | bool:
        from airflow_provider_hubspot_imports.errors import HubSpotError

        hook = self._hook()
        try:
            record = hook.get_import(self.import_id)
            self.remember_settings(hook)
            persist_import_link(context, hook, self.import_id, self.log)
        except HubSpotError as error:
            fail_task_if_permanent(error)
            self.log.warning(
                "Could not read import %s this time; checking again in %s s. %s",
                self.import_id,
                self.poke_interval,
                error,
            )
            return False
        finally:
            hook.close()
        return self._judge(record.raw)

    def _judge(self, raw_record: Mapping[str, Any]) -> PokeReturnValue | bool:
        """Judge an import record: the XCom on success, a task failure on a failure state or a
        quality-gate breach."""
        state = raw_record.get("state")
        self._logged_state = state if isinstance(state, str) else None  # settle() logs it
        done = settle(
            raw_record,
            success_states=self.success_states,
            failure_states=self.failure_states,
            gate=self.quality_gate,
            hubspot_conn_id=self.hubspot_conn_id,
            log=self.log,
        )
        return False if done is None else PokeReturnValue(is_done=True, xcom_value=done)

    # ---- deferrable mode -----------------------------------------------------------------------

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        return self._watch(context, lambda: self._check_then_defer(context))

    def _check_then_defer(self, context: Context) -> Any:
        """Check once in the worker, then defer until the timeout (or `execution_timeout`, which
        Airflow 3 does not apply to a deferred task itself) with the time that is left."""
        from airflow_provider_hubspot_imports.waiting import deferral_deadline, deferral_timeout

        started = time.time()
        end_time, at_execution_timeout = deferral_deadline(
            self, try_started=started, wait_ends=started + self.timeout
        )
        checked = self._first_check(context)
        if isinstance(checked, PokeReturnValue) and checked.is_done:
            return checked.xcom_value
        # The trigger's first poll comes one interval after this check, as the next poke would:
        # polling at once would spend a request on the state just read.
        now = time.time()
        self.defer(
            trigger=self._trigger(
                end_time, now + self.poke_interval, at_execution_timeout, self._logged_state
            ),
            method_name="execute_complete",
            timeout=deferral_timeout(end_time, now, self._hubspot_settings),
        )

    def _first_check(self, context: Context) -> PokeReturnValue | bool:
        """One poke. Its final failures end through the table of `core.endings` (in `_watch`), as a
        later poll's would; other errors follow Airflow's poke loop (`silent_fail` logs them and the
        trigger checks again, `never_fail` skips)."""
        from airflow_provider_hubspot_imports.waiting import ENDING_ATTRIBUTE, exception_kinds

        try:
            return self.poke(context)
        except Exception as error:
            if hasattr(error, ENDING_ATTRIBUTE) or isinstance(error, exception_kinds()["skip"]):
                raise
            if getattr(self, "silent_fail", False):
                self.log.error("Sensor poke failed; the trigger checks again: %s", error)
                return False
            if getattr(self, "never_fail", False):
                raise exception_kinds()["skip"][0]("Skipping due to never_fail is set to True.") from error
            raise

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Context) -> Any:
        """Airflow 3 skips a resumed sensor that fails with `never_fail` as its poke loop does;
        Airflow 2.11 only with `soft_fail`: the same outcome on both."""
        from airflow_provider_hubspot_imports.waiting import exception_kinds

        try:
            return super().resume_execution(next_method, next_kwargs, context)
        except AirflowException as error:
            skip = exception_kinds()["skip"][0]
            if getattr(self, "never_fail", False) and not isinstance(error, skip):
                raise skip("Skipping due to never_fail is set to True.") from error
            raise

    def _trigger(
        self,
        end_time: float | None,
        first_poll_at: float | None = None,
        at_execution_timeout: bool = False,
        logged_state: str | None = None,
    ) -> ImportStateTrigger:
        from airflow_provider_hubspot_imports.waiting import import_trigger

        return import_trigger(
            self,
            self.import_id,
            end_time=end_time,
            first_poll_at=first_poll_at,
            at_execution_timeout=at_execution_timeout,
            logged_state=logged_state,
        )

    def execute_complete(self, context: Context, event: Mapping[str, Any] | None = None) -> Any:
        """Resume after `ImportStateTrigger` fired: the same verdict, message and XCom as a poke."""
        from airflow_provider_hubspot_imports.resume import finish_wait

        def settle_record(raw_record: Mapping[str, Any]) -> dict[str, Any] | None:
            result = self._judge(raw_record)
            return result.xcom_value if isinstance(result, PokeReturnValue) and result.is_done else None

        return finish_wait(event, self.import_id, settle_record)


__all__ = ["ImportState", "ImportStateSensor"]
