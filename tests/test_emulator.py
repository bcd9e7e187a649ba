"""The emulator speaks HubSpot: checked with HubSpot's official Python client and raw HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import requests

from airflow_provider_hubspot_imports.testing import HubSpotEmulator


def get(emulator: HubSpotEmulator, path: str, token: str | None = None, **params) -> requests.Response:
    headers = {"Authorization": f"Bearer {token or emulator.token}"}
    return requests.get(f"{emulator.base_url}{path}", headers=headers, params=params, timeout=5)


def test_official_hubspot_client_parses_served_records(hubspot_emulator):
    from hubspot import HubSpot

    import_id = hubspot_emulator.add_import(
        lifecycle=[("PROCESSING", 1), ("DONE",)], counters={"TOTAL_ROWS": 3}
    )
    client = HubSpot(access_token=hubspot_emulator.token)
    api = client.crm.imports.core_api
    api.api_client.configuration.host = hubspot_emulator.base_url
    first = api.get_by_id(import_id=import_id)
    second = api.get_by_id(import_id=import_id)
    assert (first.id, first.state, second.state) == (str(import_id), "PROCESSING", "DONE")
    assert second.metadata.counters == {"TOTAL_ROWS": 3}
    assert second.created_at.tzinfo is not None and second.updated_at >= second.created_at
    assert second.mapped_object_type_ids == ["0-1"] and second.opt_out_import is False


def test_official_client_sees_hubspots_error_shape(hubspot_emulator):
    from hubspot import HubSpot
    from hubspot.crm.imports import ApiException

    api = HubSpot(access_token="pat-na1-wrong").crm.imports.core_api
    api.api_client.configuration.host = hubspot_emulator.base_url
    with pytest.raises(ApiException) as caught:
        api.get_by_id(import_id=1)
    body = json.loads(caught.value.body)
    assert caught.value.status == 401
    assert (
        body["category"] == "INVALID_AUTHENTICATION" and body["status"] == "error" and body["correlationId"]
    )


def test_lifecycle_steps_advance_per_poll(hubspot_emulator):
    import_id = hubspot_emulator.add_import(lifecycle=[("STARTED", 1), ("PROCESSING", 2), ("DONE",)])
    states = [get(hubspot_emulator, f"/crm/v3/imports/{import_id}").json()["state"] for _ in range(5)]
    assert states == ["STARTED", "PROCESSING", "PROCESSING", "DONE", "DONE"]


def test_errors_in_hubspots_shape(hubspot_emulator):
    assert get(hubspot_emulator, "/crm/imports/2026-03/77").json()["category"] == "OBJECT_NOT_FOUND"
    assert get(hubspot_emulator, "/crm/imports/2026-03/77").status_code == 404
    assert get(hubspot_emulator, "/crm/imports/2026-03/abc").status_code == 400
    unauthorized = get(hubspot_emulator, "/crm/imports/2026-03/77", token="nope")
    assert unauthorized.status_code == 401 and unauthorized.json()["category"] == "INVALID_AUTHENTICATION"
    assert [entry.authorized for entry in hubspot_emulator.requests()] == [True, True, True, False]


def test_token_without_import_scope_gets_403():
    with HubSpotEmulator(tokens={"pat-na1-noscope": ["crm.objects.contacts.read"]}) as emulator:
        answer = get(emulator, "/crm/imports/2026-03/1", token="pat-na1-noscope")
    assert answer.status_code == 403 and answer.json()["category"] == "MISSING_SCOPES"


def test_list_paginates_active_imports(hubspot_emulator):
    for _ in range(5):
        hubspot_emulator.add_import(lifecycle=[("PROCESSING",)])
    hubspot_emulator.add_import(lifecycle=[("DONE",)])
    first = get(hubspot_emulator, "/crm/imports/2026-03", limit=3).json()
    second = get(
        hubspot_emulator, "/crm/imports/2026-03", limit=3, after=first["paging"]["next"]["after"]
    ).json()
    assert len(first["results"]) == 3 and len(second["results"]) == 2 and "paging" not in second


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("active", ["first-active", "second-active"]),
        ("history-oldest-first", ["first-active", "done", "second-active"]),
        ("history-newest-first", ["second-active", "done", "first-active"]),
    ],
)
def test_list_mode_chooses_which_imports_are_listed_and_in_what_order(hubspot_emulator, mode, expected):
    hubspot_emulator.add_import(lifecycle=[("PROCESSING",)], importName="first-active")
    hubspot_emulator.add_import(lifecycle=[("DONE",)], importName="done")
    hubspot_emulator.add_import(lifecycle=[("STARTED",)], importName="second-active")
    hubspot_emulator.set_list_mode(mode)
    listed = get(hubspot_emulator, "/crm/imports/2026-03").json()["results"]
    assert [item["importName"] for item in listed] == expected


def test_an_unknown_list_mode_is_refused(hubspot_emulator):
    with pytest.raises(ValueError, match="history-newest-first"):
        hubspot_emulator.set_list_mode("newest")


def test_rate_limiter_answers_like_hubspot(hubspot_emulator):
    import_id = hubspot_emulator.add_import(lifecycle=[("DONE",)])
    hubspot_emulator.set_rate_limit(3, window_seconds=10)
    answers = [get(hubspot_emulator, f"/crm/imports/2026-03/{import_id}") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[0].headers["X-HubSpot-RateLimit-Max"] == "3"
    assert answers[3].json()["policyName"] == "TEN_SECONDLY_ROLLING"
    assert 1 <= int(answers[3].headers["Retry-After"]) <= 10


def test_command_line_server_with_a_scenario(tmp_path):
    scenario = tmp_path / "scenario.json"
    scenario.write_text(
        json.dumps(
            {"tokens": {"pat-na1-cli": ["crm.import"]}, "imports": [{"id": 4242, "lifecycle": [["DONE"]]}]}
        )
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow_provider_hubspot_imports.testing.emulator",
            "--port",
            "0",
            "--scenario",
            str(scenario),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert "HubSpot emulator listening on http://127.0.0.1:" in line and "[4242]" in line
        base_url = line.split(" on ")[1].split(";")[0]
        answer = requests.get(
            f"{base_url}/crm/imports/2026-03/4242", headers={"Authorization": "Bearer pat-na1-cli"}, timeout=5
        )
        assert answer.json()["state"] == "DONE"
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert process.returncode == 0


def test_command_line_refuses_non_loopback_bind():
    result = subprocess.run(
        [sys.executable, "-m", "airflow_provider_hubspot_imports.testing.emulator", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "not a loopback address" in result.stderr


def test_delay_and_drop_faults(hubspot_emulator):
    import_id = hubspot_emulator.add_import(lifecycle=[("DONE",)], faults=[{"drop": True}, {"delay": 0.3}])
    with pytest.raises(requests.ConnectionError):
        get(hubspot_emulator, f"/crm/imports/2026-03/{import_id}")
    started = time.monotonic()
    assert get(hubspot_emulator, f"/crm/imports/2026-03/{import_id}").status_code == 503
    assert time.monotonic() - started >= 0.3


def test_faults_can_wait_for_earlier_polls(hubspot_emulator):
    import_id = hubspot_emulator.add_import(
        lifecycle=[("PROCESSING", 1), ("DONE",)], faults=[{"status": 502}], faults_after_polls=1
    )
    statuses = [get(hubspot_emulator, f"/crm/imports/2026-03/{import_id}").status_code for _ in range(3)]
    assert statuses == [200, 502, 200]
    served = [e.response_json()["state"] for e in hubspot_emulator.requests(import_id) if e.status == 200]
    assert served == ["PROCESSING", "DONE"]
