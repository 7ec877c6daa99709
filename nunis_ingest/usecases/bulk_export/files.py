"""One activity file (``.fit``, ``.gpx``, ``.tcx``, each maybe ``.gz``) -> ``Track``.

Every layer is a bounded stream: the bytes a member or a ``.gz`` inflates to are counted
as they are read and the file is refused past ``limits.MAX_FILE_BYTES`` (and when the
export's inflate budget runs out), so a gzip bomb costs one 64 KB buffer, never its
inflated size. Anything that goes wrong inside one file, whatever it raises (``zlib.error``,
``EOFError``, ``gzip.BadGzipFile``, a FIT CRC, XML errors, ...), comes out as
``UnreadableFile`` with the reason: the caller lists it and goes on.
"""

from __future__ import annotations

import gzip
import io
import zlib
from typing import IO

from nunis_ingest.usecases.bulk_export.fit import parse_fit
from nunis_ingest.usecases.bulk_export.limits import MAX_ARCHIVE_BYTES as MAX_HELD_BYTES
from nunis_ingest.usecases.bulk_export.limits import MAX_FILE_BYTES
from nunis_ingest.usecases.bulk_export.streams import Bounded, Budget, Joined
from nunis_ingest.usecases.bulk_export.track import Track, UnreadableFile
from nunis_ingest.usecases.bulk_export.xmltrack import parse_gpx, parse_tcx

__all__ = ["Bounded", "Budget", "UnreadableFile", "kind_of", "parse_stream"]

KINDS = ("fit", "gpx", "tcx")


def kind_of(name: str) -> tuple[str | None, bool]:
    """(``fit``/``gpx``/``tcx`` or None, gzipped?) from a file name, any case."""
    lowered = name.casefold()
    gz = lowered.endswith(".gz")
    if gz:
        lowered = lowered[:-3]
    kind = lowered.rsplit(".", 1)[-1] if "." in lowered else ""
    return (kind if kind in KINDS else None), gz


def _fit(stream: IO[bytes], activities_only: bool) -> Track:
    """A FIT file up to ``MAX_HELD_BYTES`` is read whole (its CRC is then checked at a
    fraction of the decoder's cost); a larger one is decoded as a stream."""
    head = stream.read(MAX_HELD_BYTES + 1)
    if len(head) <= MAX_HELD_BYTES:
        return parse_fit(io.BytesIO(head), stop_unless_activity=activities_only, data=head)
    rest = io.BufferedReader(Joined(head, stream))
    return parse_fit(rest, stop_unless_activity=activities_only)


def parse_stream(
    name: str, raw: IO[bytes], budget: Budget | None = None, *, activities_only: bool = False
) -> Track:
    """The track of the file ``name`` read from ``raw`` (already bounded by its container).
    ``activities_only``: a FIT file that is not an activity stops after its ``file_id``."""
    kind, gz = kind_of(name)
    if kind is None:
        raise UnreadableFile(f"unknown file type: {name.rsplit('/', 1)[-1]!r:.80}")
    stream: IO[bytes] = raw
    if gz:
        inflated = gzip.GzipFile(fileobj=raw, mode="rb")
        stream = io.BufferedReader(Bounded(inflated, MAX_FILE_BYTES, budget, "the .gz"))
    try:
        if kind == "fit":
            return _fit(stream, activities_only)
        if kind == "gpx":
            return parse_gpx(stream)
        return parse_tcx(stream)
    except UnreadableFile as error:
        cause = error.__cause__
        if gz and isinstance(cause, zlib.error | EOFError | gzip.BadGzipFile):
            raise UnreadableFile(f"gzip: {type(cause).__name__}: {cause}"[:300]) from cause
        raise
    except Exception as error:  # one bad file must never stop an import
        raise UnreadableFile(f"{type(error).__name__}: {error}"[:300]) from error
