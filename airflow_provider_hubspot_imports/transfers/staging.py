"""The staged files of one task instance and their manifest, where every try finds them.

Layout under ``<staging_path>/<dag_id>.<task_id>.<key>/``: ``part-00001.csv``... (the query's rows,
split), ``manifest.json`` (written once, after the last file is complete: without it the staging
is incomplete and is done again), and ``part-00001.started.json`` (the import a part became,
written once when HubSpot accepted it). Nothing is ever rewritten, so a kill at any moment leaves
either a complete record or none.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_hubspot_imports.errors import HubSpotInputError
from airflow_provider_hubspot_imports.hooks.upload import file_part
from airflow_provider_hubspot_imports.transfers.csvfiles import CsvPartWriter, FileLimits

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1


class StagingError(HubSpotInputError):
    """The staging location cannot be written (or read): raised before anything is imported."""


@dataclass(frozen=True)
class StagedFile:
    name: str
    rows: int
    bytes: int


@dataclass(frozen=True)
class Manifest:
    """A complete staging: the header (HubSpot property names), the files, and what the query saw."""

    header: list[str]
    columns: list[str]
    files: list[StagedFile]
    watermark: Any = None
    source: str = ""  # what the files were made from (`SqlToHubSpotImportOperator._source_digest`)

    @property
    def rows(self) -> int:
        return sum(file.rows for file in self.files)

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": MANIFEST_VERSION,
                "header": self.header,
                "columns": self.columns,
                "files": [vars(file) for file in self.files],
                "watermark": self.watermark,
                "source": self.source,
            },
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str) -> Manifest | None:
        """None for a manifest cut short by a kill, or of another layout: the staging is redone."""
        try:
            data = json.loads(text)
            if data.get("version") != MANIFEST_VERSION:
                return None
            files = [StagedFile(str(f["name"]), int(f["rows"]), int(f["bytes"])) for f in data["files"]]
            return cls(
                list(data["header"]),
                list(data["columns"]),
                files,
                data.get("watermark"),
                str(data.get("source", "")),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return None


class Staging:
    """One task instance's staging folder (an ObjectStoragePath)."""

    def __init__(self, folder: Any) -> None:
        self.folder = folder

    @classmethod
    def for_task(cls, base: Any, dag_id: str, task_id: str, key_digest: str) -> Staging:
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{dag_id}.{task_id}")[:120]
        return cls(base / f"{safe}.{key_digest}")

    def __str__(self) -> str:
        return str(self.folder)

    # ---- reading what an earlier try left -------------------------------------------------------

    def manifest(self) -> Manifest | None:
        path = self.folder / MANIFEST
        try:
            if not path.exists():
                return None
            return Manifest.from_json(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise StagingError(f"Cannot read the staging manifest {path}: {error}.") from error

    def check_files(self, manifest: Manifest) -> str | None:
        """Why a complete staging's files cannot be used (missing, or changed size), or None."""
        for file in manifest.files:
            path = self.folder / file.name
            try:
                size = file_part(path).size
            except HubSpotInputError:
                return f"{path} is missing or unreadable"
            if size != file.bytes:
                return f"{path} is {size} bytes, the manifest says {file.bytes}"
        return None

    def started_import(self, part: int) -> dict[str, Any] | None:
        """The import part `part` became, as recorded when HubSpot accepted it (None: not recorded)."""
        path = self.folder / _started_name(part)
        try:
            if not path.exists():
                return None
            value = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:  # cut short by a kill: the key lookup decides
            return None
        return value if isinstance(value, dict) and value.get("import_id") else None

    # ---- writing ----------------------------------------------------------------------------------

    def prepare(self) -> None:
        """An empty, writable folder: leftovers of an incomplete staging removed, a probe written
        and removed. An unwritable location fails here, before the query runs."""
        probe = self.folder / ".write-probe"
        try:
            if self.folder.exists():
                for child in self.folder.iterdir():
                    child.unlink()
            self.folder.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"probe")
            probe.unlink()
        except OSError as error:
            raise StagingError(
                f"The staging location {self.folder} is not writable ({error}). Pass a staging_path "
                f"this worker can write to; nothing was imported."
            ) from error

    def stage(
        self,
        header: Sequence[str],
        columns: Sequence[str],
        fill: Callable[[CsvPartWriter], None],
        limits: FileLimits,
        watermark_of: Any = None,
        source: str = "",
    ) -> Manifest:
        """Part files within `limits`, written by `fill` (rows or CSV records), then the manifest."""
        writer = CsvPartWriter(self.folder, header, limits)
        try:
            with writer:
                fill(writer)
        except OSError as error:
            raise StagingError(
                f"Writing the staged files to {self.folder} failed ({error}): is the location full or "
                f"read-only? Nothing was imported; free space or pass another staging_path."
            ) from error
        files = [StagedFile(name, rows, size) for name, rows, size in writer.files]
        manifest = Manifest(
            list(header), list(columns), files, watermark_of() if watermark_of else None, source
        )
        try:
            (self.folder / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
        except OSError as error:
            raise StagingError(f"Writing the staging manifest to {self.folder} failed ({error}).") from error
        return manifest

    def record_started(self, part: int, import_id: str, key_digest: str) -> None:
        path = self.folder / _started_name(part)
        path.write_text(json.dumps({"import_id": str(import_id), "start_key": key_digest}), encoding="utf-8")

    def file(self, name: str) -> Any:
        return self.folder / name

    def remove(self) -> None:
        """Remove the staged files, the manifest, the records and the folder."""
        if not self.folder.exists():
            return
        for child in self.folder.iterdir():
            child.unlink()
        with contextlib.suppress(OSError, NotImplementedError):  # object storage has no folders
            self.folder.rmdir()


def _started_name(part: int) -> str:
    return f"part-{part:05d}.started.json"
