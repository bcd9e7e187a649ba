"""Airflow names that moved between 2.11 and 3.x, imported once from wherever this Airflow keeps them."""

from __future__ import annotations

from typing import TYPE_CHECKING

try:  # Airflow 3
    from airflow.sdk import BaseHook, BaseOperator, BaseOperatorLink, BaseSensorOperator, PokeReturnValue

    AIRFLOW_V3 = True
except ImportError:  # Airflow 2.11
    from airflow.hooks.base import BaseHook  # type: ignore[no-redef,attr-defined]
    from airflow.models import BaseOperator, BaseOperatorLink  # type: ignore[no-redef,attr-defined]
    from airflow.sensors.base import BaseSensorOperator, PokeReturnValue  # type: ignore[no-redef,attr-defined]

    AIRFLOW_V3 = False

try:  # Airflow 3.2+
    from airflow.sdk.exceptions import (  # type: ignore[attr-defined,unused-ignore]
        AirflowException,
        AirflowFailException,
        AirflowNotFoundException,
        AirflowSensorTimeout,
    )
except ImportError:  # Airflow 2.11 to 3.1
    from airflow.exceptions import (  # type: ignore[no-redef,attr-defined,unused-ignore]
        AirflowException,
        AirflowFailException,
        AirflowNotFoundException,
        AirflowSensorTimeout,
    )

if TYPE_CHECKING:
    try:
        from airflow.sdk import Context
    except ImportError:
        from airflow.utils.context import Context  # type: ignore[no-redef,attr-defined]
else:
    Context = dict


_MASKED: set[str] = set()


def mask_secret(secret: str | None) -> None:
    """Register a secret with Airflow's masker so that no task log line ever shows it.

    Once per process and secret: on Airflow 3 each registration is a round trip to the task's
    supervisor, and a poke would otherwise pay it on every connection lookup.
    """
    if not secret or secret in _MASKED:
        return
    try:
        from airflow.sdk.log import mask_secret as masker  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        from airflow.utils.log.secrets_masker import mask_secret as masker  # type: ignore[no-redef,attr-defined]
    masker(secret)
    _MASKED.add(secret)


__all__ = [
    "AIRFLOW_V3",
    "AirflowException",
    "AirflowFailException",
    "AirflowNotFoundException",
    "AirflowSensorTimeout",
    "BaseHook",
    "BaseOperator",
    "BaseOperatorLink",
    "BaseSensorOperator",
    "Context",
    "PokeReturnValue",
    "mask_secret",
]
