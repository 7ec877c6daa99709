"""The import on the gcp backend: an export read from ``gs://`` through the Cloud Storage
stand-in into the BigQuery stand-in (official clients), compared row for row with the
same export imported into DuckDB; a stored row is never replaced there either."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest

from nunis_ingest.core import schema
from nunis_ingest.core import schema_detail as sd
from nunis_ingest.core.transform import to_row
from nunis_ingest.runtime import Runtime
from nunis_ingest.settings import load_settings
from nunis_ingest.usecases.bulk_export.importer import run_import
from strava_sandbox.export import write_export
from tests.export.helpers import ANCHOR, Duck

pytestmark = pytest.mark.gcp

BOOKKEEPING = {"first_seen_at", "updated_at", "run_id", "loaded_at"}
TABLES = {
    "activities": (schema.ACTIVITIES, "id"),
    "activity_laps": (sd.ACTIVITY_LAPS, "activity_id, lap_index"),
    "activity_streams": (sd.ACTIVITY_STREAMS, "activity_id, point"),
}


def _select(columns: tuple[schema.Column, ...], dialect: str) -> str:
    out = []
    for c in columns:
        if c.name in BOOKKEEPING:
            continue
        name = f'"{c.name}"' if dialect == "duckdb" else f"`{c.name}`"
        if c.type == "TIMESTAMP":
            expr = f"epoch({name})" if dialect == "duckdb" else f"UNIX_SECONDS({name})"
        elif c.type == "DATETIME":
            expr = f"CAST({name} AS VARCHAR)" if dialect == "duckdb" else f"CAST({name} AS STRING)"
        elif c.type == "JSON":
            expr = f"CAST({name} AS VARCHAR)" if dialect == "duckdb" else f"TO_JSON_STRING({name})"
        else:
            expr = name
        out.append(f"{expr} AS {name}")
    return ", ".join(out)


def _clean(value: Any) -> Any:
    if isinstance(value, float):  # JSON text may write 72.0 as 72: compare values
        return None if math.isnan(value) else round(value, 6) + 0.0
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return _clean(json.loads(value))
        except ValueError:
            return value
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**53:
        return float(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _canon(rows: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(_clean(r), sort_keys=True, default=str) for r in rows]


def test_gs_export_into_bigquery_equals_the_duckdb_import_row_for_row(
    tmp_path, gcp_env, gcs_client, bigquery_client, monkeypatch
):
    for key in ("STORAGE_EMULATOR_HOST", "BIGQUERY_EMULATOR_HOST"):
        monkeypatch.setenv(key, gcp_env[key])
    truth = write_export(
        tmp_path / "export.zip", activities=36, anchor=ANCHOR, generation="de92",
        with_bad_rows=True,
    )  # fmt: skip
    bucket = gcp_env["NUNIS_BUCKET"]
    gcs_client.bucket(bucket).blob("uploads/export.zip").upload_from_filename(
        str(tmp_path / "export.zip")
    )
    rt = Runtime(load_settings(gcp_env))
    rt.warehouse.ensure_schema()
    path = f"gs://{bucket}/uploads/export.zip"
    report = run_import(path, rt.warehouse, rt.store, storage_client=gcs_client)
    duck = Duck(tmp_path / "duck")
    local = duck.run(tmp_path / "export.zip")
    assert (report.inserted, report.points, report.laps) == (
        local.inserted, local.points, local.laps
    )  # fmt: skip
    assert report.problems == local.problems
    assert report.inserted == len(truth.activities)
    aid = truth.athlete_id
    for table, (columns, order) in TABLES.items():
        ours = duck.rows(
            f'SELECT {_select(columns, "duckdb")} FROM "{table}" WHERE athlete_id = ? '  # noqa: S608
            f"ORDER BY {order}",
            [aid],
        )
        names = [c.name for c in columns if c.name not in BOOKKEEPING]
        local_rows = [dict(zip(names, r, strict=True)) for r in ours]
        from google.cloud import bigquery

        theirs = rt.warehouse.rows(  # type: ignore[attr-defined]
            f"SELECT {_select(columns, 'bigquery')} FROM {rt.warehouse.sql_table(table)} "  # type: ignore[attr-defined] # noqa: S608
            f"WHERE athlete_id = @a ORDER BY {order}",
            [bigquery.ScalarQueryParameter("a", "INT64", aid)],
        )
        assert len(theirs) == len(local_rows) > 0
        assert _canon([dict(r) for r in theirs]) == _canon(local_rows), table

    again = run_import(path, rt.warehouse, rt.store, storage_client=gcs_client)
    assert (again.inserted, again.points, again.laps) == (0, 0, 0)


def test_bigquery_keeps_a_stored_row_whenever_the_import_commits(
    tmp_path, gcp_env, gcs_client, monkeypatch
):
    for key in ("STORAGE_EMULATOR_HOST", "BIGQUERY_EMULATOR_HOST"):
        monkeypatch.setenv(key, gcp_env[key])
    truth = write_export(tmp_path / "e", activities=8, anchor=ANCHOR, damage=False)
    rt = Runtime(load_settings(gcp_env))
    rt.warehouse.ensure_schema()
    aid = truth.athlete_id
    written: dict[int, str] = {}

    def on_file() -> None:  # an API row committed between the import's reads and its commit
        if written:
            return
        batch = rt.warehouse.stage(aid, "api-run")
        batch.add([to_row(a.summary, athlete_id=aid, run_id="api-run", seen_at=datetime.now(UTC))
                   for a in truth.activities.values()])  # fmt: skip
        batch.commit(replace=False)
        written.update(rt.warehouse.fetch_activity_hashes(aid))

    report = run_import(str(tmp_path / "e"), rt.warehouse, rt.store, on_file=on_file)
    assert report.inserted == 0
    assert rt.warehouse.fetch_activity_hashes(aid) == written
