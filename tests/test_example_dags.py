"""Every example DAG loads; the gate example runs end to end against the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_hubspot_imports.testing import HubSpotEmulator
from airflow_provider_hubspot_imports.testing.dagruns import load_dagbag, xcom_return_value

EXAMPLES = Path(__file__).parent.parent / "example_dags"


@pytest.fixture(scope="module")
def example_bag(airflow_db):
    return load_dagbag(EXAMPLES)


def test_every_example_dag_loads_without_errors(example_bag):
    assert example_bag.import_errors == {}
    expected = {path.stem for path in EXAMPLES.glob("example_*.py")}
    assert expected <= set(example_bag.dag_ids)


@pytest.mark.dagrun
def test_gate_example_end_to_end(example_bag, hubspot_connection: HubSpotEmulator, monkeypatch):
    import_id = hubspot_connection.add_import(
        lifecycle=[("PROCESSING", 1), ("DONE",)], counters={"TOTAL_ROWS": 7}
    )
    dag = example_bag.get_dag("example_hubspot_import_gate")
    for task in dag.tasks:  # the example polls every 10 s; the test need not wait that long
        if hasattr(task, "poke_interval"):
            monkeypatch.setattr(task, "poke_interval", 1)
    dag_run = dag.test(run_conf={"import_id": str(import_id)})
    assert str(getattr(dag_run.state, "value", dag_run.state)) == "success"
    served = hubspot_connection.requests(import_id)[-1].response_json()
    assert xcom_return_value(dag.dag_id, dag_run.run_id, "wait_for_import") == served
    assert xcom_return_value(dag.dag_id, dag_run.run_id, "report_counters") == {"TOTAL_ROWS": 7}
