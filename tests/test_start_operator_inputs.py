"""The start operator's inputs (one file in any form, timedeltas) and its wait in the worker, run
against the emulator. The operator runs outside a DAG run here, with its own key, which needs no
task instance; the DAG-run tests are in test_start_once.py."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import pytest
from list_modes import every_list_mode  # noqa: F401 (autouse: every test in each list mode)

from airflow_provider_hubspot_imports._compat import AirflowFailException, AirflowSensorTimeout
from airflow_provider_hubspot_imports.core.start_key import own_key
from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook
from airflow_provider_hubspot_imports.operators.imports import HubSpotStartImportOperator
from airflow_provider_hubspot_imports.starting import start_once
from airflow_provider_hubspot_imports.testing import HubSpotEmulator

REQUEST = {"name": "Contacts", "files": [{"fileName": "contacts.csv", "fileFormat": "CSV"}]}


def object_storage_path(path):
    try:
        from airflow.sdk import ObjectStoragePath
    except ImportError:  # Airflow 2.11
        from airflow.io.path import ObjectStoragePath  # type: ignore[no-redef]
    return ObjectStoragePath(f"file://{path}")


@pytest.fixture
def csv_file(tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text("email\na@example.com\nb@example.com\n")
    return path


def operator(**kwargs) -> HubSpotStartImportOperator:
    kwargs.setdefault("import_request", REQUEST)
    kwargs.setdefault("idempotency_key", "inputs-test")
    return HubSpotStartImportOperator(task_id="start", **kwargs)


@pytest.mark.parametrize("form", ["str", "Path", "ObjectStoragePath", "list"])
def test_one_file_in_any_form(form, csv_file, hubspot_connection: HubSpotEmulator):
    files = {
        "str": str(csv_file),
        "Path": csv_file,
        "ObjectStoragePath": object_storage_path(csv_file),
        "list": [csv_file],
    }[form]

    record = operator(files=files).execute({})

    (started,) = hubspot_connection.started_imports()
    assert record["id"] == str(started["id"])
    assert record["importName"] == f"Contacts {own_key('inputs-test').for_request(REQUEST).marker}"
    assert [(upload.filename, upload.lines) for upload in started["uploads"]] == [("contacts.csv", 3)]


def test_timedeltas_and_numbers_are_seconds():
    task = operator(files="x.csv", poke_interval=timedelta(milliseconds=1500), timeout=timedelta(minutes=2))
    assert (task.poke_interval, task.timeout) == (1.5, 120.0)
    assert operator(files="x.csv", poke_interval=2, timeout=3.5).timeout == 3.5


@pytest.mark.parametrize(
    ("arguments", "error", "words"),
    [
        ({"poke_interval": 0}, ValueError, "poke_interval is 0; it must be a positive duration"),
        ({"timeout": timedelta(0)}, ValueError, "timeout is datetime.timedelta(0)"),
        ({"timeout": "60"}, TypeError, "timeout is '60'; pass a number of seconds or a datetime.timedelta"),
        ({"poke_interval": True}, TypeError, "poke_interval is True"),
        ({"idempotency_key": 5}, ValueError, "idempotency_key is 5"),
    ],
)
def test_bad_arguments_are_refused_when_the_dag_is_parsed(arguments, error, words):
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        operator(files="x.csv", **arguments)


def test_bad_input_is_refused_before_any_request(tmp_path, hubspot_connection: HubSpotEmulator):
    with pytest.raises(AirflowFailException, match=r"contacts\.csv' to import does not exist"):
        operator(files=str(tmp_path / "contacts.csv")).execute({})
    assert hubspot_connection.requests() == []  # not even the lookup


def test_a_timeout_shorter_than_the_interval_still_polls_until_the_deadline(
    csv_file, hubspot_connection: HubSpotEmulator
):
    hubspot_connection.set_start_lifecycle([("PROCESSING",)])
    task = operator(files=csv_file, wait_for_completion=True, poke_interval=30, timeout=0.5, deferrable=False)

    began = time.monotonic()
    with pytest.raises(AirflowSensorTimeout, match=r"did not finish within timeout=0\.5 s"):
        task.execute({})

    assert time.monotonic() - began < 10  # it did not sleep the 30 s interval
    (started,) = hubspot_connection.started_imports()
    polls = [entry for entry in hubspot_connection.requests(started["id"]) if entry.method == "GET"]
    assert len(polls) == 1  # the poll at the deadline


def test_a_read_timeout_after_the_upload_adopts_the_import_it_created(
    csv_file, hubspot_emulator: HubSpotEmulator, monkeypatch: pytest.MonkeyPatch, caplog
):
    """HubSpot took longer than the client's timeout: the import exists, the lookup finds it."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_HUBSPOT_DEFAULT",
        hubspot_emulator.connection_json(timeout=0.5, max_retries=0, retry_backoff_seconds=0.05),
    )
    hubspot_emulator.set_start_delay(1.5)
    key = own_key("slow")
    caplog.set_level(logging.INFO)
    log = logging.getLogger("test_start_operator_inputs")

    record, adopted = start_once(HubSpotHook(), REQUEST, [csv_file], key, log)

    (started,) = hubspot_emulator.started_imports()
    assert adopted and record.id == str(started["id"])
    assert "The start's answer was lost" in caplog.text
    assert f"Adopting HubSpot import {started['id']} created by this try" in caplog.text


def test_mapped_instances_with_one_key_never_adopt_each_others_import(tmp_path, hubspot_connection):
    """Map index 1 (b.csv) given the same idempotency_key as map index 0 (a.csv): two imports,
    each task on its own file; and a request edited under one key is a new import too."""
    from types import SimpleNamespace

    def start(file_name: str, map_index: int, **request: object) -> dict:
        path = tmp_path / file_name
        path.write_text("email\na@example.com\n")
        body = {"name": "Contacts", "files": [{"fileName": file_name, "fileFormat": "CSV"}], **request}
        ti = SimpleNamespace(
            dag_id="d", run_id="r", task_id="t", map_index=map_index, try_number=1, max_tries=0
        )
        ti.xcom_push = lambda key, value: None
        return operator(import_request=body, files=str(path), idempotency_key="shared").execute({"ti": ti})

    first = start("a.csv", 0)
    second = start("b.csv", 1)
    again = start("a.csv", 0)  # the same instance and request: adopted
    edited = start("a.csv", 0, importOperations={"0-1": "CREATE"})  # the same instance, another request

    started = hubspot_connection.started_imports()
    assert len(started) == 3
    assert first["id"] != second["id"] and again["id"] == first["id"]
    assert edited["id"] not in (first["id"], second["id"])
    by_id = {str(entry["id"]): entry for entry in started}
    assert [upload.filename for upload in by_id[second["id"]]["uploads"]] == ["b.csv"]
    assert [upload.filename for upload in by_id[first["id"]]["uploads"]] == ["a.csv"]
