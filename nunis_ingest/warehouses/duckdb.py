# SQL text is built only from schema.py identifiers (quoted by _q), generated temp-table
# names and the stage path (quoted by _lit); every value is a bound parameter.
# ruff: noqa: S608
"""Warehouse on a DuckDB file: the embedded default for laptops and tests.

Why it is built this way:

- **Bulk, not row by row.** A batch streams rows into an NDJSON file (``NdjsonStage``,
  one row per id, last wins); ``commit`` reads it with ``read_json`` and explicit column
  types from ``schema`` (no auto-detection: a sample of odd rows can never change a
  column's type). 50,000 rows commit in seconds.
- **One transaction per commit.** Key load, counts, mass-delete guard, DELETE and INSERT
  run inside ``BEGIN … COMMIT``; any failure rolls back, so the table holds either the
  old or the new state (what ``sync`` relies on before it advances its cursor).
- **Unchanged rows cost nothing.** Rows whose ``content_hash`` is stored already are not
  written, and a batch with nothing new runs no DML at all (one key load only).
- **Counters.** ``operations['load']`` counts staged files brought in (one per commit
  with rows, like BigQuery's one load job, even though DuckDB reads the file in two
  passes); ``operations['dml']`` counts mutating statements on the two tables.
- **Values come back JSON-ready.** ``fetch_runs`` returns the row encoding of
  ``schema`` (timestamps as ``…+00:00`` strings), which is adapter-neutral and also avoids
  DuckDB's optional ``pytz`` dependency for ``TIMESTAMPTZ`` values.
- **One connection, opened lazily, serialised by a lock.** DuckDB allows one writing
  process per file; a second process gets a lock error, which maps to
  ``WarehouseTransientError`` (a later attempt succeeds once the other run ends).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from nunis_ingest import schema
from nunis_ingest.errors import WarehouseTransientError
from nunis_ingest.ports import Row, WriteResult
from nunis_ingest.warehouses.guard import check_delete_share
from nunis_ingest.warehouses.staging import NdjsonStage

_ACT = schema.ACTIVITIES_TABLE
_RUNS = schema.RUNS_TABLE


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def read_json_sql(path: Path, columns: tuple[schema.Column, ...]) -> str:
    """``read_json`` of an NDJSON file with every column's type given explicitly."""
    spec = ", ".join(f"{_lit(c.name)}: {_lit(schema.duckdb_type(c))}" for c in columns)
    return (
        f"read_json({_lit(str(path))}, format='newline_delimited', "
        f"columns={{{spec}}}, auto_detect=false)"
    )


_KEY_COLUMNS = tuple(c for c in schema.ACTIVITIES if c.name in {"id", "athlete_id", "content_hash"})


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, duckdb.TransactionException):
        return True  # write-write conflict with another transaction
    if isinstance(exc, duckdb.IOException):
        text = str(exc).lower()
        return "lock" in text or "resource temporarily unavailable" in text
    return False


