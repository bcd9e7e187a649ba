"""OpenLineage events and asset events of a real `airflow dags test` run against the emulator."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from typing import Any

import pytest
from lineage_support import (
    asset_event_extras,
    last_asset_event_id,
    read_events,
    run_dag_with_lineage,
    task_event,
)

pytestmark = pytest.mark.dagrun

PORTAL = "424242"
FINAL_COUNTERS = {"TOTAL_ROWS": 40, "CREATED_OBJECTS": 30, "UPDATED_OBJECTS": 7, "ERRORS": 3}


def _contains(actual: dict[str, Any], expected: dict[str, Any]) -> bool:
    return {key: actual.get(key) for key in expected} == expected


def _check_facet(facet: dict[str, Any], cls: Any) -> None:
    """A facet as OpenLineage's own generated classes define it: its schema URL, its required
    fields present, no field the spec does not know."""
    assert facet["_schemaURL"] == cls._get_schema()
    assert facet["_producer"].startswith("https://")
    cls(**{key: value for key, value in facet.items() if not key.startswith("_")})


def _check_run_facet_schema(facet: dict[str, Any]) -> None:
    """This package's facet against the JSON schema it ships (RunFacet's base fields stood in)."""
    import jsonschema
    from referencing import Registry, Resource

    from airflow_provider_hubspot_imports.lineage.facets import SCHEMA_FILE, SCHEMA_URL

    schema = json.loads(SCHEMA_FILE.read_text())
    base = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": {
            "RunFacet": {
                "type": "object",
                "properties": {"_producer": {"type": "string"}, "_schemaURL": {"type": "string"}},
                "required": ["_producer", "_schemaURL"],
            }
        },
    }
    registry = Registry().with_resource(
        "https://openlineage.io/spec/2-0-2/OpenLineage.json", Resource.from_contents(base)
    )
    validator = jsonschema.Draft202012Validator(
        {**schema["$defs"]["HubSpotImportRunFacet"], "$defs": schema["$defs"]}, registry=registry
    )
    validator.validate(facet)
    assert facet["_schemaURL"] == SCHEMA_URL


def test_csv_import_emits_lineage_quality_and_an_asset_event(airflow_db, hubspot_emulator, tmp_path):
    from openlineage.client.generated.column_lineage_dataset import ColumnLineageDatasetFacet
    from openlineage.client.generated.data_quality_assertions_dataset import (
        Assertion,
        DataQualityAssertionsDatasetFacet,
    )
    from openlineage.client.generated.data_quality_metrics_input_dataset import (
        DataQualityMetricsInputDatasetFacet,
    )
    from openlineage.client.generated.output_statistics_output_dataset import (
        OutputStatisticsOutputDatasetFacet,
    )

    csv = tmp_path / "people.csv"
    csv.write_text("email,firstname\n" + "".join(f"p{n}@example.com,P{n}\n" for n in range(40)))
    hubspot_emulator.set_start_lifecycle(
        [("STARTED", 1), ("PROCESSING", 1), {"state": "DONE", "counters": FINAL_COUNTERS}]
    )
    events_file = tmp_path / "openlineage.jsonl"
    events_before = last_asset_event_id()

    result = run_dag_with_lineage(
        "test_lineage_start",
        {"csv_path": str(csv)},
        hubspot_emulator.connection_json(portal_id=PORTAL, retry_backoff_seconds=0.05),
        events_file,
    )

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    events = read_events(events_file)
    start = task_event(events, "test_lineage_start.start_import", "START")
    complete = task_event(events, "test_lineage_start.start_import", "COMPLETE")
    for event in (start, complete):
        assert event["schemaURL"].startswith("https://openlineage.io/spec/2-0-2/OpenLineage.json")
        [source] = event["inputs"]
        assert (source["namespace"], source["name"]) == (f"file://{socket.gethostname()}", str(csv))
        [contacts] = event["outputs"]
        assert (contacts["namespace"], contacts["name"]) == (f"hubspot://{PORTAL}", "contacts")
        lineage = contacts["facets"]["columnLineage"]
        _check_facet(lineage, ColumnLineageDatasetFacet)
        assert {
            prop: [(f["namespace"], f["name"], f["field"]) for f in field["inputFields"]]
            for prop, field in lineage["fields"].items()
        } == {
            "email": [(source["namespace"], str(csv), "email")],
            "firstname": [(source["namespace"], str(csv), "firstname")],
        }

    [contacts] = complete["outputs"]
    statistics = contacts["outputFacets"]["outputStatistics"]
    _check_facet(statistics, OutputStatisticsOutputDatasetFacet)
    assert statistics["rowCount"] == 30 + 7  # created + updated

    quality = complete["inputs"][0]["inputFacets"]
    _check_facet(quality["dataQualityMetrics"], DataQualityMetricsInputDatasetFacet)
    assert quality["dataQualityMetrics"]["rowCount"] == 40
    _check_facet(quality["dataQualityAssertions"], DataQualityAssertionsDatasetFacet)
    assertions = {a["name"]: a for a in quality["dataQualityAssertions"]["assertions"]}
    for assertion in assertions.values():
        Assertion(**assertion)
    assert _contains(
        assertions["max_error_rows"],
        {
            "actual": "3",
            "expected": "<= 10",
            "success": True,
            "severity": "error",
        },
    )
    assert assertions["import_state"]["actual"] == "DONE" and assertions["import_state"]["success"]
    assert assertions["max_error_ratio"]["actual"] == "0.075"

    run_facet = complete["run"]["facets"]["hubspotImport"]
    _check_run_facet_schema(run_facet)
    import_id = run_facet["importId"]
    assert _contains(
        run_facet, {"account": PORTAL, "state": "DONE", "counters": FINAL_COUNTERS, "errorRows": 3}
    )

    extras = asset_event_extras(f"hubspot://{PORTAL}/contacts", after_id=events_before)
    assert len(extras) == 1  # this run's events only: the database is shared by the session
    assert _contains(
        extras[0],
        {
            "import_id": import_id,
            "state": "DONE",
            "counters": FINAL_COUNTERS,
            "object_types": ["contacts"],
            "object_type_ids": ["0-1"],
        },
    )


def test_a_failed_gate_reports_the_error_and_the_record_that_failed(airflow_db, hubspot_emulator, tmp_path):
    import_id = hubspot_emulator.add_import(
        lifecycle=[("DONE",)],
        counters={"TOTAL_ROWS": 100, "CREATED_OBJECTS": 77, "ERRORS": 23},
        importRequestJson={"name": "x", "files": [{"fileName": "people.csv", "fileFormat": "CSV"}]},
    )
    events_file = tmp_path / "openlineage.jsonl"

    result = run_dag_with_lineage(
        "test_lineage_sensor",
        {"import_id": str(import_id)},
        hubspot_emulator.connection_json(retry_backoff_seconds=0.05),
        events_file,
    )

    assert result.returncode != 0
    fail = task_event(read_events(events_file), "test_lineage_sensor.wait_for_import", "FAIL")
    host = hubspot_emulator.base_url.removeprefix("http://")
    assert "fails the quality gate" in fail["run"]["facets"]["errorMessage"]["message"]
    assert fail["run"]["facets"]["hubspotImport"]["state"] == "DONE"
    [source] = fail["inputs"]  # the file named in the record's request, as HubSpot keeps it
    assert (source["namespace"], source["name"]) == (f"hubspot://{host}", f"imports/{import_id}/people.csv")
    ratio = {a["name"]: a for a in source["inputFacets"]["dataQualityAssertions"]["assertions"]}
    assert _contains(ratio["max_error_ratio"], {"actual": "0.23", "expected": "<= 0.05", "success": False})
    [contacts] = fail["outputs"]
    assert (contacts["namespace"], contacts["name"]) == (f"hubspot://{host}", "contacts")


def test_dag_files_do_not_import_openlineage():
    """Importing the sensor and operator modules (what a DAG file does) loads no OpenLineage."""
    code = (
        "import sys; import airflow_provider_hubspot_imports._compat; before = set(sys.modules);"
        "import airflow_provider_hubspot_imports.sensors.imports;"
        "import airflow_provider_hubspot_imports.operators.imports;"
        "new = set(sys.modules) - before;"
        "print(sorted(m for m in new if 'openlineage' in m or m.startswith(('requests', 'attr'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out
