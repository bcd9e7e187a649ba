"""Transfers into HubSpot imports: `SqlToHubSpotImportOperator` (a SQL query's rows, staged and imported)."""

from __future__ import annotations

from airflow_provider_hubspot_imports.transfers.sql_to_hubspot import SqlToHubSpotImportOperator

__all__ = ["SqlToHubSpotImportOperator"]
