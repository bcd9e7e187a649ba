"""TLS trust, one way for both transports: an `ssl.SSLContext` verifying against the system store or
a connection's CA bundle. Built once per pool (building one reads and parses the whole bundle)."""

from __future__ import annotations

import os
import ssl
import threading

from airflow_provider_hubspot_imports.errors import HubSpotInputError

# Contexts already built in this process, by bundle path and the file's state when it was read.
# Building one parses the whole trust store (tens of ms): a sensor poke builds a new hook each time.
_built: dict[tuple[str | None, int, int], ssl.SSLContext] = {}
_built_lock = threading.Lock()
_MAX_BUILT = 16


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


def shared_ssl_context(ca_bundle: str | None, conn_id: str | None = None) -> ssl.SSLContext:
    """`ssl_context`, built once per process for each CA bundle and reused (an SSL context is safe
    to share between threads). A bundle file that changed since is read again; a missing or
    unreadable one is the same HubSpotInputError as `ssl_context`'s, never cached."""
    try:
        stat = os.stat(ca_bundle) if ca_bundle is not None else None
    except OSError:
        return ssl_context(ca_bundle, conn_id)  # raises the error naming the path
    key = (ca_bundle, stat.st_mtime_ns if stat else 0, stat.st_size if stat else 0)
    with _built_lock:
        context = _built.get(key)
    if context is None:
        context = ssl_context(ca_bundle, conn_id)
        with _built_lock:
            if len(_built) >= _MAX_BUILT:
                _built.clear()
            _built[key] = context
    return context
