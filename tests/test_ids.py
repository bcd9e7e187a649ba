from __future__ import annotations

import pytest

from airflow_provider_hubspot_imports.core.ids import INT64_MAX, validate_import_id
from airflow_provider_hubspot_imports.errors import HubSpotInputError


@pytest.mark.parametrize(("value", "expected"), [(1, 1), ("42", 42), ("0042", 42), (INT64_MAX, INT64_MAX)])
def test_accepts_positive_int64_as_int_or_digits(value, expected):
    assert validate_import_id(value) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "it is empty"),
        ("   ", "it is empty"),
        ("12a", "only the digits"),
        ("-5", "only the digits"),
        ("+5", "only the digits"),
        ("1.5", "only the digits"),
        ("1 2", "only the digits"),
        (" 12", "only the digits"),
        ("12/34", "only the digits"),
        ("../12", "only the digits"),
        ("12%2F3", "only the digits"),
        ("١٢٣", "only the digits"),  # non-ASCII digits
        (0, "greater than zero"),
        ("0", "greater than zero"),
        (-1, "greater than zero"),
        (INT64_MAX + 1, "larger than HubSpot's 64-bit ids"),
        (str(INT64_MAX + 1), "larger than HubSpot's 64-bit ids"),
        (True, "it is a boolean"),
        (False, "it is a boolean"),
        (None, "it is None"),
        (1.0, "it is a float"),
        ([1], "it is a list"),
    ],
)
def test_refuses_bad_ids_naming_value_reason_and_fix(value, reason):
    with pytest.raises(HubSpotInputError) as caught:
        validate_import_id(value)
    message = str(caught.value)
    assert reason in message
    assert message.startswith(f"import_id {value!r}"[:40])
    assert "Pass the numeric id HubSpot gave the import" in message


def test_unrendered_template_is_called_out():
    with pytest.raises(HubSpotInputError, match=r"Jinja template that was never rendered"):
        validate_import_id("{{ params.import_id }}")
    with pytest.raises(HubSpotInputError, match=r"Jinja template"):
        validate_import_id("{% if x %}1{% endif %}")


def test_error_is_a_value_error_too():
    with pytest.raises(ValueError):
        validate_import_id("x")
