"""Pre-flight: the checks HubSpot would make on an import, made before the upload. Pure, no I/O."""

from airflow_provider_hubspot_imports.core.preflight.report import (
    FileTotals,
    PreflightReport,
    Problem,
    Skipped,
)
from airflow_provider_hubspot_imports.core.preflight.rows import Limits
from airflow_provider_hubspot_imports.core.preflight.run import Preflight, rows_to_check

__all__ = ["FileTotals", "Limits", "Preflight", "PreflightReport", "Problem", "Skipped", "rows_to_check"]
