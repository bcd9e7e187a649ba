"""Start operators (deferred and not, retries=2) while a worker is SIGKILLed at each crash point of
a start: exactly one import per task instance.

This needs the exactly-once start (a start that finds the import an earlier try created instead of
creating another) and a deferrable start operator. Until the package has both, the scenario is
skipped with the reason, since with plain retries a killed start creates a second import by design
(see HubSpotStartImportOperator's docstring).
"""

from __future__ import annotations

import inspect

import pytest

from airflow_provider_hubspot_imports.operators.imports import HubSpotStartImportOperator

PARAMETERS = inspect.signature(HubSpotStartImportOperator.__init__).parameters


@pytest.mark.skipif(
    "deferrable" not in PARAMETERS,
    reason="HubSpotStartImportOperator has no deferrable mode and no exactly-once start (reconnect to the "
    "import an earlier try started) in this version: the safe-start work is not merged",
)
def test_start_operator_worker_kill_exactly_one_import() -> None:
    pytest.fail("the safe-start scenario is not written for this version of the start operator yet")
