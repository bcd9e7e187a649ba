"""Fixtures of the deployment scenarios: the running deployment (from HUBSPOT_DEPLOY_RUN, set by
harness.py) and its emulator's control channel."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # deploy/: deployment, processes
sys.path.insert(0, str(Path(__file__).resolve().parent))

from deployment import Deployment
from emulator_service import connect
from support import Scenario, runtime_folder


@pytest.fixture(scope="session")
def deployment() -> Deployment:
    return Deployment.load(runtime_folder())


@pytest.fixture(scope="session")
def emulator(deployment: Deployment) -> Any:
    return connect(deployment.state["ports"]["emulator_control"], deployment.state["emulator_authkey"])


@pytest.fixture
def scenario(deployment: Deployment, emulator: Any) -> Iterator[Scenario]:
    yield Scenario(deployment, emulator)
