"""Ports: the small interfaces the use case needs. Adapters live in stores/ and warehouses/.

Only ``runtime.py`` knows which adapters exist. Adapters must pass the shared contract
tests in ``tests/contract``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

# A warehouse row: column name -> JSON-ready value (see schema.py for the encoding).
Row = Mapping[str, Any]

CREATE_ONLY = 0
"""Pass as ``if_generation`` to write only when the key does not exist yet."""


@dataclass(frozen=True)
class Stored:
    """Bytes read from an object store, with the generation to use for compare-and-swap."""

    data: bytes
    generation: int


@dataclass(frozen=True)
class Presence:
    """What a warehouse's storage says for free (no rows read, no query billed): whether it
    is ``missing``, an ``identity`` that changes when it is replaced (a new DuckDB file, a
    re-created BigQuery table; ``None``: unknown), ``total_rows`` of every athlete
    together when the storage keeps that count (BigQuery table metadata), and ``size``
    when it is one file (DuckDB)."""

    identity: str | None = None
    missing: bool = False
    total_rows: int | None = None
    size: int | None = None  # bytes of a warehouse file: a fresh one is smaller


def file_presence(path: Path) -> Presence:
    """``Presence`` of a warehouse kept in one file (DuckDB): its device and inode, so a
    moved-over file is told apart, and its size, since a file deleted and created anew
    (which may get the same inode number back) starts smaller than the one it replaced."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return Presence(missing=True)
    return Presence(identity=f"file:{info.st_dev}:{info.st_ino}", size=info.st_size)


class ObjectStore(Protocol):
    """Bytes by key. Keys use '/' separators and never contain secrets.

    ``if_generation``: ``None`` writes unconditionally; ``CREATE_ONLY`` (0) writes only
    if the key is absent; any other value writes only if the stored generation equals it.
    A lost precondition raises ``errors.PreconditionFailed``. Generations are positive
    integers that change on every write.
    """

    def get(self, key: str) -> Stored | None: ...

    def put(self, key: str, data: bytes, *, if_generation: int | None = None) -> int:
        """Write ``data`` and return the new generation."""
        ...

    def delete(self, key: str, *, if_generation: int | None = None) -> bool:
        """Delete; return False if the key did not exist."""
        ...

    def list(self, prefix: str) -> Iterator[str]:
        """Keys that start with ``prefix``, in lexicographic order."""
        ...


@dataclass(frozen=True)
class WriteResult:
    """What one warehouse commit changed."""

    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    quarantined: int = 0
    """Rows set aside in the ``quarantine`` table because the warehouse would reject
    their content; an existing row of such an id is kept as it was."""


@dataclass(frozen=True)
class DetailRows:
    """Rows that replace, in each table of ``tables`` (``schema_detail``), every row of
    this athlete's ``activity_ids``: a table listed with no rows for an activity loses
    that activity's rows; a table not listed is not touched."""

    activity_ids: tuple[int, ...]
    tables: tuple[str, ...]
    rows: Mapping[str, Sequence[Row]]


Listed = tuple[int, str, Mapping[str, Any]]
"""An activity as the listing served it: ``(id, content_hash, parsed JSON object)``."""


class StagedBatch(Protocol):
    """Rows for one athlete and one run, staged before one atomic commit.

    ``add`` may be called once per page; implementations stream rows to disk so
    memory does not grow with the number of rows. Nothing is visible in the
    ``activities`` table until ``commit``.
    """

    def add(self, rows: Sequence[Row]) -> None:
        """Stage rows. A row whose content the warehouse would reject (a value that does
        not fit its column, a required value missing) is not staged but set aside for the
        ``quarantine`` table (``warehouses/validate.py``); it never fails the batch."""
        ...

    def add_activities(self, items: Sequence[Listed], seen_at: datetime) -> None:
        """Stage listed activities; the rows are exactly ``transform.to_row``'s (with this
        batch's athlete and run, ``seen_at`` as first seen / updated). The adapter may let
        the warehouse type them from their JSON (DuckDB: ``transform_engine``)."""
        ...

    def commit(
        self, *, replace: bool, max_delete_share: float | None = None, keep_existing: bool = False
    ) -> WriteResult:
        """Upsert the staged rows by activity id in one atomic step.

        Rows whose ``content_hash`` equals the stored one are left untouched (counted as
        ``unchanged``); ``first_seen_at`` of an existing row is kept.
        ``replace=True`` also deletes this athlete's rows whose id was not staged, in the
        same atomic step. If that would delete more than ``max_delete_share`` of the
        athlete's stored rows, nothing changes and ``MassDeleteRefused`` is raised.
        An empty batch with ``replace=False`` performs no warehouse operation at all.
        ``keep_existing=True`` (the bulk import) inserts only ids the table does not hold
        when the commit runs: a stored row is never rewritten (counted ``unchanged``),
        whoever wrote it and whenever, so an export never replaces the API's row.
        """
        ...

    def discard(self) -> None:
        """Drop staged rows without writing (idempotent; also called after commit)."""
        ...


