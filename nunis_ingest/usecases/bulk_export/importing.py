"""What both imports share: their inputs, and what the warehouse already holds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from nunis_ingest.core.file_ids import StartIndex, split_starts
from nunis_ingest.ports import ObjectStore, Warehouse
from nunis_ingest.usecases.bulk_export.source import Export
from nunis_ingest.usecases.bulk_export.writer import LAPS, STREAMS, Writer


class Importing:
    """One import of one export for the writer's athlete."""

    def __init__(
        self,
        export: Export,
        warehouse: Warehouse,
        store: ObjectStore,
        writer: Writer,
        *,
        on_file: Callable[[], None] | None = None,
    ) -> None:
        self.export, self.warehouse, self.store, self.writer = export, warehouse, store, writer
        self.athlete_id, self.report = writer.athlete_id, writer.report
        self.on_file = on_file or (lambda: None)
        self.seen_at = datetime.now(UTC)
        self.loaded: set[int] = set()

    def trail(self, source: str) -> dict[str, str]:
        """The ``source``, ``run_id`` and ``loaded_at`` columns of the detail rows."""
        return {"source": source, "run_id": self.writer.run_id,
                "loaded_at": self.seen_at.isoformat()}  # fmt: skip

    def read_stored(self) -> tuple[StartIndex, StartIndex]:
        """Remember which ids are stored and which lack laps or streams; return the
        stored (Strava's, file) activities by start, for twins."""
        stored = self.warehouse.fetch_activity_starts(self.athlete_id)
        self.known = {row[0] for row in stored}
        self.need = {
            t: {a for a, _ in self.warehouse.fetch_unenriched(self.athlete_id, t)}
            for t in (LAPS, STREAMS)
        }
        return split_starts(stored)
