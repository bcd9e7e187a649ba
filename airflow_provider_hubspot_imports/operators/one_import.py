"""The base of operators that act on one existing import (get, cancel, export its errors)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_hubspot_imports._compat import BaseOperator
from airflow_provider_hubspot_imports.extra_links import HubSpotImportLink, persist_import_link
from airflow_provider_hubspot_imports.waiting import fail_task_if_permanent

if TYPE_CHECKING:
    from airflow_provider_hubspot_imports._compat import Context
    from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook


def hook_for(conn_id: str) -> HubSpotHook:
    from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook

    return HubSpotHook(conn_id)


class OneImportOperator(BaseOperator):
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

        hook = hook_for(self.hubspot_conn_id)
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
