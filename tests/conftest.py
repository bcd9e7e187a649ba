"""Test set-up: a throw-away AIRFLOW_HOME with a SQLite database, and helpers to run DAGs for real.

Environment variables are set before Airflow is first imported, so every test in this process
shares one migrated database (the first `dag.test()` in a process pays Airflow's warm-up).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

TESTS = Path(__file__).parent
REPO = TESTS.parent
_HOME = Path(tempfile.mkdtemp(prefix="hubspot-provider-airflow-home-"))
os.environ["AIRFLOW_HOME"] = str(_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(TESTS / "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__DATABASE__LOAD_DEFAULT_CONNECTIONS"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_HOME / 'airflow.db'}"
os.environ.pop("AIRFLOW_CONN_HUBSPOT_DEFAULT", None)
# Airflow 3 runs dag.test() only for DAGs in a configured bundle: the test DAGs and the examples.
os.environ["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"] = json.dumps(
    [
        {
            "name": name,
            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {"path": str(path)},
        }
        for name, path in (("dags-folder", TESTS / "dags"), ("example-dags", REPO / "example_dags"))
    ]
)
# One Fernet key for this process and the `airflow` CLI subprocesses, so either can read what the
# other stored; SimpleAuthManager's JWTs need a secret too.
os.environ["AIRFLOW__CORE__FERNET_KEY"] = base64.urlsafe_b64encode(os.urandom(32)).decode()
os.environ["AIRFLOW__API_AUTH__JWT_SECRET"] = base64.urlsafe_b64encode(os.urandom(48)).decode()

import pytest  # noqa: E402

pytest_plugins = ["airflow_provider_hubspot_imports.testing.pytest_plugin", "dagrun_support"]


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Create the SQLite metadata database once per test session."""
    from airflow.utils import db

    db.initdb()
    return _HOME


@pytest.fixture
def logged(capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> Callable[[], str]:
    """`logged()`: everything this package logged so far. Airflow 3 renders log lines on the
    console; Airflow 2.11's console handler is closed once a dag.test() ran in the process, so
    there the log records are read instead."""
    from airflow_provider_hubspot_imports._compat import AIRFLOW_V3

    caplog.set_level(logging.DEBUG)

    def read() -> str:
        out, err = capfd.readouterr()
        return out + err if AIRFLOW_V3 else caplog.text

    return read


@pytest.fixture(scope="session")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 and its key (PEM files), for the TLS tests."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key
