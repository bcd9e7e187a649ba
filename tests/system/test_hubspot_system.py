"""The system test: `dags/example_hubspot_imports_system.py` run against a real HubSpot account,
then against the emulator, each through an `AnswerRecorder`; the answers' shapes and the
differences between the two go into one file (``HUBSPOT_SYSTEM_TEST_RECORD``, by default
``tests/system/recorded/hubspot-answers.json``). Opt-in: see conftest.py and docs/testing.md."""

from __future__ import annotations

import json
import os
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import airflow
import pytest
from answer_recorder import AnswerRecorder, compare

from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook
from airflow_provider_hubspot_imports.testing import HubSpotEmulator
from airflow_provider_hubspot_imports.testing.dagruns import load_dagbag, xcom_return_value

HERE = Path(__file__).parent
DAG_ID = "example_hubspot_imports_system"
CONN_VARIABLE = "AIRFLOW_CONN_HUBSPOT_SYSTEM"
# Test contacts only: addresses on example.com (reserved, never a person's), the same three each
# run, so the account gains three contacts once and then updates them.
CONTACTS = "email,firstname,lastname\n" + "".join(
    f"airflow-system-test-{n}@example.com,System,Test {n}\n" for n in range(1, 4)
)


def test_the_package_against_hubspot_and_the_emulator_side_by_side(
    airflow_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = os.environ["HUBSPOT_SYSTEM_TEST_TOKEN"]
    upstream = os.environ.get("HUBSPOT_SYSTEM_TEST_BASE_URL", "https://api.hubapi.com")
    record_file = Path(
        os.environ.get("HUBSPOT_SYSTEM_TEST_RECORD", HERE / "recorded" / "hubspot-answers.json")
    )
    csv = tmp_path / "airflow-system-test-contacts.csv"
    csv.write_text(CONTACTS)
    dag = load_dagbag(HERE / "dags").get_dag(DAG_ID)

    with AnswerRecorder(upstream) as hubspot:
        monkeypatch.setenv(CONN_VARIABLE, _connection(hubspot.url, token))
        real = _run(dag, csv)
        canceled_first = _finished_before_the_cancel(real)

    with HubSpotEmulator() as emulator, AnswerRecorder(emulator.base_url) as emulated:
        emulator.set_start_lifecycle([("STARTED", 1), ("PROCESSING", 1), ("DONE",)])
        monkeypatch.setenv(CONN_VARIABLE, _connection(emulated.url, emulator.token))
        mirrored = _run(dag, csv)

    text = json.dumps(
        {
            "recorded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "hubspot": upstream,
            "airflow": airflow.__version__,
            "python": platform.python_version(),
            "task_states": {"hubspot": real["states"], "emulator": mirrored["states"]},
            "cancel_came_after_the_import_finished": canceled_first,
            "differences": compare(hubspot.exchanges, emulated.exchanges),
            "hubspot_answers": [exchange.as_json() for exchange in hubspot.exchanges],
            "emulator_answers": [exchange.as_json() for exchange in emulated.exchanges],
        },
        indent=2,
    )
    assert token not in text
    assert "airflow-system-test-" not in text  # no contact data
    record_file.parent.mkdir(parents=True, exist_ok=True)
    record_file.write_text(text + "\n")

    for side in (real, mirrored):
        expected = {task_id: "success" for task_id in side["states"]}
        if side is real and canceled_first:
            expected["cancel"] = "failed"  # HubSpot refuses to cancel a finished import
        assert side["states"] == expected, f"see {record_file}"
    assert isinstance(real["xcoms"]["read_imports_list"], int)  # the list was read to its end
    assert real["xcoms"]["wait_in_reschedule_mode"]["state"] == "DONE"
    assert real["xcoms"]["wait_deferred"]["state"] == "DONE"
    requests = {exchange.method + " " + exchange.path for exchange in hubspot.exchanges}
    assert any(request.endswith("/cancel") for request in requests), requests


def _connection(host: str, token: str) -> str:
    extra = {"retry_backoff_seconds": 1}
    return json.dumps({"conn_type": "hubspot", "host": host, "password": token, "extra": extra})


def _run(dag: Any, csv: Path) -> dict[str, Any]:
    dag_run = dag.test(run_conf={"csv_path": str(csv)})
    tis = dag_run.get_task_instances()
    return {
        "run_id": dag_run.run_id,
        "states": {ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in tis},
        "xcoms": {ti.task_id: xcom_return_value(DAG_ID, dag_run.run_id, ti.task_id) for ti in tis},
    }


def _finished_before_the_cancel(run: dict[str, Any]) -> bool:
    """Whether the third import was no longer active when the cancel reached HubSpot."""
    if run["states"].get("cancel") == "success":
        return False
    started = run["xcoms"].get("start_canceled") or {}
    state = HubSpotHook("hubspot_system").get_import(started["id"]).state.value
    return state in {"DONE", "FAILED"}
