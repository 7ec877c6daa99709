# SQL text is built only from schema.py identifiers (quoted by _q), generated temp-table
# names and the stage path (quoted by _lit); every value is a bound parameter.
# ruff: noqa: S608
"""Warehouse on a DuckDB file: the embedded default for laptops and tests.

Why it is built this way:

- **No lock between operations.** DuckDB lets one read-write process exclude all others,
  or several read-only processes share the file. So every operation opens its own
  connection and closes it right after: writes read-write, reads (``fetch_*``,
  ``count_activities``, ``reader()``) read-only. A long-running process (``webhook
  serve``, a warm function) holds no lock while idle, and ``sync``, ``status``, notebooks
  and SQL clients can open the file in between. Opening and closing costs a few
  milliseconds per operation (README, Performance).
- **A bounded wait for the lock.** When another process holds the file, the open is
  retried with backoff for ``lock_wait`` seconds (``NUNIS_DUCKDB_LOCK_WAIT_SECONDS``),
  then ``WarehouseLocked`` names the file, the holder (program and PID, from DuckDB's
  error) and the fix. Nothing was written.
- **Bulk, in one transaction.** See ``duckdb_batch``: staged NDJSON files are read with
  explicit column types, and counts, guard, DELETE, INSERT and quarantine rows commit in
  one ``BEGIN … COMMIT``.
- **One error contract** (``ports.Warehouse``): lock, busy or I/O failures are
  ``WarehouseTransientError``; a missing table, a permission or schema problem is
  ``WarehouseRejected``.
- **Values come back JSON-ready.** ``fetch_runs`` returns the row encoding of
  ``schema`` (timestamps as ``…+00:00`` strings), which also avoids DuckDB's optional
  ``pytz`` dependency for ``TIMESTAMPTZ`` values.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from nunis_ingest import schema
from nunis_ingest.errors import (
    NunisError,
    WarehouseLocked,
    WarehouseRejected,
    WarehouseTransientError,
)
from nunis_ingest.ports import DetailRows, Presence, Row, file_presence
from nunis_ingest.schema_detail import DETAIL_TABLES

if TYPE_CHECKING:
    from nunis_ingest.warehouses.duckdb_batch import DuckDBBatch

_ACT = schema.ACTIVITIES_TABLE
_RUNS = schema.RUNS_TABLE
DEFAULT_LOCK_WAIT = 30.0
_HOLDER = re.compile(r"Conflicting lock is held in (.+?) \(PID (\d+)\)")
_PATH_LOCKS: dict[str, threading.RLock] = {}
_PATH_LOCKS_GUARD = threading.Lock()


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


def _path_lock(path: Path) -> threading.RLock:
    """One lock per file in this process: DuckDB refuses a read-only and a read-write
    connection to one file in one process at the same time."""
    key = str(path.resolve())
    with _PATH_LOCKS_GUARD:
        return _PATH_LOCKS.setdefault(key, threading.RLock())


def is_lock_error(exc: BaseException) -> bool:
    text = str(exc)
    return isinstance(exc, duckdb.IOException) and (
        "Could not set lock" in text or "Conflicting lock" in text
    )


def lock_holder(exc: BaseException) -> str:
    """``"<program> (PID n)"`` from DuckDB's lock error, or ``"another process"``."""
    match = _HOLDER.search(str(exc))
    return f"{match[1]} (PID {match[2]})" if match else "another process"


