"""Operators for HubSpot CRM imports. The hook is imported where a task runs, not at DAG parse time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_hubspot_imports._compat import BaseOperator
from airflow_provider_hubspot_imports.failures import fail_task_if_permanent

if TYPE_CHECKING:
    from airflow_provider_hubspot_imports._compat import Context


class HubSpotGetImportOperator(BaseOperator):
    """Fetch one import's record and push it, exactly as HubSpot sent it, as XCom ``return_value``.

    Permanent errors (bad import id, 401, 403, 404) fail the task without retries; transient ones
    that outlast the hook's retries fail it normally, so the task's own `retries` apply.

    :param import_id: the import's numeric id (templated).
    :param hubspot_conn_id: Airflow connection of type ``hubspot``.
    """

    template_fields: Sequence[str] = ("import_id",)
    ui_color = "#ff7a59"

    def __init__(
        self, *, import_id: int | str, hubspot_conn_id: str = "hubspot_default", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.import_id = import_id
        self.hubspot_conn_id = hubspot_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_hubspot_imports.errors import HubSpotError
        from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook

        hook = HubSpotHook(self.hubspot_conn_id)
        try:
            record = hook.get_import(self.import_id)
        except HubSpotError as error:
            fail_task_if_permanent(error)
            raise
        finally:
            hook.close()
        self.log.info("HubSpot %s", record.summary())
        return dict(record.raw)
