"""``hubspot://`` asset URIs: registered with Airflow, normalised, validated, named as in lineage."""

from __future__ import annotations

import pytest

from airflow_provider_hubspot_imports import get_provider_info
from airflow_provider_hubspot_imports.assets import convert_asset_to_openlineage, create_asset

try:
    from airflow.sdk import Asset
except ImportError:  # Airflow 2.11
    from airflow.datasets import Dataset as Asset  # type: ignore[no-redef,attr-defined]


def test_the_scheme_is_registered_with_airflow():
    try:
        from airflow.providers_manager import ProvidersManager

        handlers = ProvidersManager().asset_uri_handlers
    except AttributeError:  # Airflow 2.11
        handlers = ProvidersManager().dataset_uri_handlers  # type: ignore[attr-defined]
    from airflow_provider_hubspot_imports.assets import sanitize_uri

    assert handlers["hubspot"] is sanitize_uri
    info = get_provider_info()
    assert info["asset-uris"] == info["dataset-uris"]
    assert info["asset-uris"][0]["schemes"] == ["hubspot"]


@pytest.mark.parametrize(
    ("written", "normalised"),
    [
        ("hubspot://424242/contacts", "hubspot://424242/contacts"),
        ("hubspot://424242/0-1", "hubspot://424242/contacts"),
        ("hubspot://424242/Companies/", "hubspot://424242/companies"),
        ("HUBSPOT://API.HubAPI.com/0-5", "hubspot://api.hubapi.com/tickets"),
        ("hubspot://424242/2-3508482", "hubspot://424242/2-3508482"),
    ],
)
def test_uris_are_normalised(written, normalised):
    assert Asset(written).uri == normalised


@pytest.mark.parametrize(
    ("uri", "why"),
    [
        ("hubspot:///contacts", "names no account"),
        ("hubspot://424242", "exactly one object type"),
        ("hubspot://424242/contacts/extra", "exactly one object type"),
        ("hubspot://424242/contacts?x=1", "takes none"),
    ],
)
def test_bad_uris_are_refused_naming_the_shape(uri, why):
    from airflow_provider_hubspot_imports._compat import AIRFLOW_V3

    # Airflow 2 turns a handler's refusal into a warning ("will raise in Airflow 3").
    expected = pytest.raises(ValueError, match=why) if AIRFLOW_V3 else pytest.warns(UserWarning, match=why)
    with expected as raised:
        Asset(uri)
    message = str(raised.value) if AIRFLOW_V3 else str(raised[0].message)
    assert "hubspot://<portal id or API host>/<object type>" in message


def test_the_openlineage_dataset_is_the_one_the_facets_name():
    dataset = convert_asset_to_openlineage(Asset("hubspot://424242/0-2"))
    assert (dataset.namespace, dataset.name) == ("hubspot://424242", "companies")
    assert create_asset(account="424242", object_type="0-1").uri == "hubspot://424242/contacts"
