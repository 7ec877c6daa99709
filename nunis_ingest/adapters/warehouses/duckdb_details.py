# SQL text is built only from schema/schema_detail identifiers (quoted by _q, table names
# checked against those modules first) and stage paths (quoted by _lit); every value is a
# bound parameter.
# ruff: noqa: S608
"""The detail tables on DuckDB: functions over a ``DuckDBFile`` (for ``duckdb.py``).

- **One transaction per call.** ``replace_details`` deletes the athlete's rows of the
  given activities and inserts the new ones in every listed table, plus any quarantine
  records, inside one ``BEGIN … COMMIT``: stronger than the port's one atomic step per
  table. Deletes and inserts are bulk statements (``activity_id IN (unnest(?))``, then
  ``INSERT … SELECT`` from ``read_json`` of the staged NDJSON with every column's type
  given), never row by row.
- **No primary key.** Keys are checked in Python before the write (``detail_check``): an
  index over tens of millions of stream rows would cost memory and insert time for
  nothing the check does not already guarantee.
- **Measured** (``python -m bench.details_write``, 2 shared cores): 100,000 stream rows
  replace at ~65,000 rows/s, check and encoding included; ``executemany`` managed under
  100 rows/s.
- **Deletes reach every table.** ``delete_activities``, ``purge_athlete`` and a full
  refresh that deletes activities also delete their rows from each detail table, in the
  same transaction as ``activities``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from nunis_ingest.adapters.warehouses.detail_check import (
    WRITE_ORDER,
    check,
    countable,
    detail_table,
)
from nunis_ingest.adapters.warehouses.detail_stage import (
    quarantine_records,
    stage_rows,
    staged_tables,
)
from nunis_ingest.adapters.warehouses.duckdb_file import DuckDBFile
from nunis_ingest.adapters.warehouses.duckdb_sql import q as _q
from nunis_ingest.adapters.warehouses.duckdb_sql import read_json_sql
from nunis_ingest.core import schema, schema_detail
from nunis_ingest.ports import DetailRows

_IDS = "activity_id IN (SELECT unnest(?::BIGINT[]))"


def replace_details(
    db: DuckDBFile, athlete_id: int, write: DetailRows, stage_dir: Path | None = None
) -> dict[str, int]:
    checked = check(athlete_id, write)
    ids = list(checked.ids)
    written: dict[str, int] = {}
    records = quarantine_records(athlete_id, checked)
    if not ids and not records:
        return written
    with db.transaction() as con, staged_tables(write, checked, stage_dir) as tables:
        for name, path, count in tables if ids else ():
            table = detail_table(name)
            db.dml(
                con, f"DELETE FROM {_q(name)} WHERE athlete_id = ? AND {_IDS}", [athlete_id, ids]
            )
            if path is not None:
                db.operations["load"] += 1
                cols = ", ".join(_q(c.name) for c in table.columns)
                source = read_json_sql(path, table.columns)
                db.dml(con, f"INSERT INTO {_q(name)} ({cols}) SELECT {cols} FROM {source}")
            written[name] = count
        if records:
            _insert_quarantine(con, records, stage_dir)
            written[schema.QUARANTINE_TABLE] = len(records)
    return written


def _insert_quarantine(
    con: duckdb.DuckDBPyConnection, records: list[dict[str, Any]], stage_dir: Path | None
) -> None:
    path = stage_rows(records, stage_dir)
    try:
        source = read_json_sql(path, schema.QUARANTINE)
        con.execute(f"INSERT INTO {_q(schema.QUARANTINE_TABLE)} SELECT * FROM {source}")
    finally:
        path.unlink(missing_ok=True)


def delete_details(
    db: DuckDBFile,
    con: duckdb.DuckDBPyConnection,
    athlete_id: int,
    activity_ids: Sequence[int] | None,
) -> None:
    """Delete the athlete's detail rows of ``activity_ids`` (``None``: all of them), in
    write order, inside the caller's transaction."""
    where, params = "athlete_id = ?", list[Any]([athlete_id])
    if activity_ids is not None:
        where, params = f"{where} AND {_IDS}", [athlete_id, [int(i) for i in activity_ids]]
    for name in WRITE_ORDER:
        db.dml(con, f"DELETE FROM {_q(name)} WHERE {where}", params)


def delete_orphans(db: DuckDBFile, con: duckdb.DuckDBPyConnection, athlete_id: int) -> None:
    """Delete the athlete's detail rows whose activity is no longer in ``activities``
    (after a full refresh deleted some), inside the caller's transaction."""
    kept = f"SELECT id FROM {_q(schema.ACTIVITIES_TABLE)} WHERE athlete_id = ?"
    for name in WRITE_ORDER:
        db.dml(
            con,
            f"DELETE FROM {_q(name)} WHERE athlete_id = ? AND activity_id NOT IN ({kept})",
            [athlete_id, athlete_id],
        )


def fetch_unenriched(db: DuckDBFile, athlete_id: int, table: str) -> list[tuple[int, int | None]]:
    name = detail_table(table).name
    manual = "AND a.manual IS NOT TRUE" if name == schema_detail.STREAMS.name else ""
    sql = (
        "SELECT a.id, CAST(floor(epoch(a.start_date)) AS BIGINT) "
        f"FROM {_q(schema.ACTIVITIES_TABLE)} AS a WHERE a.athlete_id = ? {manual} "
        f"AND NOT EXISTS (SELECT 1 FROM {_q(name)} AS d "
        "WHERE d.activity_id = a.id AND d.athlete_id = a.athlete_id) "
        "ORDER BY a.start_date DESC NULLS LAST, a.id DESC"
    )
    with db.open(write=False) as con:
        rows = con.execute(sql, [athlete_id]).fetchall()
    return [(int(i), None if epoch is None else int(epoch)) for i, epoch in rows]


def count_rows(db: DuckDBFile, table: str, athlete_id: int) -> int:
    sql = f"SELECT count(*) FROM {_q(countable(table))} WHERE athlete_id = ?"
    with db.open(write=False) as con:
        row = con.execute(sql, [athlete_id]).fetchone()
    return int(row[0]) if row else 0


def fetch_detail_fingerprints(db: DuckDBFile, athlete_id: int) -> dict[int, str | None]:
    sql = (
        f"SELECT activity_id, summary_fingerprint FROM {_q(schema_detail.DETAILS.name)} "
        "WHERE athlete_id = ?"
    )
    with db.open(write=False) as con:
        return {int(i): h for i, h in con.execute(sql, [athlete_id]).fetchall()}
