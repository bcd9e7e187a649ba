"""Side-by-side timing: interleaved rounds, ratios per round, medians. No absolute-time judgements."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping


def interleaved_rounds(
    contenders: Mapping[str, Callable[[], object]], rounds: int, calls_per_round: int
) -> dict[str, list[float]]:
    """Seconds per round for each contender; the order flips every round so drift cancels."""
    names = list(contenders)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for number in range(rounds):
        for name in names if number % 2 == 0 else reversed(names):
            call = contenders[name]
            started = time.perf_counter()
            for _ in range(calls_per_round):
                call()
            seconds[name].append(time.perf_counter() - started)
    return seconds


def median_ratio(numerators: list[float], denominators: list[float]) -> float:
    """Median of the per-round ratios (each round's pair ran side by side)."""
    return statistics.median(a / b for a, b in zip(numerators, denominators, strict=True))


def median(values: list[float]) -> float:
    return statistics.median(values)
