"""What Airflow sees of the workflow pieces: provider info, extra links, parse-time imports."""

from __future__ import annotations

import pytest

from airflow_provider_hubspot_imports import get_provider_info
from airflow_provider_hubspot_imports.extra_links import HubSpotImportLink
from airflow_provider_hubspot_imports.operators.imports import (
    HubSpotCancelImportOperator,
    HubSpotGetImportOperator,
    HubSpotStartImportOperator,
)
from airflow_provider_hubspot_imports.sensors.imports import ImportStateSensor


def test_the_link_is_registered_and_on_every_task_class():
    assert get_provider_info()["extra-links"] == [
        "airflow_provider_hubspot_imports.extra_links.HubSpotImportLink"
    ]
    for cls in (
        ImportStateSensor,
        HubSpotGetImportOperator,
        HubSpotCancelImportOperator,
        HubSpotStartImportOperator,
    ):
        assert [link.name for link in cls.operator_extra_links] == ["HubSpot import"]
    assert HubSpotImportLink().xcom_key == "_link_HubSpotImportLink"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_error_ratio": 5}, "max_error_ratio is 5"),
        ({"max_error_rows": -1}, "max_error_rows is -1"),
    ],
)
def test_bad_gate_limits_are_refused_when_the_dag_is_parsed(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ImportStateSensor(task_id="wait", import_id="1", **kwargs)
    with pytest.raises(ValueError, match=message):
        HubSpotStartImportOperator(task_id="start", import_request={}, files=[], **kwargs)


@pytest.mark.parametrize("setting", ["True", "False"])
def test_the_start_operators_deferrable_defaults_to_the_airflow_setting(
    monkeypatch: pytest.MonkeyPatch, setting: str
):
    """docs/starting.md: ``deferrable`` defaults to ``[operators] default_deferrable``, read when
    the DAG is parsed (here from its environment variable); an explicit value wins."""
    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", setting)

    def start(**kwargs: object) -> HubSpotStartImportOperator:
        return HubSpotStartImportOperator(
            task_id="start", import_request={}, files=[], wait_for_completion=True, **kwargs
        )

    assert start().deferrable is (setting == "True")
    assert start(deferrable=None).deferrable is (setting == "True")
    assert start(deferrable=True).deferrable is True
    assert start(deferrable=False).deferrable is False


def test_without_the_setting_the_start_operator_waits_in_the_worker(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", raising=False)
    from airflow.configuration import conf

    expected = conf.getboolean("operators", "default_deferrable", fallback=False)  # Airflow's default
    assert expected is False
    assert HubSpotStartImportOperator(task_id="start", import_request={}, files=[]).deferrable is False
