"""Repeated values in an id column, found a chunk of rows at a time.

The values seen so far are kept in a set, up to `MAX_TRACKED` of them per column (about 14 MB for
e-mail addresses): past that, new values are no longer kept and the report says from which line. A
chunk with no repeat and no blank cell, the usual one, costs one pass over its cells in C to look
them up (`isdisjoint`) and one to add them (`update`, whose growth of the set by the number of cells
shows that no value came twice within the chunk); no set of the chunk's own values is built. Any
other chunk is met with the set by an intersection, and only a chunk that holds a repeat is
searched in Python.
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
        if seen.isdisjoint(column):  # no value seen before, no blank cell
            if self.tracked + len(column) <= self.max_tracked:
                before = len(seen)
                seen.update(column)
                if len(seen) - before == len(column):
                    return []
            else:
                distinct = set(column)
                self._keep(distinct)
                if len(distinct) == len(column):
                    return []
            earlier: set[str] = set()  # a value twice within the chunk
        else:
            distinct = set(column)
            distinct.discard("")
            earlier = distinct & seen
            self._keep(distinct - earlier)
            if not earlier and len(distinct) + column.count("") == len(column):
                return []  # blank cells, no repeat
        offsets, met = [], set()
        for offset, value in enumerate(column):
            if not value:
                continue
            if value in earlier or value in met:
                offsets.append(offset)
            else:
                met.add(value)
        return offsets

    def _keep(self, new: set[str]) -> None:
        """Keep the chunk's new values if all of them fit, else note that the tracker is full."""
        if self.tracked + len(new) <= self.max_tracked:
            self.seen |= new
        else:
            self.full = True
