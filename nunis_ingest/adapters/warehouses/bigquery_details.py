# SQL here is built from schema/schema_detail names (table names checked against those
# modules first) and sanitised table ids only; every value is a query parameter.
# ruff: noqa: S608
"""The detail tables on BigQuery: functions over ``BigQueryJobs`` (for ``bigquery.py``).

One ``replace_details`` call:

1. every listed table's rows go to one local NDJSON file, each line tagged with its
   table (``detail_stage.stage_combined``), then by **one load job** into a staging table
   of the call's own (``_stage_details_<random>``, expiring after ``STAGING_TTL``; its
   schema is the union of the detail columns, which share one type per name). The
   targets' 1,500 loads/table/day are never touched, and a call costs one load whatever
   the number of tables and activities in it;
2. per table, in write order (streams first, ``activity_details`` last), **one
   ``MERGE … ON FALSE``** from the staging rows of that table: every staged row is
   inserted and every target row of this athlete and these activity ids is deleted
   (``WHEN NOT MATCHED BY SOURCE AND …``), in one atomic statement. ``ON FALSE`` needs no
   unique key in the staged rows and never half-matches: replacing a table's rows of an
   activity is exactly delete-then-insert. A listed table without rows gets one
   ``DELETE`` instead.

Why per-table MERGEs and not one multi-statement transaction (which local-bigquery runs
too): on BigQuery a transaction that mutates a table *cancels* other transactions and
conflicts with DML on the same table, while plain DML statements queue (2 running, 20
pending per table). Detail tables are shared by every athlete and fan-out runs athletes
in parallel, so transactions would fail one another; MERGEs just wait. The write order
keeps the port's promise: a failure part-way leaves no ``activity_details`` row for a
detail not all there, and a retry replaces everything again.

MERGEs and DELETEs on one table are serialised in this process (``_table_lock``), as for
``activities``. Tables are clustered by ``athlete_id, activity_id`` (every DELETE and
``NOT MATCHED BY SOURCE`` filter); ``activity_streams`` is also partitioned by month of
``start_date`` (``schema_detail``). Quarantine records (``detail_check``) are appended by
one load job after the tables changed, only when there are some.
"""

from __future__ import annotations

import dataclasses
import functools
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from google.cloud import bigquery

from nunis_ingest.adapters.warehouses.bigquery_jobs import (
    STAGING_TTL,
    BigQueryJobs,
    bq_errors,
    schema_fields,
    table_lock,
)
from nunis_ingest.adapters.warehouses.detail_check import (
    WRITE_ORDER,
    check,
    countable,
    detail_table,
)
from nunis_ingest.adapters.warehouses.detail_stage import (
    TABLE_COLUMN,
    quarantine_records,
    stage_combined,
    stage_rows,
)
from nunis_ingest.core import schema, schema_detail
from nunis_ingest.ports import DetailRows

_IDS = "athlete_id = @athlete AND activity_id IN UNNEST(@ids)"


def _params(athlete_id: int, ids: Sequence[int] | None = None) -> list[Any]:
    params: list[Any] = [bigquery.ScalarQueryParameter("athlete", "INT64", athlete_id)]
    if ids is not None:
        params.append(bigquery.ArrayQueryParameter("ids", "INT64", [int(i) for i in ids]))
    return params


def table_spec(wh: BigQueryJobs, table: schema_detail.DetailTable) -> bigquery.Table:
    """The table as ``ensure_schema`` creates it: clustered, streams partitioned by month."""
    spec = bigquery.Table(wh.table_id(table.name), schema=schema_fields(table.columns))
    spec.clustering_fields = list(schema_detail.CLUSTER_BY)
    if table.partition_by_month:
        spec.time_partitioning = bigquery.TimePartitioning(
            type_=bigquery.TimePartitioningType.MONTH, field=table.partition_by_month
        )
    return spec


def replace_details(wh: BigQueryJobs, athlete_id: int, write: DetailRows) -> dict[str, int]:
    checked = check(athlete_id, write)
    written: dict[str, int] = {}
    if checked.ids:
        path, written = stage_combined(write, checked)
        try:
            staging = _load_staging(wh, path) if any(written.values()) else None
            try:
                for name in checked.tables:
                    with table_lock(wh.table_id(name)):
                        if staging is None or not written[name]:
                            _delete(wh, name, _IDS, _params(athlete_id, checked.ids))
                        else:
                            _merge(wh, detail_table(name), staging, athlete_id, checked.ids)
            finally:
                if staging is not None:
                    with bq_errors("drop of a staging table"):
                        wh.client.delete_table(staging, not_found_ok=True)
        finally:
            path.unlink(missing_ok=True)
    records = quarantine_records(athlete_id, checked)
    if records:
        held = stage_rows(records)
        try:
            table_id = wh.table_id(schema.QUARANTINE_TABLE)
            wh.load_file(str(held), table_id, schema.QUARANTINE, append=True)
        finally:
            held.unlink(missing_ok=True)
        written[schema.QUARANTINE_TABLE] = len(records)
    return written


