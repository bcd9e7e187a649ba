"""The emulator's multipart/form-data reader: streams uploads, keeping only sizes and digests of files.

A 500 MB upload costs the emulator a megabyte of buffer, not 500 MB.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

CHUNK = 1024 * 1024
_PARAM = re.compile(r';\s*([\w-]+)="((?:[^"\\]|\\.)*)"')


class MultipartError(ValueError):
    """The body is not the multipart form it claims to be."""


@dataclass
class FormPart:
    """One part: text fields keep their bytes; files keep name, size, SHA-256 and line count."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytearray = field(default_factory=bytearray)
    size: int = 0
    lines: int = 0
    _digest: hashlib._Hash = field(default_factory=hashlib.sha256, repr=False)
    _last: bytes = b""
    # A copy of a file's bytes (in memory up to 1 MiB, then on disk) while it is at most
    # `spool_limit` bytes, for the emulator's row checks; dropped once the file grows past it.
    spool: IO[bytes] | None = None
    spool_limit: int = 0

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.size += len(chunk)
        if self.filename is None:
            self.data += chunk
            return
        if self.spool is not None:
            if self.size <= self.spool_limit:
                self.spool.write(chunk)
            else:
                self.spool.close()
                self.spool = None
        self._digest.update(chunk)
        self.lines += chunk.count(b"\n")
        self._last = chunk[-1:]

    def close(self) -> None:
        if self.filename is not None and self.size and self._last != b"\n":
            self.lines += 1  # a last line without a line break

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    @property
    def text(self) -> str:
        return self.data.decode()


def boundary_of(content_type: str | None) -> str | None:
    if not content_type or not content_type.lower().startswith("multipart/form-data"):
        return None
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    return match.group(1) if match else None


def read_form(
    read: Callable[[int], bytes], length: int, boundary: str, *, spool_bytes: int = 0
) -> list[FormPart]:
    """Read `length` bytes of a multipart body through `read`, part by part; files of at most
    `spool_bytes` keep a copy of their bytes in `spool`."""
    delimiter = b"\r\n--" + boundary.encode()
    buffer = b"\r\n"  # so the first boundary looks like every other one
    remaining = length

    def fill() -> None:
        nonlocal buffer, remaining
        chunk = read(min(remaining, CHUNK)) if remaining > 0 else b""
        if not chunk:
            raise MultipartError("the body ended before the closing boundary")
        remaining -= len(chunk)
        buffer += chunk

    while (start := buffer.find(delimiter)) < 0:
        fill()
    buffer = buffer[start + len(delimiter) :]
    parts: list[FormPart] = []
    while True:
        while len(buffer) < 2:
            fill()
        if buffer.startswith(b"--"):
            return parts
        while (end := buffer.find(b"\r\n\r\n")) < 0:
            fill()
        part = _new_part(buffer[2:end].decode("utf-8", "replace"))
        if part.filename is not None and spool_bytes > 0:
            # closed by the emulator once the request is answered
            part.spool, part.spool_limit = tempfile.SpooledTemporaryFile(max_size=CHUNK), spool_bytes  # noqa: SIM115
        buffer = buffer[end + 4 :]
        keep = len(delimiter) - 1
        while (stop := buffer.find(delimiter)) < 0:
            if len(buffer) > keep:
                part.feed(buffer[:-keep])
                buffer = buffer[-keep:]
            fill()
        part.feed(buffer[:stop])
        part.close()
        buffer = buffer[stop + len(delimiter) :]
        parts.append(part)


def _new_part(head: str) -> FormPart:
    headers = {}
    for line in head.split("\r\n"):
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    disposition = headers.get("content-disposition", "")
    params = {key.lower(): value for key, value in _PARAM.findall(disposition)}
    if "name" not in params:
        raise MultipartError(f"a part has no name in Content-Disposition {disposition!r}")
    filename = params.get("filename")
    if filename is not None:
        filename = (
            filename.replace("%22", '"').replace("%0A", "\n").replace("%0D", "\r").replace("\\\\", "\\")
        )
    return FormPart(params["name"], filename, headers.get("content-type"))
