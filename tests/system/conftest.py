"""System tests: the package against a real HubSpot account, opt-in.

Skipped (not failed) unless ``HUBSPOT_SYSTEM_TEST_TOKEN`` holds the access token of a HubSpot
*developer test account* (or a sandbox) with the ``crm.import`` and contacts scopes. Nothing here
runs in CI. How a maintainer runs it before a release: docs/testing.md, "The system test".
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

TOKEN_VARIABLE = "HUBSPOT_SYSTEM_TEST_TOKEN"
HERE = Path(__file__).parent

if os.environ.get(TOKEN_VARIABLE):
    # Airflow 3 runs dag.test() only for DAGs in a configured bundle (tests/conftest.py sets the
    # others): the system test's DAG gets one of its own, only when the system test runs.
    _bundles = json.loads(os.environ.get("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", "[]"))
    _bundles.append(
        {
            "name": "system-dags",
            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {"path": str(HERE / "dags")},
        }
    )
    os.environ["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"] = json.dumps(_bundles)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get(TOKEN_VARIABLE):
        return
    skip = pytest.mark.skip(
        reason=f"system test against HubSpot: set {TOKEN_VARIABLE} to run it (docs/testing.md)"
    )
    for item in items:
        if HERE in Path(str(item.path)).parents:
            item.add_marker(skip)
