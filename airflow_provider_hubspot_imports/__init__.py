"""Apache Airflow provider for HubSpot CRM imports."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

DISTRIBUTION = "airflow-provider-hubspot-imports"


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
                "python-modules": ["airflow_provider_hubspot_imports.operators.imports"],
            }
        ],
        "triggers": [
            {
                "integration-name": "HubSpot",
                "python-modules": ["airflow_provider_hubspot_imports.triggers.imports"],
            }
        ],
        "connection-types": [CONNECTION_TYPE_INFO],
        "extra-links": ["airflow_provider_hubspot_imports.links.HubSpotImportLink"],
    }
