"""Repeated values in an id column, found a chunk of rows at a time.

The values seen so far are kept in a set, up to `MAX_TRACKED` of them per column (about 14 MB for
e-mail addresses): past that, new values are no longer kept and the report says from which line.
While there is room, a chunk with no blank cell and no value seen before, the usual one, costs a
lookup of its cells (`isdisjoint`, in C) and one `update`, whose growth by the number of cells shows
that no value came twice within the chunk. Any other chunk costs two set operations in C (its
distinct values met with the set, then added to it); only a chunk that holds a repeat is searched
in Python.
"""

from __future__ import annotations

from collections.abc import Sequence

MAX_TRACKED = 1 << 17  # 131,072 values


class RepeatTracker:
    """Which cells of a chunk repeat a value of an earlier cell of the column (blank cells never do)."""

    def __init__(self, max_tracked: int = MAX_TRACKED) -> None:
        # The blank value is kept from the start, so that a chunk with a blank cell is not taken
        # for a clean one; it counts for no tracked value.
        self.seen: set[str] = {""}
        self.max_tracked = max_tracked
        self.full = False

    @property
    def tracked(self) -> int:
        """How many values are kept."""
        return len(self.seen) - 1

    def repeats(self, column: Sequence[str]) -> list[int]:
        """Offsets in `column` (one chunk) whose value was seen before, in this chunk or earlier."""
        seen = self.seen
        if self.tracked + len(column) <= self.max_tracked and seen.isdisjoint(column):
            # No value seen before, no blank cell, and room for all: one update, whose growth by
            # the number of cells shows whether a value came twice within the chunk.
            before = len(seen)
            seen.update(column)
            if len(seen) - before == len(column):
                return []
            earlier: set[str] = set()
        else:
            distinct = set(column)
            distinct.discard("")
            earlier = distinct & seen
            if self.tracked + len(distinct) - len(earlier) <= self.max_tracked:
                seen |= distinct  # keep the new values if all of them fit
            else:
                self.full = True
            if not earlier and (
                len(distinct) == len(column) or len(distinct) + column.count("") == len(column)
            ):
                return []  # no repeat
        offsets, met = [], set()
        for offset, value in enumerate(column):
            if not value:
                continue
            if value in earlier or value in met:
                offsets.append(offset)
            else:
                met.add(value)
        return offsets
