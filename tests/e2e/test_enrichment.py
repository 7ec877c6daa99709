"""Details, laps, splits, best efforts and streams, over real HTTP into real DuckDB.

Truth is what the sandbox serves for each activity (read at the end of a test through a
separate client with the rate limits lifted), so the assertions compare the warehouse
with Strava's answers row for row, not with numbers written into the test.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

import pytest
import requests

from nunis_ingest.runtime import Runtime
from nunis_ingest.usecases.athletes import AthleteRepo
from tests.e2e.conftest import register, truth

API = "/api/v3"


def _token(rt: Runtime, athlete_id: int) -> str:
    return AthleteRepo(rt.store).load_token(athlete_id).access_token


def served(sandbox: Any, rt: Runtime, athlete_id: int, activity_id: int, kind: str) -> Any:
    """What Strava serves for one activity (a detail or its streams), None for a 404."""
    path = f"{API}/activities/{activity_id}" + ("/streams" if kind == "streams" else "")
    params = {"keys": "time,distance,latlng,heartrate,watts", "key_by_type": "true"}
    response = requests.get(
        sandbox.base_url + path,
        params=params if kind == "streams" else None,
        headers={"Authorization": f"Bearer {_token(rt, athlete_id)}"},
        timeout=10,
    )
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return response.json()


def table_counts(rt: Runtime, table: str, athlete_id: int) -> Counter[int]:
    with rt.warehouse.reader() as con:  # type: ignore[attr-defined]
        rows = con.execute(
            f"select activity_id, count(*) from {table} where athlete_id = ? group by 1",  # noqa: S608
            [athlete_id],
        ).fetchall()
    return Counter({int(a): int(n) for a, n in rows})


def endpoint_hits(sandbox: Any) -> Counter[str]:
    counts: Counter[str] = Counter()
    for entry in sandbox.requests_log()["requests"]:
        counts[f"{entry['endpoint']} {entry['status']}"] += 1
    return counts


def per_activity_hits(sandbox: Any, suffix: str) -> Counter[str]:
    return Counter(
        e["path"]
        for e in sandbox.requests_log()["requests"]
        if e["endpoint"] == f"{API}/activities/{{id}}{suffix}"
    )


def assert_matches_strava(sandbox: Any, rt: Runtime, athlete_id: int, streams: bool) -> None:
    sandbox.set_rate_limits(
        read_15min=10**9, read_daily=10**9, overall_15min=10**9, overall_daily=10**9
    )
    ids = sorted(truth(sandbox, athlete_id))
    laps, splits = (
        table_counts(rt, "activity_laps", athlete_id),
        table_counts(rt, "activity_splits", athlete_id),
    )
    efforts, details = (
        table_counts(rt, "activity_best_efforts", athlete_id),
        table_counts(rt, "activity_details", athlete_id),
    )
    points = table_counts(rt, "activity_streams", athlete_id)
    for activity_id in ids:
        detail = served(sandbox, rt, athlete_id, activity_id, "detail")
        assert details[activity_id] == 1, activity_id
        assert laps[activity_id] == len(detail.get("laps") or [])
        assert splits[activity_id] == len(detail.get("splits_metric") or []) + len(
            detail.get("splits_standard") or []
        )
        assert efforts[activity_id] == len(detail.get("best_efforts") or [])
        if streams:
            got = served(sandbox, rt, athlete_id, activity_id, "streams")
            expected = 0 if got is None else len(got["time"]["data"])
            assert points[activity_id] == expected, activity_id
    assert set(details) == set(ids)


def _state(rt: Runtime, athlete_id: int) -> Any:
    return AthleteRepo(rt.store).load_state(athlete_id)[0]


def test_first_load_enriches_newest_first_within_its_share(rt, sandbox, sync) -> None:
    athlete = sandbox.create_athlete(activities=120)
    aid = register(rt, athlete, streams=True)
    sandbox.clear_requests()
    report = sync(aid, "all")
    assert report.outcome == "success"
    reads = sandbox.requests_log()["counts"]["total"]
    assert reads <= 50  # the enrichment share (0.5 of 100 per 15 minutes)
    state = _state(rt, aid)
    enriched = set(table_counts(rt, "activity_details", aid))
    assert enriched
    assert enriched | set(state.enrich) == set(truth(sandbox, aid))  # nothing forgotten
    assert all(state.enrich[i][1] == "s" for i in enriched & set(state.enrich))
    starts = {i: a["start_date"] for i, a in truth(sandbox, aid).items()}
    newest = sorted(starts, key=lambda i: (starts[i], i), reverse=True)[: len(enriched)]
    assert enriched == set(newest)
    assert max(per_activity_hits(sandbox, "").values()) == 1  # one detail request each
    assert max(per_activity_hits(sandbox, "/streams").values()) == 1
    assert not any(e["endpoint"].endswith("/laps") for e in sandbox.requests_log()["requests"])


@pytest.mark.timeout(900)  # ~400 runs: ~2 minutes alone, far more beside a loaded suite
def test_backfill_of_1000_completes_across_runs_and_polls_are_never_refused(
    rt, sandbox, sync
) -> None:
    athlete = sandbox.create_athlete(activities=1000)
    aid = register(rt, athlete, streams=True)
    now = sandbox.clock()
    sandbox.set_clock(now - now % 86400 + 86400)  # the next UTC midnight: whole days follow
    sync(aid, "all")
    runs = 0
    while _state(rt, aid).enrich:
        sandbox.advance_clock(900)
        report = sync(aid, "new")
        runs += 1
        assert report.outcome == "success", report.summary()
        assert runs < 96 * 6, "the backfill did not finish in six days"
    statuses = sandbox.requests_log()["counts"]["by_status"]
    assert "429" not in statuses
    # 2,000 requests at 500 a day: four days (plus the polls' own requests).
    assert 96 * 3 < runs < 96 * 5
    manual = {i for i, a in truth(sandbox, aid).items() if a.get("manual")}
    stream_requests = per_activity_hits(sandbox, "/streams")
    assert not any(f"/activities/{i}/streams" in p for i in manual for p in stream_requests)
    assert_matches_strava(sandbox, rt, aid, streams=True)


def test_an_edit_refetches_the_detail_only_and_a_delete_clears_every_table(
    rt, sandbox, sync
) -> None:
    athlete = sandbox.create_athlete(activities=5)
    aid = register(rt, athlete, streams=True)
    sync(aid, "all")
    assert not _state(rt, aid).enrich
    ids = sorted(truth(sandbox, aid))
    edited, deleted, kudoed = ids[-1], ids[0], ids[1]
    sandbox.patch_activity(edited, name="Hill repeats", distance=12345.6)
    sandbox.patch_activity(kudoed, kudos_count=42)
    sandbox.delete_activity(deleted)
    sandbox.clear_requests()
    sync(aid, "all")
    hits = per_activity_hits(sandbox, "")
    assert hits[f"{API}/activities/{edited}"] == 1  # the edit: one detail request
    assert hits[f"{API}/activities/{kudoed}"] == 0  # a kudo costs nothing
    assert not per_activity_hits(sandbox, "/streams")  # an edit never re-fetches streams
    for table in ("activity_details", "activity_laps", "activity_splits", "activity_streams"):
        assert deleted not in table_counts(rt, table, aid), table
    with rt.warehouse.reader() as con:  # type: ignore[attr-defined]
        (distance,) = con.execute(
            "select sum(distance) from activity_splits where activity_id = ? and units = 'metric'",
            [edited],
        ).fetchone()
    assert distance == pytest.approx(12345.6, abs=1.0)


def test_streams_off_by_default_and_details_cost_one_request(rt, sandbox, sync) -> None:
    athlete = sandbox.create_athlete(activities=10)
    aid = register(rt, athlete)
    sandbox.clear_requests()
    report = sync(aid, "all")
    hits = endpoint_hits(sandbox)
    assert hits[f"{API}/activities/{{id}} 200"] == 10
    assert not per_activity_hits(sandbox, "/streams")
    assert report.drained is not None
    assert report.drained.enriched == 10
    assert_matches_strava(sandbox, rt, aid, streams=False)


def test_turning_streams_on_queues_the_history(rt, sandbox, sync) -> None:
    athlete = sandbox.create_athlete(activities=8)
    aid = register(rt, athlete)
    sync(aid, "all")
    repo = AthleteRepo(rt.store)
    repo.save_config(dataclasses.replace(repo.load_config(aid), streams=True))
    sandbox.clear_requests()
    sync(aid, "new")
    manual = sum(1 for a in truth(sandbox, aid).values() if a.get("manual"))
    assert len(per_activity_hits(sandbox, "/streams")) == 8 - manual
    assert not per_activity_hits(sandbox, "")  # the details were there already
    assert_matches_strava(sandbox, rt, aid, streams=True)


def _event(sandbox: Any, aid: int, activity_id: int, aspect: str) -> Any:
    from nunis_ingest.core.webhook_event import QueuedEvent, StravaEvent

    event = StravaEvent("activity", activity_id, aspect, aid, 1, int(sandbox.clock()))
    return QueuedEvent(event, sandbox.clock())


def test_a_webhook_create_fills_summary_and_details_with_one_request(rt, sandbox, sync) -> None:
    from nunis_ingest.usecases.webhook.process import process

    athlete = sandbox.create_athlete(activities=3)
    aid = register(rt, athlete, streams=True)
    sync(aid, "all")
    created = sandbox.add_activity(aid, name="Lunch run", distance=8000.0)
    new_id = int(created["id"])
    sandbox.clear_requests()
    ctx = rt.context()
    ctx.now = sandbox.clock
    process([_event(sandbox, aid, new_id, "create")], ctx)
    hits = per_activity_hits(sandbox, "")
    assert hits == Counter({f"{API}/activities/{new_id}": 1})  # summary and details: one GET
    assert not per_activity_hits(sandbox, "/streams")  # queued for the next poll instead
    assert table_counts(rt, "activity_details", aid)[new_id] == 1
    assert new_id in {int(i) for i in rt.warehouse.fetch_activity_hashes(aid)}
    assert _state(rt, aid).enrich[new_id][1] == "s"
    sandbox.clear_requests()
    sandbox.advance_clock(900)
    sync(aid, "new")
    assert per_activity_hits(sandbox, "/streams") == Counter(
        {f"{API}/activities/{new_id}/streams": 1}
    )
    assert not per_activity_hits(sandbox, "")  # the poll trusts the webhook's detail
    assert table_counts(rt, "activity_streams", aid)[new_id] > 0
    sandbox.delete_activity(new_id)
    process([_event(sandbox, aid, new_id, "delete")], ctx)
    for table in ("activity_details", "activity_laps", "activity_splits", "activity_streams"):
        assert new_id not in table_counts(rt, table, aid), table


def test_sync_details_drives_the_backfill_with_the_whole_budget(rt, sandbox, sync) -> None:
    athlete = sandbox.create_athlete(activities=150)
    aid = register(rt, athlete)
    sandbox.clear_requests()
    report = sync(aid, "all", details=True)
    assert report.drained is not None
    spent = report.drained.requests
    # the whole 15-minute read budget less the usual headroom (10), not the 50 % share
    assert 80 <= spent + report.pages <= 90
    assert "429" not in sandbox.requests_log()["counts"]["by_status"]
    assert len(_state(rt, aid).enrich) == 150 - report.drained.enriched
