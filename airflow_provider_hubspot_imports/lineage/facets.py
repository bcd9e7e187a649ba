"""OpenLineage facets of a HubSpot import. Imported only by the ``get_openlineage_facets_*``
methods (never at DAG parse time): it needs the ``openlineage`` extra of this package.

Each fact goes to the facet OpenLineage's spec defines for it:

- inputs: the uploaded files; ``dataQualityMetrics`` (rows read, files) and ``dataQualityAssertions``
  (the import's state, its error rows and error ratio, each against the task's quality gate) sit
  on them as input facets, since error rows are rows of those files that HubSpot refused (when no
  file is known, they sit on the outputs);
- outputs: one dataset per object type written, with ``outputStatistics`` (rows written =
  CREATED_OBJECTS + UPDATED_OBJECTS, when the import wrote one object type) and ``columnLineage``
  (file column -> HubSpot property, from the request's ``columnMappings``);
- run: ``errorMessage`` on failure, and ``hubspotImport`` (this package's facet: import id,
  account, state, counters) for what no standard facet holds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attr
from openlineage.client.generated.base import InputDataset, OutputDataset, RunFacet
from openlineage.client.generated.column_lineage_dataset import (
    ColumnLineageDatasetFacet,
    Fields,
    InputField,
    Transformation,
)
from openlineage.client.generated.data_quality_assertions_dataset import (
    Assertion,
    DataQualityAssertionsDatasetFacet,
)
from openlineage.client.generated.data_quality_metrics_dataset import DataQualityMetricsDatasetFacet
from openlineage.client.generated.data_quality_metrics_input_dataset import (
    DataQualityMetricsInputDatasetFacet,
)
from openlineage.client.generated.error_message_run import ErrorMessageRunFacet
from openlineage.client.generated.output_statistics_output_dataset import OutputStatisticsOutputDatasetFacet

from airflow_provider_hubspot_imports.lineage.naming import (
    DatasetName,
    column_mappings,
    file_dataset,
    object_dataset,
    object_type_ids,
    request_files,
)
from airflow_provider_hubspot_imports.models import SUCCESS_STATES, ImportRecord

SCHEMA_FILE = Path(__file__).with_name("HubSpotImportRunFacet.json")
# The schema ships inside the package (lineage/HubSpotImportRunFacet.json); the URL names this
# package, its version and the file, as OpenLineage asks of custom facets.
SCHEMA_URL = (
    "https://pypi.org/project/airflow-provider-hubspot-imports/0.1.0/"
    "#airflow_provider_hubspot_imports/lineage/HubSpotImportRunFacet.json#/$defs/HubSpotImportRunFacet"
)


@attr.define
class HubSpotImportRunFacet(RunFacet):
    """What HubSpot said about the import this run acted on."""

    importId: str | None
    account: str
    state: str | None = attr.field(default=None)
    importName: str | None = attr.field(default=None)
    counters: dict[str, int] = attr.field(factory=dict)
    errorRows: int | None = attr.field(default=None)
    errorRatio: float | None = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return SCHEMA_URL


@attr.define(frozen=True)
class ImportFacts:
    """Everything the facets are built from, gathered by the task (see `lineage.task`)."""

    account: str
    import_id: str | None = None
    import_request: Mapping[str, Any] | None = None
    files: Sequence[Any] = ()
    record: Mapping[str, Any] | None = None
    success_states: frozenset[str] = frozenset(state.value for state in SUCCESS_STATES)
    max_error_rows: int | None = None
    max_error_ratio: float | None = None
    error: str | None = None
    custom_names: Mapping[str, str] | None = None


def operator_lineage(facts: ImportFacts) -> Any:
    """The `OperatorLineage` of a task that started or watched an import."""
    from airflow.providers.openlineage.extractors import OperatorLineage

    inputs = _input_names(facts)
    request = facts.import_request or _record_request(facts.record)
    type_ids = object_type_ids(request, facts.record)
    mappings = column_mappings(request or {}, type_ids)
    by_file = dict(inputs)
    outputs = []
    for type_id in type_ids:
        name = object_dataset(facts.account, type_id, facts.custom_names)
        dataset_facets: dict[str, Any] = {}
        lineage = _column_lineage(facts, [m for m in mappings if m.object_type_id == type_id], by_file)
        if lineage is not None:
            dataset_facets["columnLineage"] = lineage
        output_facets: dict[str, Any] = {}
        written = _rows_written(facts.record)
        if written is not None and len(type_ids) == 1:
            output_facets["outputStatistics"] = OutputStatisticsOutputDatasetFacet(rowCount=written)
        outputs.append(
            OutputDataset(
                namespace=name.namespace, name=name.name, facets=dataset_facets, outputFacets=output_facets
            )
        )
    quality = _quality_facets(facts, len(inputs))
    input_datasets = [
        InputDataset(namespace=name.namespace, name=name.name, facets={}, inputFacets=dict(quality))
        for _, name in inputs
    ]
    if not input_datasets and quality:
        # No file is known (a record without its request): the quality goes with what was written.
        for output in outputs:
            output.facets = {**(output.facets or {}), **_as_dataset_facets(quality)}
    run_facets: dict[str, Any] = {"hubspotImport": _run_facet(facts)}
    if facts.error:
        run_facets["errorMessage"] = ErrorMessageRunFacet(message=facts.error, programmingLanguage="python")
    return OperatorLineage(inputs=input_datasets, outputs=outputs, run_facets=run_facets)


def _record_request(record: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    request = record.get("importRequestJson") if record else None
    if isinstance(request, str):
        try:
            request = json.loads(request)
        except ValueError:
            return None
    return request if isinstance(request, Mapping) else None


def _input_names(facts: ImportFacts) -> list[tuple[str, DatasetName]]:
    """(fileName as HubSpot knows it, dataset) for each input file.

    The task's own files are named where they are read from; a record's request names only the
    files' names, so those are named as HubSpot keeps them: ``hubspot://<account>`` /
    ``imports/<import id>/<fileName>``.
    """
    if facts.files:
        return [(_base_name(file), file_dataset(file)) for file in facts.files]
    request = _record_request(facts.record)
    if not request or not facts.import_id:
        return []
    names = [str(entry["fileName"]) for entry in request_files(request) if entry.get("fileName")]
    return [
        (name, DatasetName(f"hubspot://{facts.account}", f"imports/{facts.import_id}/{name}"))
        for name in names
    ]


def _base_name(file: Any) -> str:
    name = getattr(file, "name", None)
    return str(name) if name else str(file).rstrip("/").rsplit("/", 1)[-1]


def _column_lineage(
    facts: ImportFacts, mappings: list[Any], by_file: Mapping[str, DatasetName]
) -> ColumnLineageDatasetFacet | None:
    fields: dict[str, Fields] = {}
    for mapping in mappings:
        source = by_file.get(mapping.file_name)
        if source is None:
            continue
        field = fields.setdefault(mapping.property_name, Fields(inputFields=[]))
        field.inputFields.append(
            InputField(
                namespace=source.namespace,
                name=source.name,
                field=mapping.column,
                transformations=[
                    Transformation(
                        type="DIRECT",
                        subtype="IDENTITY",
                        description="HubSpot import columnMappings: file column -> property",
                    )
                ],
            )
        )
    return ColumnLineageDatasetFacet(fields=fields) if fields else None


def _counters(record: Mapping[str, Any] | None) -> dict[str, int]:
    return ImportRecord(record).counters if record else {}


def _rows_written(record: Mapping[str, Any] | None) -> int | None:
    counters = _counters(record)
    if "CREATED_OBJECTS" not in counters and "UPDATED_OBJECTS" not in counters:
        return None
    return int(counters.get("CREATED_OBJECTS", 0)) + int(counters.get("UPDATED_OBJECTS", 0))


def _error_ratio(counters: Mapping[str, int]) -> float | None:
    total = counters.get("TOTAL_ROWS")
    if "ERRORS" not in counters or not total:
        return None
    return int(counters["ERRORS"]) / int(total)


def _as_dataset_facets(quality: Mapping[str, Any]) -> dict[str, Any]:
    facets: dict[str, Any] = {}
    metrics = quality.get("dataQualityMetrics")
    if metrics is not None:
        facets["dataQualityMetrics"] = DataQualityMetricsDatasetFacet(
            rowCount=metrics.rowCount, columnMetrics={}
        )
    if "dataQualityAssertions" in quality:
        facets["dataQualityAssertions"] = quality["dataQualityAssertions"]
    return facets


def _quality_facets(facts: ImportFacts, files: int) -> dict[str, Any]:
    """Input facets with the import's quality: none before HubSpot reported a state."""
    record = facts.record
    if not record or not record.get("state"):
        return {}
    counters = _counters(record)
    state = str(record["state"])
    input_facets: dict[str, Any] = {}
    if "TOTAL_ROWS" in counters:
        input_facets["dataQualityMetrics"] = DataQualityMetricsInputDatasetFacet(
            rowCount=int(counters["TOTAL_ROWS"]), fileCount=files or None, columnMetrics={}
        )
    assertions = [
        Assertion(
            assertion="import_state",
            name="import_state",
            success=state in facts.success_states,
            severity="error",
            expected=" or ".join(sorted(facts.success_states)),
            actual=state,
        )
    ]
    if "ERRORS" in counters:
        errors = int(counters["ERRORS"])
        limit = facts.max_error_rows
        assertions.append(
            Assertion(
                assertion="error_rows",
                name="max_error_rows",
                success=errors <= (limit if limit is not None else 0),
                # Without a gate a failed check only warns: the task did not fail on it.
                severity="error" if limit is not None else "warn",
                expected=f"<= {limit if limit is not None else 0}",
                actual=str(errors),
                description="Rows HubSpot refused (counter ERRORS); the errors endpoint lists them.",
            )
        )
        ratio = _error_ratio(counters)
        if ratio is not None:
            ratio_limit = facts.max_error_ratio
            assertions.append(
                Assertion(
                    assertion="error_ratio",
                    name="max_error_ratio",
                    success=ratio <= (ratio_limit if ratio_limit is not None else 0),
                    severity="error" if ratio_limit is not None else "warn",
                    expected=f"<= {ratio_limit if ratio_limit is not None else 0:g}",
                    actual=f"{ratio:g}",
                    description="ERRORS / TOTAL_ROWS",
                )
            )
    input_facets["dataQualityAssertions"] = DataQualityAssertionsDatasetFacet(assertions=assertions)
    return input_facets


def _run_facet(facts: ImportFacts) -> HubSpotImportRunFacet:
    record = facts.record or {}
    counters = _counters(record)
    return HubSpotImportRunFacet(
        importId=str(record.get("id") or facts.import_id) if (record or facts.import_id) else None,
        account=facts.account,
        state=record.get("state"),
        importName=record.get("importName"),
        counters=counters,
        errorRows=counters.get("ERRORS"),
        errorRatio=_error_ratio(counters),
    )
