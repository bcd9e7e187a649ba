"""The incremental watermark: the largest `incremental_column` value a transfer imported.

Kept as an Airflow Variable named ``hubspot_transfer_watermark.<dag_id>.<task_id>`` (JSON), which
every supported Airflow version has and every run of the task finds. It advances only when every
part ended DONE within the quality gate; the query gets it as the ``watermark`` parameter (None on
the first run).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from airflow_provider_hubspot_imports.errors import HubSpotInputError

PARAMETER = "watermark"


def variable_key(dag_id: str, task_id: str) -> str:
    return f"hubspot_transfer_watermark.{dag_id}.{task_id}"


def _variable() -> Any:
    try:
        from airflow.sdk import Variable
    except ImportError:  # Airflow 2.11
        from airflow.models import Variable  # type: ignore[no-redef,attr-defined,unused-ignore]
    return Variable


def read(dag_id: str, task_id: str) -> Any:
    # The default goes by position: `default` on Airflow 3, `default_var` on 2.11.
    text = _variable().get(variable_key(dag_id, task_id), None)
    return None if text is None else json.loads(text)


def write(dag_id: str, task_id: str, value: Any) -> None:
    _variable().set(variable_key(dag_id, task_id), json.dumps(value))


def with_watermark(parameters: Any, value: Any) -> dict[str, Any]:
    """The query's parameters with ``watermark`` added (named parameters only)."""
    if parameters is not None and not isinstance(parameters, dict):
        raise HubSpotInputError(
            "incremental_column needs named parameters: pass parameters as a dict (or None); the "
            "query reads the watermark as the named parameter 'watermark' (e.g. %(watermark)s or :watermark)."
        )
    return {**(parameters or {}), PARAMETER: value}


class HighestValue:
    """Watches one column of the rows streaming past and keeps its largest value (NULLs skipped)."""

    def __init__(self, columns: Sequence[str], column: str) -> None:
        if column not in columns:
            raise HubSpotInputError(
                f"incremental_column {column!r} is not among the query's columns ({', '.join(columns)})."
            )
        self.index = list(columns).index(column)
        self.highest: Any = None

    def watch(self, batches: Iterable[Sequence[Sequence[Any]]]) -> Iterator[Sequence[Sequence[Any]]]:
        for batch in batches:
            values = [row[self.index] for row in batch if row[self.index] is not None]
            if values:
                top = max(values)
                if self.highest is None or top > self.highest:
                    self.highest = top
            yield batch

    def as_json(self) -> Any:
        value = self.highest
        if isinstance(value, (dt.date, dt.datetime, dt.time)):
            return value.isoformat()
        if isinstance(value, Decimal):
            return str(value)
        return value
