"""Run a DAG each time contacts land in HubSpot, whichever DAG (or script of this app) imported them.

An `AssetWatcher` runs `ImportWatchTrigger` in the triggerer: it reads the account's list of active
imports once a minute and fires when a contacts import finishes DONE. The run reads the import's
id and counters from the asset event. Imports started in HubSpot's web app are not in that list
and do not trigger it. On Airflow 2.11 (no watchers) the DAG runs on the ``hubspot://`` dataset
events of tasks instead.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

try:
    from airflow.sdk import DAG, Asset, AssetWatcher, task

    from airflow_provider_hubspot_imports.triggers.watch import ImportWatchTrigger

    CONTACTS = Asset(
        "hubspot://api.hubapi.com/contacts",
        watchers=[
            AssetWatcher(
                name="hubspot_contacts_imports",
                trigger=ImportWatchTrigger(
                    hubspot_conn_id="hubspot_default",
                    poll_interval=60,
                    states=["DONE"],
                    object_types=["contacts"],
                ),
            )
        ],
    )
except ImportError:  # Airflow 2.11
    from airflow import DAG  # type: ignore[no-redef,attr-defined]
    from airflow.datasets import Dataset as Asset  # type: ignore[no-redef,attr-defined]
    from airflow.decorators import task  # type: ignore[no-redef]

    CONTACTS = Asset("hubspot://api.hubapi.com/contacts")

log = logging.getLogger(__name__)

with DAG(
    dag_id="example_hubspot_import_watch",
    description="Runs when a contacts import finishes in HubSpot.",
    schedule=[CONTACTS],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["hubspot", "example"],
) as dag:

    @task
    def contacts_landed(**context: Any) -> list[dict[str, Any]]:
        """What landed: each asset event's import id and counters (from a watcher or a task)."""
        landed = []
        key = (
            "triggering_asset_events" if "triggering_asset_events" in context else "triggering_dataset_events"
        )
        for events in context[key].values():
            for event in events:
                extra = dict(event.extra or {})
                facts = extra.get("payload", extra)  # a watcher's event carries its payload
                landed.append({"import_id": facts.get("import_id"), "counters": facts.get("counters", {})})
        log.info("Contacts landed in HubSpot: %s", landed)
        return landed

    contacts_landed()
