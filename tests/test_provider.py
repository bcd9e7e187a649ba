"""Airflow finds the provider: entry point, provider info, the `airflow providers` CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import airflow_provider_hubspot_imports as package

AIRFLOW = str(Path(sys.executable).parent / "airflow")


def test_entry_point_returns_provider_info_valid_for_airflow():
    import jsonschema

    (entry,) = [
        ep for ep in entry_points(group="apache_airflow_provider") if ep.value.startswith(package.__name__)
    ]
    info = entry.load()()
    assert info["package-name"] == "airflow-provider-hubspot-imports"
    assert info["versions"][0] == package.__version__
    schema_path = Path(__import__("airflow").__file__).parent / "provider_info.schema.json"
    jsonschema.validate(info, json.loads(schema_path.read_text()))
    (conn_type,) = info["connection-types"]
    assert conn_type["connection-type"] == "hubspot"
    assert conn_type["hook-class-name"] == "airflow_provider_hubspot_imports.hooks.hubspot.HubSpotHook"


def test_providers_manager_registers_the_hook(airflow_db):
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    assert "airflow-provider-hubspot-imports" in manager.providers
    hook = manager.hooks["hubspot"]
    assert (
        hook.hook_class_name.endswith("HubSpotHook")
        and hook.connection_id_attribute_name == "hubspot_conn_id"
    )


def test_airflow_providers_cli_lists_package_and_hook(airflow_db):
    env = {**os.environ, "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR"}
    listed = subprocess.run(
        [AIRFLOW, "providers", "list", "-o", "json"], capture_output=True, text=True, env=env, timeout=240
    )
    assert listed.returncode == 0, listed.stderr
    assert "airflow-provider-hubspot-imports" in listed.stdout
    hooks = subprocess.run(
        [AIRFLOW, "providers", "hooks", "-o", "json"], capture_output=True, text=True, env=env, timeout=240
    )
    assert hooks.returncode == 0, hooks.stderr
    entries = json.loads(hooks.stdout[hooks.stdout.index("[") :])
    (hubspot,) = [entry for entry in entries if entry.get("connection_type") == "hubspot"]
    assert hubspot["class"] == "airflow_provider_hubspot_imports.hooks.hubspot.HubSpotHook"


def test_dag_parse_imports_stay_light():
    """DAG files import the sensor and operators on every parse: past Airflow's own base classes they
    must import no HTTP client, no retry library, and none of this package's hook, client or trigger."""
    code = (
        "import sys\n"
        "import airflow_provider_hubspot_imports._compat\n"  # Airflow's base classes, as a DAG needs
        "before = set(sys.modules)\n"
        "import airflow_provider_hubspot_imports.sensors.imports\n"
        "import airflow_provider_hubspot_imports.operators.imports\n"
        "added = set(sys.modules) - before\n"
        "heavy = ('aiohttp', 'httpx', 'httpcore', 'anyio', 'requests', 'urllib3', 'tenacity')\n"
        "ours = ('hooks.hubspot', 'hooks.hubspot_async', 'hooks.connection', 'triggers.imports')\n"
        "print(sorted(m for m in added if m.split('.')[0] in heavy or m.endswith(ours)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
