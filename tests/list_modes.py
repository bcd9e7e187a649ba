"""Run a test module's tests under each reading of HubSpot's import list.

HubSpot's reference calls `GET /crm/imports` "Get active imports", yet its own sample answers list
DONE and CANCELED imports too. The start lookup must be right under each; a module that imports
`every_list_mode` runs each of its tests once per mode (the emulator's `set_list_mode`).
"""

from __future__ import annotations

import pytest

from airflow_provider_hubspot_imports.testing import HubSpotEmulator

LIST_MODES = ("active", "history-newest-first", "history-oldest-first")


@pytest.fixture(autouse=True, params=LIST_MODES)
def every_list_mode(request: pytest.FixtureRequest, hubspot_emulator: HubSpotEmulator) -> str:
    hubspot_emulator.set_list_mode(request.param)
    return str(request.param)
