"""The stage of one batch's activity rows, and the rows it sets aside (both adapters).

``add`` checks every row against the schema (``validate.check_row``) before it is
staged: a row the warehouse would reject for its content goes to a second, append-only
NDJSON file of ``schema.QUARANTINE`` records instead, and the batch goes on. The adapter
loads that file into the ``quarantine`` table with the commit and counts the rows in
``WriteResult.quarantined``. Ids set aside are remembered (a small set of ints) so that a
full sync never deletes the stored version of an activity that arrived unloadable: it
stays as it was until a valid version arrives, which then loads normally. The
``quarantine`` table is a log: its rows stay as history.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nunis_ingest.adapters.warehouses import tempfiles
from nunis_ingest.adapters.warehouses.staging import NdjsonStage
from nunis_ingest.adapters.warehouses.validate import INT64_MAX, check_row, unknown_columns
from nunis_ingest.core import schema
from nunis_ingest.core.transform import repair_text, to_row
from nunis_ingest.core.transform_engine import engine_line
from nunis_ingest.ports import Listed

REASON_MAX = 500
MAX_ROW_BYTES = schema.MAX_ROW_JSON_BYTES
RAW_KEPT_BYTES = 64 * 1024
"""The most of a set-aside row's JSON the quarantine record keeps."""


class ActivityStage:
    """Activity rows of one athlete and run on disk, plus the quarantined ones."""

    def __init__(
        self,
        athlete_id: int,
        run_id: str,
        *,
        directory: Path | None = None,
        engine_lines: bool = False,
    ) -> None:
        self.athlete_id = int(athlete_id)
        self.engine_lines = engine_lines
        """Whether the warehouse reads ``transform_engine`` lines (DuckDB does)."""
        self.run_id = run_id
        self.directory = directory
        tempfiles.sweep(directory)  # what a killed run left behind
        self.rows = NdjsonStage(key=schema.ACTIVITY_KEY, directory=directory)
        self.quarantine: NdjsonStage | None = None  # created with the first row set aside
        self.quarantined_ids: set[int] = set()

    @property
    def count(self) -> int:
        """Distinct activity rows staged."""
        return self.rows.count

    @property
    def quarantined(self) -> int:
        return self.quarantine.count if self.quarantine is not None else 0

    def add(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Stage the rows that fit; set the others aside. ``ValueError`` for a column
        ``activities`` does not have (a caller's bug: nothing of the call is staged)."""
        for row in rows:
            extra = unknown_columns(row)
            if extra:
                raise ValueError(f"activities has no column(s) {extra}; see schema.ACTIVITIES")
        good = []
        for row in rows:
            raw = row.get("raw")
            size = _utf8_size(raw) if isinstance(raw, str) else 0
            reason = _too_large(size) or check_row(row)
            if reason is None:
                good.append(row)
            else:
                self.set_aside(row, reason)
        self.rows.add(good, reject=self.set_aside)

    def add_activities(self, items: Sequence[Listed], seen_at: datetime) -> None:
        """Stage listed activities: as lines the warehouse types itself where that is
        exact (``transform_engine``), else as rows built by ``transform.to_row`` (checked
        like any row). Order is kept, so the last version of an id still wins."""
        if not self.engine_lines:
            self.add(
                [
                    to_row(
                        a, athlete_id=self.athlete_id, run_id=self.run_id, seen_at=seen_at, digest=d
                    )
                    for _, d, a in items
                ]
            )
            return
        keys: list[int] = []
        lines: list[bytes] = []
        for activity_id, digest, activity in items:
            line = engine_line(activity, digest)
            if line is not None and (reason := _too_large(len(line))):
                self.set_aside({"id": activity_id}, reason)
                continue
            if line is not None:
                keys.append(activity_id)
                lines.append(line)
                continue
            if lines:
                self.rows.add_lines(keys, b"".join(lines))
                keys, lines = [], []
            row = to_row(
                activity,
                athlete_id=self.athlete_id,
                run_id=self.run_id,
                seen_at=seen_at,
                digest=digest,
            )
            self.add([row])
        if lines:
            self.rows.add_lines(keys, b"".join(lines))

    def set_aside(self, row: Mapping[str, Any], reason: str) -> None:
        """Write one quarantine record for ``row``."""
        if self.quarantine is None:
            self.quarantine = NdjsonStage(key=None, directory=self.directory)
        value = row.get("id")
        activity_id = value if type(value) is int and 1 <= value <= INT64_MAX else None
        if activity_id is not None:
            self.quarantined_ids.add(activity_id)
        record = {
            "athlete_id": self.athlete_id,
            "activity_id": activity_id,
            "run_id": self.run_id,
            "reason": repair_text(reason)[:REASON_MAX],
            "raw": _kept(_json_text(row.get("raw") if row.get("raw") is not None else row)),
            "quarantined_at": datetime.now(UTC).isoformat(),
        }
        self.quarantine.add([record])

    def close(self) -> None:
        self.rows.close()
        if self.quarantine is not None:
            self.quarantine.close()

    def cleanup(self) -> None:
        self.rows.cleanup()
        if self.quarantine is not None:
            self.quarantine.cleanup()


def _too_large(size: int) -> str | None:
    if size <= MAX_ROW_BYTES:
        return None
    return (
        f"the activity is {size / 2**20:.1f} MiB of JSON, more than the "
        f"{MAX_ROW_BYTES // 2**20} MiB a row may hold"
    )


def _utf8_size(text: str) -> int:
    """A size to hold against ``MAX_ROW_BYTES``: the UTF-8 byte count when ``text`` could
    exceed it, else its character count (a character is at most 4 bytes, so the row is
    under the limit either way): a normal row costs no encoded copy."""
    if len(text) * 4 <= MAX_ROW_BYTES:
        return len(text)
    return len(text.encode("utf-8", "surrogatepass"))


def _kept(text: str) -> str:
    """``text`` when small; else a small JSON note of its size (the archive keeps it all)."""
    if len(text) <= RAW_KEPT_BYTES:
        return text
    return json.dumps({"omitted_bytes": len(text), "head": text[:1024]})


def _json_text(value: Any) -> str:
    """``value`` as JSON text whatever it holds (NaN, sets, surrogates), for a STRING."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=repr)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return repair_text(text)
