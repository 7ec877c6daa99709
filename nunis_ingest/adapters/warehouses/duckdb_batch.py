# SQL text is built only from schema.py identifiers (quoted by _q), generated temp-table
# names and the stage path (quoted by _lit); every value is a bound parameter.
# ruff: noqa: S608
"""One DuckDB commit: staged NDJSON read with explicit types, applied in one transaction.

- **Bulk, not row by row.** A batch streams rows into an NDJSON file (``ActivityStage``:
  one row per id, last wins, unloadable rows set aside); ``commit`` reads it with
  ``read_json`` and explicit column types from ``schema`` (no auto-detection: a sample of
  odd rows can never change a column's type).
- **One transaction per commit.** Key load, counts, mass-delete guard, DELETE, INSERT and
  the quarantine rows run inside ``BEGIN … COMMIT``; any failure rolls back, so the table
  holds either the old or the new state (what ``sync`` relies on before it advances its
  cursor). The read-write connection, and so the file's lock, exists only for that.
- **Unchanged rows cost nothing.** Rows whose ``content_hash`` is stored already are not
  written, and a batch with nothing new runs no DML at all (one key load only).
- **Counters.** ``operations['load']`` counts staged files brought in (one per commit
  with rows, like BigQuery's one load job, even though DuckDB reads the file in two
  passes); ``operations['dml']`` counts mutating statements on ``activities`` and
  ``ingest_runs`` (quarantine rows are not counted).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from nunis_ingest.adapters.warehouses.duckdb_details import delete_orphans
from nunis_ingest.adapters.warehouses.duckdb_file import DuckDBFile
from nunis_ingest.adapters.warehouses.duckdb_sql import lit, read_json_sql
from nunis_ingest.adapters.warehouses.duckdb_sql import q as _q
from nunis_ingest.adapters.warehouses.quarantine import ActivityStage
from nunis_ingest.core import schema
from nunis_ingest.core.guard import check_delete_share
from nunis_ingest.ports import Listed, Row, WriteResult

_ACT = schema.ACTIVITIES_TABLE
_KEY_COLUMNS = tuple(c for c in schema.ACTIVITIES if c.name in {"id", "athlete_id", "content_hash"})


class DuckDBBatch:
    """``ports.StagedBatch``: rows of one athlete and run, on disk until ``commit``."""

    def __init__(
        self, db: DuckDBFile, athlete_id: int, run_id: str, *, stage_dir: Path | None = None
    ) -> None:
        self.db = db
        self.athlete_id = int(athlete_id)
        self.run_id = run_id
        self._stage: ActivityStage | None = ActivityStage(
            athlete_id, run_id, directory=stage_dir, engine_lines=True
        )
        self._seen_at: datetime | None = None

    def add(self, rows: Sequence[Row]) -> None:
        self._live().add(rows)

    def add_activities(self, items: Sequence[Listed], seen_at: datetime) -> None:
        self._seen_at = seen_at
        self._live().add_activities(items, seen_at)

    def _staged(self, path: Path, columns: tuple[schema.Column, ...]) -> str:
        """The staged rows of ``columns``: lines ``transform_engine`` wrote get this batch's
        athlete, run and time, and ``[]`` for a missing list (what ``to_row`` gives)."""
        seen = (self._seen_at or datetime.now(UTC)).isoformat()
        fill = {
            "athlete_id": str(self.athlete_id),
            "run_id": lit(self.run_id),
            "first_seen_at": f"CAST({lit(seen)} AS TIMESTAMPTZ)",
            "updated_at": f"CAST({lit(seen)} AS TIMESTAMPTZ)",
        }
        for c in columns:
            if c.repeated:
                fill[c.name] = "[]"
        used = [
            f"coalesce({_q(c.name)}, {fill[c.name]}) AS {_q(c.name)}"
            for c in columns
            if c.name in fill
        ]
        replace = f" REPLACE ({', '.join(used)})" if used else ""
        return f"(SELECT *{replace} FROM {read_json_sql(path, columns)})"

    def discard(self) -> None:
        if self._stage is not None:
            self._stage.cleanup()
            self._stage = None

    def commit(
        self, *, replace: bool, max_delete_share: float | None = None, keep_existing: bool = False
    ) -> WriteResult:
        stage = self._live()
        try:
            stage.close()
            if stage.count == 0 and stage.quarantined == 0 and not replace:
                return WriteResult()
            with self.db.transaction() as con:
                result = self._apply(
                    con, stage, uuid.uuid4().hex, replace, max_delete_share, keep_existing
                )
                if stage.quarantine is not None:
                    quarantine = read_json_sql(stage.quarantine.path, schema.QUARANTINE)
                    con.execute(
                        f"INSERT INTO {_q(schema.QUARANTINE_TABLE)} SELECT * FROM {quarantine}"
                    )
                return result
        finally:
            self.discard()

    def _live(self) -> ActivityStage:
        if self._stage is None:
            raise RuntimeError("batch was already committed or discarded")
        return self._stage

    def _apply(
        self,
        con: duckdb.DuckDBPyConnection,
        stage: ActivityStage,
        tag: str,
        replace: bool,
        max_delete_share: float | None,
        keep_existing: bool = False,
    ) -> WriteResult:
        """Count, guard, delete changed and vanished ids, insert new versions.

        Two passes over the file: the first reads only ``id``, ``athlete_id`` and
        ``content_hash`` (cheap), which is all that counts, the guard and an all-unchanged
        re-run need; only if something changed does the second pass read full rows, and
        only those rows are inserted. An update is a DELETE plus an INSERT of the new
        version (``first_seen_at`` carried over): for wide rows with list and struct
        columns DuckDB does that several times faster than ``UPDATE`` or ``MERGE``.
        Ids set aside in quarantine are never deleted by ``replace``.
        """
        db, act, me = self.db, _q(_ACT), self.athlete_id
        path: Path | None = stage.rows.path if stage.count else None
        keys, gone = _q(f"nunis_keys_{tag}"), _q(f"nunis_gone_{tag}")
        inserted = updated = unchanged = 0
        parts: list[str] = []
        params: list[Any] = []
        if path is not None:
            db.operations["load"] += 1
            con.execute(
                f"CREATE TEMP TABLE {keys} AS SELECT s.id, s.athlete_id, "
                "t.id IS NOT NULL AS existed, "
                f"{'t.id IS NOT NULL OR ' if keep_existing else ''}"
                "t.content_hash IS NOT DISTINCT FROM s.content_hash AS same, "
                "t.athlete_id AS owner, t.first_seen_at AS kept_first_seen_at "
                f"FROM {self._staged(path, _KEY_COLUMNS)} AS s "
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
            parts.append(
                f"SELECT id FROM {act} WHERE athlete_id = ? {not_staged} "
                "AND id NOT IN (SELECT unnest(?::BIGINT[]))"
            )
            params = [me, sorted(stage.quarantined_ids)]
        deleted = 0
        if parts:
            con.execute(f"CREATE TEMP TABLE {gone} AS {' UNION ALL '.join(parts)}", params)
            deleted = _count(con, gone) - updated
        if replace:
            check_delete_share(
                me, deleted, _count(con, act, "WHERE athlete_id = ?", [me]), max_delete_share
            )
        if deleted or updated:
            db.dml(con, f"DELETE FROM {act} WHERE id IN (SELECT id FROM {gone})")
        if path is not None and (inserted or updated):
            cols = ", ".join(_q(n) for n in schema.column_names(schema.ACTIVITIES))
            source = f"SELECT * FROM {self._staged(path, schema.ACTIVITIES)}"
            if updated or unchanged:  # else all rows are new: no join needed
                source = (
                    "SELECT s.* REPLACE (coalesce(k.kept_first_seen_at, s.first_seen_at) "
                    f"AS first_seen_at) FROM ({source}) AS s "
                    f"JOIN {keys} AS k ON k.id = s.id WHERE NOT k.same"
                )
            db.dml(con, f"INSERT INTO {act} ({cols}) {source}")
        if deleted:  # activities that are gone take their detail rows along
            delete_orphans(db, con, me)
        for table in (keys if path else None, gone if parts else None):
            if table:
                con.execute(f"DROP TABLE {table}")
        return WriteResult(
            inserted=inserted,
            updated=updated,
            deleted=deleted,
            unchanged=unchanged,
            quarantined=stage.quarantined,
        )


def _count(
    con: duckdb.DuckDBPyConnection, table: str, where: str = "", params: Sequence[Any] = ()
) -> int:
    row = con.execute(f"SELECT count(*) FROM {table} {where}", list(params)).fetchone()
    return int(row[0]) if row else 0
