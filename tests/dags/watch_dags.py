"""A DAG scheduled on an AssetWatcher running ImportWatchTrigger (Airflow 3 only)."""

from __future__ import annotations

from datetime import datetime

try:
    from airflow.sdk import DAG, Asset, AssetWatcher, task
except ImportError:  # Airflow 2.11 has no watchers: no DAG here
    DAG = None  # type: ignore[assignment,misc]

if DAG is not None:
    from airflow_provider_hubspot_imports.triggers.watch import ImportWatchTrigger

    WATCHED = Asset(
        "hubspot://watched/contacts",
        watchers=[
            AssetWatcher(
                name="test_watch_contacts",
                trigger=ImportWatchTrigger(poll_interval=0.5, object_types=["contacts"]),
            )
        ],
    )

    with DAG("test_watch_imports", schedule=[WATCHED], start_date=datetime(2026, 1, 1), catchup=False):

        @task
        def landed() -> None:
            """Nothing to do: the test reads the asset event."""

        landed()