class Warehouse(Protocol):
    """The analytics store: ``activities``, ``ingest_runs`` and ``quarantine`` (schema.py),
    and the detail tables (schema_detail.py).

    Error contract (the same for every adapter, asserted by ``tests/contract``): an
    operation either succeeds or raises one of

    - ``errors.WarehouseTransientError`` (incl. ``errors.WarehouseLocked``): a retry can
      fix it (file lock held past the bounded wait, busy, quota, network, 5xx);
    - ``errors.WarehouseRejected``: a retry cannot (table or dataset missing or deleted,
      schema mismatch, permission denied: the message says what to grant or run);
    - ``errors.MassDeleteRefused``: the guard of ``StagedBatch.commit``.

    A bad row is not an error: it is quarantined (``WriteResult.quarantined``). Misuse by
    the caller (a batch reused, rows of another athlete, an unknown column) raises
    ``RuntimeError``/``ValueError``. A failed operation writes nothing.
    """

    operations: dict[str, int]
    """Counters of warehouse work: 'load' (bulk loads) and 'dml' (mutating statements)."""

    def ensure_schema(self) -> None: ...

    def stage(self, athlete_id: int, run_id: str) -> StagedBatch: ...

    def delete_activities(self, athlete_id: int, activity_ids: Sequence[int]) -> int:
        """Delete these ids of this athlete from ``activities`` and every detail table,
        in one step per table; return how many ``activities`` rows went."""
        ...

    def purge_athlete(self, athlete_id: int) -> int:
        """Delete every row of this athlete from ``activities`` and every detail table;
        return the ``activities`` count."""
        ...

    def replace_details(self, athlete_id: int, write: DetailRows) -> dict[str, int]:
        """Replace the detail rows of ``write.activity_ids`` (see ``DetailRows``); return
        rows written per table. Each table changes in one atomic step; tables are written
        streams first and ``activity_details`` last, so a failure part-way leaves no
        ``activity_details`` row claiming a detail that is not all there."""
        ...

    def fetch_unenriched(self, athlete_id: int, table: str) -> list[tuple[int, int | None]]:
        """``(activity_id, start_epoch)`` of the athlete's activities with no row in the
        detail ``table``, newest first (``activity_streams``: manual activities, which
        have no streams, are left out). What a backfill has still to fetch."""
        ...

    def count_rows(self, table: str, athlete_id: int) -> int:
        """Rows of this athlete in any table of ``schema`` or ``schema_detail``."""
        ...

    def record_run(self, run: Row) -> None:
        """Append one ``ingest_runs`` row."""
        ...

    def fetch_activity_hashes(self, athlete_id: int) -> dict[int, str]:
        """Activity id -> content_hash for this athlete (tests, status, reconcile)."""
        ...

    def fetch_detail_fingerprints(self, athlete_id: int) -> dict[int, str | None]:
        """Activity id -> ``summary_fingerprint`` of its ``activity_details`` row (which
        activities have a detail, and for which version of their summary)."""
        ...

    def fetch_activity_starts(
        self, athlete_id: int
    ) -> list[tuple[int, int | None, float | None, int | None]]:
        """``(id, start epoch, distance, elapsed_time)`` of every activity of the athlete:
        what the import matches another platform's file against (one activity, twice)."""
        ...

    def count_activities(self, athlete_id: int) -> int:
        """How many activity rows this athlete has (status, state/warehouse agreement)."""
        ...

    def fetch_runs(self, athlete_id: int, limit: int = 10) -> list[dict[str, Any]]:
        """The athlete's most recent ``ingest_runs`` rows, newest first."""
        ...

    def presence(self) -> Presence:
        """The storage's free signal (``Presence``): one metadata read, no query billed.
        A run compares it with what it saw last (``plan.verify_due``)."""
        ...


class Queue(Protocol):
    """Where the webhook receiver hands events to the processor (Pub/Sub or a local file).

    ``put`` returns once the message is durable; it may raise on failure, and the caller
    bounds how long it waits.
    """

    def put(self, data: bytes, *, attributes: Mapping[str, str] | None = None) -> None: ...
