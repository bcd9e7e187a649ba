"""The facts a task of this package knows about its import, turned into its `OperatorLineage`."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from airflow_provider_hubspot_imports.lineage.facets import ImportFacts, operator_lineage
from airflow_provider_hubspot_imports.lineage.naming import account_of

log = logging.getLogger(__name__)

CUSTOM_NAMES_EXTRA = "object_type_names"


def task_lineage(task: Any, *, finished: bool, failed: bool = False) -> Any:
    """`OperatorLineage` for `task` (start operator, sensor or get operator)."""
    account, custom_names = _account(task.hubspot_conn_id)
    record = getattr(task, "import_record", None) if finished else None
    facts = ImportFacts(
        account=account,
        import_id=_import_id(task, record),
        import_request=_request(getattr(task, "import_request", None)),
        files=_files(getattr(task, "files", None)),
        record=record,
        success_states=frozenset(
            str(getattr(state, "value", state)) for state in getattr(task, "success_states", {"DONE"})
        ),
        max_error_rows=getattr(task, "max_error_rows", None),
        max_error_ratio=getattr(task, "max_error_ratio", None),
        error=getattr(task, "import_failure", None) if failed else None,
        custom_names=custom_names,
    )
    return operator_lineage(facts)


def _account(conn_id: str) -> tuple[str, dict[str, str] | None]:
    """The account (portal id, else API host) and custom object names of the connection."""
    from airflow_provider_hubspot_imports._compat import BaseHook
    from airflow_provider_hubspot_imports.core.settings import DEFAULT_BASE_URL
    from airflow_provider_hubspot_imports.hooks.connection import settings_for_connection

    try:
        conn = BaseHook.get_connection(conn_id)
        settings = settings_for_connection(conn, conn_id)
    except Exception as error:  # lineage must never fail a task: name the account by the default host
        log.warning(
            "Connection '%s' could not be read for lineage (%s); using %s.", conn_id, error, DEFAULT_BASE_URL
        )
        return account_of(DEFAULT_BASE_URL, None), None
    return account_of(settings.base_url, settings.portal_id), _custom_names(conn.extra_dejson)


def _custom_names(extras: Mapping[str, Any]) -> dict[str, str] | None:
    """The ``object_type_names`` extra: ``{"2-3508482": "cars"}`` names custom objects' datasets."""
    value = extras.get(CUSTOM_NAMES_EXTRA)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return {str(key): str(name) for key, name in value.items()} if isinstance(value, Mapping) else None


def _import_id(task: Any, record: Mapping[str, Any] | None) -> str | None:
    if record and record.get("id"):
        return str(record["id"])
    value = getattr(task, "import_id", None)
    return None if value in (None, "") else str(value)


def _request(value: Any) -> Mapping[str, Any] | None:
    if value is None:
        return None
    from airflow_provider_hubspot_imports.core.start import parse_import_request
    from airflow_provider_hubspot_imports.errors import HubSpotInputError

    try:
        return parse_import_request(value)
    except HubSpotInputError:
        return None


def _files(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    return [value] if isinstance(value, str) or not hasattr(value, "__iter__") else list(value)
