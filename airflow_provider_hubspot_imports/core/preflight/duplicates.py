"""Repeated values in an id column, found in one pass and bounded memory.

A set of a million strings costs over 100 MB. Here a value costs 8 bytes: its 64-bit hash, kept
in sorted runs; a bitmap filter sends only the values that may have been seen before (true
repeats and about 1.5 % false alarms at a million rows) to the exact search in the runs.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left

FILTER_BITS = 1 << 26  # an 8 MiB bitmap
RUN_ROWS = 65_536  # hashes gathered before they are sorted into a run


class DuplicateFinder:
    """`seen(value)` is True when an equal value (by 64-bit hash) was offered before."""

    def __init__(self) -> None:
        self._bits = bytearray(FILTER_BITS >> 3)
        self._runs: list[array[int]] = []
        self._current: set[int] = set()

    def seen(self, value: str) -> bool:
        digest = hash(value)
        slot = digest & (FILTER_BITS - 1)
        byte, bit = slot >> 3, 1 << (slot & 7)
        bits = self._bits
        if not bits[byte] & bit:
            bits[byte] |= bit
            self._remember(digest)
            return False
        if digest in self._current or any(_holds(run, digest) for run in self._runs):
            return True
        self._remember(digest)
        return False

    def _remember(self, digest: int) -> None:
        current = self._current
        current.add(digest)
        if len(current) >= RUN_ROWS:
            self._runs.append(array("q", sorted(current)))
            self._current = set()


def _holds(run: array[int], digest: int) -> bool:
    at = bisect_left(run, digest)
    return at < len(run) and run[at] == digest
