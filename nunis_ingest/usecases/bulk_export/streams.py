"""Bounded byte streams: what one input may make the import read or inflate.

``Bounded`` counts the bytes it passes and refuses to go past its limit (and the export's
``Budget``) with ``UnreadableFile``: a zip member or ``.gz`` that inflates to gigabytes
costs one buffer, never its inflated size. ``Joined`` puts bytes already read back in
front of the rest of a stream.
"""

from __future__ import annotations

import io
from typing import IO, Protocol

from nunis_ingest.usecases.bulk_export.track import UnreadableFile


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class Budget:
    """Bytes the whole import may still inflate (``limits.inflate_budget``)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.left = total

    def take(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise UnreadableFile(
                f"the export inflates past {self.total:,} bytes in all (a zip bomb?): "
                "this file and the rest were not read"
            )


class Bounded(io.RawIOBase):
    """A read-only stream that refuses to go past ``limit`` bytes (and counts them)."""

    def __init__(self, raw: Readable, limit: int, budget: Budget | None, what: str) -> None:
        self.raw, self.limit, self.budget, self.what = raw, limit, budget, what
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.raw.read(min(len(buffer), self.limit + 1 - self.count) or 1)
        n = len(data)
        self.count += n
        if self.count > self.limit:
            raise UnreadableFile(f"{self.what} inflates past {self.limit:,} bytes (refused)")
        if self.budget is not None:
            self.budget.take(n)
        buffer[:n] = data
        return n


class Joined(io.RawIOBase):
    """``head`` (bytes already read) then the rest of ``stream``."""

    def __init__(self, head: bytes, stream: IO[bytes]) -> None:
        self.head, self.stream = memoryview(head), stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.head:
            n = min(len(buffer), len(self.head))
            buffer[:n] = self.head[:n]
            self.head = self.head[n:]
            return n
        data = self.stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
