"""Upgrades with waits in flight: a trigger row written by one version is resumed by the next.

The triggerer stores `ImportStateTrigger.serialize()` in the `trigger` table (Airflow's serde JSON,
encrypted with the Fernet key). After `pip install -U` of this package the new triggerer rebuilds
the trigger from that row. Each file in trigger_payloads/ is such a row as a released version wrote
it; every one must still build the trigger and wait to the end against the emulator. When
`serialize()` changes, add the new payload as a new file and keep the old ones.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest
from trigger_support import first_event

from airflow_provider_hubspot_imports import __version__
from airflow_provider_hubspot_imports.testing import HubSpotEmulator
from airflow_provider_hubspot_imports.triggers.imports import ImportStateTrigger

pytest.importorskip("airflow.sdk.serde", reason="the payloads are Airflow 3's serde format")

PAYLOADS = Path(__file__).parent / "trigger_payloads"
# What the payloads were written from: a sensor waiting on import 424242 every 0.05 s until 2100.
WRITTEN_FROM: dict[str, Any] = {
    "import_id": "424242",
    "hubspot_conn_id": "hubspot_default",
    "poll_interval": 0.05,
    "end_time": 4102444800.0,
    "first_poll_at": 1767225600.0,  # long past: "poll now" after the restart
}


def stored_row(trigger: ImportStateTrigger) -> dict[str, str]:
    """The trigger as the triggerer's database row holds it (before Fernet encryption)."""
    from airflow.models.trigger import stringify_encoding_keys
    from airflow.sdk.serde import serialize

    classpath, kwargs = trigger.serialize()
    return {"classpath": classpath, "kwargs": json.dumps(serialize(stringify_encoding_keys(kwargs)))}


def resumed(row: dict[str, str]) -> Any:
    """Rebuild the trigger from a row the way the triggerer does."""
    from airflow.models.trigger import Trigger

    module, _, name = row["classpath"].rpartition(".")
    return getattr(importlib.import_module(module), name)(**Trigger._decrypt_kwargs(row["kwargs"]))


def payload_files() -> list[Path]:
    return sorted(PAYLOADS.glob("*.json"))


def test_a_payload_of_this_version_is_stored():
    assert (PAYLOADS / f"import_state_trigger-{__version__}.json").exists(), (
        f"store this version's payload: json.dumps(stored_row(ImportStateTrigger(**WRITTEN_FROM))) "
        f"into {PAYLOADS}/import_state_trigger-{__version__}.json"
    )


def test_this_version_writes_the_payload_it_stored():
    current = stored_row(ImportStateTrigger(**WRITTEN_FROM))
    stored = json.loads((PAYLOADS / f"import_state_trigger-{__version__}.json").read_text())
    assert current == stored


@pytest.mark.parametrize("path", payload_files(), ids=lambda path: path.stem)
def test_a_stored_payload_resumes_and_waits_to_the_end(path: Path, hubspot_connection: HubSpotEmulator):
    hubspot_connection.add_import(424242, lifecycle=[("PROCESSING", 2), ("DONE",)])

    trigger = resumed(json.loads(path.read_text()))

    assert isinstance(trigger, ImportStateTrigger)
    event = first_event(trigger)
    assert event["status"] == "succeeded", event
    assert event["record"]["state"] == "DONE"
    assert [entry.status for entry in hubspot_connection.requests(424242)] == [200, 200, 200]
