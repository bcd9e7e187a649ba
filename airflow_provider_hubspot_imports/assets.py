"""``hubspot://`` assets: one per account and object type, e.g. ``hubspot://123456/contacts``.

Registered in the provider info (``asset-uris``; ``dataset-uris`` on Airflow 2): `sanitize_uri`
normalises and validates a URI when an `Asset` is made, `convert_asset_to_openlineage` names it
as the lineage facets of this package do, so the asset and the lineage dataset are one thing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import SplitResult, urlsplit

from airflow_provider_hubspot_imports.lineage.naming import (
    OBJECT_TYPE_IDS,
    OBJECT_TYPE_NAMES,
    SCHEME,
    object_type_ids,
    object_type_name,
)
from airflow_provider_hubspot_imports.models import ImportRecord

_OBJECT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_SHAPE = "Write it as hubspot://<portal id or API host>/<object type>, e.g. hubspot://123456/contacts."


def sanitize_uri(parts: SplitResult) -> SplitResult:
    """Normalise a ``hubspot://`` URI: lower-case account host, standard objects by name
    (``0-1`` and ``Contacts`` become ``contacts``); refuse what names no account or object type."""
    account = parts.netloc.lower()
    if not account:
        raise ValueError(f"hubspot URI {parts.geturl()!r} names no account. {_SHAPE}")
    if "@" in account:
        raise ValueError(
            f"hubspot URI {parts.geturl()!r} holds user info; a token never goes in a URI. {_SHAPE}"
        )
    segments = [segment for segment in parts.path.split("/") if segment]
    if len(segments) != 1 or not _OBJECT.match(segments[0]):
        raise ValueError(f"hubspot URI {parts.geturl()!r} must name exactly one object type. {_SHAPE}")
    if parts.query:
        raise ValueError(f"hubspot URI {parts.geturl()!r} has a query; it takes none. {_SHAPE}")
    obj = segments[0]
    if obj.lower() in OBJECT_TYPE_IDS:
        obj = obj.lower()
    obj = OBJECT_TYPE_NAMES.get(obj, obj)
    return parts._replace(netloc=account, path=f"/{obj}", query="", fragment="")


def create_asset(*, account: str, object_type: str, extra: Mapping[str, Any] | None = None) -> Any:
    """An `Asset` (a `Dataset` on Airflow 2) for an account's object type (id or name)."""
    try:
        from airflow.sdk import Asset
    except ImportError:  # Airflow 2.11
        from airflow.datasets import Dataset as Asset  # type: ignore[no-redef,attr-defined]
    return Asset(uri=f"{SCHEME}://{account}/{object_type_name(object_type)}", extra=dict(extra or {}))


def convert_asset_to_openlineage(asset: Any, lineage_context: Any = None) -> Any:
    """The OpenLineage dataset of a ``hubspot://`` asset: namespace ``hubspot://<account>``,
    name the object type, as the facets of this package's tasks name their outputs."""
    from openlineage.client.generated.base import Dataset

    parts = urlsplit(asset.uri)
    return Dataset(namespace=f"{parts.scheme}://{parts.netloc}", name=parts.path.lstrip("/"))


def asset_event_extra(record: Mapping[str, Any]) -> dict[str, Any]:
    """What a DAG scheduled on the asset reads of the import that landed."""
    parsed = ImportRecord(record)
    ids = object_type_ids(None, record)
    return {
        "import_id": parsed.id,
        "state": str(record.get("state")),
        "import_name": parsed.import_name,
        "counters": parsed.counters,
        "object_type_ids": ids,
        "object_types": [object_type_name(type_id) for type_id in ids],
    }


def add_outlet_extras(task: Any, context: Any, record: Mapping[str, Any]) -> None:
    """Put the finished import in the ``extra`` of every asset event the task's outlets record."""
    if not ImportRecord(record).is_terminal:
        return
    outlets = [outlet for outlet in getattr(task, "outlets", None) or [] if hasattr(outlet, "uri")]
    events = context.get("outlet_events") if hasattr(context, "get") else None
    if not outlets or events is None:
        return
    extra = asset_event_extra(record)
    for outlet in outlets:
        events[outlet].extra.update(extra)
