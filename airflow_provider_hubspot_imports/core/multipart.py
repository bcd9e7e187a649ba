"""The layout of a multipart/form-data body, computed without reading a file.

The transport streams the body segment by segment; because every part's size is known up front,
so is the whole body's `Content-Length`, and no file ever has to sit in memory.
"""

from __future__ import annotations

import mimetypes
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

CRLF = b"\r\n"


@dataclass(frozen=True)
class FilePart:
    """A file to upload: its name as HubSpot will see it, its size, and where to read it from.

    `source` is opaque here (a local path or an ObjectStoragePath); only the transport opens it.
    """

    filename: str
    size: int
    source: Any = field(compare=False)
    content_type: str = ""

    @property
    def media_type(self) -> str:
        return self.content_type or mimetypes.guess_type(self.filename)[0] or "application/octet-stream"


def _quote(value: str) -> str:
    """Escape a name for a Content-Disposition parameter the way browsers do (HTML5 form encoding)."""
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


@dataclass(frozen=True)
class MultipartForm:
    """Text fields first, then files, each as a part named as HubSpot expects."""

    fields: tuple[tuple[str, str, str], ...]  # (part name, value, content type; "" for a plain field)
    files: tuple[tuple[str, FilePart], ...]  # (part name, file)
    boundary: str = field(default_factory=lambda: f"hubspot-imports-{secrets.token_hex(16)}")

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def _head(self, name: str, content_type: str, filename: str | None = None) -> bytes:
        disposition = f'form-data; name="{_quote(name)}"'
        if filename is not None:
            disposition += f'; filename="{_quote(filename)}"'
        typed = f"Content-Type: {content_type}\r\n" if content_type else ""
        return f"--{self.boundary}\r\nContent-Disposition: {disposition}\r\n{typed}\r\n".encode()

    def segments(self) -> Iterator[bytes | FilePart]:
        """The body in order: literal bytes, and a `FilePart` where that file's bytes go."""
        for name, value, content_type in self.fields:
            yield self._head(name, content_type) + value.encode() + CRLF
        for name, part in self.files:
            yield self._head(name, part.media_type, part.filename)
            yield part
            yield CRLF
        yield f"--{self.boundary}--\r\n".encode()

    @property
    def content_length(self) -> int:
        return sum(
            segment.size if isinstance(segment, FilePart) else len(segment) for segment in self.segments()
        )
