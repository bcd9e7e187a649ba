"""The `hubspot` connection form, as the Airflow UI receives it (3.3's API server) or builds it (2.x)."""

from __future__ import annotations

import json
import sys
import types
from typing import Any
from unittest import mock

import pytest

from airflow_provider_hubspot_imports.connection_form import EXTRA_FIELDS
from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook

LABELS = {
    "api_version": "API version",
    "timeout": "Timeout (seconds)",
    "max_retries": "Max retries",
    "retry_max_seconds": "Retry budget (seconds)",
    "client_id": "OAuth client id",
    "client_secret": "OAuth client secret",
    "refresh_token": "OAuth refresh token",
    "token_path": "OAuth token path",
    "portal_id": "HubSpot account (portal) id",
}
SENSITIVE = {"client_secret", "refresh_token"}
FAB_MODULES = ("wtforms", "flask_babel", "flask_appbuilder")


def airflow_version() -> tuple[int, int]:
    from airflow import __version__

    major, minor = __version__.split(".")[:2]
    return int(major), int(minor)


# Airflow 3.2+ reads the declarative `conn-fields`; 2.x and 3.0/3.1 call the hook's form methods.
DECLARATIVE = airflow_version() >= (3, 2)


@pytest.mark.skipif(
    (3, 0) <= airflow_version() < (3, 2),
    reason="Airflow 3.0/3.1 build this only inside the API server, with mocked WTForms (tested there)",
)
def test_sensitive_extras_are_registered_as_sensitive_with_airflow():
    from airflow.providers_manager import ProvidersManager

    widgets = ProvidersManager().connection_form_widgets
    flags = {name: widgets[f"extra__hubspot__{name}"].is_sensitive for name in LABELS}
    assert flags == {name: name in SENSITIVE for name in LABELS}


def test_airflow2_field_behaviour_matches_the_declaration():
    from airflow_provider_hubspot_imports import get_provider_info

    declared = get_provider_info()["connection-types"][0]["ui-field-behaviour"]
    behaviour = HubSpotHook.get_ui_field_behaviour()

    assert behaviour == {
        "hidden_fields": declared["hidden-fields"],
        "relabeling": declared["relabeling"],
        "placeholders": declared["placeholders"],
    }
    assert behaviour["hidden_fields"] == ["schema", "login"]


class _Field:
    """Stands in for a WTForms field class, like Airflow 3.0/3.1 do when FAB is not installed."""

    kind = "string"
    password = False

    def __init__(self, label=None, validators=None, description="", default=None, widget=None):
        self.label, self.description, self.default = label, description, default


class _Integer(_Field):
    kind = "integer"


class _Password(_Field):
    password = True


def _fake_fab(monkeypatch: pytest.MonkeyPatch) -> None:
    modules = {
        "wtforms": {"StringField": _Field, "IntegerField": _Integer, "PasswordField": _Password},
        "wtforms.validators": {"Optional": lambda *a, **k: None},
        "flask_babel": {"lazy_gettext": str},
        "flask_appbuilder": {},
        "flask_appbuilder.fieldwidgets": {"BS3TextFieldWidget": object, "BS3PasswordFieldWidget": object},
    }
    for name, attributes in modules.items():
        module = types.ModuleType(name)
        module.__dict__.update(attributes)
        monkeypatch.setitem(sys.modules, name, module)


def test_airflow2_widgets_carry_every_declared_field(monkeypatch: pytest.MonkeyPatch):
    """Checked with stand-in WTForms classes (Airflow 3 ships no WTForms), as Airflow 3.0/3.1 do."""
    _fake_fab(monkeypatch)
    widgets = HubSpotHook.get_connection_form_widgets()

    assert list(widgets) == list(LABELS)
    for name, label in LABELS.items():
        assert widgets[name].label == label
        assert widgets[name].description == EXTRA_FIELDS[name][2]
        assert widgets[name].password is (name in SENSITIVE), name
    assert widgets["max_retries"].kind == "integer"
    assert widgets["max_retries"].default == 5
    assert widgets["api_version"].default == "2026-03"


def test_airflow2_real_wtforms_widgets():
    """With Flask AppBuilder installed (Airflow 2.x), the widgets are real WTForms fields."""
    pytest.importorskip("flask_appbuilder", reason="Flask AppBuilder ships with Airflow 2.x only")
    from wtforms import IntegerField, PasswordField, StringField

    widgets = HubSpotHook.get_connection_form_widgets()
    classes = {name: widget.field_class for name, widget in widgets.items()}

    assert classes == {
        name: PasswordField if name in SENSITIVE else IntegerField if name == "max_retries" else StringField
        for name in LABELS
    }
    assert str(widgets["client_secret"].args[0]) == "OAuth client secret"


# ---- Airflow 3's API server (kept last: see api_client) -----------------------------------


