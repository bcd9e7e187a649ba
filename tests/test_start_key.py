"""The start key: derived per task instance, carried in the import's name, found again."""

from __future__ import annotations

import pytest

from airflow_provider_hubspot_imports.core.start_key import (
    MAX_NAME_CHARS,
    own_key,
    pick_adoptable,
    state_store_value,
    stored_import_id,
    task_instance_key,
)
from airflow_provider_hubspot_imports.errors import HubSpotInputError
from airflow_provider_hubspot_imports.models import ImportRecord


def record(import_id: str, name: str | None, created: str = "2026-01-01T00:00:00.000Z") -> ImportRecord:
    raw = {"id": import_id, "state": "PROCESSING", "createdAt": created}
    if name is not None:
        raw["importName"] = name
    return ImportRecord(raw)


def test_one_key_per_task_instance_the_same_in_every_try():
    key = task_instance_key("dag", "run", "task", -1)
    assert key == task_instance_key("dag", "run", "task", None)
    others = {
        task_instance_key("dag", "run", "task", 0),
        task_instance_key("dag", "run2", "task", -1),
        task_instance_key("dag2", "run", "task", -1),
        task_instance_key("dag", "run", "task2", -1),
        task_instance_key("da", "grun", "task", -1),  # no ambiguity from joining the parts
    }
    assert key not in others and len(others) == 5
    assert len(key.digest) == 16 and int(key.digest, 16) >= 0
    assert key.source == "task instance dag/run/task"
    assert task_instance_key("dag", "run", "task", 3).source == "task instance dag/run/task[3]"


def test_the_marker_rides_in_the_name_which_stays_short():
    key = task_instance_key("dag", "run", "task", -1)
    marked = key.mark({"name": "Contacts", "files": []})
    assert marked == {"name": f"Contacts {key.marker}", "files": []}
    assert key.mark({})["name"] == f"Airflow import {key.marker}"
    long = key.mark({"name": "x" * 500})["name"]
    assert len(long) == MAX_NAME_CHARS and long.endswith(f"… {key.marker}")
    # Marking again (or a name marked by another key) keeps exactly this key's marker.
    assert key.mark(marked)["name"] == marked["name"]
    other = own_key("other")
    assert other.mark(marked)["name"] == f"Contacts {other.marker}"


def test_a_record_carries_the_key_in_its_name_or_its_request():
    key = task_instance_key("dag", "run", "task", -1)
    assert key.carried_by({"importName": f"Contacts {key.marker}"})
    assert key.carried_by({"importRequestJson": {"name": f"Contacts {key.marker}"}})
    assert not key.carried_by({"importName": "Contacts"})
    assert not key.carried_by({"importName": f"Contacts {own_key('x').marker}"})
    assert not key.carried_by({"importName": f"{key.marker} Contacts"})  # only at the end
    assert not key.carried_by({"importName": None, "importRequestJson": "not a dict"})


def test_the_first_import_created_with_the_key_is_adopted():
    key = own_key("nightly")
    chosen, others = pick_adoptable(
        key,
        [
            record("5", f"A {key.marker}", "2026-01-01T00:00:00.000Z"),
            record("7", "Unrelated"),
            record("9", f"B {key.marker}", "2026-01-02T00:00:00.000Z"),
        ],
    )
    assert chosen is not None and chosen.id == "5"
    assert others == ["9"]
    # Listed in any order, created in the same millisecond: the lower id (by number) was first.
    same_moment = [record("12", f"B {key.marker}"), record("9", f"A {key.marker}")]
    assert pick_adoptable(key, same_moment)[0].id == "9"  # type: ignore[union-attr]
    assert pick_adoptable(key, [record("7", "Unrelated"), record("8", None)]) == (None, [])


def test_the_state_store_value_is_read_back_only_under_the_same_key():
    key = own_key("a")
    stored = state_store_value(key, "123")
    assert stored_import_id(key, stored) == "123"
    assert stored_import_id(own_key("b"), stored) is None  # a new key means a new import
    assert stored_import_id(key, None) is None
    assert stored_import_id(key, {"start_key": key.digest}) is None


@pytest.mark.parametrize("value", ["", "   ", "{{ params.key }}", 5])
def test_an_own_key_must_be_real_text(value):
    with pytest.raises(HubSpotInputError, match="idempotency_key"):
        own_key(value)
