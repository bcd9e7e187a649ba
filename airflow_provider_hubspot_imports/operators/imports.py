"""Operators for HubSpot CRM imports. The hook is imported where a task runs, not at DAG parse time."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_hubspot_imports._compat import AirflowSensorTimeout, BaseOperator
from airflow_provider_hubspot_imports.failures import fail_task_if_permanent
from airflow_provider_hubspot_imports.links import HubSpotImportLink, persist_import_link
from airflow_provider_hubspot_imports.reporting import reports_import
from airflow_provider_hubspot_imports.waiting import CancelOnGiveUp, settle, wait_rules

if TYPE_CHECKING:
    from airflow_provider_hubspot_imports._compat import Context
    from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook

DEFAULT_TIMEOUT = 60 * 60 * 24 * 7  # the same week BaseSensorOperator waits by default


def _hook(conn_id: str) -> HubSpotHook:
    from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook

    return HubSpotHook(conn_id)


class _OneImportOperator(BaseOperator):
    """An operator acting on one existing import: it opens the hook, records the "HubSpot import"
    link, and fails without task retries on permanent errors (bad import id, 401, 403, 404);
    transient ones that outlast the hook's retries fail it normally, so the task's `retries` apply.
    Subclasses say what to do in `act`."""

    template_fields: Sequence[str] = ("import_id",)
    ui_color = "#ff7a59"
    operator_extra_links = (HubSpotImportLink(),)

    def __init__(
        self, *, import_id: int | str, hubspot_conn_id: str = "hubspot_default", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.import_id = import_id
        self.hubspot_conn_id = hubspot_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_hubspot_imports.errors import HubSpotError

        hook = _hook(self.hubspot_conn_id)
        try:
            result = self.act(hook)
            persist_import_link(context, hook, self.import_id, self.log)
        except HubSpotError as error:
            fail_task_if_permanent(error)
            raise
        finally:
            hook.close()
        return result

    def act(self, hook: HubSpotHook) -> dict[str, Any]:
        raise NotImplementedError


@reports_import
class HubSpotGetImportOperator(_OneImportOperator):
    """Fetch one import's record and push it, exactly as HubSpot sent it, as XCom ``return_value``.

    :param import_id: the import's numeric id (templated).
    :param hubspot_conn_id: Airflow connection of type ``hubspot``.
    """

    def act(self, hook: HubSpotHook) -> dict[str, Any]:
        record = hook.get_import(self.import_id)
        self.log.info("HubSpot %s", record.summary())
        return dict(record.raw)


class HubSpotCancelImportOperator(_OneImportOperator):
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
    and files are checked before anything is uploaded. Pushes the import's record as HubSpot sent it:
    the new import's, or with `wait_for_completion` the final one.

    Starting is not idempotent: the hook retries a start only when HubSpot provably never handled
    it (connection refused, rate limited). Task `retries` would start the import again, so leave
    them at 0 unless a duplicate import is harmless.

    :param import_request: the ``importRequest`` JSON as a dict or JSON string (templated).
    :param files: paths or ObjectStoragePath objects of the files it names (templated).
    :param hubspot_conn_id: Airflow connection of type ``hubspot``.
    :param wait_for_completion: poll the new import until it is finished, with the sensor's rules:
        `success_states`, `failure_states`, `max_error_rows`, `max_error_ratio`.
    :param poke_interval: seconds between polls while waiting (default 60).
    :param timeout: seconds to wait before failing with AirflowSensorTimeout (default one week).
    :param cancel_on_timeout: cancel the import when the wait times out or the task is killed.
    """

    template_fields: Sequence[str] = ("import_request", "files")
    template_fields_renderers = {"import_request": "json"}
    ui_color = "#ff7a59"
    operator_extra_links = (HubSpotImportLink(),)

    def __init__(
        self,
        *,
        import_request: Mapping[str, Any] | str,
        files: Sequence[Any] | str,
        hubspot_conn_id: str = "hubspot_default",
        wait_for_completion: bool = False,
        poke_interval: float = 60,
        timeout: float = DEFAULT_TIMEOUT,
        success_states: Iterable[str] | None = None,
        failure_states: Iterable[str] | None = None,
        max_error_rows: int | None = None,
        max_error_ratio: float | None = None,
        cancel_on_timeout: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.import_request = import_request
        self.files = files
        self.hubspot_conn_id = hubspot_conn_id
        self.wait_for_completion = wait_for_completion
        if poke_interval <= 0 or timeout <= 0:
            raise ValueError("poke_interval and timeout must be positive numbers of seconds.")
        self.poke_interval = poke_interval
        self.timeout = timeout
        self.max_error_rows = max_error_rows
        self.max_error_ratio = max_error_ratio
        self.success_states, self.failure_states, self.quality_gate = wait_rules(
            success_states, failure_states, max_error_rows, max_error_ratio
        )
        self.cancel_on_timeout = cancel_on_timeout
        self.import_id: str | None = None  # known once HubSpot accepted the start

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_hubspot_imports.errors import HubSpotError

        files = [self.files] if isinstance(self.files, str) else list(self.files)
        hook = _hook(self.hubspot_conn_id)
        try:
            record = hook.start_import(self.import_request, files)
            self.import_id = record.id
            persist_import_link(context, hook, record.id, self.log)
        except HubSpotError as error:
            fail_task_if_permanent(error)
            raise
        finally:
            hook.close()
        self.log.info("Started HubSpot %s", record.summary())
        if not self.wait_for_completion:
            return dict(record.raw)
        return self.wait(dict(record.raw))

    def wait(self, raw_record: dict[str, Any]) -> dict[str, Any]:
        """Poll until the import is finished. The extension point for deferral: a deferrable
        variant hands the same id to the import trigger here and calls `settle` in its callback."""
        from airflow_provider_hubspot_imports.errors import HubSpotError

        deadline = time.monotonic() + self.timeout
        hook = _hook(self.hubspot_conn_id)
        try:
            while (done := self._settle(raw_record)) is None:
                if time.monotonic() + self.poke_interval > deadline:
                    self._give_up("the wait timed out")
                    raise AirflowSensorTimeout(
                        f"HubSpot import {self.import_id} did not finish within timeout={self.timeout:g} s."
                    )
                time.sleep(self.poke_interval)
                try:
                    raw_record = dict(hook.get_import(str(self.import_id)).raw)
                except HubSpotError as error:
                    fail_task_if_permanent(error)
                    self.log.warning("Could not read import %s this time: %s", self.import_id, error)
        finally:
            hook.close()
        return done

    def _settle(self, raw_record: Mapping[str, Any]) -> dict[str, Any] | None:
        return settle(
            raw_record,
            success_states=self.success_states,
            failure_states=self.failure_states,
            gate=self.quality_gate,
            hubspot_conn_id=self.hubspot_conn_id,
            log=self.log,
        )


# Also importable from here, next to the other operators.
from airflow_provider_hubspot_imports.operators.export import HubSpotExportImportErrorsOperator  # noqa: E402

__all__ = [
    "HubSpotCancelImportOperator",
    "HubSpotExportImportErrorsOperator",
    "HubSpotGetImportOperator",
    "HubSpotStartImportOperator",
]
