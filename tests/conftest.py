"""Test set-up: a throw-away AIRFLOW_HOME with a SQLite database, and helpers to run DAGs for real.

Environment variables are set before Airflow is first imported, so every test in this process
shares one migrated database (the first `dag.test()` in a process pays Airflow's warm-up).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

TESTS = Path(__file__).parent
REPO = TESTS.parent
_HOME = Path(tempfile.mkdtemp(prefix="hubspot-provider-airflow-home-"))
# dag.test() runs only DAGs whose file lies inside the DAGs folder: link the test DAGs and the
# example DAGs into one folder, so both run exactly as written.
DAGS_FOLDER = _HOME / "dags"
DAGS_FOLDER.mkdir()
(DAGS_FOLDER / "tests").symlink_to(TESTS / "dags", target_is_directory=True)
(DAGS_FOLDER / "examples").symlink_to(REPO / "example_dags", target_is_directory=True)
os.environ["AIRFLOW_HOME"] = str(_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS_FOLDER)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__DATABASE__LOAD_DEFAULT_CONNECTIONS"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_HOME / 'airflow.db'}"
os.environ.pop("AIRFLOW_CONN_HUBSPOT_DEFAULT", None)

import pytest  # noqa: E402

pytest_plugins = ["airflow_provider_hubspot_imports.testing.pytest_plugin", "dagrun_support"]


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Create the SQLite metadata database once per test session."""
    from airflow.utils import db

    db.initdb()
    return _HOME
