"""Peak resident memory growth around one call, measured by the process itself (Linux): for tests that
run the call in a child process, so nothing else the test runner holds counts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _peak_mib() -> float:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM"))
    return int(line.split()[1]) / 1024


def peak_growth_mib(call: Callable[[], Any]) -> float:
    """How far the peak resident size rose above the current one while `call` ran, in MiB.
    VmHWM is the peak resident size; writing 5 to clear_refs resets it to the current size."""
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    before = _peak_mib()
    call()
    return _peak_mib() - before
