"""Apache Airflow provider for HubSpot CRM imports."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

DISTRIBUTION = "airflow-provider-hubspot-imports"

_HUBSPOT_URIS = {
    "schemes": ["hubspot"],
    "handler": "airflow_provider_hubspot_imports.assets.sanitize_uri",
    "to_openlineage_converter": "airflow_provider_hubspot_imports.assets.convert_asset_to_openlineage",
}


def get_provider_info() -> dict[str, Any]:
    """What Airflow's providers manager reads through the ``apache_airflow_provider`` entry point."""
    from airflow_provider_hubspot_imports.connection_form import CONNECTION_TYPE_INFO

    return {
        "package-name": DISTRIBUTION,
        "name": "HubSpot Imports",
        "description": "Wait on HubSpot CRM imports and gate downstream work on how they finished.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "HubSpot",
                "external-doc-url": "https://developers.hubspot.com/docs/api-reference/crm-imports-v3/guide",
                "tags": ["service"],
            }
        ],
        "hooks": [
            {
                "integration-name": "HubSpot",
                "python-modules": ["airflow_provider_hubspot_imports.hooks.hubspot"],
            }
        ],
        "sensors": [
            {
                "integration-name": "HubSpot",
                "python-modules": ["airflow_provider_hubspot_imports.sensors.imports"],
            }
        ],
        "operators": [
            {
                "integration-name": "HubSpot",
                "python-modules": [
                    "airflow_provider_hubspot_imports.operators.imports",
                    "airflow_provider_hubspot_imports.operators.export",
                ],
            }
        ],
        "triggers": [
            {
                "integration-name": "HubSpot",
                "python-modules": [
                    "airflow_provider_hubspot_imports.triggers.imports",
                    "airflow_provider_hubspot_imports.triggers.watch",
                ],
            }
        ],
        "connection-types": [CONNECTION_TYPE_INFO],
        # hubspot://<portal id or API host>/<object type>; Airflow 2 reads "dataset-uris".
        "asset-uris": [_HUBSPOT_URIS],
        "dataset-uris": [_HUBSPOT_URIS],
        "extra-links": ["airflow_provider_hubspot_imports.links.HubSpotImportLink"],
    }
