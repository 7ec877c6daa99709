"""One BigQuery commit: load jobs into a per-run staging table, then one MERGE.

The staged file is loaded in bounded pieces (``BigQueryJobs.load_file``: WRITE_TRUNCATE
then WRITE_APPEND into the run's own staging table, so the daily load quota of the target
table is not touched); the MERGE stays the one atomic step that makes rows visible.
Counts come from one read-only query before the MERGE (it works the same on real BigQuery
and on local-bigquery); the mass-delete guard decides there, so a refused commit changes
nothing. No MERGE runs when nothing changed (each one bills at least 10 MB per table).
Rows set aside by the stage (``quarantine.py``) are appended to ``quarantine`` by one
load job after the MERGE succeeded, and their ids are never deleted by ``replace``.
"""

# ruff: noqa: S608 - identifiers come from schema.py and validated ids, values are parameters
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace as replace_result
from datetime import UTC, datetime

from google.cloud import bigquery

from nunis_ingest.adapters.warehouses.bigquery_details import delete_orphans
from nunis_ingest.adapters.warehouses.bigquery_jobs import (
    STAGING_TTL,
    BigQueryJobs,
    bq_errors,
    schema_fields,
    table_lock,
)
from nunis_ingest.adapters.warehouses.quarantine import ActivityStage
from nunis_ingest.core import schema
from nunis_ingest.core.guard import check_delete_share
from nunis_ingest.ports import Listed, Row, WriteResult


