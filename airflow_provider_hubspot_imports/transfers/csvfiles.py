"""RFC 4180 CSV part files: UTF-8, CRLF line ends, fields quoted when they hold a comma, a quote or
a line break; a new part begins before a row would break the rows or bytes limit of a file."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any

from airflow_provider_hubspot_imports.core.start import MAX_FILE_BYTES
from airflow_provider_hubspot_imports.errors import HubSpotInputError

MAX_FILE_ROWS = 1_048_576  # HubSpot refuses a file with more rows (a 429 that is no rate limit)
FLUSH_BYTES = 1 << 20  # written to the part file in blocks of about this size
_QUOTE_OR_LF = re.compile(rb'["\n]')
# Every byte but the quote and LF: deleted to see the quotes of each line, at C speed.
_ALL_BUT_QUOTE_AND_LF = bytes(byte for byte in range(256) if byte not in b'"\n')


@dataclass(frozen=True)
class FileLimits:
    """Most rows (after the header) and bytes (header included) one part file may hold."""

    rows: int = MAX_FILE_ROWS
    bytes: int = MAX_FILE_BYTES

    def __post_init__(self) -> None:
        if (
            isinstance(self.rows, bool)
            or not isinstance(self.rows, int)
            or not 1 <= self.rows <= MAX_FILE_ROWS
        ):
            raise HubSpotInputError(
                f"rows_per_file is {self.rows!r}; pass a whole number from 1 to {MAX_FILE_ROWS:,} "
                f"(HubSpot's limit per file)."
            )


def encode_rows(rows: Sequence[Sequence[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


class CsvPartWriter:
    """Writes rows into ``part-00001.csv``, ``part-00002.csv``... under `folder`, each with the
    header; `files` lists (name, rows, bytes) of every part written so far."""

    def __init__(self, folder: Any, header: Sequence[str], limits: FileLimits) -> None:
        self.folder = folder
        self.header = encode_rows([header])
        self.limits = limits
        self.files: list[tuple[str, int, int]] = []
        self._handle: IO[bytes] | None = None
        self._rows = 0
        self._bytes = 0
        self._tail = b""  # the start of a record not yet complete (write_csv_records)
        self._pending: list[bytes] = []
        self._pending_bytes = 0

    def __enter__(self) -> CsvPartWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._close()

    def write_rows(self, rows: Sequence[Sequence[str]]) -> None:
        while rows:
            room = self.limits.rows - self._rows if self._handle is not None else self.limits.rows
            chunk, rows = rows[:room], rows[room:]
            block = encode_rows(chunk)
            if self._handle is None:
                self._open()
            if self._bytes + len(block) <= self.limits.bytes:
                self._write(block, len(chunk))
            else:  # near the byte limit: row by row, to end the part just before it
                for row in chunk:
                    self._write_one(encode_rows([row]))
            if self._rows >= self.limits.rows:
                self._close()

    def write_csv_records(self, data: bytes) -> None:
        """CSV records already quoted (RFC 4180) and ended with LF, as PostgreSQL's COPY writes
        them, in chunks cut anywhere: each record is ended with CRLF (a line break inside a quoted
        field is kept) and the parts are split as `write_rows` splits them."""
        buffer = self._tail + bytes(data)
        last = buffer.rfind(b"\n")
        # Every line with an even number of quotes: every LF ends a record (the usual case).
        ends = None if _even_quotes_per_line(buffer[: last + 1]) else record_ends(buffer)
        if ends is not None:
            last = ends[-1] if ends else -1
        self._tail = buffer[last + 1 :]
        block = buffer[: last + 1]
        while block:
            if self._handle is None:
                self._open()
            records = len(ends) if ends is not None else block.count(b"\n")
            room = self.limits.rows - self._rows
            if records <= room and self._bytes + len(block) + records <= self.limits.bytes:
                self._write(_crlf(block, ends), records)
                block = b""
            else:
                ends = ends if ends is not None else record_ends(block)
                fit = 0
                while (
                    fit < min(room, len(ends)) and self._bytes + ends[fit] + 1 + fit + 1 <= self.limits.bytes
                ):
                    fit += 1
                if fit == 0:
                    if self._rows == 0:
                        raise HubSpotInputError(
                            f"One row takes more than a part file may hold ({self.limits.bytes:,} bytes "
                            f"with the header)."
                        )
                    self._close()
                    continue
                cut = ends[fit - 1] + 1
                self._write(_crlf(block[:cut], ends[:fit]), fit)
                block, ends = block[cut:], [end - cut for end in ends[fit:]]
                self._close()
            if self._rows >= self.limits.rows:
                self._close()

    def finish_records(self) -> None:
        """After the last `write_csv_records`: the data must have ended with a complete record."""
        if self._tail:
            raise OSError(f"The CSV data ended inside a record ({len(self._tail)} bytes without an end).")

    def _write_one(self, line: bytes) -> None:
        if len(self.header) + len(line) > self.limits.bytes:
            raise HubSpotInputError(
                f"One row takes {len(line):,} bytes, more than a part file may hold "
                f"({self.limits.bytes:,} bytes with the header)."
            )
        if self._handle is None or self._bytes + len(line) > self.limits.bytes:
            self._close()
            self._open()
        self._write(line, 1)

    def _open(self) -> None:
        name = f"part-{len(self.files) + 1:05d}.csv"
        self._handle = (self.folder / name).open("wb")
        self.files.append((name, 0, 0))
        self._rows, self._bytes = 0, 0
        self._write(self.header, 0)

    def _write(self, block: bytes, rows: int) -> None:
        self._pending.append(block)
        self._pending_bytes += len(block)
        if self._pending_bytes >= FLUSH_BYTES:
            self._flush()
        self._rows += rows
        self._bytes += len(block)
        name, _, _ = self.files[-1]
        self.files[-1] = (name, self._rows, self._bytes)

    def _flush(self) -> None:
        assert self._handle is not None
        self._handle.write(b"".join(self._pending))
        self._pending.clear()
        self._pending_bytes = 0

    def _close(self) -> None:
        if self._handle is not None:
            self._flush()
            self._handle.close()
            self._handle = None


def record_ends(data: bytes) -> list[int]:
    """Offsets of the LFs that end records: those outside quoted fields (a doubled quote inside a
    field toggles twice)."""
    ends, quoted = [], False
    for match in _QUOTE_OR_LF.finditer(data):
        if match.group() == b'"':
            quoted = not quoted
        elif not quoted:
            ends.append(match.start())
    return ends


def _even_quotes_per_line(block: bytes) -> bool:
    """Whether every line of `block` has an even number of quotes: then no quoted field holds a
    line break, and each LF ends a record. Pairs of quotes never span a line, so removing them
    leaves a quote only on a line that has an odd number."""
    marks = block.translate(None, _ALL_BUT_QUOTE_AND_LF)
    return b'"' not in marks.replace(b'""', b"")


def _crlf(block: bytes, ends: list[int] | None) -> bytes:
    """`block` (whole records ended by LF) with each record ended by CRLF instead."""
    if ends is None:  # no quoted field: every LF ends a record
        return block.replace(b"\n", b"\r\n")
    pieces, start = [], 0
    for end in ends:
        pieces.append(block[start:end])
        start = end + 1
    return b"\r\n".join(pieces) + b"\r\n"
