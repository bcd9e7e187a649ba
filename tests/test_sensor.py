"""ImportStateSensor's own rules, poke by poke, against the emulator."""

from __future__ import annotations

import pytest

from airflow_provider_hubspot_imports._compat import AirflowFailException, PokeReturnValue
from airflow_provider_hubspot_imports.models import ImportState
from airflow_provider_hubspot_imports.sensors.imports import ImportStateSensor
from airflow_provider_hubspot_imports.testing import make_errors


def sensor(**kwargs) -> ImportStateSensor:
    return ImportStateSensor(task_id="wait", **{"import_id": "1", **kwargs})


def test_defaults():
    s = sensor()
    assert s.mode == "reschedule" and s.poke_interval == 60
    assert s.success_states == {ImportState.DONE}
    assert s.failure_states == {ImportState.FAILED, ImportState.CANCELED, ImportState.REVERTED}
    assert "import_id" in s.template_fields


def test_state_arguments_are_checked_at_construction():
    with pytest.raises(ValueError, match="both success_states and failure_states"):
        sensor(success_states={"DONE"}, failure_states={"DONE"})
    with pytest.raises(ValueError, match="not an import state"):
        sensor(failure_states={"FAILD"})
    with pytest.raises(ValueError, match="success_states is empty"):
        sensor(success_states=[])
    assert sensor(failure_states=[]).failure_states == frozenset()


def test_poke_waits_then_returns_the_record_as_xcom(hubspot_connection):
    import_id = hubspot_connection.add_import(lifecycle=[("DEFERRED", 1), ("DONE",)], extraField=1)
    s = sensor(import_id=import_id)
    assert s.poke({}) is False
    done = s.poke({})
    assert isinstance(done, PokeReturnValue) and done.is_done
    assert done.xcom_value == hubspot_connection.requests(import_id)[-1].response_json()


@pytest.mark.parametrize("state", ["FAILED", "CANCELED", "REVERTED"])
def test_failure_states_fail_without_retry(hubspot_connection, state):
    import_id = hubspot_connection.add_import(lifecycle=[(state,)], counters={"ERRORS": 3})
    with pytest.raises(AirflowFailException, match=f"is {state}; counters: ERRORS=3"):
        sensor(import_id=import_id).poke({})


def test_custom_success_states(hubspot_connection):
    import_id = hubspot_connection.add_import(lifecycle=[("CANCELED",)])
    result = sensor(import_id=import_id, success_states={"DONE", "CANCELED"}, failure_states={"FAILED"}).poke(
        {}
    )
    assert isinstance(result, PokeReturnValue) and result.xcom_value["state"] == "CANCELED"


def test_unknown_state_keeps_waiting(hubspot_connection):
    import_id = hubspot_connection.add_import(lifecycle=[("SOMETHING_NEW", 1), ("DONE",)])
    s = sensor(import_id=import_id)
    assert s.poke({}) is False
    assert isinstance(s.poke({}), PokeReturnValue)


def test_transient_trouble_after_retries_waits_for_the_next_poke(hubspot_connection, monkeypatch, caplog):
    import_id = hubspot_connection.add_import(lifecycle=[("DONE",)], faults=[{"status": 503}] * 6)
    assert sensor(import_id=import_id).poke({}) is False
    assert len(hubspot_connection.requests(import_id)) == 6  # one call: first attempt + 5 retries
    assert isinstance(sensor(import_id=import_id).poke({}), PokeReturnValue)


