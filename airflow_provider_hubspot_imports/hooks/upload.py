"""Files to upload: sized before the request, streamed in chunks while it is sent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from airflow_provider_hubspot_imports.core.multipart import FilePart, MultipartForm
from airflow_provider_hubspot_imports.core.paths import local_path
from airflow_provider_hubspot_imports.errors import HubSpotInputError

CHUNK_BYTES = 1024 * 1024


def file_list(files: Any) -> list[Any]:
    """`files` as a list: one path (str, Path, ObjectStoragePath) or a list or tuple of them."""
    return list(files) if isinstance(files, (list, tuple)) else [files]


def file_part(file: Any) -> FilePart:
    """Size a local path (str or os.PathLike) or an ObjectStoragePath without reading it."""
    file = local_path(file) or file
    if not (hasattr(file, "open") and hasattr(file, "stat") and hasattr(file, "name")):
        raise HubSpotInputError(
            f"files contains {type(file).__name__} {file!r}; pass file paths (str or pathlib.Path) or "
            f"ObjectStoragePath objects."
        )
    try:
        stat = file.stat()
        is_dir = file.is_dir() if hasattr(file, "is_dir") else False
    except FileNotFoundError:
        raise HubSpotInputError(f"File {str(file)!r} to import does not exist. Check the path.") from None
    except OSError as exc:
        raise HubSpotInputError(f"File {str(file)!r} to import cannot be read: {exc}.") from None
    if is_dir:
        raise HubSpotInputError(f"{str(file)!r} is a directory; pass the files inside it one by one.")
    size = getattr(stat, "st_size", None)
    if size is None:  # fsspec-style stat results are mappings
        size = stat["size"]
    return FilePart(filename=file.name, size=int(size), source=file)


class StreamingBody:
    """A multipart body read lazily: `len()` gives Content-Length, iteration yields bytes.

    requests sends an iterable with a length as a fixed-length streamed body. Make a new one for
    every attempt: iteration consumes it.
    """

    def __init__(self, form: MultipartForm, chunk_bytes: int = CHUNK_BYTES) -> None:
        self.form = form
        self.chunk_bytes = chunk_bytes
        self._length = form.content_length

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[bytes]:
        for segment in self.form.segments():
            if isinstance(segment, FilePart):
                yield from self._read(segment)
            else:
                yield segment

    def _read(self, part: FilePart) -> Iterator[bytes]:
        sent = 0
        with part.source.open("rb") as handle:
            while chunk := handle.read(self.chunk_bytes):
                sent += len(chunk)
                if sent > part.size:
                    break
                yield chunk
        if sent != part.size:
            # A Content-Length that lies would corrupt the upload: stop instead.
            raise OSError(f"{part.filename} changed size while uploading ({part.size} bytes expected).")
