"""How HubSpot errors end an Airflow task."""

from __future__ import annotations

from airflow_provider_hubspot_imports._compat import AirflowFailException
from airflow_provider_hubspot_imports.errors import HubSpotError


def fail_task_if_permanent(error: HubSpotError) -> None:
    """Raise `AirflowFailException` (no task retries) when waiting or retrying cannot help."""
    if error.permanent:
        raise AirflowFailException(str(error)) from None
