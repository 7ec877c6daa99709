"""Detail rows on disk as NDJSON, one file per table, ready for a bulk load (both adapters).

A 10,000-point stream is ~10,000 rows: they are encoded one by one straight into a
temporary file (``staging.encode_line``), never copied into a second list of rows, and
the warehouse reads the file in one bulk step (DuckDB ``read_json`` with explicit types,
a BigQuery load job). Activities set aside by ``detail_check`` get one ``quarantine``
record each (the reason names the table and column, ``raw`` holds the row that did not
fit) instead of rows.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from nunis_ingest.adapters.warehouses import tempfiles
from nunis_ingest.adapters.warehouses.detail_check import Checked
from nunis_ingest.adapters.warehouses.quarantine import REASON_MAX, _json_text
from nunis_ingest.adapters.warehouses.staging import encode_line
from nunis_ingest.core.transform import repair_text
from nunis_ingest.ports import DetailRows


def _write_lines(fh: IO[bytes], rows: Sequence[Mapping[str, Any]], prefix: bytes = b"") -> None:
    """One NDJSON line per row, written as it is encoded. Lines are not collected: orjson
    returns each line in a buffer of ~8 KB whatever its length, so 10,000 lines held at
    once would take ~80 MB for ~3 MB of text. With ``prefix`` (``{"key":"value",``) each
    line starts with that member instead of its own opening brace."""
    write = fh.write
    try:
        if prefix:
            for row in rows:
                write(prefix)
                write(memoryview(encode_line(row))[1:])
        else:
            for row in rows:
                write(encode_line(row))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"a detail row is not JSON-ready: {exc}") from exc


def stage_rows(rows: Sequence[Mapping[str, Any]], directory: Path | None = None) -> Path:
    """``rows`` in a new NDJSON file; the caller deletes it."""
    fd, path = tempfiles.create("nunis-details-", directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            _write_lines(fh, rows)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def quarantine_records(athlete_id: int, checked: Checked) -> list[dict[str, Any]]:
    """One ``schema.QUARANTINE`` record per activity set aside."""
    now = datetime.now(UTC).isoformat()
    out = []
    for activity_id, (reason, row) in sorted(checked.set_aside.items()):
        run_id = row.get("run_id")
        out.append(
            {
                "athlete_id": athlete_id,
                "activity_id": activity_id,
                "run_id": run_id if isinstance(run_id, str) else "unknown",
                "reason": repair_text(reason)[:REASON_MAX],
                "raw": _json_text(dict(row)),
                "quarantined_at": now,
            }
        )
    return out


@contextlib.contextmanager
def staged_tables(
    write: DetailRows, checked: Checked, directory: Path | None = None
) -> Iterator[Iterator[tuple[str, Path | None, int]]]:
    """Yield ``(table, file or None when it has no rows, row count)`` per table in write
    order, one file at a time (each deleted before the next is written)."""
    live: list[Path] = []

    def tables() -> Iterator[tuple[str, Path | None, int]]:
        for name in checked.tables:
            rows = checked.rows(write, name)
            if not rows:
                yield name, None, 0
                continue
            path = stage_rows(rows, directory)
            live.append(path)
            try:
                yield name, path, len(rows)
            finally:
                path.unlink(missing_ok=True)

    try:
        yield tables()
    finally:
        for path in live:
            path.unlink(missing_ok=True)


TABLE_COLUMN = "_table"
"""The column of a combined staging file that names each row's table."""


def stage_combined(
    write: DetailRows, checked: Checked, directory: Path | None = None
) -> tuple[Path, dict[str, int]]:
    """Every table's rows in one NDJSON file, each line tagged with its table in
    ``TABLE_COLUMN``; returns the path (the caller deletes it) and rows per table.

    The tag is spliced into the encoded bytes (``{"_table":"…",`` + the row's JSON
    without its opening brace), so no row is copied to add a key.
    """
    fd, path = tempfiles.create("nunis-details-", directory)
    written: dict[str, int] = {}
    try:
        with os.fdopen(fd, "wb") as fh:
            for table in checked.tables:
                rows = checked.rows(write, table)
                tag = b'{"' + TABLE_COLUMN.encode() + b'":"' + table.encode() + b'",'
                _write_lines(fh, rows, tag)
                written[table] = len(rows)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, written
