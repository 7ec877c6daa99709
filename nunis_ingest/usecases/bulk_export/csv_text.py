"""``activities.csv`` bytes -> text lines, whatever a spreadsheet did to the file.

Strava writes UTF-8 with commas. A file that went through a spreadsheet can come back as
UTF-16 with tabs (Excel's "Unicode text"), as Windows-1252 (Excel's "CSV"), with
semicolons (Excel in a decimal-comma locale), or with a stray byte that is not UTF-8.
None of that stops an import:

- a byte-order mark picks UTF-16 (LE or BE) or UTF-8; otherwise each line is decoded as
  UTF-8, and a line that is not UTF-8 as Windows-1252 (every byte decodes), counted in
  ``Lines.recoded`` so the importer can say so once;
- the delimiter is the one of ``,`` ``;`` and tab that the header line holds most of;
- a line longer than ``limits.MAX_CSV_LINE`` is cut there (the rest of it is skipped, never
  held) and its number is kept in ``Lines.overlong``: the row it belongs to is a bad row.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from typing import IO

from nunis_ingest.usecases.bulk_export.limits import MAX_CSV_LINE
from nunis_ingest.usecases.bulk_export.streams import Joined

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
DELIMITERS = (",", ";", "\t")


class Lines:
    """An iterator of text lines (each ending in its newline), bounded in length."""

    def __init__(self, raw: IO[bytes], limit: int = MAX_CSV_LINE) -> None:
        self.limit = limit
        self.encoding = "utf-8"
        self.recoded = 0
        """Lines that were not UTF-8 and were read as Windows-1252."""
        self.overlong: set[int] = set()
        """1-based numbers of the lines cut at ``limit``."""
        self.number = 0
        head = raw.read(4)
        for bom, encoding in _BOMS:
            if head.startswith(bom):
                self.encoding = encoding
                head = head[len(bom) :]
                break
        else:
            if len(head) >= 4 and head[1] == 0 and head[3] == 0 and head[0] and head[2]:
                self.encoding = "utf-16-le"  # "Unicode text" saved without its mark
        self._lines = self._read(Joined(head, raw))

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        return next(self._lines)

    def _read(self, raw: io.RawIOBase) -> Iterator[str]:
        if self.encoding.startswith("utf-16"):
            text = io.TextIOWrapper(
                io.BufferedReader(raw), encoding=self.encoding, errors="replace", newline=""
            )
            yield from self._bounded(text.readline)
            return
        yield from self._bounded(io.BufferedReader(raw).readline, binary=True)

    def _bounded(self, readline: object, *, binary: bool = False) -> Iterator[str]:
        read = readline  # (limit) -> str | bytes
        newline = b"\n" if binary else "\n"
        while True:
            line = read(self.limit + 1)  # type: ignore[operator]
            if not line:
                return
            self.number += 1
            if len(line) > self.limit and not line.endswith(newline):
                self.overlong.add(self.number)
                line = line[: self.limit]
                while True:  # skip the rest of this line, one bounded piece at a time
                    rest = read(self.limit)  # type: ignore[operator]
                    if not rest or rest.endswith(newline):
                        break
                line += newline
            yield self._decode(line) if binary else line

    def _decode(self, line: bytes) -> str:
        try:
            return line.decode("utf-8")
        except UnicodeDecodeError:
            self.recoded += 1
            return line.decode("cp1252", errors="replace")


def sniff_delimiter(header_line: str) -> str:
    """The delimiter the header line holds most of (a comma when none)."""
    counts = [(header_line.count(d), -i, d) for i, d in enumerate(DELIMITERS)]
    best = max(counts)
    return best[2] if best[0] else ","