class DuckDBWarehouse:
    """``ports.Warehouse`` on the DuckDB database file ``path``."""

    def __init__(self, path: Path, *, stage_dir: Path | None = None) -> None:
        self.path = Path(path)
        self.stage_dir = stage_dir
        self.operations: dict[str, int] = {"load": 0, "dml": 0}
        self._con: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.RLock()

    # --- connection ------------------------------------------------------------------

    def _connect(self) -> duckdb.DuckDBPyConnection:
        """The shared connection, opened on first use (also an inspection hook for tests,
        the demo and status commands; TIMESTAMPTZ values fetched through it need ``pytz``)."""
        if self._con is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = duckdb.connect(str(self.path))
            con.execute("SET TimeZone = 'UTC'")
            self._con = con
        return self._con

    @contextmanager
    def _connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The shared connection, under the lock, with DuckDB errors classified."""
        with self._lock:
            try:
                yield self._connect()
            except duckdb.Error as exc:
                if _is_transient(exc):
                    raise WarehouseTransientError(
                        f"DuckDB file {self.path} is busy or unavailable: {exc}",
                        action="retry later; make sure no other process holds the file open.",
                    ) from exc
                raise

    @contextmanager
    def _transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._connection() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                with suppress(duckdb.Error):  # keep the original error, not a rollback's
                    con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def _dml(self, con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one mutating statement, count it, return the affected row count."""
        self.operations["dml"] += 1
        result = con.execute(sql, list(params)).fetchone()
        return int(result[0]) if result else 0

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None

    # --- ports.Warehouse -------------------------------------------------------------

    def ensure_schema(self) -> None:
        with self._connection() as con:
            con.execute(schema.duckdb_ddl(_ACT, schema.ACTIVITIES, primary_key=schema.ACTIVITY_KEY))
            con.execute(schema.duckdb_ddl(_RUNS, schema.RUNS))

    def stage(self, athlete_id: int, run_id: str) -> DuckDBBatch:
        return DuckDBBatch(self, athlete_id, run_id)

    def delete_activities(self, athlete_id: int, activity_ids: Sequence[int]) -> int:
        ids = [int(i) for i in activity_ids]
        if not ids:
            return 0
        with self._transaction() as con:
            sql = f"DELETE FROM {_q(_ACT)} WHERE athlete_id = ? AND id IN (SELECT unnest(?))"
            return self._dml(con, sql, [athlete_id, ids])

    def purge_athlete(self, athlete_id: int) -> int:
        with self._transaction() as con:
            return self._dml(con, f"DELETE FROM {_q(_ACT)} WHERE athlete_id = ?", [athlete_id])

    def record_run(self, run: Row) -> None:
        known = {c.name: c for c in schema.RUNS}
        unknown = sorted(set(run) - set(known))
        if unknown:
            raise ValueError(f"ingest_runs has no column(s) {unknown}; see schema.RUNS")
        names = [n for n in known if n in run]
        cols = ", ".join(_q(n) for n in names)
        vals = ", ".join(f"CAST(? AS {schema.duckdb_type(known[n])})" for n in names)
        with self._transaction() as con:
            self._dml(
                con, f"INSERT INTO {_q(_RUNS)} ({cols}) VALUES ({vals})", [run[n] for n in names]
            )

    def fetch_activity_hashes(self, athlete_id: int) -> dict[int, str]:
        sql = f"SELECT id, content_hash FROM {_q(_ACT)} WHERE athlete_id = ?"
        with self._connection() as con:
            return {int(i): str(h) for i, h in con.execute(sql, [athlete_id]).fetchall()}

    def count_activities(self, athlete_id: int) -> int:
        sql = f"SELECT count(*) FROM {_q(_ACT)} WHERE athlete_id = ?"
        with self._connection() as con:
            row = con.execute(sql, [athlete_id]).fetchone()
        return int(row[0]) if row else 0

    def fetch_runs(self, athlete_id: int, limit: int = 10) -> list[dict[str, Any]]:
        """Newest first, values JSON-ready as in schema.py (timestamps as ISO strings)."""
        stamps = {c.name for c in schema.RUNS if c.type == "TIMESTAMP"}
        select = ", ".join(
            f"CAST({_q(c.name)} AS VARCHAR)" if c.name in stamps else _q(c.name)
            for c in schema.RUNS
        )
        sql = (
            f"SELECT {select} FROM {_q(_RUNS)} WHERE athlete_id = ? "
            "ORDER BY started_at DESC, finished_at DESC LIMIT ?"
        )
        with self._connection() as con:
            rows = con.execute(sql, [athlete_id, int(limit)]).fetchall()
        names = schema.column_names(schema.RUNS)
        return [
            {n: _iso(v) if n in stamps else v for n, v in zip(names, row, strict=True)}
            for row in rows
        ]


def _iso(value: Any) -> str | None:
    """DuckDB's ``2024-01-02 03:04:05+00`` → ``2024-01-02T03:04:05+00:00``."""
    return None if value is None else datetime.fromisoformat(str(value)).isoformat()


