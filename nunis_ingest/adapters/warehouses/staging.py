"""Stage warehouse rows in a temporary NDJSON file, shared by the DuckDB and BigQuery adapters.

Why a file: a full sync of a long-time athlete stages tens of thousands of rows; writing
each page to disk as it arrives keeps memory flat, and both warehouses bulk-load
newline-delimited JSON in one step (DuckDB ``read_json``, a BigQuery load job), which is
far faster than row-by-row inserts.

Why duplicates are removed here: when Strava's listing shifts between pages, one
activity can arrive twice in one run. Both a DuckDB upsert and a BigQuery ``MERGE``
fail when two source rows match one target row, so the stage keeps only the *last*
row per key (the newer view of the activity). It remembers each key's last line number
(a small dict, not the rows) and, only if duplicates were seen, rewrites the file once
on ``close``.

Rows must already be JSON-ready (schema.py's encoding). The file is always valid UTF-8:
a lone surrogate left in a string (``transform`` repairs them, this is the safety net) is
written as U+FFFD, since both warehouses' JSON readers refuse invalid UTF-8.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import orjson

from nunis_ingest.adapters.warehouses import tempfiles
from nunis_ingest.core.transform import repair_text

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
"""The fallback for what orjson refuses (integers beyond 64 bits, lone surrogates)."""


def encode_line(row: Mapping[str, Any]) -> bytes:
    """One NDJSON line (with its newline) for ``row``, as valid UTF-8.

    orjson writes the same compact JSON as the standard library about ten times faster
    (a full sync encodes tens of thousands of rows); a row it refuses, such as a ``raw``
    holding Strava's oversized ``upload_id``, goes through the standard library, with any
    lone surrogate replaced by U+FFFD and NaN or infinities written as null (as orjson
    does). Raises ``TypeError``/``ValueError`` for a row that
    is not JSON-ready.
    """
    try:
        return orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE)
    except TypeError:
        try:
            text = _ENCODER.encode(row)
        except ValueError:  # NaN or an infinity: null, as orjson writes them
            text = _ENCODER.encode(_finite(row))
    try:
        return (text + "\n").encode("utf-8")
    except UnicodeEncodeError:
        return (repair_text(text) + "\n").encode("utf-8")


class NdjsonStage:
    """An append-only NDJSON file of rows, de-duplicated by ``key`` (last row wins).

    ``add`` rows, then ``close`` (which finishes de-duplication) and load ``path``;
    ``cleanup`` deletes the file. Both are idempotent. ``key=None`` keeps every row.
    """

    def __init__(self, *, key: str | None = "id", directory: Path | None = None) -> None:
        fd, self.path = tempfiles.create("nunis-stage-", directory)
        self.key = key
        self._file: IO[bytes] | None = os.fdopen(fd, "wb")
        self._lines = 0
        self._last_line: dict[Any, int] = {}

    @property
    def count(self) -> int:
        """Rows the loaded file will hold (distinct keys when a key is set)."""
        return len(self._last_line) if self.key is not None else self._lines

    @property
    def has_duplicates(self) -> bool:
        return self.key is not None and len(self._last_line) != self._lines

    def add(self, rows: Iterable[Mapping[str, Any]], *, reject: Reject | None = None) -> None:
        """Append rows. A row that is not JSON-ready raises ``TypeError``/``ValueError``
        (nothing of the call is written), or, with ``reject``, is passed to
        ``reject(row, reason)`` and skipped."""
        if self._file is None:
            raise RuntimeError(f"stage {self.path} is closed; rows can no longer be added")
        batch = list(rows)
        try:
            lines = [encode_line(row) for row in batch]  # encode all before bookkeeping
        except (TypeError, ValueError):
            if reject is None:
                raise
            batch, lines = _encodable(batch, reject)
        data = b"".join(lines)
        self._file.write(data)
        if self.key is None:
            self._lines += len(batch)
            return
        key, last, line = self.key, self._last_line, self._lines
        for row in batch:
            value = row.get(key)
            last[value if type(value) is int else _hashable(value)] = line
            line += 1
        self._lines = line

    def add_lines(self, keys: Sequence[Any], data: bytes) -> None:
        """Append ready NDJSON ``data`` holding one line per key of ``keys``, in order."""
        if self._file is None:
            raise RuntimeError(f"stage {self.path} is closed; rows can no longer be added")
        self._file.write(data)
        if self.key is None:
            self._lines += len(keys)
            return
        last, line = self._last_line, self._lines
        for key in keys:
            last[key] = line
            line += 1
        self._lines = line

    def close(self) -> Path:
        """Flush, drop superseded duplicates, and return the path ready to load."""
        if self._file is not None:
            self._file.close()
            self._file = None
            if self.has_duplicates:
                self._rewrite_last_only()
        return self.path

    def cleanup(self) -> None:
        """Close and delete the file."""
        if self._file is not None:
            self._file.close()
            self._file = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def __enter__(self) -> NdjsonStage:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()

    def _rewrite_last_only(self) -> None:
        keep = set(self._last_line.values())
        fd, path = tempfiles.create("nunis-stage-", self.path.parent)
        name = str(path)
        try:
            with (
                open(self.path, "rb") as src,
                os.fdopen(fd, "wb") as dst,
            ):
                for number, line in enumerate(src):
                    if number in keep:
                        dst.write(line)
            os.replace(name, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)
            raise
        self._lines = len(keep)


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by ``None``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


Reject = Callable[[Mapping[str, Any], str], None]
"""Receives a row that could not be staged, and why."""


def _encodable(
    rows: list[Mapping[str, Any]], reject: Reject
) -> tuple[list[Mapping[str, Any]], list[bytes]]:
    """The rows that encode, with their lines; the others go to ``reject``."""
    kept, lines = [], []
    for row in rows:
        try:
            line = encode_line(row)
        except (TypeError, ValueError) as exc:
            reject(row, f"not JSON-ready: {exc}")
            continue
        kept.append(row)
        lines.append(line)
    return kept, lines


def _hashable(value: Any) -> Any:
    """Keys are normally ints; tolerate odd values (a bad row fails later, at load)."""
    try:
        hash(value)
    except TypeError:
        return json.dumps(value, sort_keys=True)
    return value
