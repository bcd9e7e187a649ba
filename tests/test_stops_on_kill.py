"""`on_kill` (SIGTERM in a worker): cancels on the last try only, without a connection lookup, in time."""

from __future__ import annotations

import os
import socket
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sigterm_support import SIGKILL_AFTER, sigterm_when_ready

from airflow_provider_hubspot_imports.canceling import QUICK_CANCEL_SECONDS
from airflow_provider_hubspot_imports.sensors.imports import ImportStateSensor
from airflow_provider_hubspot_imports.testing import HubSpotEmulator

CHILD = Path(__file__).parent / "sigterm_child.py"


def cancels(emulator: HubSpotEmulator, import_id: int) -> list[Any]:
    return [entry for entry in emulator.requests(import_id) if entry.method == "POST"]


def sigterm_after_first_poke(emulator: HubSpotEmulator, import_id: int, which_try: str) -> str:
    """Run the child, SIGTERM it after its first poke, SIGKILL it 5 s later as Airflow would."""
    env = dict(os.environ, AIRFLOW_CONN_HUBSPOT_DEFAULT=emulator.connection_json())
    return sigterm_when_ready([str(CHILD), str(import_id), which_try], env, "poked")


def test_sigterm_on_the_last_try_cancels_without_a_connection_lookup(hubspot_emulator: HubSpotEmulator):
    import_id = hubspot_emulator.add_import(lifecycle=[("PROCESSING",)])

    output = sigterm_after_first_poke(hubspot_emulator, import_id, "last")

    assert "SIGKILL" not in output, output
    assert len(cancels(hubspot_emulator, import_id)) == 1, output
    assert hubspot_emulator.record(import_id)["state"] == "CANCELED"
    assert "Canceled HubSpot import" in output and "killed on its last try" in output
    assert hubspot_emulator.token not in output


def test_sigterm_of_a_try_that_will_be_retried_leaves_the_import(hubspot_emulator: HubSpotEmulator):
    import_id = hubspot_emulator.add_import(lifecycle=[("PROCESSING",)])

    output = sigterm_after_first_poke(hubspot_emulator, import_id, "retry")

    assert "on_kill took" in output, output
    assert cancels(hubspot_emulator, import_id) == []
    assert hubspot_emulator.record(import_id)["state"] == "PROCESSING"
    assert "a retry of this task waits on it" in output


def test_on_kill_gives_up_on_an_unanswered_cancel_within_its_budget(
    hubspot_connection: HubSpotEmulator, capfd: pytest.CaptureFixture[str]
):
    import_id = hubspot_connection.add_import(lifecycle=[("PROCESSING",)])
    sensor = ImportStateSensor(task_id="wait", import_id=import_id, cancel_on_timeout=True)
    assert sensor.poke({}) is False
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        host, port = silent.getsockname()
        assert sensor._hubspot_settings is not None
        sensor._hubspot_settings = replace(sensor._hubspot_settings, base_url=f"http://{host}:{port}")

        started = time.monotonic()
        sensor.on_kill()
        took = time.monotonic() - started

    # It waited for an answer (one attempt), and gave up well before Airflow's SIGKILL.
    assert QUICK_CANCEL_SECONDS / 2 <= took < SIGKILL_AFTER
    err = capfd.readouterr().err  # written as from the signal handler: file descriptor 2
    assert f"Could not cancel HubSpot import {import_id}" in err


def test_on_kill_after_the_try_ended_does_nothing(hubspot_connection: HubSpotEmulator):
    """Airflow calls `on_kill` after `execution_timeout` too, once `execute` already decided."""
    import_id = hubspot_connection.add_import(lifecycle=[("DONE",)])
    sensor = ImportStateSensor(task_id="wait", import_id=import_id, mode="poke", cancel_on_timeout=True)
    sensor.execute({})

    sensor.on_kill()

    assert cancels(hubspot_connection, import_id) == []


def test_on_kill_without_the_option_leaves_the_import(hubspot_connection: HubSpotEmulator):
    import_id = hubspot_connection.add_import(lifecycle=[("PROCESSING",)])
    sensor = ImportStateSensor(task_id="wait", import_id=import_id)
    sensor.poke({})

    sensor.on_kill()

    assert cancels(hubspot_connection, import_id) == []


def test_pokes_register_the_token_with_the_masker_once(
    hubspot_connection: HubSpotEmulator, monkeypatch: pytest.MonkeyPatch
):
    """On Airflow 3 each registration is a round trip to the supervisor: once per process is enough."""
    from airflow_provider_hubspot_imports import _compat

    try:
        import airflow.sdk.log as masker_module
    except ImportError:  # Airflow 2.11
        import airflow.utils.log.secrets_masker as masker_module  # type: ignore[no-redef]
    registered: list[str] = []
    monkeypatch.setattr(_compat, "_MASKED", set())
    monkeypatch.setattr(masker_module, "mask_secret", lambda secret, *a, **k: registered.append(secret))
    import_id = hubspot_connection.add_import(lifecycle=[("PROCESSING",)])
    sensor = ImportStateSensor(task_id="wait", import_id=import_id)

    for _ in range(3):
        assert sensor.poke({}) is False

    # (Airflow's own connection code registers the extras on each lookup: that is Airflow's.)
    assert [secret for secret in registered if secret == hubspot_connection.token] == [
        hubspot_connection.token
    ]


def test_on_kill_with_oauth_cancels_in_time_without_a_grant_or_a_supervisor_message(
    hubspot_emulator: HubSpotEmulator, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
):
    """Inside the SIGTERM handler: no connection lookup, no token grant, no secret registered (on
    Airflow 3 each is a message to the supervisor, whose lock the interrupted poke may hold)."""
    import json

    from airflow_provider_hubspot_imports import _compat

    try:
        import airflow.sdk.log as masker_module
    except ImportError:  # Airflow 2.11
        import airflow.utils.log.secrets_masker as masker_module  # type: ignore[no-redef]
    extras = hubspot_emulator.add_oauth_app(client_secret="s3cret", refresh_token="refresh-1")
    conn = {"conn_type": "hubspot", "host": hubspot_emulator.base_url, "extra": extras}
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", json.dumps(conn))
    import_id = hubspot_emulator.add_import(lifecycle=[("PROCESSING",)])
    sensor = ImportStateSensor(task_id="wait", import_id=import_id, cancel_on_timeout=True)
    assert sensor.poke({}) is False
    assert hubspot_emulator.token_grants == 1
    monkeypatch.delenv("AIRFLOW_CONN_HUBSPOT_DEFAULT")  # a lookup would now fail
    registered: list[str] = []
    monkeypatch.setattr(_compat, "_MASKED", set())
    monkeypatch.setattr(masker_module, "mask_secret", lambda secret, *a, **k: registered.append(secret))

    started = time.time()
    sensor.on_kill()  # no task instance: counts as the last try

    posts = cancels(hubspot_emulator, import_id)
    assert len(posts) == 1 and hubspot_emulator.record(import_id)["state"] == "CANCELED"
    assert posts[0].at - started < QUICK_CANCEL_SECONDS  # the design's bound, far from the 5 s SIGKILL
    assert hubspot_emulator.token_grants == 1  # the poke's grant only
    assert registered == []
    assert "Canceled HubSpot import" in capfd.readouterr().err
