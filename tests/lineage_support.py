"""Run a DAG under `airflow dags test` with OpenLineage's file transport, and read back what it did:
the OpenLineage events it emitted and the asset events it recorded."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from airflow_provider_hubspot_imports._compat import AIRFLOW_V3


def run_dag_with_lineage(
    dag_id: str, conf: dict[str, Any], connection_json: str, events_file: Path
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "AIRFLOW_CONN_HUBSPOT_DEFAULT": connection_json,
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": str(events_file), "append": True}
        ),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "hubspot-provider-tests",
    }
    if not AIRFLOW_V3:
        # Airflow 2 records a dataset event only for datasets already in the database, and
        # `dags test` does not write them there: serialize the DAGs first.
        subprocess.run(
            [sys.executable, "-m", "airflow", "dags", "reserialize"], env=env, check=True, capture_output=True
        )
    return subprocess.run(
        [sys.executable, "-m", "airflow", "dags", "test", dag_id, "-c", json.dumps(conf)],
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
    )


def read_events(events_file: Path) -> list[dict[str, Any]]:
    """The events the file transport appended, one JSON object a line."""
    if not events_file.exists():
        return []
    return [json.loads(line) for line in events_file.read_text().splitlines() if line.strip()]


def task_event(events: list[dict[str, Any]], job_name: str, event_type: str) -> dict[str, Any]:
    found = [e for e in events if e["job"]["name"] == job_name and e["eventType"] == event_type]
    assert len(found) == 1, f"{len(found)} {event_type} events for {job_name}: {[e['job'] for e in events]}"
    return found[0]


def last_asset_event_id() -> int:
    """The id of the latest asset event in the test database (0 when none): what a test records
    before it runs a DAG, to count only the events of its own run."""
    database = os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].removeprefix("sqlite:///")
    events = "asset_event" if AIRFLOW_V3 else "dataset_event"
    with sqlite3.connect(database) as db:
        try:
            (latest,) = db.execute(f"SELECT coalesce(max(id), 0) FROM {events}").fetchone()
        except sqlite3.OperationalError:  # the table is not there yet: nothing was recorded
            return 0
    return int(latest)


def asset_event_extras(uri: str, *, after_id: int) -> list[dict[str, Any]]:
    """The ``extra`` of every asset event recorded for `uri` after the event `after_id` (see
    `last_asset_event_id`; table ``dataset_event`` on Airflow 2)."""
    database = os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].removeprefix("sqlite:///")
    events, assets = ("asset_event", "asset") if AIRFLOW_V3 else ("dataset_event", "dataset")
    column = "asset_id" if AIRFLOW_V3 else "dataset_id"
    with sqlite3.connect(database) as db:
        rows = db.execute(
            f"SELECT e.extra FROM {events} e JOIN {assets} a ON a.id = e.{column} "
            "WHERE a.uri = ? AND e.id > ? ORDER BY e.id",
            (uri, after_id),
        ).fetchall()
    return [json.loads(extra) if isinstance(extra, str) else extra for (extra,) in rows]
