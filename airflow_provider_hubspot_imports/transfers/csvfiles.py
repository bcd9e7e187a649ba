"""RFC 4180 CSV part files: UTF-8, CRLF line ends, fields quoted when they hold a comma, a quote or
a line break; a new part begins before a row would break the rows or bytes limit of a file."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any

from airflow_provider_hubspot_imports.core.start import MAX_FILE_BYTES
from airflow_provider_hubspot_imports.errors import HubSpotInputError

MAX_FILE_ROWS = 1_048_576  # HubSpot refuses a file with more rows (a 429 that is no rate limit)


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
        assert self._handle is not None
        self._handle.write(block)
        self._rows += rows
        self._bytes += len(block)
        name, _, _ = self.files[-1]
        self.files[-1] = (name, self._rows, self._bytes)

    def _close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
