"""A SQLite source table, its Airflow connection, and the operator run as a task instance runs it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from types import SimpleNamespace
from typing import Any

SOURCE_CONN_ID = "transfer_source"


def contacts_table(path: Path, rows: int, *, table: str = "contacts") -> Path:
    """A SQLite database with `rows` contacts: id, email, firstname, lastname, updated_at."""
    with sqlite3.connect(path) as db:
        db.execute(
            f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, email TEXT, firstname TEXT, lastname TEXT, "
            "updated_at TEXT)"
        )
        db.executemany(
            f"INSERT INTO {table} VALUES (?, ?, ?, ?, ?)",
            (
                (n, f"p{n}@example.com", f"P{n}", f"L{n}", f"2026-01-{1 + n % 28:02d}")
                for n in range(1, rows + 1)
            ),
        )
    return path


def sqlite_connection_json(path: Path) -> str:
    return json.dumps({"conn_type": "sqlite", "host": str(path)})


def task_instance(dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> SimpleNamespace:
    """What the operator reads of Airflow's task instance: its identity (the keys)."""
    return SimpleNamespace(
        dag_id=dag_id,
        run_id=run_id,
        task_id=task_id,
        map_index=-1,
        try_number=try_number,
        xcom_push=lambda key, value: None,
    )


def context_for(ti: Any) -> dict[str, Any]:
    return {"ti": ti}
