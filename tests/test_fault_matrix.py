"""Every fault class x every waiting path: the outcome and the exact number of requests.

Each case scripts its faults on one import (which is DONE once they have been served) and checks
what the hook raises or returns, and what a reschedule-mode sensor run by `dag.test()` ends as.
Every run also checks that the token appears in no error, log line or XCom.
"""

from __future__ import annotations

import json

import pytest
from fault_scenarios import ALL_CASES, CONNECTION_EXTRAS, DAGRUN_CASES, FaultCase

from airflow_provider_hubspot_imports import errors
from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook
from airflow_provider_hubspot_imports.testing import HubSpotEmulator

TOKEN = "pat-na1-fa017a11-0000-4000-8000-matrixsecret"


@pytest.fixture
def hubspot(monkeypatch) -> HubSpotEmulator:
    with HubSpotEmulator(tokens={TOKEN: ["crm.import"]}) as emulator:
        monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", emulator.connection_json(**CONNECTION_EXTRAS))
        yield emulator


def ids(case: FaultCase) -> str:
    return case.name


@pytest.mark.parametrize("case", ALL_CASES, ids=ids)
def test_hook(case: FaultCase, hubspot: HubSpotEmulator, capfd):
    import_id = hubspot.add_import(lifecycle=[("DONE",)], faults=case.faults)
    hook = HubSpotHook()
    if case.hook_error is None:
        record = hook.get_import(import_id)
        assert record.raw == hubspot.requests(import_id)[-1].response_json()
        text = repr(record.raw)
    else:
        with pytest.raises(getattr(errors, case.hook_error)) as caught:
            hook.get_import(import_id)
        assert case.message in str(caught.value)
        text = f"{caught.value} {caught.value!r} {json.dumps(caught.value.body)}"
    assert len(hubspot.requests(import_id)) == case.hook_requests
    out, err = capfd.readouterr()
    assert TOKEN not in text + out + err


@pytest.mark.dagrun
@pytest.mark.parametrize("case", DAGRUN_CASES, ids=ids)
def test_reschedule_sensor_in_a_dag_run(case: FaultCase, hubspot: HubSpotEmulator, run_dag):
    import_id = hubspot.add_import(lifecycle=[("DONE",)], faults=case.faults)

    result = run_dag("test_reschedule_gate", {"import_id": str(import_id)})

    assert result.task_states["wait_for_import"] == case.sensor_state
    assert result.try_numbers["wait_for_import"] == 1  # permanent errors are never retried
    sensor_requests = len(hubspot.requests(import_id)) - (1 if case.sensor_state == "success" else 0)
    assert sensor_requests == case.sensor_requests  # minus the downstream operator's one GET
    if case.sensor_state == "success":
        assert result.xcoms["wait_for_import"] == hubspot.requests(import_id)[-2].response_json()
    if case.message:
        assert case.message in result.output
    assert TOKEN not in result.output + json.dumps(result.xcoms)


def test_a_token_echoed_by_hubspot_is_redacted(hubspot: HubSpotEmulator, run_dag, capfd):
    echo = {
        "status": 401,
        "json": {
            "status": "error",
            "category": "INVALID_AUTHENTICATION",
            "message": f"Token {TOKEN} is not valid",
            "context": {"token": [TOKEN]},
        },
    }
    import_id = hubspot.add_import(lifecycle=[("DONE",)], faults=[echo])
    with pytest.raises(errors.HubSpotAuthError) as caught:
        HubSpotHook().get_import(import_id)
    assert "Token *** is not valid" in str(caught.value)
    assert TOKEN not in f"{caught.value}{caught.value!r}{json.dumps(caught.value.body)}"
    hubspot.add_faults(import_id, [echo])
    result = run_dag("test_reschedule_gate", {"import_id": str(import_id)})
    assert result.task_states["wait_for_import"] == "failed"
    assert "Token *** is not valid" in result.output
    assert TOKEN not in result.output + capfd.readouterr().out


@pytest.mark.dagrun
@pytest.mark.parametrize("case", DAGRUN_CASES, ids=ids)
def test_deferred_sensor_in_a_dag_run(case: FaultCase, hubspot: HubSpotEmulator, run_dag):
    # The sensor checks once before deferring: the import is PROCESSING then, and the faults only
    # start after that first GET, so every one of them reaches the trigger.
    import_id = hubspot.add_import(
        lifecycle=[("PROCESSING", 1), ("DONE",)], faults=case.faults, faults_after_polls=1
    )

    result = run_dag("test_deferrable_gate", {"import_id": str(import_id)})

    assert result.task_states["wait_for_import"] == case.sensor_state
    assert result.try_numbers["wait_for_import"] == 1
    served = hubspot.requests(import_id)
    assert served[0].response_json()["state"] == "PROCESSING"  # the check before deferring
    assert len(served) == 1 + case.sensor_requests  # then the trigger, request for request as a poke
    if case.sensor_state == "success":
        assert result.xcoms["wait_for_import"] == served[-1].response_json()
        assert result.xcoms["load"] == served[-1].response_json()
    if case.message:
        assert case.message in result.output
    assert TOKEN not in result.output + json.dumps(result.xcoms)
