"""The hook's lookup of imports carrying a key, and the emulator's start and list scripting it runs on."""

from __future__ import annotations

import json
import time

import pytest
import requests
from list_modes import every_list_mode  # noqa: F401 (autouse: every test in each list mode)

from airflow_provider_hubspot_imports.core.start_key import own_key, pick_adoptable
from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook
from airflow_provider_hubspot_imports.testing import HubSpotEmulator


@pytest.fixture
def hubspot(hubspot_connection: HubSpotEmulator) -> HubSpotEmulator:
    return hubspot_connection


def _start(hubspot: HubSpotEmulator, name: str) -> requests.Response:
    body = {"name": name, "files": [{"fileName": "a.csv", "fileFormat": "CSV"}]}
    return requests.post(
        f"{hubspot.base_url}/crm/imports/2026-03",
        headers={"Authorization": f"Bearer {hubspot.token}"},
        files={"importRequest": (None, json.dumps(body)), "files": ("a.csv", b"email\na@b.c\n", "text/csv")},
        timeout=10,
    )


def test_lookup_pages_through_older_imports_to_find_the_key(
    hubspot: HubSpotEmulator,
    every_list_mode: str,  # noqa: F811 (the fixture imported above)
):
    key = own_key("nightly")
    hubspot.set_list_page_size(2)
    for n in range(5):
        hubspot.add_import(lifecycle=[("PROCESSING",)], importName=f"Older {n}")
    mine = hubspot.add_import(lifecycle=[("STARTED",)], importName=f"Contacts {key.marker}")
    finished = hubspot.add_import(lifecycle=[("CANCELED",)], importName=f"Finished {key.marker}")

    lookup = HubSpotHook().find_started_imports(key)

    active_only = every_list_mode == "active"  # else the list holds finished imports too
    listed = [str(mine)] if active_only else sorted([str(mine), str(finished)])
    assert sorted(record.id for record in lookup.found) == listed
    assert lookup.scanned == (6 if active_only else 7) and lookup.complete
    pages = len([entry for entry in hubspot.requests() if entry.import_id is None])
    assert pages == (3 if active_only else 4)  # pages of 2
    # Whichever way HubSpot lists, only the active import may be adopted: never a CANCELED one.
    assert pick_adoptable(key, lookup.found)[0].id == str(mine)  # type: ignore[union-attr]


def test_lookup_stops_at_its_bound_and_says_so(
    hubspot: HubSpotEmulator,
    every_list_mode: str,  # noqa: F811 (the fixture imported above)
):
    key = own_key("nightly")
    for n in range(4):
        hubspot.add_import(lifecycle=[("PROCESSING",)], importName=f"Older {n}")
    mine = hubspot.add_import(lifecycle=[("PROCESSING",)], importName=f"Mine {key.marker}")

    lookup = HubSpotHook().find_started_imports(key, limit=3)

    # Newest first, the newest import (the one a try just started) is read first.
    found = [str(mine)] if every_list_mode == "history-newest-first" else []
    assert [record.id for record in lookup.found] == found
    assert lookup.scanned == 3 and not lookup.complete
    assert HubSpotHook().find_started_imports(key, limit=5).complete


def test_a_lost_answer_leaves_a_created_import_listed_with_its_name_and_request(hubspot: HubSpotEmulator):
    hubspot.lose_start_answers()
    with pytest.raises(requests.ConnectionError):
        _start(hubspot, "Lost [airflow:0123456789abcdef]")
    (started,) = hubspot.started_imports()
    assert started["name"] == "Lost [airflow:0123456789abcdef]"
    assert started["import_request"]["files"] == [{"fileName": "a.csv", "fileFormat": "CSV"}]
    assert [upload.filename for upload in started["uploads"]] == ["a.csv"]
    listed = requests.get(
        f"{hubspot.base_url}/crm/imports/2026-03",
        headers={"Authorization": f"Bearer {hubspot.token}"},
        timeout=10,
    ).json()["results"]
    assert [(item["id"], item["importName"]) for item in listed] == [
        (str(started["id"]), "Lost [airflow:0123456789abcdef]")
    ]
    assert listed[0]["importRequestJson"]["name"] == "Lost [airflow:0123456789abcdef]"


def test_a_cut_upload_creates_nothing_and_a_start_delay_slows_the_answer(hubspot: HubSpotEmulator):
    hubspot.cut_uploads(50)
    with pytest.raises(requests.ConnectionError):
        _start(hubspot, "Cut")
    assert hubspot.started_imports() == []
    assert [entry.status for entry in hubspot.requests()] == [0]
    hubspot.set_start_delay(0.5)
    began = time.monotonic()
    assert _start(hubspot, "Slow").status_code == 200
    assert time.monotonic() - began >= 0.5
    assert [entry["name"] for entry in hubspot.started_imports()] == ["Slow"]
