"""Replay on the gcp backend: load through the API into BigQuery (archive in Cloud
Storage), rebuild a second, empty dataset from the bucket alone, compare table by table.
Runs against the local GCS and BigQuery stand-ins through the official clients."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from nunis_ingest.core import schema_detail as sd
from nunis_ingest.core.events import SyncRequest
from nunis_ingest.core.token import Token
from nunis_ingest.runtime import Runtime
from nunis_ingest.settings import load_settings
from nunis_ingest.usecases.athletes import AthleteConfig, AthleteRepo
from nunis_ingest.usecases.replay import replay
from nunis_ingest.usecases.sync import run_sync

pytestmark = pytest.mark.gcp

BOOKKEEPING = {"first_seen_at", "updated_at", "run_id", "loaded_at"}
TABLES = ("activities", *(t.name for t in sd.DETAIL_TABLES))


def snapshot(client: Any, dataset: str, athlete_id: int) -> dict[str, list[str]]:
    out = {}
    for table in TABLES:
        rows = []
        for row in client.list_rows(f"{client.project}.{dataset}.{table}"):
            item = {k: v for k, v in row.items() if k not in BOOKKEEPING}
            if item["athlete_id"] == athlete_id:
                rows.append(json.dumps(item, sort_keys=True, default=str))
        out[table] = sorted(rows)
    return out


def test_replay_from_the_bucket_into_bigquery_equals_the_api_load(
    sandbox, gcp_env, bigquery_client, bigquery_dataset, monkeypatch
) -> None:
    for key in ("STORAGE_EMULATOR_HOST", "BIGQUERY_EMULATOR_HOST"):
        monkeypatch.setenv(key, gcp_env[key])
    sandbox.set_rate_limits(
        read_15min=10**6, read_daily=10**6, overall_15min=10**6, overall_daily=10**6
    )
    rt = Runtime(load_settings(gcp_env))
    athlete = sandbox.create_athlete(activities=25)
    aid = int(athlete["id"])
    repo = AthleteRepo(rt.store)
    repo.save_token(
        aid,
        Token(
            athlete["access_token"],
            athlete["refresh_token"],
            int(athlete["expires_at"]),
            athlete["scope"],
        ),
    )
    repo.save_config(AthleteConfig(aid, streams=True))
    ctx = rt.context()
    ctx.now = sandbox.clock
    run_sync(SyncRequest(aid, "all", trigger="test"), ctx)
    doomed = sorted(int(a["id"]) for a in sandbox.truth(aid))[2]
    sandbox.delete_activity(doomed)
    sandbox.advance_clock(900)
    run_sync(SyncRequest(aid, "all", trigger="test"), ctx)
    before = snapshot(bigquery_client, bigquery_dataset, aid)
    assert before["activity_streams"]
    assert len(before["activities"]) == 24

    other = f"nunis_test_{uuid.uuid4().hex[:16]}"
    bigquery_client.create_dataset(other)
    try:
        fresh = Runtime(load_settings(gcp_env | {"NUNIS_DATASET": other}))
        fresh.warehouse.ensure_schema()
        sandbox.clear_requests()
        done = replay(fresh.store, fresh.warehouse, aid, run_id="replay-gcp")
        assert sandbox.requests_log()["counts"]["total"] == 0
        assert done.deleted == 1
        assert snapshot(bigquery_client, other, aid) == before
    finally:
        bigquery_client.delete_dataset(other, delete_contents=True, not_found_ok=True)
