"""BigQueryWarehouse against local-bigquery through google-cloud-bigquery (no mocks).

The stand-in accepts JSON fields that are not in the schema (real BigQuery rejects them),
so the "unknown field" tests check our own code: unknown Strava fields live inside ``raw``
and survive; an unknown top-level column is refused by the adapter before any load.
"""

# ruff: noqa: S608
from __future__ import annotations

import google.api_core.exceptions as gexc
import pytest
from google.cloud import bigquery

from nunis_ingest import errors
from nunis_ingest.adapters.warehouses.bigquery import (
    BigQueryWarehouse,
    WarehouseRejected,
    schema_fields,
)
from nunis_ingest.adapters.warehouses.bigquery_jobs import bq_errors
from nunis_ingest.adapters.warehouses.staging import encode_line
from nunis_ingest.core import schema, schema_detail

pytestmark = pytest.mark.gcp
ATHLETE = 42
TABLES = sorted(["activities", "ingest_runs", "quarantine", *schema_detail.BY_NAME])


def row(activity_id: int, version: str = "v1", **extra):
    raw = {"id": activity_id, "name": f"run {version}", "future_field": {"x": [1, 2]}}
    base = {
        "id": activity_id,
        "athlete_id": ATHLETE,
        "name": f"run {version}",
        "athlete": {"id": ATHLETE, "resource_state": 1},
        "map": {"id": f"a{activity_id}", "summary_polyline": "abc", "resource_state": 2},
        "start_latlng": [51.5, -0.12],
        "end_latlng": [],
        "start_date": "2024-05-01T06:00:00+00:00",
        "start_date_local": "2024-05-01T08:00:00",
        "distance": 5000.5,
        "raw": raw,
        "content_hash": f"h{activity_id}{version}",
        "first_seen_at": f"2024-05-0{1 if version == 'v1' else 2}T09:00:00+00:00",
        "updated_at": "2024-05-02T09:00:00+00:00",
        "run_id": f"run-{version}",
    }
    base.update(extra)
    return base


@pytest.fixture
def wh(bigquery_client, bigquery_dataset):
    w = BigQueryWarehouse(bigquery_client, bigquery_dataset)
    w.ensure_schema()
    return w


def commit(wh, rows, *, replace=False, share=None, run_id="r1"):
    batch = wh.stage(ATHLETE, run_id)
    batch.add(rows)
    return batch.commit(replace=replace, max_delete_share=share)


def tables(wh):
    return sorted(t.table_id for t in wh.client.list_tables(wh.dataset))


def test_schema_as_declared_clustered_and_idempotent(wh, bigquery_client):
    wh.ensure_schema()
    table = bigquery_client.get_table(wh.table_id("activities"))
    assert table.clustering_fields == ["athlete_id"]
    assert table.time_partitioning is None
    alias = {"INTEGER": "INT64", "FLOAT": "FLOAT64", "BOOLEAN": "BOOL"}

    def shape(fields):
        return [(f["name"], alias.get(f["type"], f["type"]), f["mode"]) for f in fields]

    got = [f.to_api_repr() for f in table.schema]
    assert shape(got) == shape(schema.bigquery_fields(schema.ACTIVITIES))
    assert shape(next(f for f in got if f["name"] == "map")["fields"]) == [
        ("id", "STRING", "NULLABLE"),
        ("summary_polyline", "STRING", "NULLABLE"),
        ("resource_state", "INT64", "NULLABLE"),
    ]
    runs = bigquery_client.get_table(wh.table_id("ingest_runs"))
    assert shape([f.to_api_repr() for f in runs.schema]) == shape(
        schema.bigquery_fields(schema.RUNS)
    )
    assert tables(wh) == TABLES


