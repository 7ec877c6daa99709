"""One DuckDB database file: connections opened per operation, the file lock, errors.

- **No lock between operations.** DuckDB lets one read-write process exclude all others,
  or several read-only processes share the file. So every operation opens its own
  connection and closes it right after: writes read-write, reads read-only. A
  long-running process (``webhook serve``, a warm function) holds no lock while idle,
  and ``sync``, ``status``, notebooks and SQL clients can open the file in between.
- **A bounded wait for the lock.** When another process holds the file, the open is
  retried with backoff for ``lock_wait`` seconds (``NUNIS_DUCKDB_LOCK_WAIT_SECONDS``),
  then ``WarehouseLocked`` names the file, the holder (program and PID, from DuckDB's
  error) and the fix. Nothing was written.
- **One error contract** (``ports.Warehouse``): lock, busy or I/O failures are
  ``WarehouseTransientError``; a missing table, a permission or schema problem is
  ``WarehouseRejected``.
- **One thread for writes**: a third less memory in a bulk load, no slower on two cores.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import duckdb

from nunis_ingest.errors import (
    NunisError,
    WarehouseLocked,
    WarehouseRejected,
    WarehouseTransientError,
)

DEFAULT_LOCK_WAIT = 30.0
_HOLDER = re.compile(r"Conflicting lock is held in (.+?) \(PID (\d+)\)")
_PATH_LOCKS: dict[str, threading.RLock] = {}
_PATH_LOCKS_GUARD = threading.Lock()


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


class DuckDBFile:
    """Connections to the DuckDB file ``path``; ``operations`` counts loads and DML.

    ``setup``: SQL statements run on every connection opened (bench experiments).
    """

    def __init__(
        self, path: Path, *, lock_wait: float = DEFAULT_LOCK_WAIT, setup: Sequence[str] = ()
    ) -> None:
        self.path = Path(path)
        self.lock_wait = float(lock_wait)
        self.setup = list(setup)
        self.operations: dict[str, int] = {"load": 0, "dml": 0}
        self._lock = _path_lock(self.path)

    @contextmanager
    def reader(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection for inspection (tests, demo, status), closed on exit.

        While it is open other processes can read but not write the file: keep it short,
        and do not write through this process inside it (DuckDB refuses a read-write
        connection next to a read-only one in one process).
        TIMESTAMPTZ values fetched through it need ``pytz``; ``CAST(… AS VARCHAR)`` avoids that.
        """
        with self.open(write=False) as con:
            yield con

    @contextmanager
    def open(self, *, write: bool) -> Iterator[duckdb.DuckDBPyConnection]:
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
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection inside ``BEGIN … COMMIT``; any failure rolls back."""
        with self.open(write=True) as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                with suppress(duckdb.Error):  # keep the original error, not a rollback's
                    con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def dml(self, con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one mutating statement, count it, return the affected row count."""
        self.operations["dml"] += 1
        result = con.execute(sql, list(params)).fetchone()
        return int(result[0]) if result else 0
