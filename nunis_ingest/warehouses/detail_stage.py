"""Detail rows on disk as NDJSON, one file per table, ready for a bulk load (both adapters).

A 10,000-point stream is ~10,000 rows: they are encoded in chunks straight into a
temporary file (``staging.NdjsonStage``), never copied into a second list of rows, and
the warehouse reads the file in one bulk step (DuckDB ``read_json`` with explicit types,
a BigQuery load job). Activities set aside by ``detail_check`` get one ``quarantine``
record each (the reason names the table and column, ``raw`` holds the row that did not
fit) instead of rows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nunis_ingest.ports import DetailRows
from nunis_ingest.transform import repair_text
from nunis_ingest.warehouses.detail_check import Checked
from nunis_ingest.warehouses.quarantine import REASON_MAX, _json_text
from nunis_ingest.warehouses.staging import NdjsonStage

CHUNK = 5_000
"""Rows encoded per write: bounds the encoded bytes held at once (~1 MB of streams)."""


def stage_rows(rows: Sequence[Mapping[str, Any]], directory: Path | None = None) -> NdjsonStage:
    """``rows`` in a closed NDJSON file (every row kept; keys were checked already)."""
    stage = NdjsonStage(key=None, directory=directory)
    try:
        for start in range(0, len(rows), CHUNK):
            stage.add(rows[start : start + CHUNK])
        stage.close()
    except (TypeError, ValueError) as exc:
        stage.cleanup()
        raise ValueError(f"a detail row is not JSON-ready: {exc}") from exc
    except BaseException:
        stage.cleanup()
        raise
    return stage


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
) -> Iterator[Iterator[tuple[str, NdjsonStage | None, int]]]:
    """Yield ``(table, stage or None when it has no rows, row count)`` per table in write
    order, one file at a time (each deleted before the next is written)."""
    live: list[NdjsonStage] = []

    def tables() -> Iterator[tuple[str, NdjsonStage | None, int]]:
        for name in checked.tables:
            rows = checked.rows(write, name)
            if not rows:
                yield name, None, 0
                continue
            stage = stage_rows(rows, directory)
            live.append(stage)
            try:
                yield name, stage, len(rows)
            finally:
                stage.cleanup()

    try:
        yield tables()
    finally:
        for stage in live:
            stage.cleanup()
