"""`on_kill` (SIGTERM in a worker): the start operator cancels on its last try only, without a
connection lookup, in time; the sensor, whose re-run after a clear waits on the same import, never
cancels on a kill."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sigterm_start_child import start_operator, task_instance
from sigterm_support import SIGKILL_AFTER, sigterm_when_ready

from airflow_provider_hubspot_imports.canceling import QUICK_CANCEL_SECONDS
from airflow_provider_hubspot_imports.operators.imports import HubSpotStartImportOperator
from airflow_provider_hubspot_imports.sensors.imports import ImportStateSensor
from airflow_provider_hubspot_imports.testing import HubSpotEmulator

CHILD = Path(__file__).parent / "sigterm_child.py"


def cancels(emulator: HubSpotEmulator, import_id: int) -> list[Any]:
    return [entry for entry in emulator.requests(import_id) if entry.method == "POST"]


def sigterm_after_first_poke(emulator: HubSpotEmulator, import_id: int, which_try: str) -> str:
    """Run the child, SIGTERM it after its first poke, SIGKILL it 5 s later as Airflow would."""
    env = dict(os.environ, AIRFLOW_CONN_HUBSPOT_DEFAULT=emulator.connection_json())
    return sigterm_when_ready([str(CHILD), str(import_id), which_try], env, "poked")


def kill_while_waiting(
    emulator: HubSpotEmulator, csv_file: Path, kill: Callable[[HubSpotStartImportOperator, int], None]
) -> None:
    """A start operator waits in this thread on the import it started, on its last try (Airflow
    2.11 runs an operator only in the thread that made it); once the wait has polled, `kill(operator,
    import id)` runs in another thread, as `on_kill` runs beside the interrupted code. `kill` must
    leave the import CANCELED, which ends the wait."""
    emulator.set_start_lifecycle([("PROCESSING",)])
    operator = start_operator(str(csv_file))

    def when_polled() -> None:
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                started = emulator.started_imports()
                import_id = int(started[0]["id"]) if started else None
                if import_id is not None and any(
                    entry.method == "GET" for entry in emulator.requests(import_id)
                ):
                    kill(operator, import_id)
                    return
                time.sleep(0.05)
            raise AssertionError("the start operator never polled its import")
        finally:
            for entry in emulator.started_imports():  # the wait ends, whatever happened here
                emulator.model.cancel(int(entry["id"]))

    with ThreadPoolExecutor(max_workers=1) as pool:
        killer = pool.submit(when_polled)
        with pytest.raises(Exception, match="CANCELED"):
            operator.execute({"ti": task_instance("manual__killed", 1, retry=False)})  # type: ignore[arg-type]
        killer.result(timeout=60)


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "contacts.csv"
    path.write_text("email,firstname\na@example.com,A\n")
    return path


def test_sigterm_of_a_sensor_on_its_last_try_leaves_the_import_for_its_re_run(
    hubspot_emulator: HubSpotEmulator, monkeypatch: pytest.MonkeyPatch
):
    """A kill cannot tell a clear from a mark: the cleared sensor's re-run waits on the same import."""
    import_id = hubspot_emulator.add_import(lifecycle=[("PROCESSING",)])

    output = sigterm_after_first_poke(hubspot_emulator, import_id, "last")

    assert "on_kill took" in output, output
    assert cancels(hubspot_emulator, import_id) == []
    assert hubspot_emulator.record(import_id)["state"] == "PROCESSING"
    assert "a cleared sensor waits on the same import" in output
    # The re-run after a clear waits on (it does not fail on a cancel of its own).
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", hubspot_emulator.connection_json())
    re_run = ImportStateSensor(task_id="wait", import_id=import_id, cancel_on_timeout=True)
    assert re_run.poke({}) is False


def test_sigterm_of_a_try_that_will_be_retried_leaves_the_import(hubspot_emulator: HubSpotEmulator):
    import_id = hubspot_emulator.add_import(lifecycle=[("PROCESSING",)])

    output = sigterm_after_first_poke(hubspot_emulator, import_id, "retry")

    assert "on_kill took" in output, output
    assert cancels(hubspot_emulator, import_id) == []
    assert hubspot_emulator.record(import_id)["state"] == "PROCESSING"
    assert "a retry of this task waits on it" in output


def test_on_kill_gives_up_on_an_unanswered_cancel_within_its_budget(
    hubspot_connection: HubSpotEmulator, csv_file: Path, capfd: pytest.CaptureFixture[str]
):
    took: list[float] = []

    def kill_towards_a_silent_server(operator: HubSpotStartImportOperator, import_id: int) -> None:
        with socket.socket() as silent:  # accepts connections, never answers
            silent.bind(("127.0.0.1", 0))
            silent.listen()
            host, port = silent.getsockname()
            settings = operator._hubspot_settings
            assert settings is not None
            operator._hubspot_settings = replace(settings, base_url=f"http://{host}:{port}")
            started = time.monotonic()
            operator.on_kill()
            took.append(time.monotonic() - started)

    kill_while_waiting(hubspot_connection, csv_file, kill_towards_a_silent_server)

    # It waited for an answer (one attempt), and gave up well before Airflow's SIGKILL.
    assert QUICK_CANCEL_SECONDS / 2 <= took[0] < SIGKILL_AFTER
    err = capfd.readouterr().err  # written as from the signal handler: file descriptor 2
    assert "Could not cancel HubSpot import" in err


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
    hubspot_emulator: HubSpotEmulator,
    csv_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
):
    """Inside the SIGTERM handler: no connection lookup, no token grant, no secret registered (on
    Airflow 3 each is a message to the supervisor, whose lock the interrupted poll may hold)."""
    import json

    try:
        import airflow.sdk.log as masker_module
    except ImportError:  # Airflow 2.11
        import airflow.utils.log.secrets_masker as masker_module  # type: ignore[no-redef]
    extras = hubspot_emulator.add_oauth_app(client_secret="s3cret", refresh_token="refresh-1")
    conn = {"conn_type": "hubspot", "host": hubspot_emulator.base_url, "extra": extras}
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", json.dumps(conn))
    registered: list[str] = []
    mask_secret = masker_module.mask_secret
    killed: dict[str, Any] = {}

    def record_from_the_kill(secret: Any, *args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name == "kill":
            registered.append(secret)
        return mask_secret(secret, *args, **kwargs)

    monkeypatch.setattr(masker_module, "mask_secret", record_from_the_kill)

    def kill(operator: HubSpotStartImportOperator, import_id: int) -> None:
        killed["grants"] = hubspot_emulator.token_grants
        os.environ.pop("AIRFLOW_CONN_HUBSPOT_DEFAULT", None)  # a lookup would now fail
        threading.current_thread().name = "kill"
        killed.update(import_id=import_id, at=time.time())
        operator.on_kill()

    kill_while_waiting(hubspot_emulator, csv_file, kill)

    posts = cancels(hubspot_emulator, killed["import_id"])
    assert len(posts) == 1 and hubspot_emulator.record(killed["import_id"])["state"] == "CANCELED"
    assert posts[0].at - killed["at"] < QUICK_CANCEL_SECONDS  # the design's bound, far from the 5 s SIGKILL
    # One grant for the start and the wait (one hook), none in on_kill.
    assert hubspot_emulator.token_grants == killed["grants"] == 1
    assert registered == []
    assert "Canceled HubSpot import" in capfd.readouterr().err
