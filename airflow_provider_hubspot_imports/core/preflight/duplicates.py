"""Repeated values in an id column, found a chunk of rows at a time.

The values seen so far are kept in a set, up to `MAX_TRACKED` of them per column (about 14 MB for
e-mail addresses): past that, new values are no longer kept and the report says from which line. A
chunk costs two set operations in C (its distinct values met with the set, then added to it); only
a chunk that holds a repeat is searched in Python.
"""

from __future__ import annotations

from collections.abc import Sequence

MAX_TRACKED = 1 << 17  # 131,072 values


class RepeatTracker:
    """Which cells of a chunk repeat a value of an earlier cell of the column (blank cells never do)."""

    def __init__(self, max_tracked: int = MAX_TRACKED) -> None:
        self.seen: set[str] = set()
        self.max_tracked = max_tracked
        self.full = False

    def repeats(self, column: Sequence[str], distinct: set[str] | None = None) -> list[int]:
        """Offsets in `column` (one chunk) whose value was seen before, in this chunk or earlier.
        `distinct`: the set of the column's values, when the caller has it already."""
        distinct = set(column) if distinct is None else distinct
        blanks = column.count("") if "" in distinct else 0
        distinct = distinct - {""} if blanks else distinct
        within = len(distinct) + blanks < len(column)
        seen = self.seen
        earlier = distinct & seen
        if len(seen) + len(distinct) - len(earlier) <= self.max_tracked:
            seen |= distinct
        else:
            self.full = True
        if not earlier and not within:
            return []
        offsets, met = [], set()
        for offset, value in enumerate(column):
            if not value:
                continue
            if value in earlier or value in met:
                offsets.append(offset)
            else:
                met.add(value)
        return offsets
