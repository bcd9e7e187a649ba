"""Run a DAG with `dag.test()` and read back what it did: task states, XComs, and everything logged."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_hubspot_imports.testing.dagruns import load_dagbag, xcom_return_value

DAGS = Path(__file__).parent / "dags"
EXAMPLE_DAGS = Path(__file__).parent.parent / "example_dags"


@dataclass
class DagRunResult:
    dag_id: str
    run_id: str
    state: str
    task_states: dict[str, str]
    try_numbers: dict[str, int]
    xcoms: dict[str, Any] = field(default_factory=dict)
    output: str = ""


def xcom_value(dag_id: str, run_id: str, task_id: str, key: str = "return_value", map_index: int = -1) -> Any:
    return xcom_return_value(dag_id, run_id, task_id, map_index=map_index, key=key)


def _checked_bag(folder: Path) -> Any:
    bag = load_dagbag(folder)
    assert not bag.import_errors, bag.import_errors
    return bag


@pytest.fixture(scope="session")
def dagbag(airflow_db: Path) -> Any:
    return _checked_bag(DAGS)


@pytest.fixture(scope="session")
def example_dagbag(airflow_db: Path) -> Any:
    """The DAGs users copy from `example_dags/`, loaded as Airflow would parse them."""
    return _checked_bag(EXAMPLE_DAGS)


@pytest.fixture
def run_dag(dagbag: Any, capfd: pytest.CaptureFixture[str]) -> Iterator[Any]:
    """`run_dag(dag_id, conf)` runs a DAG of `tests/dags/` to the end and returns a `DagRunResult`."""
    yield _runner(dagbag, capfd)


@pytest.fixture
def run_example_dag(example_dagbag: Any, capfd: pytest.CaptureFixture[str]) -> Iterator[Any]:
    """`run_example_dag(dag_id, conf)`: the same, for a DAG of `example_dags/`."""
    yield _runner(example_dagbag, capfd)


def _runner(bag: Any, capfd: pytest.CaptureFixture[str]) -> Any:
    def run(dag_id: str, conf: Mapping[str, Any] | None = None) -> DagRunResult:
        dag = bag.get_dag(dag_id)
        assert dag is not None, f"no DAG {dag_id} in {bag.dag_folder}"
        # Airflow 2.11 sends task and inline-trigger logs to log files, not to the console: the
        # records of this package's loggers and of Airflow's task loggers are collected as well.
        records = _Records()
        loggers = [logging.getLogger(name) for name in ("airflow_provider_hubspot_imports", "airflow.task")]
        for logger in loggers:
            logger.addHandler(records)
        try:
            dag_run = dag.test(run_conf=dict(conf or {}))
        finally:
            for logger in loggers:
                logger.removeHandler(records)
        tis = sorted(dag_run.get_task_instances(), key=lambda ti: (ti.task_id, ti.map_index))
        out, err = capfd.readouterr()
        result = DagRunResult(
            dag_id=dag_id,
            run_id=dag_run.run_id,
            state=str(getattr(dag_run.state, "value", dag_run.state)),
            task_states={_key(ti): str(getattr(ti.state, "value", ti.state)) for ti in tis},
            try_numbers={_key(ti): ti.try_number for ti in tis},
            output=out + err + "".join(records.lines),
        )
        for ti in tis:
            result.xcoms[_key(ti)] = xcom_value(dag_id, dag_run.run_id, ti.task_id, map_index=ti.map_index)
        print(result.output)  # shown by pytest when the test fails
        return result

    return run


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name} {record.levelname} {record.getMessage()}\n")


def _key(ti: Any) -> str:
    """`task_id`, or `task_id[i]` for map index i of a mapped task."""
    return ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
