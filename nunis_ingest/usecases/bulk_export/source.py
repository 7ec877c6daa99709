"""Where an export is read from: a zip, an unzipped folder, or a ``gs://`` zip object.

Streamed and bounded. ``zipfile`` reads the central directory (its entry count checked
first against ``limits.MAX_MEMBERS``) and then each member on demand; a Cloud Storage
object is read through ``Blob.open("rb")`` (a seekable, chunked reader), so the whole zip
is never in memory. Every member is opened as a ``files.Bounded`` stream (at most
``limits.MAX_FILE_BYTES``, and the export's inflate budget). A zip inside the export
(Garmin's part zips) is copied to a temporary file of at most
``limits.MAX_NESTED_ZIP_BYTES`` and opened in turn, at most ``limits.MAX_NESTING`` deep.

Nothing is ever written where a member's name points: names only look files up. A name
with a ``..`` part or a leading ``/``, a symlink (in a zip or in the folder) and anything
that is not a regular file are refused, each listed as a problem.
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from nunis_ingest.usecases.bulk_export import limits
from nunis_ingest.usecases.bulk_export.streams import Bounded, Budget
from nunis_ingest.usecases.bulk_export.track import UnreadableFile

CSV_NAME = "activities.csv"
PROFILE_NAME = "profile.csv"
ACTIVITIES_FOLDER = "activities"
NOT_ACTIVITY_FOLDERS = frozenset({"routes", "media", "clubs", "segments"})
"""Folders of a Strava export beside ``activities/`` that hold no recordings: planned
routes (GPX, some with times), photos, club images (a real export's subfolders are
``activities``, ``clubs``, ``media`` and ``routes``; segments come as ``segments.csv``, a
``segments/`` folder is skipped all the same). A file under one of them, at any depth, is
never read as an activity."""


def in_not_activity_folder(name: str) -> bool:
    """``name`` (a path in the export) lies in a ``NOT_ACTIVITY_FOLDERS`` folder."""
    folders = name.replace("\\", "/").split("/")[:-1]
    return any(part.casefold() in NOT_ACTIVITY_FOLDERS for part in folders)


class BadExport(ValueError):
    """The export as a whole cannot be read (not a zip, too many entries, ...)."""


@dataclass(frozen=True)
class Entry:
    name: str
    """Its path in the export; inside a nested zip: ``outer.zip/inner/path``."""
    opener: Callable[[], IO[bytes]] | None
    refused: str = ""
    """Why it is not read (a symlink, an unsafe name), when it is not."""
    is_zip: bool = False


def _unsafe(name: str) -> str:
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
        return "unsafe path in the export (absolute or with '..'): not read"
    return ""


class _Zip:
    def __init__(self, handle: IO[bytes], label: str, prefix: str = "") -> None:
        self.label, self.prefix = label, prefix
        try:
            ecd = zipfile._EndRecData(handle)  # type: ignore[attr-defined]
            if ecd and ecd[zipfile._ECD_ENTRIES_TOTAL] > limits.MAX_MEMBERS:  # type: ignore[attr-defined]
                raise BadExport(
                    f"{label} lists {ecd[zipfile._ECD_ENTRIES_TOTAL]:,} entries; "  # type: ignore[attr-defined]
                    f"the limit is {limits.MAX_MEMBERS:,}"
                )
            handle.seek(0)
            self.zip = zipfile.ZipFile(handle)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
            if isinstance(error, BadExport):
                raise
            raise BadExport(f"{label} is not a readable zip file ({error})") from None
        self.infos = {i.filename: i for i in self.zip.infolist() if not i.is_dir()}

    def entries(self) -> Iterator[Entry]:
        for name, info in self.infos.items():
            yield self._entry(name, info)

    def find(self, name: str) -> Entry | None:
        info = self.infos.get(name) or self.infos.get(name.replace("/", "\\"))
        return None if info is None else self._entry(name, info)

    def _entry(self, name: str, info: zipfile.ZipInfo) -> Entry:
        shown = self.prefix + name
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            return Entry(shown, None, "a symlink inside the zip: not followed")
        refused = _unsafe(name)
        if refused:
            return Entry(shown, None, refused)
        return Entry(
            shown,
            lambda: self.zip.open(info),
            is_zip=name.casefold().endswith(".zip"),
        )

    def close(self) -> None:
        self.zip.close()


class _Folder:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.resolved = root.resolve()
        self.prefix = ""

    def entries(self) -> Iterator[Entry]:
        for folder, dirs, files in os.walk(self.root, followlinks=False):
            dirs.sort()
            for name in sorted(files):
                rel = Path(folder, name).relative_to(self.root).as_posix()
                yield self._entry(rel)

    def find(self, name: str) -> Entry | None:
        if _unsafe(name):
            return Entry(name, None, _unsafe(name))
        path = self.root / name
        if not os.path.lexists(path):
            return None
        return self._entry(name)

    def _entry(self, name: str) -> Entry:
        path = self.root / name
        try:
            if path.is_symlink():
                return Entry(name, None, "a symlink in the folder: not followed")
            resolved = path.resolve()
            if not resolved.is_relative_to(self.resolved):
                return Entry(name, None, "outside the export folder: not read")
            if not stat.S_ISREG(os.stat(resolved).st_mode):
                return Entry(name, None, "not a regular file: not read")
        except OSError as error:
            return Entry(name, None, f"cannot read it: {error.strerror or error}")
        return Entry(name, lambda: resolved.open("rb"), is_zip=name.casefold().endswith(".zip"))

    def close(self) -> None:
        pass


class Export:
    """An opened export: its entries, bounded readers, and nested zips."""

    def __init__(self, top: _Zip | _Folder, label: str, size: int) -> None:
        self.top, self.label, self.size = top, label, size
        self.budget = Budget(limits.inflate_budget(size))
        self._nested: list[_Zip] = []
        self._temps: list[IO[bytes]] = []
        self.csv = self._shallowest(CSV_NAME)
        self.base = "" if self.csv is None else self.csv.name[: -len(CSV_NAME)]
        self.profile = self.top.find(self.base + PROFILE_NAME)

    def _shallowest(self, base_name: str) -> Entry | None:
        found = [e for e in self.top.entries() if e.name.rsplit("/", 1)[-1] == base_name]
        return min(found, key=lambda e: (e.name.count("/"), e.name)) if found else None

    def strava_marks(self) -> list[str]:
        """What makes an export without ``activities.csv`` look like a Strava export: a
        ``profile.csv``, an ``activities/`` folder (at any depth of the export itself,
        not inside the zips it holds)."""
        marks: list[str] = []
        for entry in self.top.entries():
            parts = entry.name.replace("\\", "/").split("/")
            if parts[-1].casefold() == PROFILE_NAME and PROFILE_NAME not in marks:
                marks.append(PROFILE_NAME)
            folder = ACTIVITIES_FOLDER + "/"
            if folder not in marks and ACTIVITIES_FOLDER in (p.casefold() for p in parts[:-1]):
                marks.append(folder)
            if len(marks) == 2:
                break
        return marks

    def lookup(self, filename: str) -> Entry | None:
        """The file a CSV row names (relative to the folder of ``activities.csv``; a name
        written with backslashes, as on Windows, finds the file too)."""
        name = filename.strip()
        found = self.top.find(self.base + name)
        if found is None and "\\" in name:
            found = self.top.find(self.base + name.replace("\\", "/"))
        return found

    def open(self, entry: Entry, *, budgeted: bool = True) -> IO[bytes]:
        """``entry``'s bytes as a bounded, buffered stream. ``budgeted=False`` (only for
        ``activities.csv``, read alongside the files): bounded by ``limits.MAX_FILE_BYTES``
        alone, so activity files that spend the export's inflate budget never cut the
        rows short."""
        if entry.opener is None:
            raise UnreadableFile(entry.refused or "not readable")
        raw = entry.opener()
        budget = self.budget if budgeted else None
        return io.BufferedReader(Bounded(raw, limits.MAX_FILE_BYTES, budget, "the file"))

    def walk(self, depth: int = 0, container: _Zip | _Folder | None = None) -> Iterator[Entry]:
        """Every file, nested zips opened in place (their entries follow, named
        ``outer.zip/inner``); a zip nested too deep is one refused entry."""
        for entry in (container or self.top).entries():
            if not entry.is_zip or entry.opener is None:
                yield entry
                continue
            if depth >= limits.MAX_NESTING:
                yield Entry(entry.name, None, "a zip nested too deep: not opened")
                continue
            try:
                inner = self._open_nested(entry)
            except Exception as error:  # a damaged or oversized part: one problem, not fatal
                why = (
                    str(error)
                    if isinstance(error, UnreadableFile | BadExport)
                    else (f"{type(error).__name__}: {error}")
                )
                yield Entry(entry.name, None, why[:300])
                continue
            try:
                yield from self.walk(depth + 1, inner)
            finally:  # one part on disk at a time
                inner.close()
                self._temps.pop().close()

    def _open_nested(self, entry: Entry) -> _Zip:
        temp = tempfile.TemporaryFile(prefix="nunis-export-")  # noqa: SIM115 - closed in close()
        self._temps.append(temp)
        try:
            assert entry.opener is not None
            with entry.opener() as raw:
                bounded = Bounded(raw, limits.MAX_NESTED_ZIP_BYTES, self.budget, "the nested zip")
                shutil.copyfileobj(io.BufferedReader(bounded), temp, 1024 * 1024)
            temp.seek(0)
            inner = _Zip(temp, entry.name, prefix=entry.name + "/")
        except BaseException:
            self._temps.pop().close()
            raise
        self._nested.append(inner)
        return inner

    def close(self) -> None:
        for z in self._nested:
            z.close()
        for t in self._temps:
            t.close()
        self.top.close()


class _Closing:
    """``open_source``'s context manager."""

    def __init__(self, build: Callable[[], tuple[Export, list[Any]]]) -> None:
        self.build = build
        self.handles: list[Any] = []

    def __enter__(self) -> Export:
        self.export, self.handles = self.build()
        return self.export

    def __exit__(self, *_: object) -> None:
        self.export.close()
        for handle in self.handles:
            handle.close()


