"""Helpers for running DAGs with `dag.test()` in tests, on Airflow 3 and 2.11 alike."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any


def load_dagbag(folder: str | Path) -> Any:
    """A DagBag of one folder, without Airflow's bundled examples."""
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 2.11
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]
    if "include_examples" in inspect.signature(DagBag.__init__).parameters:
        return DagBag(dag_folder=str(folder), include_examples=False)  # type: ignore[call-arg]
    return DagBag(str(folder))


def xcom_return_value(dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> Any:
    """A task's `return_value` XCom as stored in the metadata database."""
    try:
        from airflow.models.xcom import XComModel
    except ImportError:  # Airflow 2.11
        from airflow.models.xcom import XCom

        return XCom.get_one(
            run_id=run_id, dag_id=dag_id, task_id=task_id, key="return_value", map_index=map_index
        )
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter_by(dag_id=dag_id, run_id=run_id, task_id=task_id, key="return_value", map_index=map_index)
            .one_or_none()
        )
        return None if row is None else XComModel.deserialize_value(row)
