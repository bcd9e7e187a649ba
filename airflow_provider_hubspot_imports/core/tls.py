"""TLS trust, one way for both transports: an `ssl.SSLContext` verifying against the system store or
a connection's CA bundle. Built once per pool (building one reads and parses the whole bundle)."""

from __future__ import annotations

import ssl

from airflow_provider_hubspot_imports.errors import HubSpotInputError


def ssl_context(ca_bundle: str | None, conn_id: str | None = None) -> ssl.SSLContext:
    """A verifying client context; `ca_bundle` (a PEM file) replaces the default trust store.

    A missing or unreadable bundle is a settings error naming the path, not a crash mid-request.
    """
    if ca_bundle is None:
        return ssl.create_default_context()
    where = f"connection '{conn_id}'" if conn_id else "the HubSpot connection"
    try:
        return ssl.create_default_context(cafile=ca_bundle)
    except FileNotFoundError:
        raise HubSpotInputError(
            f"The CA bundle {ca_bundle!r} of {where} does not exist. Set the extra 'ca_bundle' to the "
            f"path of a readable PEM file on every machine that runs HubSpot tasks (workers and "
            f"triggerers), or remove it to trust the system's certificate store."
        ) from None
    except (OSError, ssl.SSLError) as exc:
        raise HubSpotInputError(
            f"The CA bundle {ca_bundle!r} of {where} could not be read as PEM certificates "
            f"({type(exc).__name__}: {exc}). Point the extra 'ca_bundle' at a readable PEM file."
        ) from None