@pytest.fixture(scope="module")
def api_client(airflow_db) -> Any:
    """Airflow 3's API server app (FastAPI), every request an admin. The tests using it come last
    in this module: on Airflow 3.0/3.1 it leaves mocked WTForms modules behind until teardown."""
    app_module = pytest.importorskip("airflow.api_fastapi.app", reason="Airflow 3 API server")
    from fastapi.testclient import TestClient

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
        patch.setenv(
            "AIRFLOW__CORE__AUTH_MANAGER",
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        )
        app = app_module.create_app()
        from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

        # Airflow 3.0/3.1 have no all-admins middleware: sign an admin token, as Airflow's tests do.
        token = app_module.get_auth_manager().generate_jwt(
            SimpleAuthManagerUser(username="test", role="admin")
        )
        with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
            yield client
    # Airflow 3.0/3.1 put MagicMock stand-ins for WTForms and FAB into sys.modules for good.
    for name in [name for name in sys.modules if name.split(".")[0] in FAB_MODULES]:
        if isinstance(sys.modules[name], mock.MagicMock):
            del sys.modules[name]


def test_api_server_serves_the_hubspot_form(api_client: Any):
    response = api_client.get("/ui/connections/hook_meta")
    assert response.status_code == 200, response.text
    [meta] = [entry for entry in response.json() if entry["connection_type"] == "hubspot"]

    assert meta["hook_name"] == "HubSpot"
    assert meta["hook_class_name"] == "airflow_provider_hubspot_imports.hooks.hubspot.HubSpotHook"
    standard = meta["standard_fields"]
    assert standard["host"] == {
        "hidden": False,
        "title": "API base URL",
        "placeholder": "https://api.hubapi.com",
    }
    assert standard["password"]["title"] == "Access token"
    assert standard["password"]["hidden"] is False
    assert standard["password"]["placeholder"].startswith("pat-na1-...")
    for hidden in ("url_schema", "login"):
        assert standard[hidden]["hidden"] is True, hidden
    assert standard["port"] == {
        "hidden": False,
        "title": None,
        "placeholder": "443 (optional: the port of the base URL)",
    }

    extra = meta["extra_fields"]
    assert list(extra) == list(LABELS)
    for name, label in LABELS.items():
        schema = extra[name]["schema"]
        assert schema["title"] == label
        assert (schema.get("format") == "password") is (name in SENSITIVE), name
        assert extra[name]["description"] == EXTRA_FIELDS[name][2]
    assert extra["api_version"]["value"] == "2026-03"
    # WTForms offers no float field: before 3.2 the form sends the number as a string.
    assert extra["timeout"]["schema"]["type"] == ["number" if DECLARATIVE else "string", "null"]
    assert extra["max_retries"]["schema"]["type"] == ["integer", "null"]
    assert extra["token_path"]["value"] is None  # a default here would arrive masked as "***"


@pytest.mark.parametrize("good", [True, False], ids=["good-token", "bad-token"])
def test_api_server_test_button(good: bool, api_client: Any, hubspot_emulator, monkeypatch):
    """What the UI's Test button posts to Airflow 3's API server, answered by the hook."""
    monkeypatch.setenv("AIRFLOW__CORE__TEST_CONNECTION", "Enabled")
    token = hubspot_emulator.token if good else "pat-na1-typo-in-the-token"
    body = {
        "connection_id": "hubspot_form_test",
        "conn_type": "hubspot",
        "host": hubspot_emulator.base_url,
        "password": token,
        "extra": json.dumps({"api_version": "v3", "timeout": "10"}),
    }

    response = api_client.post("/api/v2/connections/test", json=body)

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] is good
    if good:
        assert answer["message"].startswith(f"Connected to {hubspot_emulator.base_url} with its access token")
    else:
        assert "HTTP 401 INVALID_AUTHENTICATION" in answer["message"]
        assert token not in response.text
    assert [(entry.path, entry.status) for entry in hubspot_emulator.requests()] == [
        ("/crm/v3/imports", 200 if good else 401)
    ]


def test_api_server_test_button_of_a_saved_connection(api_client: Any, hubspot_emulator):
    """The list's Test button posts the stored connection with the masked password ("***") and
    `Number(port)`; the API server fills the secret back in from the stored connection."""
    body = {
        "connection_id": "hubspot_saved",
        "conn_type": "hubspot",
        "host": hubspot_emulator.base_url,
        "port": hubspot_emulator.port,
        "password": hubspot_emulator.token,
    }
    assert api_client.post("/api/v2/connections", json=body).status_code == 201
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW__CORE__TEST_CONNECTION", "Enabled")
        response = api_client.post(
            "/api/v2/connections/test", json={**body, "password": "***", "extra": "{}"}
        )

    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": True,
        "message": f"Connected to {hubspot_emulator.base_url} with its access token: it may read imports "
        f"(crm.import).",
    }
