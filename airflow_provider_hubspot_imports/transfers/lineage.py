"""OpenLineage of a transfer: the query's tables in (Airflow's SQL parser, as common.sql operators
use it), the HubSpot object type out, and column lineage query column -> HubSpot property.

Lineage never fails a task: what cannot be found is logged and left out.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

log = logging.getLogger(__name__)


def transfer_lineage(task: Any) -> Any:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from openlineage.client.generated.base import OutputDataset
    from openlineage.client.generated.output_statistics_output_dataset import (
        OutputStatisticsOutputDatasetFacet,
    )

    from airflow_provider_hubspot_imports.lineage.naming import object_dataset
    from airflow_provider_hubspot_imports.lineage.task import _account

    sql_lineage, origins = _sql_lineage(task)
    account, custom_names = _account(task.hubspot_conn_id)
    type_id = task._mapping().type_id
    target = object_dataset(account, type_id, custom_names)
    facets: dict[str, Any] = {}
    columns = _column_lineage(task, sql_lineage.inputs, origins)
    if columns is not None:
        facets["columnLineage"] = columns
    output_facets: dict[str, Any] = {}
    summary = getattr(task, "summary", None)
    if summary:
        output_facets["outputStatistics"] = OutputStatisticsOutputDatasetFacet(
            rowCount=summary["created"] + summary["updated"]
        )
    output = OutputDataset(
        namespace=target.namespace, name=target.name, facets=facets, outputFacets=output_facets
    )
    return OperatorLineage(
        inputs=list(sql_lineage.inputs),
        outputs=[output],
        run_facets=dict(sql_lineage.run_facets),
        job_facets=dict(sql_lineage.job_facets),
    )


def _sql_lineage(task: Any) -> tuple[Any, dict[str, list[tuple[str, str]]]]:
    """(the SQL's OperatorLineage, query column -> [(table, column)] from the parser); empty when
    the database gives no OpenLineage information."""
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.providers.openlineage.sqlparser import SQLParser

    from airflow_provider_hubspot_imports.transfers.source import db_hook

    sql = task.sql
    if not isinstance(sql, str) or not sql.strip():
        return OperatorLineage(), {}
    try:
        hook = db_hook(task.conn_id, task.hook_params)
        connection = hook.get_connection(getattr(hook, hook.conn_name_attr))
        database_info = hook.get_openlineage_database_info(connection)
        if database_info is None:
            return OperatorLineage(), {}
        parser = SQLParser(
            dialect=hook.get_openlineage_database_dialect(connection),
            default_schema=hook.get_openlineage_default_schema(),
        )
        lineage = parser.generate_openlineage_metadata_from_sql(
            sql=sql,
            hook=hook,
            database_info=database_info,
            sqlalchemy_engine=hook.get_sqlalchemy_engine(),
            use_connection=False,
        )
        parsed = parser.parse(parser.split_sql_string(sql))
    except Exception as error:  # lineage must not fail the task
        log.warning("The query's lineage could not be read: %s", error)
        return OperatorLineage(), {}
    origins: dict[str, list[tuple[str, str]]] = {}
    for column in getattr(parsed, "column_lineage", None) or []:
        origins[column.descendant.name] = [
            (origin.origin.name if origin.origin else "", origin.name) for origin in column.lineage
        ]
    return lineage, origins


def _column_lineage(task: Any, inputs: Any, origins: Mapping[str, list[tuple[str, str]]]) -> Any:
    """Property <- the input table columns the parser traced the query column to."""
    from openlineage.client.generated.column_lineage_dataset import (
        ColumnLineageDatasetFacet,
        Fields,
        InputField,
        Transformation,
    )

    properties = dict(task.properties or {})
    fields: dict[str, Any] = {}
    for column, sources in origins.items():
        prop = properties.get(column, column)
        found = []
        for table, source_column in sources:
            dataset = next(
                (ds for ds in inputs if ds.name.split(".")[-1].lower() == table.split(".")[-1].lower()),
                None,
            )
            if dataset is not None:
                found.append(
                    InputField(
                        namespace=dataset.namespace,
                        name=dataset.name,
                        field=source_column,
                        transformations=[
                            Transformation(
                                type="DIRECT",
                                subtype="IDENTITY",
                                description="query column -> HubSpot property",
                            )
                        ],
                    )
                )
        if found:
            fields[prop] = Fields(inputFields=found)
    return ColumnLineageDatasetFacet(fields=fields) if fields else None
