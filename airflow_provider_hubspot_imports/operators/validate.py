"""`HubSpotValidateImportOperator`: a dry run of an import, nothing uploaded."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_hubspot_imports._compat import AirflowFailException, BaseOperator

if TYPE_CHECKING:
    from airflow_provider_hubspot_imports._compat import Context


class HubSpotValidateImportOperator(BaseOperator):
    """Check files against their import request and the account's schema, as HubSpot would, without
    uploading anything. Pushes the report (``has_errors``, ``summary``, ``errors``, ``warnings``,
    ``skipped``, ``counts``, ``files``) as XCom ``return_value`` and ``preflight_report``.

    :param import_request: the ``importRequest`` JSON as a dict or JSON string (templated).
    :param files: one file or a list of them: paths or ObjectStoragePath (templated).
    :param hubspot_conn_id: Airflow connection of type ``hubspot``; its token needs the object
        types' schema read scopes (e.g. ``crm.schemas.contacts.read``) for the schema checks,
        which are skipped (and reported as skipped) without them.
    :param rows: ``"all"`` or how many rows of each file to check.
    :param include_values: put the offending values in the report (personal data, often).
    :param fail_on_errors: fail the task (without retries) when the report has errors.
    """

    template_fields: Sequence[str] = ("import_request", "files")
    template_fields_renderers = {"import_request": "json"}
    ui_color = "#ff7a59"

    def __init__(
        self,
        *,
        import_request: Mapping[str, Any] | str,
        files: Any,
        hubspot_conn_id: str = "hubspot_default",
        rows: int | str = "all",
        include_values: bool = False,
        fail_on_errors: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        from airflow_provider_hubspot_imports.core.preflight import rows_to_check

        rows_to_check(rows)
        self.import_request = import_request
        self.files = files
        self.hubspot_conn_id = hubspot_conn_id
        self.rows = rows
        self.include_values = include_values
        self.fail_on_errors = fail_on_errors

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_hubspot_imports.errors import HubSpotError
        from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook
        from airflow_provider_hubspot_imports.preflight import push_report
        from airflow_provider_hubspot_imports.waiting import fail_task_if_permanent

        hook = HubSpotHook(self.hubspot_conn_id)
        try:
            report = hook.validate_import(
                self.import_request, self.files, rows=self.rows, include_values=self.include_values
            )
        except HubSpotError as error:
            fail_task_if_permanent(error)
            raise
        finally:
            hook.close()
        push_report(context, report)
        if report.has_errors and self.fail_on_errors:
            self.log.error("%s", report.summary())
            raise AirflowFailException(
                f"{report.summary()} The full report is XCom 'preflight_report'; pass "
                f"fail_on_errors=False to only report."
            )
        (self.log.warning if report.has_errors else self.log.info)("%s", report.summary())
        return report.to_dict()
