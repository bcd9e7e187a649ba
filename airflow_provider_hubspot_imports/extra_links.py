"""The "HubSpot import" button on task instances of this package's sensor and operators."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_hubspot_imports._compat import BaseOperatorLink

if TYPE_CHECKING:
    from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook


class HubSpotImportLink(BaseOperatorLink):
    """Opens the import in HubSpot's web app. Shown when the connection has a `portal_id` extra.

    The task stores the address in XCom (key `xcom_key`) while it runs; the UI reads it back.
    """

    name = "HubSpot import"

    @property
    def xcom_key(self) -> str:
        # Airflow 3 names it so itself; Airflow 2.11's BaseOperatorLink has no such attribute.
        return f"_link_{type(self).__name__}"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        try:
            from airflow.sdk.execution_time.xcom import XCom
        except ImportError:  # Airflow 2.11
            from airflow.models.xcom import XCom  # type: ignore[no-redef]
        return XCom.get_value(ti_key=ti_key, key=self.xcom_key) or ""


def persist_import_link(context: Any, hook: HubSpotHook, import_id: Any, log: Any) -> str | None:
    """Store the link of `import_id` for this task instance.

    Without a `portal_id` extra an empty link is stored: Airflow 3 reads this key after every task
    and logs an error when it is missing.
    """
    from airflow_provider_hubspot_imports.core.app_pages import import_page_url

    url = import_page_url(hook.settings.base_url, hook.settings.portal_id)
    ti = context.get("ti") or context.get("task_instance")
    if ti is not None:
        ti.xcom_push(key=HubSpotImportLink().xcom_key, value=url or "")
    if url:
        log.info("HubSpot import %s is listed at %s", import_id, url)
    return url