class DuckDBWarehouse:
    """``ports.Warehouse`` on the DuckDB database file ``path``.

    ``lock_wait``: seconds to wait for another process's lock before ``WarehouseLocked``.
    ``setup``: SQL statements run on every connection opened (bench experiments, e.g.
    ``SET threads=1``).
    """

    def __init__(
        self,
        path: Path,
        *,
        stage_dir: Path | None = None,
        lock_wait: float = DEFAULT_LOCK_WAIT,
        setup: Sequence[str] = (),
    ) -> None:
        self.path = Path(path)
        self.stage_dir = stage_dir
        self.lock_wait = float(lock_wait)
        self.setup = list(setup)
        self.operations: dict[str, int] = {"load": 0, "dml": 0}
        self._lock = _path_lock(self.path)

    # --- connections -----------------------------------------------------------------

    @contextmanager
    def reader(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection for inspection (tests, demo, status), closed on exit.

        While it is open other processes can read but not write the file: keep it short,
        and do not write through this process inside it (DuckDB refuses a read-write
        connection next to a read-only one in one process).
        TIMESTAMPTZ values fetched through it need ``pytz``; ``CAST(… AS VARCHAR)`` avoids that.
        """
        with self._open(write=False) as con:
            yield con

    @contextmanager
    def _open(self, *, write: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        """A fresh connection (read-write only for writes), errors classified, always closed."""
        with self._lock:
            con = self._connect(write=write)
            try:
                yield con
            except duckdb.Error as exc:
                raise self._classify(exc) from exc
            finally:
                con.close()

    def _connect(self, *, write: bool) -> duckdb.DuckDBPyConnection:
        """Open the file, retrying with backoff while another process holds its lock."""
        deadline = time.monotonic() + self.lock_wait
        delay = 0.02
        while True:
            try:
                if write:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                elif not self.path.exists():
                    raise WarehouseRejected(
                        f"DuckDB file {self.path} does not exist.",
                        action="run `nunis-ingest sync` (it creates the warehouse) "
                        "or check NUNIS_DUCKDB_PATH.",
                    )
                con = duckdb.connect(str(self.path), read_only=not write)
            except duckdb.Error as exc:
                if not is_lock_error(exc):
                    raise self._classify(exc) from exc
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._locked(exc) from exc
                time.sleep(min(delay, remaining))  # then one last attempt at the deadline
                delay = min(delay * 2, 1.0)
                continue
            try:
                con.execute("SET TimeZone = 'UTC'")
                if write:  # one thread: less memory per bulk load, no contention (README)
                    con.execute("SET threads = 1")
                con.execute("SET TimeZone = 'UTC'")  # not in _CONFIG: needs ICU loaded first
                for statement in self.setup:
                    con.execute(statement)
            except BaseException:
                con.close()
                raise
            return con

    def _locked(self, exc: BaseException) -> WarehouseLocked:
        return WarehouseLocked(
            f"DuckDB file {self.path} is locked by {lock_holder(exc)} "
            f"(waited {self.lock_wait:g} s); nothing was written.",
            action="close the other program, e.g. a notebook holding a read-write "
            "connection (any open connection keeps writers out), or retry "
            "(NUNIS_DUCKDB_LOCK_WAIT_SECONDS sets the wait).",
        )

    def _classify(self, exc: duckdb.Error) -> NunisError:
        """The error contract of ``ports.Warehouse`` for a DuckDB driver error."""
        text = " ".join(str(exc).split())[:400]
        where = f"DuckDB file {self.path}"
        if is_lock_error(exc):
            return self._locked(exc)
        if isinstance(exc, duckdb.CatalogException):
            return WarehouseRejected(
                f"{where}: a table is missing or has another shape: {text}",
                action="run `nunis-ingest sync` to re-create missing tables (ensure_schema); "
                "if they were dropped, their rows are gone: run a full sync (mode all).",
            )
        if isinstance(exc, duckdb.PermissionException) or "ermission denied" in text:
            return WarehouseRejected(
                f"{where} cannot be written: {text}",
                action="grant this user read and write permission on the file and its "
                "folder (DuckDB writes a .wal file next to it).",
            )
        if "not a valid DuckDB database" in text:
            return WarehouseRejected(
                f"{where} is not a DuckDB database: {text}",
                action="point NUNIS_DUCKDB_PATH at a DuckDB file, or move this file away and "
                "run a full sync (mode all) to rebuild the warehouse.",
            )
        if isinstance(exc, duckdb.TransactionException | duckdb.IOException):
            return WarehouseTransientError(
                f"{where} is busy or unavailable: {text}",
                action="retry later; check free disk space.",
            )
        if isinstance(exc, duckdb.OutOfMemoryException):
            return WarehouseTransientError(f"{where}: out of memory: {text}")
        return WarehouseRejected(
            f"{where} refused the statement: {text}",
            action="the file's schema does not match this version of nunis-ingest, or this "
            "is a bug: report it with this message.",
        )

    @contextmanager
    def _transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection inside ``BEGIN … COMMIT``; any failure rolls back."""
        with self._open(write=True) as con:
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
        """Nothing to release: no connection outlives an operation."""

    # --- ports.Warehouse -------------------------------------------------------------

    def ensure_schema(self) -> None:
        """Create missing tables; add the (nullable) columns a newer schema declares to a
        file an older version created (rows get them from ``raw``: ``replay``)."""
        with self._open(write=True) as con:
            con.execute(schema.duckdb_ddl(_ACT, schema.ACTIVITIES, primary_key=schema.ACTIVITY_KEY))
            con.execute(schema.duckdb_ddl(_RUNS, schema.RUNS))
            con.execute(schema.duckdb_ddl(schema.QUARANTINE_TABLE, schema.QUARANTINE))
            details.ensure_tables(con)
            tables = [
                (_ACT, schema.ACTIVITIES),
                (_RUNS, schema.RUNS),
                (schema.QUARANTINE_TABLE, schema.QUARANTINE),
            ] + [(t.name, t.columns) for t in DETAIL_TABLES]
            for name, columns in tables:
                have = {
                    str(r[0])
                    for r in con.execute(
                        "SELECT column_name FROM information_schema.columns WHERE table_name = ?",
                        [name],
                    ).fetchall()
                }
                for column in columns:
                    if column.name not in have and not column.required:
                        con.execute(
                            f"ALTER TABLE {_q(name)} ADD COLUMN {_q(column.name)} "
                            f"{schema.duckdb_type(column)}"
                        )

    def stage(self, athlete_id: int, run_id: str) -> DuckDBBatch:
        from nunis_ingest.warehouses.duckdb_batch import DuckDBBatch  # imports this module

        return DuckDBBatch(self, athlete_id, run_id)

    def delete_activities(self, athlete_id: int, activity_ids: Sequence[int]) -> int:
        ids = [int(i) for i in activity_ids]
        if not ids:
            return 0
        with self._transaction() as con:
            details.delete_details(self, con, athlete_id, ids)
            sql = f"DELETE FROM {_q(_ACT)} WHERE athlete_id = ? AND id IN (SELECT unnest(?))"
            return self._dml(con, sql, [athlete_id, ids])

    def purge_athlete(self, athlete_id: int) -> int:
        with self._transaction() as con:
            details.delete_details(self, con, athlete_id, None)
            return self._dml(con, f"DELETE FROM {_q(_ACT)} WHERE athlete_id = ?", [athlete_id])

    def replace_details(self, athlete_id: int, write: DetailRows) -> dict[str, int]:
        return details.replace_details(self, athlete_id, write)

    def fetch_unenriched(self, athlete_id: int, table: str) -> list[tuple[int, int | None]]:
        return details.fetch_unenriched(self, athlete_id, table)

    def count_rows(self, table: str, athlete_id: int) -> int:
        return details.count_rows(self, table, athlete_id)

    def fetch_detail_fingerprints(self, athlete_id: int) -> dict[int, str | None]:
        return details.fetch_detail_fingerprints(self, athlete_id)

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
        with self._open(write=False) as con:
            return {int(i): str(h) for i, h in con.execute(sql, [athlete_id]).fetchall()}

    def presence(self) -> Presence:
        """The file's identity (``ports.file_presence``): no connection is opened."""
        return file_presence(self.path)

    def count_activities(self, athlete_id: int) -> int:
        sql = f"SELECT count(*) FROM {_q(_ACT)} WHERE athlete_id = ?"
        with self._open(write=False) as con:
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
        with self._open(write=False) as con:
            rows = con.execute(sql, [athlete_id, int(limit)]).fetchall()
        names = schema.column_names(schema.RUNS)
        return [
            {n: _iso(v) if n in stamps else v for n, v in zip(names, row, strict=True)}
            for row in rows
        ]


from nunis_ingest.warehouses import duckdb_details as details  # noqa: E402 (imports this module)


def _iso(value: Any) -> str | None:
    """DuckDB's ``2024-01-02 03:04:05+00`` → ``2024-01-02T03:04:05+00:00``."""
    return None if value is None else datetime.fromisoformat(str(value)).isoformat()