class BigQueryBatch:
    """Rows of one athlete and run, streamed to a local NDJSON file until ``commit``."""

    def __init__(self, jobs: BigQueryJobs, athlete_id: int, run_id: str) -> None:
        self.wh = jobs
        self.athlete_id = athlete_id
        safe = re.sub(r"[^A-Za-z0-9_]", "_", run_id)[:200]
        self.staging_table = jobs.table_id(f"_stage_{athlete_id}_{safe}")
        self._stage: ActivityStage | None = ActivityStage(athlete_id, run_id)

    def add(self, rows: Sequence[Row]) -> None:
        """Stage rows; unknown columns raise ``ValueError`` (real BigQuery rejects them,
        the stand-in would not); unloadable rows are set aside (``quarantine.py``)."""
        if self._stage is None:
            raise RuntimeError("batch already committed or discarded")
        self._stage.add(rows)

    def add_activities(self, items: Sequence[Listed], seen_at: datetime) -> None:
        """Stage listed activities as ``transform.to_row`` rows (typed in Python here)."""
        if self._stage is None:
            raise RuntimeError("batch already committed or discarded")
        self._stage.add_activities(items, seen_at)

    def discard(self) -> None:
        if self._stage is not None:
            self._stage.cleanup()
            self._stage = None

    def commit(
        self, *, replace: bool, max_delete_share: float | None = None, keep_existing: bool = False
    ) -> WriteResult:
        if self._stage is None:
            raise RuntimeError("batch already committed or discarded")
        stage, wh = self._stage, self.wh
        stage.close()
        try:
            if stage.count == 0 and stage.quarantined == 0 and not replace:
                return WriteResult()
            result = WriteResult()
            if stage.count or replace:
                target_id = wh.table_id(schema.ACTIVITIES_TABLE)
                with table_lock(target_id):
                    try:
                        result = self._commit(stage, replace, max_delete_share, keep_existing)
                    finally:
                        with bq_errors("drop of the staging table"):
                            wh.client.delete_table(self.staging_table, not_found_ok=True)
            if stage.quarantine is not None:
                table = wh.table_id(schema.QUARANTINE_TABLE)
                wh.load_file(str(stage.quarantine.path), table, schema.QUARANTINE, append=True)
            return replace_result(result, quarantined=stage.quarantined)
        finally:
            self.discard()

    def _commit(
        self, stage: ActivityStage, replace: bool, share: float | None, keep: bool = False
    ) -> WriteResult:
        wh = self.wh
        with bq_errors("staging table setup"):
            table = bigquery.Table(self.staging_table, schema=schema_fields(schema.ACTIVITIES))
            table.expires = datetime.now(UTC) + STAGING_TTL
            wh.client.create_table(table, exists_ok=True)
        if stage.count:
            wh.load_file(str(stage.rows.path), self.staging_table, schema.ACTIVITIES)
        params = [
            bigquery.ScalarQueryParameter("athlete", "INT64", self.athlete_id),
            bigquery.ArrayQueryParameter("kept", "INT64", sorted(stage.quarantined_ids)),
        ]
        counts = wh.rows(self._count_sql(), params)[0]
        updated = int(counts["updated"] or 0)
        result = WriteResult(
            inserted=int(counts["inserted"] or 0),
            updated=0 if keep else updated,
            unchanged=int(counts["unchanged"] or 0) + (updated if keep else 0),
            deleted=int(counts["deleted"] or 0) if replace else 0,
        )
        stored = int(counts["stored"] or 0)
        if counts["foreign_rows"]:
            raise ValueError(
                f"{counts['foreign_rows']} staged row(s) belong to, or reuse ids of, an athlete "
                f"other than {self.athlete_id}; nothing was written"
            )
        if replace:
            check_delete_share(self.athlete_id, result.deleted, stored, share)
        if result.inserted or result.updated or result.deleted:
            wh.query(self._merge_sql(replace, keep), params, dml=True)
        if result.deleted:  # activities that are gone take their detail rows along
            delete_orphans(wh, self.athlete_id)
        return result

    def _source(self) -> str:
        """Staged rows; NdjsonStage already keeps one row per id (the MERGE needs that)."""
        return f"`{self.staging_table}`"

    def _count_sql(self) -> str:
        target = self.wh.sql_table(schema.ACTIVITIES_TABLE)
        return f"""
WITH S AS (SELECT id, athlete_id, content_hash FROM {self._source()}),
J AS (SELECT S.id, T.id AS tid, S.content_hash AS sh, T.content_hash AS th,
             S.athlete_id AS mine, T.athlete_id AS owner
      FROM S LEFT JOIN {target} T ON T.id = S.id)
SELECT
  (SELECT COUNT(*) FROM J WHERE tid IS NULL) AS inserted,
  (SELECT COUNT(*) FROM J WHERE tid IS NOT NULL AND sh != th) AS updated,
  (SELECT COUNT(*) FROM J WHERE tid IS NOT NULL AND sh = th) AS unchanged,
  (SELECT COUNT(*) FROM J WHERE mine IS NULL OR mine != @athlete
     OR (owner IS NOT NULL AND owner != @athlete)) AS foreign_rows,
  (SELECT COUNT(*) FROM {target} WHERE athlete_id = @athlete) AS stored,
  (SELECT COUNT(*) FROM {target} WHERE athlete_id = @athlete
     AND id NOT IN (SELECT id FROM S) AND id NOT IN UNNEST(@kept)) AS deleted
"""

    def _merge_sql(self, replace: bool, keep: bool = False) -> str:
        cols = schema.column_names(schema.ACTIVITIES)
        sets = ", ".join(f"`{c}` = S.`{c}`" for c in cols if c not in schema.KEEP_ON_UPDATE)
        names = ", ".join(f"`{c}`" for c in cols)
        values = ", ".join(f"S.`{c}`" for c in cols)
        delete = (
            "WHEN NOT MATCHED BY SOURCE AND T.athlete_id = @athlete "
            "AND T.id NOT IN UNNEST(@kept) THEN DELETE"
            if replace
            else ""
        )
        return f"""
MERGE {self.wh.sql_table(schema.ACTIVITIES_TABLE)} T
USING {self._source()} S
ON T.id = S.id
{"" if keep else f"WHEN MATCHED AND T.content_hash != S.content_hash THEN UPDATE SET {sets}"}
WHEN NOT MATCHED BY TARGET THEN INSERT ({names}) VALUES ({values})
{delete}
"""