@functools.cache
def staging_columns() -> tuple[schema.Column, ...]:
    """The combined staging table: ``TABLE_COLUMN``, then every detail column once, all
    NULLABLE (a column name means the same type in every detail table; checked here)."""
    columns: dict[str, schema.Column] = {}
    for table in schema_detail.DETAIL_TABLES:
        for c in table.columns:
            loose = dataclasses.replace(c, required=False, description="")
            if columns.setdefault(c.name, loose) != loose:
                raise RuntimeError(f"detail column {c.name} has two types; stage per table")
    return (schema.Column(TABLE_COLUMN, "STRING", required=True), *columns.values())


def _load_staging(wh: BigQueryJobs, path: Path) -> str:
    """One load job of every table's rows into a new staging table; returns its id."""
    staging = wh.table_id(f"_stage_details_{uuid.uuid4().hex[:16]}")
    with bq_errors("staging table setup"):
        spec = bigquery.Table(staging, schema=schema_fields(staging_columns()))
        spec.expires = datetime.now(UTC) + STAGING_TTL
        wh.client.create_table(spec)
    try:
        wh.load_file(str(path), staging, staging_columns())
    except BaseException:
        with bq_errors("drop of a staging table"):
            wh.client.delete_table(staging, not_found_ok=True)
        raise
    return staging


def _merge(
    wh: BigQueryJobs,
    table: schema_detail.DetailTable,
    staging: str,
    athlete_id: int,
    ids: Sequence[int],
) -> None:
    names = ", ".join(f"`{c.name}`" for c in table.columns)
    values = ", ".join(f"S.`{c.name}`" for c in table.columns)
    sql = f"""
MERGE {wh.sql_table(table.name)} T
USING (SELECT {names} FROM `{staging}` WHERE `{TABLE_COLUMN}` = @table) S
ON FALSE
WHEN NOT MATCHED BY TARGET THEN INSERT ({names}) VALUES ({values})
WHEN NOT MATCHED BY SOURCE AND T.athlete_id = @athlete AND T.activity_id IN UNNEST(@ids)
  THEN DELETE
"""
    params = [
        *_params(athlete_id, ids),
        bigquery.ScalarQueryParameter("table", "STRING", table.name),
    ]
    wh.query(sql, params, dml=True)


def _delete(wh: BigQueryJobs, name: str, where: str, params: list[Any]) -> None:
    wh.query(f"DELETE FROM {wh.sql_table(name)} WHERE {where}", params, dml=True)


def delete_details(wh: BigQueryJobs, athlete_id: int, ids: Sequence[int] | None) -> None:
    """One DELETE per detail table, in write order: the athlete's rows of ``ids``
    (``None``: all of them)."""
    where = _IDS if ids is not None else "athlete_id = @athlete"
    for name in WRITE_ORDER:
        with table_lock(wh.table_id(name)):
            _delete(wh, name, where, _params(athlete_id, ids))


def delete_orphans(wh: BigQueryJobs, athlete_id: int) -> None:
    """After a full refresh deleted activities: the athlete's detail rows whose activity
    is no longer in ``activities``, one DELETE per table."""
    kept = f"SELECT id FROM {wh.sql_table(schema.ACTIVITIES_TABLE)} WHERE athlete_id = @athlete"
    where = f"athlete_id = @athlete AND activity_id NOT IN ({kept})"
    for name in WRITE_ORDER:
        with table_lock(wh.table_id(name)):
            _delete(wh, name, where, _params(athlete_id))


def fetch_unenriched(wh: BigQueryJobs, athlete_id: int, table: str) -> list[tuple[int, int | None]]:
    name = detail_table(table).name
    manual = "AND a.manual IS NOT TRUE" if name == schema_detail.STREAMS.name else ""
    sql = f"""
SELECT a.id, UNIX_SECONDS(a.start_date) AS epoch
FROM {wh.sql_table(schema.ACTIVITIES_TABLE)} AS a
WHERE a.athlete_id = @athlete {manual}
  AND NOT EXISTS (SELECT 1 FROM {wh.sql_table(name)} AS d
                  WHERE d.activity_id = a.id AND d.athlete_id = @athlete)
ORDER BY a.start_date DESC NULLS LAST, a.id DESC
"""
    rows = wh.rows(sql, _params(athlete_id))
    return [(int(r["id"]), None if r["epoch"] is None else int(r["epoch"])) for r in rows]


def count_rows(wh: BigQueryJobs, table: str, athlete_id: int) -> int:
    sql = f"SELECT COUNT(*) AS n FROM {wh.sql_table(countable(table))} WHERE athlete_id = @athlete"
    rows = wh.rows(sql, _params(athlete_id))
    return int(rows[0]["n"]) if rows else 0


def fetch_detail_fingerprints(wh: BigQueryJobs, athlete_id: int) -> dict[int, str | None]:
    sql = (
        f"SELECT activity_id, summary_fingerprint FROM {wh.sql_table(schema_detail.DETAILS.name)} "
        "WHERE athlete_id = @athlete"
    )
    return {
        int(r["activity_id"]): r["summary_fingerprint"] for r in wh.rows(sql, _params(athlete_id))
    }
