"""pytest fixtures for DAGs that use this provider. Enable with, in a conftest.py::

    pytest_plugins = ["airflow_provider_hubspot_imports.testing.pytest_plugin"]

then ask for ``hubspot_emulator`` (a running emulator) or ``hubspot_connection`` (the emulator,
with ``AIRFLOW_CONN_HUBSPOT_DEFAULT`` pointing at it for the test).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from airflow_provider_hubspot_imports.testing.emulator import HubSpotEmulator


@pytest.fixture
def hubspot_emulator() -> Iterator[HubSpotEmulator]:
    with HubSpotEmulator() as emulator:
        yield emulator


@pytest.fixture
def hubspot_connection(hubspot_emulator: HubSpotEmulator, monkeypatch: pytest.MonkeyPatch) -> HubSpotEmulator:
    monkeypatch.setenv(
        "AIRFLOW_CONN_HUBSPOT_DEFAULT",
        hubspot_emulator.connection_json(retry_backoff_seconds=0.05),
    )
    return hubspot_emulator
