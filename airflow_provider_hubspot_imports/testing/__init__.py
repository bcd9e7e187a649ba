"""Test HubSpot import DAGs without a HubSpot account: a loopback emulator of the Imports API.

``HubSpotEmulator`` runs in-process (a context manager); ``pytest_plugin`` gives pytest fixtures;
``python -m airflow_provider_hubspot_imports.testing.emulator`` runs it as a server.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_hubspot_imports.testing.model import (
    DEFAULT_TOKEN,
    Fault,
    LoggedRequest,
    Step,
    UploadedFile,
    make_errors,
)


def __getattr__(name: str) -> Any:
    # Imported on first use, so `python -m ...testing.emulator` does not import its module twice.
    if name == "HubSpotEmulator":
        from airflow_provider_hubspot_imports.testing.emulator import HubSpotEmulator

        return HubSpotEmulator
    raise AttributeError(name)


__all__ = [
    "DEFAULT_TOKEN",
    "Fault",
    "HubSpotEmulator",
    "LoggedRequest",
    "Step",
    "UploadedFile",
    "make_errors",
]
