"""Run a DAG with `dag.test()` and read back what it did: task states, XComs, and everything logged."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

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


def xcom_return_value(dag_id: str, run_id: str, task_id: str) -> Any:
    """The task's `return_value` XCom, on Airflow 3 and 2.11."""
    try:
        from airflow.models.xcom import XComModel
        from airflow.utils.session import create_session

        with create_session() as session:
            row = (
                session.query(XComModel)
                .filter_by(dag_id=dag_id, run_id=run_id, task_id=task_id, key="return_value")
                .one_or_none()
            )
            return None if row is None else XComModel.deserialize_value(row)
    except ImportError:
        from airflow.models.xcom import XCom

        return XCom.get_one(run_id=run_id, dag_id=dag_id, task_id=task_id, key="return_value")


@pytest.fixture(scope="session")
def dagbag(airflow_db: Path) -> Any:
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]
    if _takes_examples(DagBag):
        bag = DagBag(dag_folder=str(DAGS), include_examples=False)
    else:
        bag = DagBag(str(DAGS))
    assert not bag.import_errors, bag.import_errors
    return bag


def _takes_examples(cls: type) -> bool:
    import inspect

    return "include_examples" in inspect.signature(cls.__init__).parameters


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
