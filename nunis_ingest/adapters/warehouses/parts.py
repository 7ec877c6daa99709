"""Read a staged NDJSON file in bounded pieces, cut at line ends (for bounded uploads).

The BigQuery client uploads a file of 5 MB or more in chunks of 100 MB read into memory
at once; a full sync of 50,000 activities stages ~150 MB. Loading the file as several
windows of at most ``max_bytes`` each keeps the upload's memory bounded whatever N is.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

PART_BYTES = 24 * 2**20


def line_ranges(path: Path, max_bytes: int = PART_BYTES) -> list[tuple[int, int]]:
    """``(start, end)`` byte ranges covering the file, each ending at a line end and at
    most ``max_bytes`` long unless a single line is longer."""
    size = path.stat().st_size
    ranges: list[tuple[int, int]] = []
    start = 0
    with open(path, "rb") as fh:
        while start < size:
            end = size if size - start <= max_bytes else _cut(fh, start, start + max_bytes)
            ranges.append((start, end))
            start = end
    return ranges


def _cut(fh: io.BufferedReader, start: int, limit: int, block: int = 2**16) -> int:
    """Offset just after the last ``\\n`` in ``[start, limit)``, else after the next one."""
    at = limit
    while at > start:
        low = max(start, at - block)
        fh.seek(low)
        found = fh.read(at - low).rfind(b"\n")
        if found >= 0:
            return low + found + 1
        at = low
    fh.seek(limit)
    fh.readline()
    return fh.tell()


class FileWindow(io.RawIOBase):
    """A read-only, seekable view of ``[start, end)`` of a file, seen as a whole file."""

    def __init__(self, path: Path, start: int, end: int) -> None:
        super().__init__()
        self._fh = open(path, "rb")  # noqa: SIM115 (closed by close())
        self._start, self._end = start, end
        self._pos = 0
        self._fh.seek(start)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._end - self._start}
        self._pos = max(0, base[whence] + offset)
        self._fh.seek(self._start + self._pos)
        return self._pos

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        left = self._end - self._start - self._pos
        if left <= 0:
            return 0
        view = memoryview(buffer)[: min(len(buffer), left)]
        count = self._fh.readinto(view)
        self._pos += count
        return count

    def close(self) -> None:
        self._fh.close()
        super().close()
