# SQL here is built from schema/schema_detail names (table names checked against those
# modules first) and sanitised table ids only; every value is a query parameter.
# ruff: noqa: S608
"""The detail tables on BigQuery (``ports.Warehouse``'s detail methods, for ``bigquery.py``).

Per table of a ``replace_details`` call, in write order (streams first,
``activity_details`` last):

1. the table's rows go to a local NDJSON file, then by one load job into a staging
   table of its own (``_stage_d_<table>_<random>``, expiring after ``STAGING_TTL``), so
   the target's 1,500 loads/table/day are not touched and one call costs one load per
   table whatever the number of activities in it;
2. one ``MERGE … ON FALSE``: every staged row is inserted, and every target row of this
   athlete and these activity ids is deleted (``WHEN NOT MATCHED BY SOURCE AND …``), in
   one atomic statement. ``ON FALSE`` needs no unique key in the staged rows and never
   half-matches; replacing a table's rows of an activity is exactly delete-then-insert.
   A table listed with no rows gets one ``DELETE`` instead, and no load.

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

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from google.cloud import bigquery

from nunis_ingest import schema, schema_detail
from nunis_ingest.ports import DetailRows
from nunis_ingest.warehouses.bigquery import STAGING_TTL, _bq_errors, _table_lock, schema_fields
from nunis_ingest.warehouses.detail_check import WRITE_ORDER, check, countable, detail_table
from nunis_ingest.warehouses.detail_stage import quarantine_records, stage_rows, staged_tables

if TYPE_CHECKING:
    from nunis_ingest.warehouses.bigquery import BigQueryWarehouse

_IDS = "athlete_id = @athlete AND activity_id IN UNNEST(@ids)"


def _params(athlete_id: int, ids: Sequence[int] | None = None) -> list[Any]:
    params: list[Any] = [bigquery.ScalarQueryParameter("athlete", "INT64", athlete_id)]
    if ids is not None:
        params.append(bigquery.ArrayQueryParameter("ids", "INT64", [int(i) for i in ids]))
    return params


def table_spec(wh: BigQueryWarehouse, table: schema_detail.DetailTable) -> bigquery.Table:
    """The table as ``ensure_schema`` creates it: clustered, streams partitioned by month."""
    spec = bigquery.Table(wh.table_id(table.name), schema=schema_fields(table.columns))
    spec.clustering_fields = list(schema_detail.CLUSTER_BY)
    if table.partition_by_month:
        spec.time_partitioning = bigquery.TimePartitioning(
            type_=bigquery.TimePartitioningType.MONTH, field=table.partition_by_month
        )
    return spec


def replace_details(wh: BigQueryWarehouse, athlete_id: int, write: DetailRows) -> dict[str, int]:
    checked = check(athlete_id, write)
    written: dict[str, int] = {}
    if checked.ids:
        with staged_tables(write, checked) as tables:
            for name, stage, count in tables:
                table = detail_table(name)
                with _table_lock(wh.table_id(name)):
                    if stage is None:
                        _delete(wh, name, _IDS, _params(athlete_id, checked.ids))
                    else:
                        _merge(wh, table, str(stage.path), athlete_id, checked.ids)
                written[name] = count
    records = quarantine_records(athlete_id, checked)
    if records:
        stage = stage_rows(records)
        try:
            table_id = wh.table_id(schema.QUARANTINE_TABLE)
            wh.load_file(str(stage.path), table_id, schema.QUARANTINE, append=True)
        finally:
            stage.cleanup()
        written[schema.QUARANTINE_TABLE] = len(records)
    return written


def _merge(
    wh: BigQueryWarehouse,
    table: schema_detail.DetailTable,
    path: str,
    athlete_id: int,
    ids: Sequence[int],
) -> None:
    staging = wh.table_id(f"_stage_d_{table.name}_{uuid.uuid4().hex[:16]}")
    try:
        with _bq_errors("staging table setup"):
            spec = bigquery.Table(staging, schema=schema_fields(table.columns))
            spec.expires = datetime.now(UTC) + STAGING_TTL
            wh.client.create_table(spec)
        wh.load_file(path, staging, table.columns)
        names = ", ".join(f"`{c.name}`" for c in table.columns)
        values = ", ".join(f"S.`{c.name}`" for c in table.columns)
        sql = f"""
MERGE {wh.sql_table(table.name)} T
USING `{staging}` S
ON FALSE
WHEN NOT MATCHED BY TARGET THEN INSERT ({names}) VALUES ({values})
WHEN NOT MATCHED BY SOURCE AND T.athlete_id = @athlete AND T.activity_id IN UNNEST(@ids)
  THEN DELETE
"""
        wh.query(sql, _params(athlete_id, ids), dml=True)
    finally:
        with _bq_errors("drop of a staging table"):
            wh.client.delete_table(staging, not_found_ok=True)


def _delete(wh: BigQueryWarehouse, name: str, where: str, params: list[Any]) -> None:
    wh.query(f"DELETE FROM {wh.sql_table(name)} WHERE {where}", params, dml=True)


def delete_details(wh: BigQueryWarehouse, athlete_id: int, ids: Sequence[int] | None) -> None:
    """One DELETE per detail table, in write order: the athlete's rows of ``ids``
    (``None``: all of them)."""
    where = _IDS if ids is not None else "athlete_id = @athlete"
    for name in WRITE_ORDER:
        with _table_lock(wh.table_id(name)):
            _delete(wh, name, where, _params(athlete_id, ids))


def delete_orphans(wh: BigQueryWarehouse, athlete_id: int) -> None:
    """After a full refresh deleted activities: the athlete's detail rows whose activity
    is no longer in ``activities``, one DELETE per table."""
    kept = f"SELECT id FROM {wh.sql_table(schema.ACTIVITIES_TABLE)} WHERE athlete_id = @athlete"
    where = f"athlete_id = @athlete AND activity_id NOT IN ({kept})"
    for name in WRITE_ORDER:
        with _table_lock(wh.table_id(name)):
            _delete(wh, name, where, _params(athlete_id))


def fetch_unenriched(
    wh: BigQueryWarehouse, athlete_id: int, table: str
) -> list[tuple[int, int | None]]:
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


def count_rows(wh: BigQueryWarehouse, table: str, athlete_id: int) -> int:
    sql = f"SELECT COUNT(*) AS n FROM {wh.sql_table(countable(table))} WHERE athlete_id = @athlete"
    rows = wh.rows(sql, _params(athlete_id))
    return int(rows[0]["n"]) if rows else 0


def fetch_detail_fingerprints(wh: BigQueryWarehouse, athlete_id: int) -> dict[int, str | None]:
    sql = (
        f"SELECT activity_id, summary_fingerprint FROM {wh.sql_table(schema_detail.DETAILS.name)} "
        "WHERE athlete_id = @athlete"
    )
    return {
        int(r["activity_id"]): r["summary_fingerprint"] for r in wh.rows(sql, _params(athlete_id))
    }
