"""Where a transfer stages its files: an ``ObjectStoragePath`` (a local folder by default)."""

from __future__ import annotations

import os
import tempfile
from typing import Any

from airflow_provider_hubspot_imports.errors import HubSpotInputError

# One machine: a folder of the worker's temporary directory. Workers that share no disk (Celery
# on several machines) need object storage, e.g. "s3://bucket/hubspot-staging".
DEFAULT_STAGING = os.path.join(tempfile.gettempdir(), "airflow-hubspot-transfers")


def object_storage_path(value: Any) -> Any:
    """`value` (a path string, ``file://``/``s3://``... URL, Path or ObjectStoragePath) as an
    ObjectStoragePath: ``airflow.sdk.ObjectStoragePath`` on Airflow 3, ``airflow.io.path`` on 2.11."""
    try:
        from airflow.sdk import ObjectStoragePath
    except ImportError:  # Airflow 2.11
        from airflow.io.path import ObjectStoragePath  # type: ignore[no-redef,attr-defined,unused-ignore]

    if isinstance(value, ObjectStoragePath):
        return value
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value.strip():
        raise HubSpotInputError(
            f'staging_path is {value!r}; pass a folder ("/data/staging"), an object storage URL '
            f'("s3://bucket/staging", with conn_id in ObjectStoragePath) or an ObjectStoragePath.'
        )
    if "://" not in value:
        value = "file://" + os.path.abspath(value)
    return ObjectStoragePath(value)