def test_load_and_merge_counts_and_no_staging_left(wh):
    result = commit(wh, [row(1), row(2), row(3)])
    assert (result.inserted, result.updated, result.unchanged, result.deleted) == (3, 0, 0, 0)
    assert wh.operations == {"load": 1, "dml": 1}
    assert tables(wh) == TABLES

    again = commit(wh, [row(1), row(2, "v2"), row(4)], run_id="r/2:x")
    assert (again.inserted, again.updated, again.unchanged) == (1, 1, 1)
    assert wh.operations == {"load": 2, "dml": 2}
    stored = {
        r["id"]: r
        for r in wh.rows(
            f"SELECT id, name, first_seen_at, run_id FROM {wh.sql_table('activities')}"
        )
    }
    assert stored[2]["name"] == "run v2"
    assert stored[2]["run_id"] == "run-v2"
    assert stored[2]["first_seen_at"].day == 1  # kept from the first insert
    assert wh.fetch_activity_hashes(ATHLETE) == {1: "h1v1", 2: "h2v2", 3: "h3v1", 4: "h4v1"}

    same = commit(wh, [row(1), row(4)], run_id="r3")
    assert (same.unchanged, same.inserted, same.updated) == (2, 0, 0)
    assert wh.operations == {"load": 3, "dml": 2}  # nothing changed: no MERGE
    assert tables(wh) == TABLES


def test_empty_batch_without_replace_does_nothing(wh):
    assert commit(wh, []) == commit(wh, [])
    assert wh.operations == {"load": 0, "dml": 0}
    assert tables(wh) == TABLES


def test_replace_deletes_missing_and_mass_delete_guard(wh):
    commit(wh, [row(i) for i in range(1, 11)])
    commit(wh, [row(99)], run_id="r1b")
    other = wh.stage(7, "r1c")  # another athlete's rows: never deleted by athlete 42's replace
    other.add([row(500, athlete_id=7)])
    other.commit(replace=False)
    with pytest.raises(errors.MassDeleteRefused, match="would delete 9 of 11"):
        commit(wh, [row(1), row(99)], replace=True, share=0.5, run_id="r2")
    assert len(wh.fetch_activity_hashes(ATHLETE)) == 11
    assert tables(wh) == TABLES

    result = commit(wh, [row(i) for i in range(1, 9)], replace=True, share=0.5, run_id="r3")
    assert (result.deleted, result.unchanged) == (3, 8)
    assert sorted(wh.fetch_activity_hashes(ATHLETE)) == list(range(1, 9))
    assert wh.fetch_activity_hashes(7) == {500: "h500v1"}


def test_replace_with_empty_batch_deletes_all(wh):
    commit(wh, [row(1), row(2)])
    result = commit(wh, [], replace=True)
    assert result.deleted == 2
    assert wh.fetch_activity_hashes(ATHLETE) == {}


def test_a_row_the_load_would_reject_is_quarantined_and_staging_dropped(wh):
    result = commit(wh, [row(1, distance="not a number"), row(2)])
    assert (result.inserted, result.quarantined) == (1, 1)
    assert tables(wh) == TABLES
    assert list(wh.fetch_activity_hashes(ATHLETE)) == [2]


def test_a_load_bigquery_refuses_is_rejected_not_retried(wh, tmp_path):
    bad = tmp_path / "bad.ndjson"
    bad.write_text('{"id": "not a number"}\n')  # what the stage's checks never let through
    with pytest.raises(WarehouseRejected) as info:
        wh.load_file(str(bad), wh.table_id("activities"), schema.ACTIVITIES, append=True)
    assert type(info.value) is errors.WarehouseRejected
    assert not info.value.retriable


def test_a_file_is_loaded_in_bounded_pieces_that_add_up_to_one_load(wh, tmp_path):
    rows = [row(i) for i in range(1, 41)]
    staged = tmp_path / "stage.ndjson"
    staged.write_bytes(b"".join(encode_line(r) for r in rows))
    table = wh.table_id("_stage_pieces")
    wh.client.create_table(bigquery.Table(table, schema=schema_fields(schema.ACTIVITIES)))
    wh.load_file(str(staged), table, schema.ACTIVITIES, part_bytes=2000)  # ~10 load jobs
    counted = f"SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS d FROM `{table}`"
    assert wh.rows(counted) == [{"n": 40, "d": 40}]
    wh.load_file(str(staged), table, schema.ACTIVITIES, part_bytes=2000)  # truncates first
    assert wh.rows(counted) == [{"n": 40, "d": 40}]
    assert wh.operations["load"] == 2  # one per file, however many pieces


