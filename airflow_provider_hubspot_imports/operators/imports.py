"""Operators for HubSpot CRM imports. The hook is imported where a task runs, not at DAG parse time."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow_provider_hubspot_imports._compat import AirflowSensorTimeout, BaseOperator
from airflow_provider_hubspot_imports.core.outcome import wait_rules
from airflow_provider_hubspot_imports.extra_links import HubSpotImportLink, persist_import_link
from airflow_provider_hubspot_imports.operators.export import HubSpotExportImportErrorsOperator
from airflow_provider_hubspot_imports.operators.one_import import OneImportOperator, hook_for
from airflow_provider_hubspot_imports.reporting import reports_import
from airflow_provider_hubspot_imports.sensors.imports import _default_deferrable
from airflow_provider_hubspot_imports.task_args import positive_seconds
from airflow_provider_hubspot_imports.waiting import CancelOnGiveUp, fail_task_if_permanent, settle

if TYPE_CHECKING:
    from airflow_provider_hubspot_imports._compat import Context
    from airflow_provider_hubspot_imports.core.start_key import StartKey
    from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook
    from airflow_provider_hubspot_imports.models import ImportRecord
    from airflow_provider_hubspot_imports.triggers.imports import ImportStateTrigger

DEFAULT_TIMEOUT = 60 * 60 * 24 * 7  # the same week BaseSensorOperator waits by default


@reports_import
class HubSpotGetImportOperator(OneImportOperator):
    """Fetch one import's record and push it, exactly as HubSpot sent it, as XCom ``return_value``.

    :param import_id: the import's numeric id (templated).
    :param hubspot_conn_id: Airflow connection of type ``hubspot``.
    """

    def act(self, hook: HubSpotHook) -> dict[str, Any]:
        record = hook.get_import(self.import_id)
        self.log.info("HubSpot %s", record.summary())
        return dict(record.raw)


class HubSpotCancelImportOperator(OneImportOperator):
    """Cancel an active import; pushes HubSpot's answer (``status``, timestamps) as XCom ``return_value``.

    Canceling an import that already finished is refused by HubSpot, which fails the task.

    :param import_id: the import's numeric id (templated).
    :param hubspot_conn_id: Airflow connection of type ``hubspot``.
    """

    def act(self, hook: HubSpotHook) -> dict[str, Any]:
        answer = hook.cancel_import(self.import_id)
        self.log.info("Canceled HubSpot import %s; HubSpot answered %s", self.import_id, answer)
        return answer


@reports_import
class HubSpotStartImportOperator(CancelOnGiveUp, BaseOperator):
    """Start a HubSpot CRM import from files, and optionally wait for it like `ImportStateSensor`.

    Files are streamed (local paths or ``ObjectStoragePath``), never loaded into memory. The request
    and files are checked before anything is sent. Pushes the import's record as HubSpot sent it:
    the new import's, or with `wait_for_completion` the final one.

    One task instance starts one import, whatever its tries: the import's name carries a key
    derived from the task instance, and a try first looks for an active import carrying it and
    adopts it instead of uploading again (also when a start's answer was lost). On Airflow 3.3+ the
    import's id is also kept in the task's ``task_state_store``, so a later try reconnects to it even
    once it has finished. See docs/starting.md.

    :param import_request: the ``importRequest`` JSON as a dict or JSON string (templated).
    :param files: one file or a list of them: paths (str or Path) or ObjectStoragePath (templated).
    :param hubspot_conn_id: Airflow connection of type ``hubspot``.
    :param idempotency_key: None (default): a key derived from the task instance (dag id, run id,
        task id, map index); a string: your own key (templated), shared by every task that uses it;
        False: no key, no lookup: every try uploads again.
    :param wait_for_completion: poll the new import until it is finished, with the sensor's rules:
        `success_states`, `failure_states`, `max_error_rows`, `max_error_ratio`.
    :param deferrable: wait in the triggerer (`ImportStateTrigger`) rather than a worker slot;
        defaults to ``[operators] default_deferrable``. The outcome and the XCom are the same.
    :param poke_interval: seconds (or a timedelta) between polls while waiting (default 60).
    :param timeout: seconds (or a timedelta) to wait before failing with AirflowSensorTimeout
        (default one week).
    :param soft_fail: skip the task instead of failing it when the wait times out (a failed
        import, or a quality-gate breach, still fails it).
    :param preflight: ``"error"`` (default): check the files against the request and the account's
        schema before the upload (`HubSpotHook.validate_import`) and refuse to upload when the
        report has errors; ``"warn"``: log the problems and upload; ``"off"``: no dry run. The
        report is XCom ``preflight_report``. See docs/preflight.md.
    :param cancel_on_timeout: cancel the import when the task gives up on it for good: its
        `timeout` (also with `soft_fail`), `execution_timeout` or a kill on the last try, a person
        marking it failed or skipped while deferred (a clear leaves it for the re-run). Never when
        a retry or another triggerer waits on:
        the retry reconnects to the same import. See docs/stopping.md.
    """

    template_fields: Sequence[str] = ("import_request", "files", "idempotency_key")
    _try_started: float | None = None  # when this try's `execute` began (for `execution_timeout`)
    template_fields_renderers = {"import_request": "json"}
    ui_color = "#ff7a59"
    operator_extra_links = (HubSpotImportLink(),)

    def __init__(
        self,
        *,
        import_request: Mapping[str, Any] | str,
        files: Any,
        hubspot_conn_id: str = "hubspot_default",
        idempotency_key: str | bool | None = None,
        wait_for_completion: bool = False,
        deferrable: bool | None = None,
        poke_interval: float | timedelta = 60,
        timeout: float | timedelta = DEFAULT_TIMEOUT,
        success_states: Iterable[str] | None = None,
        failure_states: Iterable[str] | None = None,
        max_error_rows: int | None = None,
        max_error_ratio: float | None = None,
        cancel_on_timeout: bool = False,
        soft_fail: bool = False,
        preflight: str = "error",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        from airflow_provider_hubspot_imports.preflight import preflight_mode

        self.preflight = preflight_mode(preflight)
        self.import_request = import_request
        self.files = files
        self.hubspot_conn_id = hubspot_conn_id
        if idempotency_key is not None and not isinstance(idempotency_key, (str, bool)):
            raise ValueError(
                f"idempotency_key is {idempotency_key!r}; pass None (a key derived from the task "
                f"instance), a string of your own, or False to start without a key."
            )
        self.idempotency_key = idempotency_key
        self.wait_for_completion = wait_for_completion
        self.deferrable = _default_deferrable() if deferrable is None else deferrable
        self.poke_interval = positive_seconds(poke_interval, "poke_interval")
        self.timeout = positive_seconds(timeout, "timeout")
        self.max_error_rows = max_error_rows
        self.max_error_ratio = max_error_ratio
        self.success_states, self.failure_states, self.quality_gate = wait_rules(
            success_states, failure_states, max_error_rows, max_error_ratio
        )
        self.cancel_on_timeout = cancel_on_timeout
        self.soft_fail = soft_fail
        self.import_id: str | None = None  # known once HubSpot accepted the start

    def execute(self, context: Context) -> dict[str, Any]:
        self._try_started = time.time()
        return self._watch(context, lambda: self._start_then_wait(context))

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Context) -> Any:
        """The deferred wait's end, watched as `execute` is. When Airflow itself ended the deferral
        (``__fail__``: e.g. at its timeout, the triggerer down), `execute_complete` never runs, so
        the import's id is found again, for a cancel the table may ask for."""

        def resume() -> Any:
            if next_method == "__fail__" and self.cancel_on_timeout and self.import_id is None:
                self.import_id = self._started_import_id(context)
            return super(CancelOnGiveUp, self).resume_execution(next_method, next_kwargs, context)

        return self._watch(context, resume)

    def _start_then_wait(self, context: Context) -> dict[str, Any]:
        from airflow_provider_hubspot_imports.errors import HubSpotError

        hook = hook_for(self.hubspot_conn_id)  # one hook for the start and the wait: one token grant
        try:
            try:
                record, adopted = self._start(context, hook, self._start_key(context))
                if not adopted:
                    self.log.info("Started HubSpot %s", record.summary())
                self.import_id = record.id
                self.remember_settings(hook)
                persist_import_link(context, hook, record.id, self.log)
            except HubSpotError as error:
                fail_task_if_permanent(error)
                raise
            if not self.wait_for_completion:
                return dict(record.raw)
            done = self._settle(record.raw)
            if done is not None:
                return done
            if self.deferrable:
                self._defer(record.id, logged_state=record.state.value)  # `_settle` logged it
            return self.wait(hook, dict(record.raw))
        finally:
            hook.close()

    # ---- one import per task instance ---------------------------------------------------------

    def _start_key(self, context: Context) -> StartKey | None:
        """This task instance's key (the map index always part of it), narrowed to its request."""
        from airflow_provider_hubspot_imports.core import start_key
        from airflow_provider_hubspot_imports.core.start import parse_import_request

        if self.idempotency_key is False:
            return None
        ti: Any = context.get("ti")
        map_index = getattr(ti, "map_index", -1)
        if isinstance(self.idempotency_key, str):
            key = start_key.own_key(self.idempotency_key, map_index)
        else:
            key = start_key.task_instance_key(ti.dag_id, ti.run_id, ti.task_id, map_index)
        return key.for_request(parse_import_request(self.import_request))

    def _start(self, context: Context, hook: HubSpotHook, key: StartKey | None) -> tuple[ImportRecord, bool]:
        """Reconnect to, adopt or upload this task instance's import: (record, adopted)."""
        from airflow_provider_hubspot_imports.hooks.upload import file_list
        from airflow_provider_hubspot_imports.preflight import gate_upload
        from airflow_provider_hubspot_imports.starting import start_exactly_once

        files = file_list(self.files)
        store = self._state_store(context)

        def preflight() -> None:  # only when this call is about to upload
            gate_upload(hook, self.import_request, files, self.preflight, context, self.log)

        return start_exactly_once(
            hook, self.import_request, files, key, self.log, store, before_upload=preflight
        )

    def _state_store(self, context: Context) -> Any:
        """Airflow 3.3's ``task_state_store`` of this task instance; None before 3.3."""
        return context.get("task_state_store")

    def _started_import_id(self, context: Context) -> str | None:
        """This task instance's import, without the record a resume would have carried: the id
        saved in the task state store (Airflow 3.3+), else the import carrying the key.
        None (logged) when neither finds it."""
        from airflow_provider_hubspot_imports.core.start_key import (
            STATE_STORE_KEY,
            pick_adoptable,
            stored_import_id,
        )

        try:
            key = self._start_key(context)
        except Exception as error:  # the key's request must not hide the timeout that ends the task
            self.log.error("Could not rebuild this task's start key to cancel its import: %s", error)
            return None
        if key is None:
            return None
        store = self._state_store(context)
        if store is not None and (import_id := stored_import_id(key, store.get(STATE_STORE_KEY))) is not None:
            return import_id
        hook = hook_for(self.hubspot_conn_id)
        try:
            chosen, _ = pick_adoptable(key, hook.find_started_imports(key).found)
            self.remember_settings(hook)
        except Exception as error:  # the lookup must not hide the timeout that ends the task
            self.log.error("Could not look up the import of key %s to cancel it: %s", key.marker, error)
            return None
        finally:
            hook.close()
        return None if chosen is None else chosen.id

    # ---- waiting ------------------------------------------------------------------------------

    def wait(self, hook: HubSpotHook, raw_record: dict[str, Any]) -> dict[str, Any]:
        """Poll in this worker with the start's hook, after the record just read, until the import
        is finished or the deadline passes; the last poll comes at the deadline
        (`min(poke_interval, time left)`)."""
        deadline = time.monotonic() + self.timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AirflowSensorTimeout(
                    f"HubSpot import {self.import_id} did not finish within timeout={self.timeout:g} s."
                )
            time.sleep(min(self.poke_interval, remaining))
            raw_record = self._poll(hook, raw_record)
            if (done := self._settle(raw_record)) is not None:
                return done

    def _poll(self, hook: HubSpotHook, raw_record: dict[str, Any]) -> dict[str, Any]:
        """The import's record now; the last one read when this poll hit transient trouble."""
        from airflow_provider_hubspot_imports.errors import HubSpotError

        try:
            raw_record = dict(hook.get_import(str(self.import_id)).raw)
            self.remember_settings(hook)
            return raw_record
        except HubSpotError as error:
            fail_task_if_permanent(error)
            self.log.warning("Could not read import %s this time: %s", self.import_id, error)
            return raw_record

    def _defer(self, import_id: str, *, logged_state: str | None = None) -> None:
        """Hand the wait to `ImportStateTrigger` until the wait's timeout (or the try's
        `execution_timeout`, if that comes first); `execute_complete` resumes the task."""
        from airflow_provider_hubspot_imports.waiting import deferral_deadline, deferral_timeout

        now = time.time()
        end_time, at_execution_timeout = deferral_deadline(
            self, try_started=self._try_started or now, wait_ends=now + self.timeout
        )
        self.defer(
            trigger=self._trigger(
                import_id,
                end_time=end_time,
                first_poll_at=now + self.poke_interval,
                at_execution_timeout=at_execution_timeout,
                logged_state=logged_state,
            ),
            method_name="execute_complete",
            kwargs={"import_id": import_id},
            # A triggerer that is down cannot hold the task long past its deadline.
            timeout=deferral_timeout(end_time, now, self._hubspot_settings),
        )

    def _trigger(
        self,
        import_id: str,
        *,
        end_time: float,
        first_poll_at: float,
        at_execution_timeout: bool = False,
        logged_state: str | None = None,
    ) -> ImportStateTrigger:
        """The trigger waiting on the import (with `cancel_on_timeout` for a person's stop); its
        first poll comes one interval after the record the task just read."""
        from airflow_provider_hubspot_imports.waiting import import_trigger

        return import_trigger(
            self,
            import_id,
            end_time=end_time,
            first_poll_at=first_poll_at,
            at_execution_timeout=at_execution_timeout,
            logged_state=logged_state,
        )

    def execute_complete(
        self, context: Context, event: Mapping[str, Any] | None = None, import_id: str | None = None
    ) -> dict[str, Any]:
        """Resume after `ImportStateTrigger` fired: the verdict and XCom of a wait in the worker.
        The import's id comes from the event as well: `dag.test()` resumes without `defer`'s kwargs."""
        from airflow_provider_hubspot_imports.resume import finish_wait

        from_event = event.get("import_id") if isinstance(event, Mapping) else None
        self.import_id = import_id or (None if from_event is None else str(from_event))
        return finish_wait(event, import_id, self._settle)

    def _settle(self, raw_record: Mapping[str, Any]) -> dict[str, Any] | None:
        return settle(
            raw_record,
            success_states=self.success_states,
            failure_states=self.failure_states,
            gate=self.quality_gate,
            hubspot_conn_id=self.hubspot_conn_id,
            log=self.log,
        )


__all__ = [
    "HubSpotCancelImportOperator",
    "HubSpotExportImportErrorsOperator",
    "HubSpotGetImportOperator",
    "HubSpotStartImportOperator",
]
