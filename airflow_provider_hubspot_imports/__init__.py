"""Apache Airflow provider for HubSpot CRM imports."""

from __future__ import annotations

from typing import Any

# The one place the version is written (hatch reads it for the distribution's metadata). Semantic
# versioning: see CONTRIBUTING.md. Every version has a section in CHANGELOG.md.
__version__ = "0.2.0"
# Versions released before this one, newest first (the provider info lists them all, as Airflow's do).
EARLIER_VERSIONS = ("0.1.0",)

DISTRIBUTION = "airflow-provider-hubspot-imports"
# How-to guides and the logo, as paths in the source repository (what a provider registry shows).
HOW_TO_GUIDES = (
    "/docs/getting-started.md",
    "/docs/connections.md",
    "/docs/waiting.md",
    "/docs/starting.md",
    "/docs/preflight.md",
    "/docs/stopping.md",
    "/docs/quality-gate.md",
    "/docs/deferrable.md",
    "/docs/testing.md",
    "/docs/production.md",
    "/docs/lineage.md",
    "/docs/transfer.md",
)
LOGO = "/docs/integration-logos/hubspot-imports.svg"

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
        "description": (
            "Start, wait on, cancel and audit HubSpot CRM imports; gate downstream work on how they "
            "finished. Reschedule or deferrable waits, a quality gate on error rows, and a local "
            "emulator of HubSpot's Imports API for testing DAGs."
        ),
        "versions": [__version__, *EARLIER_VERSIONS],
        "integrations": [
            {
                "integration-name": "HubSpot",
                "external-doc-url": "https://developers.hubspot.com/docs/api-reference/crm-imports-v3/guide",
                "how-to-guide": list(HOW_TO_GUIDES),
                "logo": LOGO,
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
                    "airflow_provider_hubspot_imports.operators.validate",
                ],
            }
        ],
        "transfers": [
            {
                "source-integration-name": "Common SQL",
                "target-integration-name": "HubSpot",
                "python-module": "airflow_provider_hubspot_imports.transfers.sql_to_hubspot",
                "how-to-guide": "/docs/transfer.md",
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
        "extra-links": ["airflow_provider_hubspot_imports.extra_links.HubSpotImportLink"],
    }
