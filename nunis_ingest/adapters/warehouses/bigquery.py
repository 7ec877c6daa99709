"""BigQuery adapter for ``ports.Warehouse``: one load job into a staging table, then one MERGE.

Composed of one class or function set per file: ``bigquery_jobs`` (statements, load
jobs, errors), ``bigquery_batch`` (one staged commit), ``bigquery_details`` (the detail
tables, functions over the jobs).

Why this path (shared/facts/GCP.md): load jobs are free and atomic; a MERGE from a staging
table is one atomic, idempotent upsert; streaming inserts would lock fresh rows against the
very DML that follows. Costs and quotas shape the rest:

* No load and no DML for an empty batch without ``replace`` (1,500 loads per table per day;
  every query bills at least 10 MB per table referenced).
* Before the MERGE one read-only query counts inserted/updated/unchanged/deleted from the
  staging table and the target. The counts come from there, not from the MERGE's
  ``dml_stats`` (local-bigquery does not report them reliably); that query is also where the
  mass-delete guard decides, and when it finds nothing to change the MERGE is skipped.
* MERGEs and DELETEs on one table are serialised in this process with a lock (BigQuery
  queues at most 2 running + 20 pending mutating statements per table; the per-athlete
  lease serialises across processes).
* ``activities`` is clustered by ``athlete_id`` and NOT partitioned: partitions pay off only
  near 10 GB each, and our tables stay far below that.
* ``raw`` is a JSON column loaded from a JSON *object* in the NDJSON file: a JSON string
  there would be stored as a JSON string scalar, not parsed.
* ``record_run`` is a DML INSERT with typed parameters, not a load job (a load per run
  would eat the daily load quota) and not a streaming insert.
"""

# SQL here is built from schema.py's column names and sanitised table ids only; every
# value travels as a query parameter, so S608's injection warning does not apply.
# ruff: noqa: S608
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import google.api_core.exceptions as gexc
from google.cloud import bigquery

from nunis_ingest import errors
from nunis_ingest.adapters.warehouses import bigquery_details as details
from nunis_ingest.adapters.warehouses.bigquery_batch import BigQueryBatch
from nunis_ingest.adapters.warehouses.bigquery_jobs import (
    GRANT,
    STAGING_TTL,
    BigQueryJobs,
    bq_errors,
    schema_fields,
    table_lock,
)
from nunis_ingest.adapters.warehouses.parts import PART_BYTES
from nunis_ingest.core import schema
from nunis_ingest.core.schema_detail import DETAIL_TABLES
from nunis_ingest.ports import DetailRows, Presence, Row

__all__ = ["GRANT", "STAGING_TTL", "BigQueryWarehouse", "WarehouseRejected", "schema_fields"]
WarehouseRejected = errors.WarehouseRejected  # one class for every adapter (ports.Warehouse)