class DuckDBBatch:
    """``ports.StagedBatch``: rows of one athlete and run, on disk until ``commit``."""

    def __init__(self, warehouse: DuckDBWarehouse, athlete_id: int, run_id: str) -> None:
        self.warehouse = warehouse
        self.athlete_id = int(athlete_id)
        self.run_id = run_id
        self._stage: NdjsonStage | None = NdjsonStage(
            key=schema.ACTIVITY_KEY, directory=warehouse.stage_dir
        )

    def add(self, rows: Sequence[Row]) -> None:
        self._live().add(rows)

    def discard(self) -> None:
        if self._stage is not None:
            self._stage.cleanup()
            self._stage = None

    def commit(self, *, replace: bool, max_delete_share: float | None = None) -> WriteResult:
        stage = self._live()
        try:
            path = stage.close()
            if stage.count == 0 and not replace:
                return WriteResult()
            loaded, tag = (path if stage.count else None), uuid.uuid4().hex
            with self.warehouse._transaction() as con:
                return self._apply(con, loaded, tag, replace, max_delete_share)
        finally:
            self.discard()

    def _live(self) -> NdjsonStage:
        if self._stage is None:
            raise RuntimeError("batch was already committed or discarded")
        return self._stage

    def _apply(
        self,
        con: duckdb.DuckDBPyConnection,
        path: Path | None,
        tag: str,
        replace: bool,
        max_delete_share: float | None,
    ) -> WriteResult:
        """Count, guard, delete changed and vanished ids, insert new versions.

        Two passes over the file: the first reads only ``id``, ``athlete_id`` and
        ``content_hash`` (cheap), which is all that counts, the guard and an all-unchanged
        re-run need; only if something changed does the second pass read full rows, and
        only those rows are inserted. An update is a DELETE plus an INSERT of the new
        version (``first_seen_at`` carried over): for wide rows with list and struct
        columns DuckDB does that several times faster than ``UPDATE`` or ``MERGE``.
        """
        wh, act, me = self.warehouse, _q(_ACT), self.athlete_id
        keys, gone = _q(f"nunis_keys_{tag}"), _q(f"nunis_gone_{tag}")
        inserted = updated = unchanged = 0
        parts: list[str] = []
        if path is not None:
            wh.operations["load"] += 1
            con.execute(
                f"CREATE TEMP TABLE {keys} AS SELECT s.id, s.athlete_id, "
                "t.id IS NOT NULL AS existed, "
                "t.content_hash IS NOT DISTINCT FROM s.content_hash AS same, "
                "t.athlete_id AS owner, t.first_seen_at AS kept_first_seen_at "
                f"FROM {read_json_sql(path, _KEY_COLUMNS)} AS s "
                f"LEFT JOIN {act} AS t ON t.id = s.id"
            )
            counts = con.execute(
                "SELECT count(*) FILTER (WHERE NOT existed), "
                "count(*) FILTER (WHERE existed AND NOT same), count(*) FILTER (WHERE same), "
                "count(*) FILTER (WHERE athlete_id IS DISTINCT FROM ? OR owner <> ?) "
                f"FROM {keys}",
                [me, me],
            ).fetchone()
            assert counts is not None
            inserted, updated, unchanged, foreign = (int(c) for c in counts)
            if foreign:
                raise ValueError(
                    f"{foreign} staged row(s) belong to, or reuse ids of, an athlete other "
                    f"than {me}; nothing was written"
                )
            if updated:
                parts.append(f"SELECT id FROM {keys} WHERE existed AND NOT same")
        if replace:
            not_staged = "" if path is None else f"AND id NOT IN (SELECT id FROM {keys})"
            parts.append(f"SELECT id FROM {act} WHERE athlete_id = ? {not_staged}")
        deleted = 0
        if parts:
            con.execute(
                f"CREATE TEMP TABLE {gone} AS {' UNION ALL '.join(parts)}", [me] if replace else []
            )
            deleted = _count(con, gone) - updated
        if replace:
            check_delete_share(
                me, deleted, _count(con, act, "WHERE athlete_id = ?", [me]), max_delete_share
            )
        if deleted or updated:
            wh._dml(con, f"DELETE FROM {act} WHERE id IN (SELECT id FROM {gone})")
        if path is not None and (inserted or updated):
            cols = ", ".join(_q(n) for n in schema.column_names(schema.ACTIVITIES))
            source = f"SELECT * FROM {read_json_sql(path, schema.ACTIVITIES)}"
            if updated or unchanged:  # else all rows are new: no join needed
                source = (
                    "SELECT s.* REPLACE (coalesce(k.kept_first_seen_at, s.first_seen_at) "
                    f"AS first_seen_at) FROM ({source}) AS s "
                    f"JOIN {keys} AS k ON k.id = s.id WHERE NOT k.same"
                )
            wh._dml(con, f"INSERT INTO {act} ({cols}) {source}")
        for table in (keys if path else None, gone if parts else None):
            if table:
                con.execute(f"DROP TABLE {table}")
        return WriteResult(inserted=inserted, updated=updated, deleted=deleted, unchanged=unchanged)


def _count(
    con: duckdb.DuckDBPyConnection, table: str, where: str = "", params: Sequence[Any] = ()
) -> int:
    row = con.execute(f"SELECT count(*) FROM {table} {where}", list(params)).fetchone()
    return int(row[0]) if row else 0
