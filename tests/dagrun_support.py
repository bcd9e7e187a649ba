"""Run a DAG with `dag.test()` and read back what it did: task states, XComs, and everything logged."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_hubspot_imports.testing.dagruns import load_dagbag, xcom_return_value

DAGS = Path(__file__).parent / "dags"


@dataclass
class DagRunResult:
    dag_id: str
    run_id: str
    state: str
    task_states: dict[str, str]
    try_numbers: dict[str, int]
    xcoms: dict[str, Any] = field(default_factory=dict)
    output: str = ""


@pytest.fixture(scope="session")
def dagbag(airflow_db: Path) -> Any:
    bag = load_dagbag(DAGS)
    assert not bag.import_errors, bag.import_errors
    return bag


@pytest.fixture
def run_dag(dagbag: Any, capfd: pytest.CaptureFixture[str]) -> Iterator[Any]:
    """`run_dag(dag_id, conf)` runs the DAG to the end and returns a `DagRunResult`."""

    def run(dag_id: str, conf: Mapping[str, Any] | None = None) -> DagRunResult:
        dag = dagbag.get_dag(dag_id)
        assert dag is not None, f"no DAG {dag_id} in {DAGS}"
        dag_run = dag.test(run_conf=dict(conf or {}))
        tis = dag_run.get_task_instances()
        out, err = capfd.readouterr()
        result = DagRunResult(
            dag_id=dag_id,
            run_id=dag_run.run_id,
            state=str(getattr(dag_run.state, "value", dag_run.state)),
            task_states={ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in tis},
            try_numbers={ti.task_id: ti.try_number for ti in tis},
            output=out + err,
        )
        for ti in tis:
            result.xcoms[ti.task_id] = xcom_return_value(dag_id, dag_run.run_id, ti.task_id)
        print(result.output)  # shown by pytest when the test fails
        return result

    yield run
