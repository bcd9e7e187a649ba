"""The ``hubspot`` connection type as Airflow's UI shows it.

Airflow 3.2+ builds the form from this declaration without importing the hook; the hook's
`get_connection_form_widgets` / `get_ui_field_behaviour` serve older Airflow versions from the
same data, so the two forms cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_hubspot_imports.core.settings import (
    DEFAULT_API_VERSION,
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RETRIES,
    DEFAULT_RETRY_MAX_SECONDS,
    DEFAULT_TIMEOUT,
)

HOOK_CLASS = "airflow_provider_hubspot_imports.hooks.hubspot.HubSpotHook"

# name -> (label, JSON-schema, description)
EXTRA_FIELDS: dict[str, tuple[str, dict[str, Any], str]] = {
    "api_version": (
        "API version",
        {"type": ["string", "null"], "default": DEFAULT_API_VERSION},
        f"'{DEFAULT_API_VERSION}' (date-versioned paths) or 'v3' (legacy /crm/v3/imports paths).",
    ),
    "timeout": (
        "Timeout (seconds)",
        {"type": ["number", "null"], "default": DEFAULT_TIMEOUT},
        "Seconds to wait for each answer from HubSpot.",
    ),
    "max_retries": (
        "Max retries",
        {"type": ["integer", "null"], "default": DEFAULT_MAX_RETRIES},
        "Retries of one call after rate limits, 5xx answers and network errors.",
    ),
    "retry_max_seconds": (
        "Retry budget (seconds)",
        {"type": ["number", "null"], "default": DEFAULT_RETRY_MAX_SECONDS},
        "Bound on one call, retries and waits included.",
    ),
    "portal_id": (
        "HubSpot account (portal) id",
        {"type": ["string", "null"]},
        "Optional: links tasks to the import's page in HubSpot.",
    ),
}

HIDDEN_FIELDS = ["schema", "login", "extra"]
RELABELING = {"password": "Access token", "host": "API base URL"}
PLACEHOLDERS = {
    "host": DEFAULT_BASE_URL,
    "password": "pat-na1-... (private app token or service key with the crm.import scope)",
    "port": "(from the base URL)",
}

CONNECTION_TYPE_INFO: dict[str, Any] = {
    "hook-class-name": HOOK_CLASS,
    "hook-name": "HubSpot",
    "connection-type": "hubspot",
    "conn-fields": {
        name: {"label": label, "schema": schema, "description": description}
        for name, (label, schema, description) in EXTRA_FIELDS.items()
    },
    "ui-field-behaviour": {
        "hidden-fields": HIDDEN_FIELDS,
        "relabeling": RELABELING,
        "placeholders": PLACEHOLDERS,
    },
}
