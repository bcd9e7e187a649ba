"""Import ids: validated before they reach a URL."""

from __future__ import annotations

from typing import Any

from airflow_provider_hubspot_imports.errors import HubSpotInputError

INT64_MAX = 2**63 - 1

_HOW_TO_FIX = (
    "Pass the numeric id HubSpot gave the import (a positive whole number such as 12345678), "
    "as an int or a string of digits."
)


def _refuse(name: str, value: Any, reason: str) -> HubSpotInputError:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return HubSpotInputError(f"{name} {shown} is not a valid HubSpot import id: {reason}. {_HOW_TO_FIX}")


def validate_import_id(value: Any, *, name: str = "import_id") -> int:
    """Return the import id as an int, or raise HubSpotInputError saying what is wrong and how to fix it."""
    if isinstance(value, bool):
        raise _refuse(name, value, "it is a boolean")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        if "{{" in value or "{%" in value:
            raise HubSpotInputError(
                f"{name} {value!r} is a Jinja template that was never rendered. Pass it to a templated "
                f"field (import_id is templated on this package's sensor and operators) or render it "
                f"before calling the hook."
            )
        if value == "" or value.isspace():
            raise _refuse(name, value, "it is empty")
        if not (value.isascii() and value.isdigit()):
            raise _refuse(
                name, value, "it must contain only the digits 0-9 (no sign, spaces, dots or slashes)"
            )
        number = int(value)
    elif value is None:
        raise _refuse(name, value, "it is None (was an upstream XCom or DAG param empty?)")
    else:
        raise _refuse(name, value, f"it is a {type(value).__name__}, not an int or a string of digits")
    if number <= 0:
        raise _refuse(name, value, "it must be greater than zero")
    if number > INT64_MAX:
        raise _refuse(name, value, "it is larger than HubSpot's 64-bit ids allow")
    return number