def open_source(path: str, storage_client: Any = None) -> _Closing:
    """An export at ``path``: a ``.zip``, a folder, or ``gs://bucket/object.zip``.
    ``FileNotFoundError`` when there is nothing there; ``BadExport`` when it is not a zip."""

    def build() -> tuple[Export, list[Any]]:
        if path.startswith("gs://"):
            return _gcs(path, storage_client)
        local = Path(path)
        if local.is_dir():
            return Export(_Folder(local), local.name, _folder_size(local)), []
        if not local.exists():
            raise FileNotFoundError(2, "no such file or folder", path)
        handle = local.open("rb")
        try:
            return Export(_Zip(handle, local.name), local.name, local.stat().st_size), [handle]
        except BaseException:
            handle.close()
            raise

    return _Closing(build)


def _gcs(path: str, client: Any) -> tuple[Export, list[Any]]:
    bucket, _, name = path[5:].partition("/")
    if not bucket or not name:
        raise FileNotFoundError(2, "name the zip object (gs://bucket/path/export.zip)", path)
    from google.api_core import exceptions as gexc

    if client is None:
        from google.cloud import storage

        client = storage.Client()
    try:
        blob = client.bucket(bucket).get_blob(name)
    except gexc.NotFound:
        blob = None
    except gexc.Forbidden as refused:
        raise BadExport(f"{path}: Cloud Storage refused access ({refused.message})") from None
    if blob is None:
        raise FileNotFoundError(2, "no such object in Cloud Storage", path)
    handle = blob.open("rb", chunk_size=8 * 1024 * 1024)
    try:
        return Export(_Zip(handle, name.rsplit("/", 1)[-1]), path, int(blob.size or 0)), [handle]
    except BaseException:
        handle.close()
        raise


def _folder_size(root: Path) -> int:
    total = 0
    for folder, _dirs, files in os.walk(root, followlinks=False):
        for name in files:
            try:
                st = os.lstat(os.path.join(folder, name))
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                total += st.st_size
    return total
