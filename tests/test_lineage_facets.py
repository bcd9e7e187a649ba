"""Facets of tasks that only see an import record, and how files and object types are named."""

from __future__ import annotations

import socket

import pytest

from airflow_provider_hubspot_imports.lineage.naming import file_dataset, object_type_name
from airflow_provider_hubspot_imports.lineage.task import task_lineage
from airflow_provider_hubspot_imports.operators.imports import (
    HubSpotGetImportOperator,
    HubSpotStartImportOperator,
)

RECORD = {
    "id": "777",
    "state": "DONE",
    "mappedObjectTypeIds": ["0-1", "0-2", "2-3508482"],
    "metadata": {"counters": {"TOTAL_ROWS": 10, "CREATED_OBJECTS": 6, "UPDATED_OBJECTS": 2, "ERRORS": 2}},
    "importRequestJson": {
        "files": [
            {
                "fileName": "people.csv",
                "fileImportPage": {
                    "columnMappings": [
                        {"columnName": "mail", "propertyName": "email", "columnObjectTypeId": "0-1"},
                        {"columnName": "company", "propertyName": "name", "columnObjectTypeId": "0-2"},
                        {"columnName": "car", "propertyName": "model", "columnObjectTypeId": "2-3508482"},
                    ]
                },
            }
        ]
    },
}


@pytest.fixture
def connection(monkeypatch, hubspot_emulator):
    monkeypatch.setenv(
        "AIRFLOW_CONN_HUBSPOT_DEFAULT",
        hubspot_emulator.connection_json(portal_id="99", object_type_names={"2-3508482": "cars"}),
    )
    return hubspot_emulator


def test_a_record_with_several_object_types(connection):
    task = HubSpotGetImportOperator(task_id="get", import_id="777")
    task.import_record = RECORD

    lineage = task_lineage(task, finished=True)

    assert [(d.namespace, d.name) for d in lineage.inputs] == [("hubspot://99", "imports/777/people.csv")]
    outputs = {d.name: d for d in lineage.outputs}
    assert set(outputs) == {"contacts", "companies", "cars"}
    assert {name: list(d.facets["columnLineage"].fields) for name, d in outputs.items()} == {
        "contacts": ["email"],
        "companies": ["name"],
        "cars": ["model"],
    }
    # HubSpot counts rows per import, not per object type: no per-dataset guess.
    assert all("outputStatistics" not in d.outputFacets for d in lineage.outputs)
    assertions = lineage.inputs[0].inputFacets["dataQualityAssertions"].assertions
    assert [(a.name, a.actual, a.success, a.severity) for a in assertions] == [
        ("import_state", "DONE", True, "error"),
        ("max_error_rows", "2", False, "warn"),
        ("max_error_ratio", "0.2", False, "warn"),
    ]
    assert lineage.run_facets["hubspotImport"].errorRatio == 0.2
    assert task_lineage(task, finished=False).outputs == []  # on start nothing is known yet


def test_without_file_names_the_quality_goes_on_the_outputs(connection):
    task = HubSpotGetImportOperator(task_id="get", import_id="777")
    task.import_record = {**RECORD, "mappedObjectTypeIds": ["0-1"], "importRequestJson": {"name": "x"}}

    lineage = task_lineage(task, finished=True)

    assert lineage.inputs == []
    [contacts] = lineage.outputs
    assert contacts.facets["dataQualityMetrics"].rowCount == 10
    assert contacts.facets["dataQualityAssertions"].assertions[1].actual == "2"
    assert contacts.outputFacets["outputStatistics"].rowCount == 8


def test_start_operator_on_start_names_its_files_and_the_request_object_types(connection, tmp_path):
    csv = tmp_path / "people.csv"
    task = HubSpotStartImportOperator(
        task_id="start",
        import_request={"importOperations": {"0-3": "CREATE"}, **RECORD["importRequestJson"]},
        files=[str(csv)],
    )

    lineage = task_lineage(task, finished=False)

    assert [(d.namespace, d.name) for d in lineage.inputs] == [(f"file://{socket.gethostname()}", str(csv))]
    assert [d.name for d in lineage.outputs] == ["contacts", "companies", "deals", "cars"]
    assert lineage.inputs[0].inputFacets == {}  # no quality before HubSpot reported a state


@pytest.mark.parametrize(
    ("file", "namespace", "name"),
    [
        ("s3://bucket/exports/people.csv", "s3://bucket", "exports/people.csv"),
        ("gs://bucket/people.csv", "gs://bucket", "people.csv"),
        ("file:///data/people.csv", f"file://{socket.gethostname()}", "/data/people.csv"),
    ],
)
def test_object_storage_files_are_named_by_scheme(file, namespace, name):
    try:
        from airflow.sdk import ObjectStoragePath
    except ImportError:  # Airflow 2.11
        from airflow.io.path import ObjectStoragePath  # type: ignore[no-redef]
    assert (file_dataset(file).namespace, file_dataset(file).name) == (namespace, name)
    if file.startswith("file:"):
        named = file_dataset(ObjectStoragePath(file))
        assert (named.namespace, named.name) == (namespace, name)


def test_object_type_names():
    assert [object_type_name(t) for t in ("0-1", "0-2", "0-3", "0-5", "2-1")] == [
        "contacts",
        "companies",
        "deals",
        "tickets",
        "2-1",
    ]
    assert object_type_name("2-1", {"2-1": "cars"}) == "cars"
