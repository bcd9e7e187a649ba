"""Pure rules for the triggerer's side of a stop: what a task's state means when its trigger is
killed (decided on by `core.endings`), and the deferred twin of a sensor's backoff."""

from __future__ import annotations

from airflow_provider_hubspot_imports.core.endings import Ending

# A deferred task's state when its trigger is killed, and the ending it stands for. Airflow 3.3
# calls the trigger's `on_kill` both when a person cleared or marked the task and when the trigger
# moved to another triggerer; only the task's state tells them apart.
_ENDING_BY_TASK_STATE = {
    "deferred": Ending.WAITED_ON_ELSEWHERE,  # the trigger moved to another triggerer
    "up_for_retry": Ending.WAITED_ON_ELSEWHERE,  # a later try reconnects to the import
    "up_for_reschedule": Ending.WAITED_ON_ELSEWHERE,
    "success": Ending.MARKED_SUCCESS,  # the import's outcome was accepted as it is
    # Cleared: not yet scheduled again (no state), or already scheduled, queued or running again.
    "none": Ending.CLEARED,
    "restarting": Ending.CLEARED,
    "scheduled": Ending.CLEARED,
    "queued": Ending.CLEARED,
    "running": Ending.CLEARED,
}


def ending_of_task_state(task_state: str | None) -> Ending:
    """The ending a deferred task's state stands for when its trigger is killed: any state not
    listed (failed, skipped, upstream_failed, removed) is a person's mark."""
    state = "none" if task_state is None else str(task_state).lower()
    return _ENDING_BY_TASK_STATE.get(state, Ending.MARKED)


def next_poll_delay(interval: float, polls_done: int, *, exponential: bool, max_wait: float | None) -> float:
    """Seconds to the next poll: `interval`, or with `exponential` doubled after each poll and
    capped at `max_wait`: the deferred twin of Airflow's `exponential_backoff` for sensors."""
    if not exponential:
        return interval
    delay = interval * 2.0 ** min(max(polls_done - 1, 0), 30)
    return delay if max_wait is None else min(delay, max_wait)