@pytest.mark.parametrize(
    ("exc", "retriable", "text"),
    [
        (gexc.Forbidden("Access Denied", errors=[{"reason": "accessDenied"}]), False, "dataEditor"),
        (gexc.NotFound("Not found: Table x", errors=[{"reason": "notFound"}]), False, "missing"),
        (gexc.Forbidden("Quota", errors=[{"reason": "rateLimitExceeded"}]), True, "failed"),
        (gexc.BadRequest("Invalid schema", errors=[{"reason": "invalid"}]), False, "schema"),
        (gexc.ServiceUnavailable("down"), True, "transiently"),
    ],
)
def test_google_errors_map_to_the_one_contract(exc, retriable, text):
    with pytest.raises(errors.NunisError) as info, bq_errors("load into t"):
        raise exc
    assert info.value.retriable is retriable
    assert isinstance(info.value, errors.WarehouseTransientError | errors.WarehouseRejected)
    assert text in str(info.value)


def test_unknown_top_level_column_refused_before_load(wh):
    batch = wh.stage(ATHLETE, "r1")
    with pytest.raises(ValueError, match="brand_new_field"):
        batch.add([row(1, brand_new_field=1)])
    batch.discard()
    assert wh.operations == {"load": 0, "dml": 0}


def test_json_raw_struct_and_repeated_columns_survive(wh):
    commit(wh, [row(7)])
    got = wh.rows(
        "SELECT JSON_VALUE(raw, '$.future_field.x[1]') AS fx, raw, map, athlete, "
        f"start_latlng, end_latlng, start_date_local FROM {wh.sql_table('activities')}"
    )[0]
    assert got["fx"] == "2"
    assert got["raw"]["future_field"] == {"x": [1, 2]}
    assert got["map"]["summary_polyline"] == "abc"
    assert got["athlete"] == {"id": ATHLETE, "resource_state": 1}
    assert got["start_latlng"] == [51.5, -0.12]
    assert got["end_latlng"] == []
    assert got["start_date_local"].isoformat() == "2024-05-01T08:00:00"


def test_delete_purge_and_runs(wh):
    commit(wh, [row(i) for i in range(1, 6)])
    assert wh.delete_activities(ATHLETE, []) == 0
    assert wh.delete_activities(ATHLETE, [1, 2, 77]) == 2
    assert wh.purge_athlete(ATHLETE) == 3
    assert wh.fetch_activity_hashes(ATHLETE) == {}
    for i in (1, 2):
        wh.record_run(
            {
                "run_id": f"run{i}",
                "athlete_id": ATHLETE,
                "mode": "new",
                "trigger": None,
                "started_at": f"2024-05-0{i}T09:00:00+00:00",
                "finished_at": f"2024-05-0{i}T09:01:00+00:00",
                "outcome": "success",
                "inserted": i,
            }
        )
    runs = wh.fetch_runs(ATHLETE, limit=1)
    assert [r["run_id"] for r in runs] == ["run2"]
    assert runs[0]["started_at"] == "2024-05-02T09:00:00+00:00"
    assert runs[0]["trigger"] is None
    assert runs[0]["inserted"] == 2
    assert wh.fetch_runs(ATHLETE + 1) == []
    with pytest.raises(ValueError, match="nope"):
        wh.record_run({"nope": 1})


def test_ensure_schema_creates_a_missing_dataset_and_reuses_an_existing_one(bigquery_client):
    import uuid

    name = f"nunis_new_{uuid.uuid4().hex[:12]}"
    try:
        BigQueryWarehouse(bigquery_client, name).ensure_schema()
        tables = {t.table_id for t in bigquery_client.list_tables(name)}
        assert {schema.ACTIVITIES_TABLE, schema.RUNS_TABLE} <= tables
        BigQueryWarehouse(bigquery_client, name).ensure_schema()  # exists now: no error
    finally:
        bigquery_client.delete_dataset(name, delete_contents=True, not_found_ok=True)
