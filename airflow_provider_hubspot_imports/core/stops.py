"""When a task has given up on its import for good, so that `cancel_on_timeout` may cancel it.

Pure rules; the Airflow signals they read are gathered in `waiting` (task side) and
`triggers.imports` (triggerer side). Canceling cannot be undone, so every rule errs towards
leaving the import running: a later try, or another triggerer, may still be waiting on it.
"""

from __future__ import annotations

# A deferred task's state when the triggerer calls the trigger's `on_kill`, and whether that
# means a person gave the wait up. Airflow 3.3 calls `on_kill` both when a person cleared or marked
# the task and when the trigger moved to another triggerer; only the task's state tells them apart.
STILL_WAITING_STATES = frozenset(
    {
        "deferred",  # the trigger moved to another triggerer, which goes on waiting
        "up_for_retry",  # a later try reconnects to the import
        "up_for_reschedule",
        "success",  # marked success: the import's outcome was accepted as it is
    }
)


def abandoned_by_person(task_state: str | None) -> str | None:
    """Why a deferred task's import may be canceled when its trigger is killed; None to leave it.

    `task_state` is the task instance's state when the trigger was killed (None: cleared, not yet
    scheduled again). Any state but those in `STILL_WAITING_STATES` means the wait this trigger
    served is over for good: marked failed or skipped, or cleared (possibly already scheduled,
    queued or running again as a new try).
    """
    state = None if task_state is None else str(task_state).lower()
    if state in STILL_WAITING_STATES:
        return None
    if state is None or state in ("restarting", "scheduled", "queued", "running", "none"):
        return "the task was cleared while deferred"
    return f"the task was marked {state} while deferred"


def next_poll_delay(interval: float, polls_done: int, *, exponential: bool, max_wait: float | None) -> float:
    """Seconds to the next poll: `interval`, or with `exponential` doubled after each poll and
    capped at `max_wait`: the deferred twin of Airflow's `exponential_backoff` for sensors."""
    if not exponential:
        return interval
    delay = interval * 2.0 ** min(max(polls_done - 1, 0), 30)
    return delay if max_wait is None else min(delay, max_wait)
