"""Bounds on what one call may cost, shared by both transports."""

from __future__ import annotations

# Import records and pages of errors are small: a record is a few KB; a page of 500 error rows
# with row data rarely reaches 1 MiB. 8 MiB leaves generous headroom while keeping a hostile or
# broken answer from growing a worker's (or the triggerer's) memory by more than that.
MAX_ANSWER_BYTES = 8 * 1024 * 1024
