"""Where an export is read from: a zip file, an unzipped folder, or a ``gs://`` zip object.

Streamed: ``zipfile`` reads the central directory and then each member on demand, and a
Cloud Storage object is read through ``Blob.open("rb")`` (a seekable, chunked reader), so
the whole zip is never in memory. Member names are used only to look files up, never to
write anywhere.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, Protocol

CSV_NAME = "activities.csv"


class ExportSource(Protocol):
    def csv_lines(self) -> Iterator[str]: ...

    def read(self, name: str) -> bytes | None:
        """The bytes of ``name`` (as the CSV's ``Filename`` column spells it), or None."""
        ...


class NoActivitiesCsv(FileNotFoundError):
    pass


class FolderSource:
    def __init__(self, root: Path) -> None:
        self.root = root
        if not (root / CSV_NAME).is_file():
            raise NoActivitiesCsv(f"no {CSV_NAME} in the folder {root.name!r}")

    def csv_lines(self) -> Iterator[str]:
        with (self.root / CSV_NAME).open(encoding="utf-8-sig", newline="") as handle:
            yield from handle

    def read(self, name: str) -> bytes | None:
        path = (self.root / name).resolve()
        if not path.is_relative_to(self.root.resolve()) or not path.is_file():
            return None
        return path.read_bytes()


class ZipSource:
    def __init__(self, handle: BinaryIO) -> None:
        self.zip = zipfile.ZipFile(handle)
        names = self.zip.namelist()
        csvs = sorted((n for n in names if n.rsplit("/", 1)[-1] == CSV_NAME), key=len)
        if not csvs:
            raise NoActivitiesCsv(f"no {CSV_NAME} in the zip")
        self.csv = csvs[0]
        self.prefix = self.csv[: -len(CSV_NAME)]
        self.names = set(names)

    def csv_lines(self) -> Iterator[str]:
        with self.zip.open(self.csv) as raw:
            yield from io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")

    def read(self, name: str) -> bytes | None:
        member = self.prefix + name
        if member not in self.names:
            return None
        with self.zip.open(member) as raw:
            return raw.read()


@contextmanager
def open_source(path: str, storage_client: Any = None) -> Iterator[ExportSource]:
    """An export at ``path``: a ``.zip``, a folder, or ``gs://bucket/object.zip``."""
    if path.startswith("gs://"):
        bucket, _, name = path[5:].partition("/")
        if storage_client is None:
            from google.cloud import storage

            storage_client = storage.Client()
        blob = storage_client.bucket(bucket).blob(name)
        with blob.open("rb", chunk_size=8 * 1024 * 1024) as handle:
            yield ZipSource(handle)
        return
    local = Path(path)
    if local.is_dir():
        yield FolderSource(local)
        return
    with local.open("rb") as handle:
        yield ZipSource(handle)
