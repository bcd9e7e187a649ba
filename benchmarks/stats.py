"""Side-by-side timing: interleaved rounds, ratios per round, medians. No absolute-time judgements."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping


def interleaved_rounds(
    contenders: Mapping[str, Callable[[], object]], rounds: int, calls_per_round: int, chunk: int = 10
) -> dict[str, list[float]]:
    """Seconds per round for each contender.

    Within a round the contenders take turns every `chunk` calls, and the order of turns rotates,
    so a burst of load from elsewhere on the machine lands on all of them alike.
    """
    names = list(contenders)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    turns = max(1, calls_per_round // chunk)
    for _ in range(rounds):
        spent = dict.fromkeys(names, 0.0)
        for turn in range(turns):
            shift = turn % len(names)
            for name in names[shift:] + names[:shift]:
                call = contenders[name]
                started = time.perf_counter()
                for _ in range(chunk):
                    call()
                spent[name] += time.perf_counter() - started
        for name in names:
            seconds[name].append(spent[name])
    return seconds


def median_ratio(numerators: list[float], denominators: list[float]) -> float:
    """Median of the per-round ratios (each round's pair ran side by side)."""
    return statistics.median(a / b for a, b in zip(numerators, denominators, strict=True))


def median(values: list[float]) -> float:
    return statistics.median(values)