class BigQueryWarehouse:
    """``activities``, ``ingest_runs``, ``quarantine`` and the detail tables
    (``bigquery_details``) in one dataset (``"dataset"`` or ``"project.ds"``)."""

    def __init__(self, client: Any, dataset: str, *, location: str | None = None) -> None:
        self.jobs = BigQueryJobs(client, dataset, location=location)
        self.client = client
        self.dataset = self.jobs.dataset
        self.location = location
        self.operations = self.jobs.operations

    def table_id(self, name: str) -> str:
        return self.jobs.table_id(name)

    def sql_table(self, name: str) -> str:
        return self.jobs.sql_table(name)

    def query(self, sql: str, params: Sequence[Any] = (), *, dml: bool = False) -> Any:
        return self.jobs.query(sql, params, dml=dml)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return self.jobs.rows(sql, params)

    def load_file(
        self,
        path: str,
        table_id: str,
        columns: tuple[schema.Column, ...],
        *,
        append: bool = False,
        part_bytes: int = PART_BYTES,
    ) -> None:
        """``BigQueryJobs.load_file``: bounded load jobs, counted as one load."""
        self.jobs.load_file(path, table_id, columns, append=append, part_bytes=part_bytes)

    # --- schema -------------------------------------------------------------------------

    def ensure_schema(self) -> None:
        """Create the dataset and tables if missing; add columns a newer schema declares."""
        with bq_errors("schema setup"):
            ds = bigquery.Dataset(self.dataset)
            if self.location:
                ds.location = self.location
            try:  # get first: create needs a project-level permission the runtime lacks
                self.client.get_dataset(self.dataset)
            except gexc.NotFound:
                self.client.create_dataset(ds, exists_ok=True)
            specs = []
            for name, columns in (
                (schema.ACTIVITIES_TABLE, schema.ACTIVITIES),
                (schema.RUNS_TABLE, schema.RUNS),
                (schema.QUARANTINE_TABLE, schema.QUARANTINE),
            ):
                table = bigquery.Table(self.table_id(name), schema=schema_fields(columns))
                table.clustering_fields = ["athlete_id"]
                specs.append((table, columns))
            specs += [(details.table_spec(self.jobs, t), t.columns) for t in DETAIL_TABLES]
            for table, columns in specs:
                table = self.client.create_table(table, exists_ok=True)
                have = {f.name for f in table.schema}
                missing = [f for f in schema_fields(columns) if f.name not in have]
                if missing:  # only NULLABLE/REPEATED additions are legal; that is our policy
                    table.schema = [*table.schema, *missing]
                    self.client.update_table(table, ["schema"])

    # --- writes -------------------------------------------------------------------------

    def stage(self, athlete_id: int, run_id: str) -> BigQueryBatch:
        return BigQueryBatch(self.jobs, athlete_id, run_id)

    def _delete(self, where: str, params: list[Any]) -> int:
        """One DELETE on ``activities`` under the table lock; returns rows deleted."""
        table = self.sql_table(schema.ACTIVITIES_TABLE)
        with table_lock(self.table_id(schema.ACTIVITIES_TABLE)):
            done = self.query(f"DELETE FROM {table} WHERE {where}", params, dml=True)
        return int(done.num_dml_affected_rows or 0)

    def delete_activities(self, athlete_id: int, activity_ids: Sequence[int]) -> int:
        if not activity_ids:
            return 0
        params = [
            bigquery.ScalarQueryParameter("athlete", "INT64", athlete_id),
            bigquery.ArrayQueryParameter("ids", "INT64", [int(i) for i in activity_ids]),
        ]
        details.delete_details(self.jobs, athlete_id, activity_ids)
        return self._delete("athlete_id = @athlete AND id IN UNNEST(@ids)", params)

    def purge_athlete(self, athlete_id: int) -> int:
        params = [bigquery.ScalarQueryParameter("athlete", "INT64", athlete_id)]
        details.delete_details(self.jobs, athlete_id, None)
        return self._delete("athlete_id = @athlete", params)

    def replace_details(self, athlete_id: int, write: DetailRows) -> dict[str, int]:
        return details.replace_details(self.jobs, athlete_id, write)

    def fetch_unenriched(self, athlete_id: int, table: str) -> list[tuple[int, int | None]]:
        return details.fetch_unenriched(self.jobs, athlete_id, table)

    def count_rows(self, table: str, athlete_id: int) -> int:
        return details.count_rows(self.jobs, table, athlete_id)

    def fetch_detail_fingerprints(self, athlete_id: int) -> dict[int, str | None]:
        return details.fetch_detail_fingerprints(self.jobs, athlete_id)

    def record_run(self, run: Row) -> None:
        unknown = set(run) - set(schema.column_names(schema.RUNS))
        if unknown:
            raise ValueError(f"ingest_runs has no column(s) {sorted(unknown)}")
        names, params = [], []
        for col in schema.RUNS:
            if col.name in run:
                names.append(col.name)
                params.append(_scalar_param(col, run[col.name]))
        cols = ", ".join(f"`{n}`" for n in names)
        values = ", ".join(f"@{n}" for n in names)
        sql = f"INSERT INTO {self.sql_table(schema.RUNS_TABLE)} ({cols}) VALUES ({values})"
        self.query(sql, params, dml=True)

    # --- reads --------------------------------------------------------------------------

    def fetch_activity_hashes(self, athlete_id: int) -> dict[int, str]:
        sql = (
            f"SELECT id, content_hash FROM {self.sql_table(schema.ACTIVITIES_TABLE)} "
            "WHERE athlete_id = @athlete"
        )
        rows = self.rows(sql, [bigquery.ScalarQueryParameter("athlete", "INT64", athlete_id)])
        return {int(r["id"]): str(r["content_hash"]) for r in rows}

    def fetch_activity_starts(
        self, athlete_id: int
    ) -> list[tuple[int, int | None, float | None, int | None]]:
        sql = (
            "SELECT id, UNIX_SECONDS(start_date) AS s, distance, elapsed_time "
            f"FROM {self.sql_table(schema.ACTIVITIES_TABLE)} WHERE athlete_id = @athlete"
        )
        rows = self.rows(sql, [bigquery.ScalarQueryParameter("athlete", "INT64", athlete_id)])
        return [(int(r["id"]), r["s"], r["distance"], r["elapsed_time"]) for r in rows]

    def presence(self) -> Presence:
        """``activities``' table metadata (``tables.get``: free, no query billed): its
        creation time identifies it, ``num_rows`` counts every athlete's rows."""
        with bq_errors("reading table metadata"):
            try:
                table = self.client.get_table(self.table_id(schema.ACTIVITIES_TABLE))
            except gexc.NotFound:
                return Presence(missing=True)
        created = table.created.isoformat() if table.created is not None else None
        rows = int(table.num_rows) if table.num_rows is not None else None
        return Presence(identity=f"table:{created}" if created else None, total_rows=rows)

    def count_activities(self, athlete_id: int) -> int:
        sql = (
            f"SELECT COUNT(*) AS n FROM {self.sql_table(schema.ACTIVITIES_TABLE)} "
            "WHERE athlete_id = @athlete"
        )
        rows = self.rows(sql, [bigquery.ScalarQueryParameter("athlete", "INT64", athlete_id)])
        return int(rows[0]["n"]) if rows else 0

    def fetch_runs(self, athlete_id: int, limit: int = 10) -> list[dict[str, Any]]:
        sql = (
            f"SELECT * FROM {self.sql_table(schema.RUNS_TABLE)} WHERE athlete_id = @athlete "
            "ORDER BY started_at DESC, finished_at DESC LIMIT @limit"
        )
        params = [
            bigquery.ScalarQueryParameter("athlete", "INT64", athlete_id),
            bigquery.ScalarQueryParameter("limit", "INT64", limit),
        ]
        return [{k: _json_ready(v) for k, v in r.items()} for r in self.rows(sql, params)]


def _scalar_param(col: schema.Column, value: Any) -> bigquery.ScalarQueryParameter:
    """A typed parameter, so NULLs and TIMESTAMP strings reach BigQuery with their type."""
    if col.type == "TIMESTAMP" and isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return bigquery.ScalarQueryParameter(col.name, col.type, value)


def _json_ready(value: Any) -> Any:
    """Back to the row encoding of schema.py: TIMESTAMPs as ISO strings with offset."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value.astimezone(UTC).isoformat()
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value
