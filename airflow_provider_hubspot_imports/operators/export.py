"""`HubSpotExportImportErrorsOperator`: an import's error rows to a file, for the people who fix them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_hubspot_imports.operators.one_import import OneImportOperator

if TYPE_CHECKING:
    from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook


class HubSpotExportImportErrorsOperator(OneImportOperator):
    """Write an import's error rows to `destination` and push a summary as XCom ``return_value``:
    ``{"import_id", "rows", "by_error_type": {errorType: count}, "destination", "format"}``.

    The format follows the destination's suffix: ``.csv`` (HubSpot's error fields as columns, the
    row's values as JSON in ``rowData``, any other field as JSON in ``other``) or ``.jsonl`` (each
    error exactly as HubSpot sent it). Pages are written as they arrive, never all held in memory.

    :param import_id: the import's numeric id (templated).
    :param destination: a path or ObjectStoragePath ending in ``.csv`` or ``.jsonl`` (templated).
    :param include_row_data: also ask HubSpot for the refused rows' values. Off by default: rows
        often hold personal data; store the file where such data may be kept.
    :param hubspot_conn_id: Airflow connection of type ``hubspot``.
    """

    template_fields: Sequence[str] = ("import_id", "destination")

    def __init__(
        self,
        *,
        import_id: int | str,
        destination: Any,
        include_row_data: bool = False,
        hubspot_conn_id: str = "hubspot_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(import_id=import_id, hubspot_conn_id=hubspot_conn_id, **kwargs)
        from airflow_provider_hubspot_imports.exports import export_format

        if not (isinstance(destination, str) and "{{" in destination):
            export_format(destination)  # a wrong suffix fails at parse time, not after a wait
        self.destination = destination
        self.include_row_data = include_row_data

    def act(self, hook: HubSpotHook) -> dict[str, Any]:
        summary = hook.export_import_errors(
            self.import_id, self.destination, include_row_data=self.include_row_data
        )
        self.log.info(
            "Wrote %s error rows of HubSpot import %s to %s: %s",
            summary["rows"],
            self.import_id,
            summary["destination"],
            summary["by_error_type"] or "none",
        )
        return summary
