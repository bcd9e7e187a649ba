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
    DEFAULT_TOKEN_PATH,
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
    "client_id": (
        "OAuth client id",
        {"type": ["string", "null"]},
        "OAuth instead of a token: your HubSpot app's client id (with client secret and refresh token).",
    ),
    "client_secret": (
        "OAuth client secret",
        {"type": ["string", "null"], "format": "password"},
        "Your HubSpot app's client secret (Auth settings of the app).",
    ),
    "refresh_token": (
        "OAuth refresh token",
        {"type": ["string", "null"], "format": "password"},
        "The refresh token from installing the app in the account (scope crm.import).",
    ),
    # No schema default: Airflow masks values of extras whose name contains "token", so a default
    # would reach the form as "***" and be saved as such.
    "token_path": (
        "OAuth token path",
        {"type": ["string", "null"]},
        f"Path of HubSpot's token endpoint. Empty: '{DEFAULT_TOKEN_PATH}'; or '/oauth/v3/token'.",
    ),
    "portal_id": (
        "HubSpot account (portal) id",
        {"type": ["string", "null"]},
        "Optional: links tasks to the import's page in HubSpot.",
    ),
}

# Schema and login mean nothing to HubSpot. The port stays: Airflow 3.3's Test button (in the
# connection list) sends 0 for an empty port and then refuses to test a connection stored without
# one. `extra` stays visible for the rarer extras (ca_bundle, retry_backoff_seconds).
HIDDEN_FIELDS = ["schema", "login"]
RELABELING = {"password": "Access token", "host": "API base URL"}
PLACEHOLDERS = {
    "host": DEFAULT_BASE_URL,
    "password": "pat-na1-... (service key or private app token with the crm.import scope)",
    "port": "443 (optional: the port of the base URL)",
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


def _types(schema: dict[str, Any]) -> list[str]:
    kind = schema.get("type", "string")
    return [kind] if isinstance(kind, str) else list(kind)


def legacy_form_widgets() -> dict[str, Any]:
    """`EXTRA_FIELDS` as WTForms fields, for Airflow 2.x and 3.0-3.1 (which mock these imports).

    Imports flask/wtforms here: Airflow 3 ships neither.
    """
    from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
    from flask_babel import lazy_gettext
    from wtforms import IntegerField, PasswordField, StringField
    from wtforms.validators import Optional

    widgets: dict[str, Any] = {}
    for name, (label, schema, description) in EXTRA_FIELDS.items():
        default = schema.get("default")
        if schema.get("format") == "password":
            widgets[name] = PasswordField(
                lazy_gettext(label), widget=BS3PasswordFieldWidget(), description=description
            )
        elif "integer" in _types(schema):
            widgets[name] = IntegerField(
                lazy_gettext(label),
                widget=BS3TextFieldWidget(),
                validators=[Optional()],
                description=description,
                default=default,
            )
        else:
            widgets[name] = StringField(
                lazy_gettext(label),
                widget=BS3TextFieldWidget(),
                description=description,
                default=None if default is None else str(default),
            )
    return widgets


def legacy_field_behaviour() -> dict[str, Any]:
    """The `ui-field-behaviour` above in the snake_case shape of `get_ui_field_behaviour()`."""
    return {
        "hidden_fields": list(HIDDEN_FIELDS),
        "relabeling": dict(RELABELING),
        "placeholders": dict(PLACEHOLDERS),
    }
