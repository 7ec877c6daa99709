# SQL text is built only from schema.py identifiers (quoted by q); every value is a bound
# parameter.
# ruff: noqa: S608
"""Warehouse on a DuckDB file: the embedded default for laptops and tests.

The adapter of ``ports.Warehouse``, composed of one class per idea: ``duckdb_file``
(connections opened per operation, the file lock, the error contract), ``duckdb_batch``
(one staged commit), ``duckdb_details`` (the detail tables), ``duckdb_sql`` (SQL text).

- **Values come back JSON-ready.** ``fetch_runs`` returns the row encoding of
  ``schema`` (timestamps as ``…+00:00`` strings), which also avoids DuckDB's optional
  ``pytz`` dependency for ``TIMESTAMPTZ`` values.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from nunis_ingest.adapters.warehouses import duckdb_details as details
from nunis_ingest.adapters.warehouses.duckdb_batch import DuckDBBatch
from nunis_ingest.adapters.warehouses.duckdb_file import DEFAULT_LOCK_WAIT, DuckDBFile
from nunis_ingest.adapters.warehouses.duckdb_sql import q
from nunis_ingest.adapters.warehouses.duckdb_sql import (
    read_json_sql as read_json_sql,  # re-exported
)
from nunis_ingest.core import schema
from nunis_ingest.core.schema_detail import DETAIL_TABLES
from nunis_ingest.ports import DetailRows, Presence, Row, file_presence

_ACT = schema.ACTIVITIES_TABLE
_RUNS = schema.RUNS_TABLE


class DuckDBWarehouse:
    """``ports.Warehouse`` on the DuckDB database file ``path``.

    ``lock_wait``: seconds to wait for another process's lock before ``WarehouseLocked``.
    ``setup``: SQL statements run on every connection opened (bench experiments, e.g.
    ``SET threads=1``). ``stage_dir``: where staged files go (``warehouses/tempfiles``).
    """

    def __init__(
        self,
        path: Path,
        *,
        stage_dir: Path | None = None,
        lock_wait: float = DEFAULT_LOCK_WAIT,
        setup: Sequence[str] = (),
    ) -> None:
        self.file = DuckDBFile(path, lock_wait=lock_wait, setup=setup)
        self.path = self.file.path
        self.stage_dir = stage_dir
        self.operations = self.file.operations

    @property
    def setup(self) -> list[str]:
        return self.file.setup

    @setup.setter
    def setup(self, statements: Sequence[str]) -> None:
        self.file.setup = list(statements)

    @property
    def lock_wait(self) -> float:
        return self.file.lock_wait

    @lock_wait.setter
    def lock_wait(self, seconds: float) -> None:
        self.file.lock_wait = float(seconds)

    def reader(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        """A read-only connection for inspection (tests, demo, status), closed on exit
        (``DuckDBFile.reader``)."""
        return self.file.reader()

    def _open(self, *, write: bool) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        return self.file.open(write=write)

    def close(self) -> None:
        """Nothing to release: no connection outlives an operation."""

    # --- ports.Warehouse -------------------------------------------------------------

    def ensure_schema(self) -> None:
        """Create missing tables; add the (nullable) columns a newer schema declares to a
        file an older version created (rows get them from ``raw``: ``replay``). One
        catalog query decides; an up-to-date file runs no DDL (every process start)."""
        tables = [
            (_ACT, schema.ACTIVITIES, schema.ACTIVITY_KEY),
            (_RUNS, schema.RUNS, None),
            (schema.QUARANTINE_TABLE, schema.QUARANTINE, None),
        ] + [(t.name, t.columns, None) for t in DETAIL_TABLES]
        with self.file.open(write=True) as con:
            have: dict[str, set[str]] = {}
            for table, column in con.execute(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_catalog = current_database()"
            ).fetchall():
                have.setdefault(str(table), set()).add(str(column))
            for name, columns, key in tables:
                if name not in have:
                    con.execute(schema.duckdb_ddl(name, columns, primary_key=key))
                    continue
                for column in columns:
                    if column.name not in have[name] and not column.required:
                        con.execute(
                            f"ALTER TABLE {q(name)} ADD COLUMN {q(column.name)} "
                            f"{schema.duckdb_type(column)}"
                        )

    def stage(self, athlete_id: int, run_id: str) -> DuckDBBatch:
        return DuckDBBatch(self.file, athlete_id, run_id, stage_dir=self.stage_dir)

    def delete_activities(self, athlete_id: int, activity_ids: Sequence[int]) -> int:
        ids = [int(i) for i in activity_ids]
        if not ids:
            return 0
        with self.file.transaction() as con:
            details.delete_details(self.file, con, athlete_id, ids)
            sql = f"DELETE FROM {q(_ACT)} WHERE athlete_id = ? AND id IN (SELECT unnest(?))"
            return self.file.dml(con, sql, [athlete_id, ids])

    def purge_athlete(self, athlete_id: int) -> int:
        with self.file.transaction() as con:
            details.delete_details(self.file, con, athlete_id, None)
            return self.file.dml(con, f"DELETE FROM {q(_ACT)} WHERE athlete_id = ?", [athlete_id])

    def replace_details(self, athlete_id: int, write: DetailRows) -> dict[str, int]:
        return details.replace_details(self.file, athlete_id, write, self.stage_dir)

    def fetch_unenriched(self, athlete_id: int, table: str) -> list[tuple[int, int | None]]:
        return details.fetch_unenriched(self.file, athlete_id, table)

    def count_rows(self, table: str, athlete_id: int) -> int:
        return details.count_rows(self.file, table, athlete_id)

    def fetch_detail_fingerprints(self, athlete_id: int) -> dict[int, str | None]:
        return details.fetch_detail_fingerprints(self.file, athlete_id)

    def record_run(self, run: Row) -> None:
        known = {c.name: c for c in schema.RUNS}
        unknown = sorted(set(run) - set(known))
        if unknown:
            raise ValueError(f"ingest_runs has no column(s) {unknown}; see schema.RUNS")
        names = [n for n in known if n in run]
        cols = ", ".join(q(n) for n in names)
        vals = ", ".join(f"CAST(? AS {schema.duckdb_type(known[n])})" for n in names)
        with self.file.transaction() as con:
            self.file.dml(
                con, f"INSERT INTO {q(_RUNS)} ({cols}) VALUES ({vals})", [run[n] for n in names]
            )

    def fetch_activity_hashes(self, athlete_id: int) -> dict[int, str]:
        sql = f"SELECT id, content_hash FROM {q(_ACT)} WHERE athlete_id = ?"
        with self.file.open(write=False) as con:
            return {int(i): str(h) for i, h in con.execute(sql, [athlete_id]).fetchall()}

    def fetch_activity_starts(
        self, athlete_id: int
    ) -> list[tuple[int, int | None, float | None, int | None]]:
        sql = (
            "SELECT id, epoch(start_date)::BIGINT, distance, elapsed_time "
            f"FROM {q(_ACT)} WHERE athlete_id = ?"
        )
        with self.file.open(write=False) as con:
            return [(int(a), b, c, d) for a, b, c, d in con.execute(sql, [athlete_id]).fetchall()]

    def presence(self) -> Presence:
        """The file's identity (``ports.file_presence``): no connection is opened."""
        return file_presence(self.path)

    def count_activities(self, athlete_id: int) -> int:
        sql = f"SELECT count(*) FROM {q(_ACT)} WHERE athlete_id = ?"
        with self.file.open(write=False) as con:
            row = con.execute(sql, [athlete_id]).fetchone()
        return int(row[0]) if row else 0

    def fetch_runs(self, athlete_id: int, limit: int = 10) -> list[dict[str, Any]]:
        """Newest first, values JSON-ready as in schema.py (timestamps as ISO strings)."""
        stamps = {c.name for c in schema.RUNS if c.type == "TIMESTAMP"}
        select = ", ".join(
            f"CAST({q(c.name)} AS VARCHAR)" if c.name in stamps else q(c.name) for c in schema.RUNS
        )
        sql = (
            f"SELECT {select} FROM {q(_RUNS)} WHERE athlete_id = ? "
            "ORDER BY started_at DESC, finished_at DESC LIMIT ?"
        )
        with self.file.open(write=False) as con:
            rows = con.execute(sql, [athlete_id, int(limit)]).fetchall()
        names = schema.column_names(schema.RUNS)
        return [
            {n: _iso(v) if n in stamps else v for n, v in zip(names, row, strict=True)}
            for row in rows
        ]


def _iso(value: Any) -> str | None:
    """DuckDB's ``2024-01-02 03:04:05+00`` → ``2024-01-02T03:04:05+00:00``."""
    return None if value is None else datetime.fromisoformat(str(value)).isoformat()
