"""Canceling an import the task gave up on: bounded, quiet, and safe inside a signal handler.

`cancel_quietly` never raises a HubSpot error (the caller goes on failing for its own cause).
In a worker's `on_kill` it runs inside Airflow's SIGTERM handler, which may have interrupted
anything (a poke waiting on Airflow's supervisor, a write to stdout): it then looks nothing up,
grants no token, sends no message to the supervisor, and its log lines cannot fail.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_hubspot_imports.core.oauth import AccessTokens
    from airflow_provider_hubspot_imports.core.settings import HubSpotSettings
    from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook

# The cancel `on_kill` sends must end well inside the 5 s Airflow leaves between SIGTERM and SIGKILL:
# one attempt, no token grant (the token the last request used is sent).
QUICK_CANCEL_SECONDS = 3.0
# The trigger's `on_kill` (reading the task's state, then canceling) ends well inside the
# triggerer's 30 s kill timeout: each step is bounded by this.
TRIGGER_STEP_SECONDS = 5.0


def cancel_quietly(
    hubspot_conn_id: str,
    import_id: Any,
    reason: str,
    log: Any,
    settings: HubSpotSettings | None = None,
    *,
    quick: bool = False,
) -> dict[str, Any] | None:
    """Cancel an import because the task gave up on it; logs the outcome, never raises a HubSpot
    error. With `settings` (the connection as the task's last request read it) no connection is
    looked up. `quick`: one attempt of at most `QUICK_CANCEL_SECONDS` (the trigger's `on_kill`)."""
    from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook

    if settings is not None:
        hook = HubSpotHook.from_settings(settings)
    elif quick:
        hook = HubSpotHook(
            hubspot_conn_id,
            timeout=QUICK_CANCEL_SECONDS,
            max_retries=0,
            retry_max_seconds=QUICK_CANCEL_SECONDS,
        )
    else:
        hook = HubSpotHook(hubspot_conn_id)
    return _cancel(hook, import_id, reason, log.log)


def cancel_in_signal_handler(
    settings: HubSpotSettings | None,
    tokens: AccessTokens | None,
    import_id: Any,
    reason: str,
) -> dict[str, Any] | None:
    """The `on_kill` cancel: with the settings and tokens the task's last request used, one
    attempt of at most `QUICK_CANCEL_SECONDS`. No connection lookup, no token grant, no secret
    registered (each is a message to Airflow's supervisor, whose lock the interrupted code may
    hold), and no logger (its lock or stream may be held by the interrupted code too): lines go to
    file descriptor 2 in one system call each (`write_from_signal_handler`), which Airflow's task
    log captures. Without settings (no request made yet) or with an OAuth token no longer fresh,
    nothing is sent."""
    from airflow_provider_hubspot_imports.hooks.hubspot import HubSpotHook

    if settings is None or (tokens is not None and tokens.uses_oauth and tokens.current() is None):
        write_from_signal_handler(
            logging.ERROR,
            "Could not cancel HubSpot import %s after %s: no fresh credentials were kept from the "
            "task's last request (a cancel would need a token grant inside the signal handler).",
            import_id,
            reason,
        )
        return None
    quick = replace(
        settings, timeout=QUICK_CANCEL_SECONDS, max_retries=0, retry_max_seconds=QUICK_CANCEL_SECONDS
    )
    hook = HubSpotHook.from_settings(quick)
    hook._log = _SignalHandlerLog()  # type: ignore[assignment]  # the hook's rare lines go the safe way too
    if tokens is not None:
        hook.__dict__["tokens"] = _WithoutGrant(tokens)
    return _cancel(hook, import_id, reason, write_from_signal_handler)


class _SignalHandlerLog:
    """A logger's methods, each a `write_from_signal_handler` line."""

    def log(self, level: int, message: str, *args: Any, **kwargs: Any) -> None:
        write_from_signal_handler(level, message, *args)

    def debug(self, message: str, *args: Any, **kwargs: Any) -> None:
        return None  # not worth a system call inside a signal handler

    def info(self, message: str, *args: Any, **kwargs: Any) -> None:
        write_from_signal_handler(logging.INFO, message, *args)

    def warning(self, message: str, *args: Any, **kwargs: Any) -> None:
        write_from_signal_handler(logging.WARNING, message, *args)

    def error(self, message: str, *args: Any, **kwargs: Any) -> None:
        write_from_signal_handler(logging.ERROR, message, *args)


class _WithoutGrant:
    """The kept tokens, refusing to fetch a new one: a 401 ends the cancel instead."""

    def __init__(self, tokens: AccessTokens) -> None:
        self._tokens = tokens

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tokens, name)

    def refresh_helps(self, error: BaseException, token: str | None) -> bool:
        return False

    def invalidate(self, token: str | None = None) -> bool:
        return False


def _cancel(hook: HubSpotHook, import_id: Any, reason: str, report: Any) -> dict[str, Any] | None:
    """Send the cancel; `report(level, message, *args)` tells how it went."""
    from airflow_provider_hubspot_imports.errors import HubSpotError

    try:
        answer = hook.cancel_import(import_id)
    except HubSpotError as error:
        report(logging.ERROR, "Could not cancel HubSpot import %s after %s: %s", import_id, reason, error)
        return None
    finally:
        hook.close()
    report(
        logging.WARNING,
        "Canceled HubSpot import %s after %s. HubSpot answered: %s",
        import_id,
        reason,
        answer,
    )
    return answer


def write_from_signal_handler(level: int, message: str, *args: Any) -> None:
    """A log line from a signal handler: one `os.write` to file descriptor 2, past every lock and
    buffer the interrupted code may hold (a logger's lock, a buffered stream mid-write, which
    would deadlock or raise `RuntimeError: reentrant call`). Never raises."""
    with contextlib.suppress(Exception):  # nothing else is left to tell it with
        os.write(2, f"{logging.getLevelName(level)} {message % args}\n".encode(errors="replace"))
