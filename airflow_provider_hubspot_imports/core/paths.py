"""Local paths and ObjectStoragePaths told apart the same way everywhere."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def is_object_storage(file: Any) -> bool:
    """An ObjectStoragePath (universal_pathlib). On Python 3.13 it is also an ``os.PathLike`` whose
    ``fspath`` is its URL (``file:/tmp/x``), which ``pathlib.Path`` would take for a relative local path."""
    return hasattr(file, "fs") and hasattr(file, "protocol")


def local_path(file: Any) -> Path | None:
    """`file` as a local ``Path`` when it is one (str or os.PathLike), else None."""
    if is_object_storage(file) or not isinstance(file, (str, os.PathLike)):
        return None
    return Path(file)
