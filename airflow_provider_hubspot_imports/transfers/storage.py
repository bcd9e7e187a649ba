"""Where a transfer stages its files: a local folder (the default), or an ``ObjectStoragePath``.

A local folder (a path, or a ``file://`` URL) is used as a `pathlib.Path`: the same calls, without
fsspec's layer in the way of every write.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from airflow_provider_hubspot_imports.errors import HubSpotInputError

# One machine: a folder of the worker's temporary directory. Workers that share no disk (Celery
# on several machines) need object storage, e.g. "s3://bucket/hubspot-staging".
DEFAULT_STAGING = os.path.join(tempfile.gettempdir(), "airflow-hubspot-transfers")


def staging_root(value: Any) -> Any:
    """`value` (a path, a ``file://`` or ``s3://``... URL, or an ObjectStoragePath) as a
    `pathlib.Path` when it is local, else an ObjectStoragePath (``airflow.sdk.ObjectStoragePath``
    on Airflow 3, ``airflow.io.path.ObjectStoragePath`` on 2.11)."""
    try:
        from airflow.sdk import ObjectStoragePath
    except ImportError:  # Airflow 2.11
        from airflow.io.path import ObjectStoragePath  # type: ignore[no-redef,attr-defined,unused-ignore]

    if isinstance(value, ObjectStoragePath):
        return Path(value.path) if value.protocol in ("file", "local") else value
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value.strip():
        raise HubSpotInputError(
            f'staging_path is {value!r}; pass a folder ("/data/staging"), an object storage URL '
            f'("s3://bucket/staging", with conn_id in ObjectStoragePath) or an ObjectStoragePath.'
        )
    if "://" not in value:
        return Path(os.path.abspath(value))
    if value.startswith("file://"):
        return Path(value.removeprefix("file://"))
    return ObjectStoragePath(value)