def test_daily_limit_waits_for_the_next_poke(hubspot_connection):
    daily = {"status": 429, "json": {"status": "error", "policyName": "DAILY", "message": "daily"}}
    import_id = hubspot_connection.add_import(lifecycle=[("DONE",)], faults=[daily])
    assert sensor(import_id=import_id).poke({}) is False
    assert len(hubspot_connection.requests(import_id)) == 1


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 401, "json": {"category": "INVALID_AUTHENTICATION", "message": "bad token"}},
        {"status": 403, "json": {"category": "MISSING_SCOPES", "message": "scopes"}},
        {"status": 404, "json": {"category": "OBJECT_NOT_FOUND", "message": "no such import"}},
    ],
)
def test_permanent_errors_fail_the_task_at_once(hubspot_connection, fault):
    import_id = hubspot_connection.add_import(lifecycle=[("DONE",)], faults=[fault])
    with pytest.raises(AirflowFailException, match=f"HTTP {fault['status']}"):
        sensor(import_id=import_id).poke({})
    assert len(hubspot_connection.requests(import_id)) == 1


def test_bad_import_id_fails_the_task_before_any_request(hubspot_connection):
    with pytest.raises(AirflowFailException, match="Jinja template"):
        sensor(import_id="{{ params.missing }}").poke({})
    assert hubspot_connection.requests() == []


def test_sensor_keeps_no_state_between_pokes(hubspot_connection):
    import_id = hubspot_connection.add_import(lifecycle=[("PROCESSING", 1), ("DONE",)])
    s = sensor(import_id=import_id)
    logger_cache = {"_cached_logger", "_log"}  # Airflow's lazily created logger, not sensor state
    before = {k: v for k, v in vars(s).items() if k not in logger_cache}
    s.poke({})
    after = {k: v for k, v in vars(s).items() if k not in logger_cache}
    # Only the connection's settings and tokens are kept, for an `on_kill` cancel without a
    # connection lookup or a token grant, and the state the poke logged, which a deferring sensor
    # hands its trigger (so that the trigger does not log it again): nothing that changes what a
    # later poke decides.
    kept = after.pop("_hubspot_settings")
    tokens = after.pop("_hubspot_tokens")
    assert tokens.current() == kept.token and kept.token not in repr(tokens)
    assert after.pop("_logged_state") == "PROCESSING"
    assert after == before
    assert kept.conn_id == "hubspot_default"
    assert kept.token not in repr(kept)


def test_a_done_import_without_an_errors_counter_is_gated_on_the_errors_endpoint(hubspot_connection, logged):
    import_id = hubspot_connection.add_import(
        lifecycle=[("DONE",)], counters={"TOTAL_ROWS": 100, "CREATED_OBJECTS": 95}, errors=make_errors(5)
    )
    with pytest.raises(
        AirflowFailException, match=r"5 error rows \(5 counted from the errors endpoint"
    ) as caught:
        sensor(import_id=import_id, max_error_rows=0).poke({})
    assert "more than max_error_rows=0" in str(caught.value)
    assert "INVALID_EMAIL at line 2" in str(caught.value)
    assert "counted 5 error rows from the errors endpoint" in logged()
    errors_reads = [
        entry for entry in hubspot_connection.requests(import_id) if entry.path.endswith("/errors")
    ]
    assert len(errors_reads) == 1  # the rows counted are the rows shown


def test_without_an_errors_counter_a_clean_errors_endpoint_passes(hubspot_connection, logged):
    import_id = hubspot_connection.add_import(lifecycle=[("DONE",)], counters={"TOTAL_ROWS": 100})
    done = sensor(import_id=import_id, max_error_rows=0, max_error_ratio=0.05).poke({})
    assert isinstance(done, PokeReturnValue) and done.is_done
    assert "counted 0 error rows from the errors endpoint" in logged()


def test_with_an_errors_counter_the_gate_reads_no_errors_endpoint(hubspot_connection, logged):
    import_id = hubspot_connection.add_import(
        lifecycle=[("DONE",)], counters={"TOTAL_ROWS": 100, "ERRORS": 0}
    )
    done = sensor(import_id=import_id, max_error_rows=0).poke({})
    assert isinstance(done, PokeReturnValue) and done.is_done
    assert not [entry for entry in hubspot_connection.requests(import_id) if entry.path.endswith("/errors")]
    assert "reads the ERRORS counter (0)" in logged()
