"""From an Airflow connection to validated settings, for the sync hook and the async client alike."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from airflow_provider_hubspot_imports._compat import BaseHook, mask_secret
from airflow_provider_hubspot_imports.core.settings import (
    CONN_TYPE,
    KNOWN_EXTRAS,
    OAUTH_EXTRAS,
    HubSpotSettings,
    settings_from_connection_fields,
    unknown_extras,
)

log = logging.getLogger(__name__)
# (connection id, unknown extras) already warned about: a wait re-reads its connection every poke.
_warned_extras: set[tuple[str, tuple[str, ...]]] = set()


def settings_for_connection(
    conn: Any, conn_id: str, overrides: Mapping[str, Any] | None = None
) -> HubSpotSettings:
    """Validated settings from an Airflow `Connection`; registers its secrets (the token, or the
    OAuth client secret and refresh token) with the secrets masker as soon as they are read."""
    mask_secret(conn.password)
    extras = conn.extra_dejson
    for name in OAUTH_EXTRAS:
        for key in (name, f"extra__{CONN_TYPE}__{name}"):
            if name != "client_id" and isinstance(extras.get(key), str):
                mask_secret(extras[key])
    settings = settings_from_connection_fields(
        conn_id=conn_id,
        host=conn.host,
        port=conn.port,
        password=conn.password,
        extras=extras,
    )
    warn_unknown_extras(extras, conn_id)
    return replace(settings, **overrides) if overrides else settings


def warn_unknown_extras(extras: Mapping[str, Any], conn_id: str) -> None:
    """Warn (once per process and connection) about extras this package does not read."""
    unknown = tuple(unknown_extras(extras))
    if not unknown or (conn_id, unknown) in _warned_extras:
        return
    _warned_extras.add((conn_id, unknown))
    log.warning(
        "Connection '%s' has extra(s) %s that this package does not read; they are ignored. "
        "Known extras: %s. Check the spelling, or remove them.",
        conn_id,
        ", ".join(repr(name) for name in unknown),
        ", ".join(KNOWN_EXTRAS),
    )


async def aget_connection(conn_id: str) -> Any:
    """Look a connection up from async code without blocking the event loop.

    `BaseHook.aget_connection` is used where it exists (Airflow 3); it fails under `dag.test()` on
    3.3.2 for connections stored in the database, and Airflow 2.11 lacks it: then the sync lookup
    runs in a worker thread.
    """
    getter = getattr(BaseHook, "aget_connection", None)
    if getter is not None:
        try:
            return await getter(conn_id)
        except Exception as exc:
            log.debug("Async lookup of connection %r failed (%s); using the sync lookup.", conn_id, exc)
    from asgiref.sync import sync_to_async

    return await sync_to_async(BaseHook.get_connection)(conn_id)
