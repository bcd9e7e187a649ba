"""What a task of this package tells the rest of Airflow about the import it acted on: the asset
events of its outlets and its OpenLineage facets.

`reports_import` decorates the start operator, the sensor and the get operator. The task keeps
the import record it ended with in ``import_record`` (on a failure, the record that failed it,
carried by the exception, and the failure's message in ``import_failure``), fills the ``extra`` of
its asset events when that record is finished, and answers OpenLineage's
``get_openlineage_facets_*`` calls. Nothing heavy is imported here: DAG files import this module
at parse time; OpenLineage is imported only when a facet is asked for.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

IMPORT_RECORD_ATTRIBUTE = "import_record"

T = TypeVar("T", bound=type)


def is_import_record(value: Any) -> bool:
    return isinstance(value, Mapping) and "id" in value and "state" in value


def reports_import(cls: T) -> T:
    """Class decorator: wrap `execute` and `resume_execution` (where a deferred task resumes) to
    keep the outcome, and add the OpenLineage methods. Subclasses inherit both."""
    added: dict[str, Any] = {
        "import_record": None,
        "import_failure": None,
        "get_openlineage_facets_on_start": get_openlineage_facets_on_start,
        "get_openlineage_facets_on_complete": get_openlineage_facets_on_complete,
        "get_openlineage_facets_on_failure": get_openlineage_facets_on_failure,
    }
    for name in ("execute", "resume_execution"):
        added[name] = _keeping_outcome(getattr(cls, name))
    for name, value in added.items():
        setattr(cls, name, value)
    return cls


def _keeping_outcome(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            result = method(self, *args, **kwargs)
        except BaseException as error:
            _keep_failure(self, error)
            raise
        _keep_result(self, kwargs.get("context", args[-1] if args else None), result)
        return result

    return wrapper


def _keep_failure(task: Any, error: BaseException) -> None:
    if type(error).__name__ in ("TaskDeferred", "AirflowRescheduleException"):
        return  # not an outcome: the task goes on later
    record = getattr(error, IMPORT_RECORD_ATTRIBUTE, None)
    if isinstance(record, Mapping) and is_import_record(record):
        task.import_record = dict(record)
    task.import_failure = str(error) or type(error).__name__


def _keep_result(task: Any, context: Any, result: Any) -> None:
    if not is_import_record(result):
        return
    task.import_record = dict(result)
    from airflow_provider_hubspot_imports.assets import add_outlet_extras

    add_outlet_extras(task, context, task.import_record)


# ---- OpenLineage (called by apache-airflow-providers-openlineage's listener) ------------------------


def get_openlineage_facets_on_start(self: Any) -> Any:
    from airflow_provider_hubspot_imports.lineage.task import task_lineage

    return task_lineage(self, finished=False)


def get_openlineage_facets_on_complete(self: Any, task_instance: Any) -> Any:
    from airflow_provider_hubspot_imports.lineage.task import task_lineage

    return task_lineage(self, finished=True)


def get_openlineage_facets_on_failure(self: Any, task_instance: Any) -> Any:
    from airflow_provider_hubspot_imports.lineage.task import task_lineage

    return task_lineage(self, finished=True, failed=True)
