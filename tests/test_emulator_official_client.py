"""The emulator's workflow routes, used through HubSpot's official Python client.

If the official client parses what the emulator serves, the emulator speaks HubSpot.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from airflow_provider_hubspot_imports.testing import HubSpotEmulator, make_errors

hubspot = pytest.importorskip("hubspot")


@dataclass
class Imports:
    core_api: Any
    public_imports_api: Any


@pytest.fixture
def client(hubspot_emulator: HubSpotEmulator) -> Imports:
    imports = hubspot.HubSpot(access_token=hubspot_emulator.token).crm.imports
    services = Imports(imports.core_api, imports.public_imports_api)  # each access builds a new one
    for service in (services.core_api, services.public_imports_api):
        service.api_client.configuration.host = hubspot_emulator.base_url
    return services


def test_official_client_reads_list_pages(client, hubspot_emulator):
    ids = [hubspot_emulator.add_import(lifecycle=[("PROCESSING",)]) for _ in range(3)]

    first = client.core_api.get_page(limit=2)
    second = client.core_api.get_page(limit=2, after=first.paging.next.after)

    assert [item.id for item in first.results + second.results] == [str(number) for number in ids]
    assert second.paging is None


def test_official_client_reads_errors(client, hubspot_emulator):
    import_id = hubspot_emulator.add_import(lifecycle=[("DONE",)], errors=make_errors(3))

    page = client.public_imports_api.get_errors(import_id=import_id, include_row_data=True)

    assert [error.error_type for error in page.results] == ["INVALID_EMAIL"] * 3
    assert page.results[0].source_data.line_number == 2
    assert page.results[0].invalid_value == "not-an-email-2"


def test_official_client_cancels(client, hubspot_emulator):
    import_id = hubspot_emulator.add_import(lifecycle=[("PROCESSING",)])

    answer = client.core_api.cancel(import_id=import_id)

    assert answer.status == "COMPLETE"
    assert hubspot_emulator.record(import_id)["state"] == "CANCELED"


def test_official_client_starts_an_import(client, hubspot_emulator, tmp_path):
    csv = tmp_path / "contacts.csv"
    csv.write_text("email\na@example.com\nb@example.com\n")
    request = {
        "name": "Via the official client",
        "files": [{"fileName": "contacts.csv", "fileFormat": "CSV"}],
    }

    record = client.core_api.create(files=str(csv), import_request=json.dumps(request))

    assert record.state == "STARTED"
    assert record.metadata.counters["TOTAL_ROWS"] == 2
    assert [upload.filename for upload in hubspot_emulator.uploads(int(record.id))] == ["contacts.csv"]
