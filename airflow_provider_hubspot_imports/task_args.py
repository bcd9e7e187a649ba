"""Checks on task arguments made when a DAG file is parsed."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any


def positive_seconds(value: Any, name: str) -> float:
    """A duration given as seconds (int or float) or a `timedelta`, as seconds; refused unless > 0."""
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"{name} is {value!r}; pass a number of seconds or a datetime.timedelta.")
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"{name} is {value!r}; it must be a positive duration (seconds or a timedelta).")
    return float(seconds)
