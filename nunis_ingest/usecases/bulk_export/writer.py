"""Batched warehouse writes of an import, under the athlete's lease.

Rows gather until ``BATCH_ACTIVITIES`` activities or ``BATCH_POINTS`` stream points
(whichever comes first), then one flush: the lease is renewed first (so nothing is written
by a run that lost it), the ``activities`` rows are committed with ``keep_existing=True``
(a stored row, the API's above all, is never rewritten, whenever it was written), file
activities that Strava's copy replaces are deleted, and the laps and streams of the
batch go in one ``replace_details`` call per table. Memory is one batch, whatever the
export's size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import overload

from nunis_ingest.ports import DetailRows, Row, Warehouse
from nunis_ingest.usecases.bulk_export.report import ImportReport
from nunis_ingest.usecases.bulk_export.rows import StreamRows, lap_rows
from nunis_ingest.usecases.bulk_export.track import Track

BATCH_ACTIVITIES = 500
BATCH_POINTS = 20_000
LAPS, STREAMS = "activity_laps", "activity_streams"


@dataclass(frozen=True)
class Detail:
    activity_id: int
    track: Track
    start: str
    tables: tuple[str, ...]
    trail: dict[str, str]


class Chained(Sequence[Row]):
    """Several row sequences read as one, without copying them."""

    def __init__(self, parts: list[Sequence[Row]]) -> None:
        self.parts = parts

    def __len__(self) -> int:
        return sum(len(p) for p in self.parts)

    @overload
    def __getitem__(self, index: int) -> Row: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Row]: ...

    def __getitem__(self, index: int | slice) -> Row | Sequence[Row]:
        if isinstance(index, slice):
            return list(self)[index]
        if index < 0:
            index += len(self)
        for part in self.parts:
            if index < len(part):
                return part[index]
            index -= len(part)
        raise IndexError(index)

    def __iter__(self) -> Iterator[Row]:
        for part in self.parts:
            yield from part


@dataclass
class Writer:
    warehouse: Warehouse
    athlete_id: int
    run_id: str
    report: ImportReport
    renew: Callable[[], None]
    rows: list[Row] = field(default_factory=list)
    details: list[Detail] = field(default_factory=list)
    drop: list[int] = field(default_factory=list)
    points: int = 0

    def add(self, row: Row | None, detail: Detail | None = None) -> None:
        if row is not None:
            self.rows.append(row)
        if detail is not None and detail.tables:
            self.details.append(detail)
            self.points += len(detail.track)
        if (
            len(self.rows) >= BATCH_ACTIVITIES
            or len(self.details) >= BATCH_ACTIVITIES
            or self.points >= BATCH_POINTS
        ):
            self.flush()

    def flush(self) -> None:
        if not (self.rows or self.details or self.drop):
            return
        self.renew()
        if self.rows:
            batch = self.warehouse.stage(self.athlete_id, self.run_id)
            try:
                batch.add(self.rows)
                result = batch.commit(replace=False, keep_existing=True)
            finally:
                batch.discard()
            self.report.inserted += result.inserted + result.updated
            self.report.unchanged += result.unchanged
            self.report.quarantined += result.quarantined
        if self.drop:
            self.report.replaced_files += self.warehouse.delete_activities(
                self.athlete_id, sorted(set(self.drop))
            )
        for table in (LAPS, STREAMS):
            self._details(table)
        self.rows, self.details, self.drop, self.points = [], [], [], 0

    def _details(self, table: str) -> None:
        chosen = [d for d in self.details if table in d.tables]
        if not chosen:
            return
        parts: list[Sequence[Row]] = []
        for d in chosen:
            if table == STREAMS:
                rows = StreamRows(d.activity_id, self.athlete_id, d.track, d.start, d.trail)
                # a batch's rows are built once (the adapters read them several times);
                # a file over a whole batch's worth stays lazy, built on each read
                parts.append(rows if len(rows) > BATCH_POINTS else list(rows))
            else:
                parts.append(lap_rows(d.activity_id, self.athlete_id, d.track, d.trail))
        ids = tuple(d.activity_id for d in chosen)
        written = self.warehouse.replace_details(
            self.athlete_id, DetailRows(ids, (table,), {table: Chained(parts)})
        )
        if table == STREAMS:
            self.report.points += written.get(table, 0)
        else:
            self.report.laps += written.get(table, 0)
        self.report.quarantined += written.get("quarantine", 0)
