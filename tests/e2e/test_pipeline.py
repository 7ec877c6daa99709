"""The ingest pipeline end to end: real HTTP to the sandbox, real object store, real DuckDB."""

from __future__ import annotations

import json
import math

import duckdb
import pytest
import requests

from nunis_ingest.usecases.athletes import AthleteRepo
from tests.e2e.conftest import loaded, register, truth


def _one(sandbox, activities: int) -> dict:
    return sandbox.create_athlete(activities=activities)


def test_full_load_holds_exactly_strava_and_costs_the_page_floor(sandbox, rt, sync):
    athlete = _one(sandbox, 450)
    aid = register(rt, athlete, details=False)  # the listing alone (enrichment: its own tests)
    report = sync(aid, "all")
    want = truth(sandbox, aid)
    assert loaded(rt, aid) == set(want)
    assert report.result.inserted == len(want) == 450
    # ceil(N/200) full pages plus the closing empty page; no token refresh was needed
    assert report.requests == math.ceil(450 / 200) + 1
    assert report.pages == 3


def test_rerun_changes_nothing_and_an_idle_poll_costs_one_request(sandbox, rt, sync):
    aid = register(rt, _one(sandbox, 120))
    sync(aid, "all")
    hashes = rt.warehouse.fetch_activity_hashes(aid)
    runs_before = len(rt.warehouse.fetch_runs(aid, limit=100))

    again = sync(aid, "all")
    assert again.result.inserted == again.result.updated == again.result.deleted == 0
    assert rt.warehouse.fetch_activity_hashes(aid) == hashes

    ops_before = dict(rt.warehouse.operations)
    sandbox.clear_requests()
    idle = sync(aid, "new")
    assert idle.requests == 1
    assert sandbox.requests_log()["counts"]["total"] == 1
    assert rt.warehouse.operations == ops_before, "an idle poll must not touch the warehouse"
    assert idle.result.inserted == idle.result.updated == 0
    assert len(rt.warehouse.fetch_runs(aid, limit=100)) == runs_before + 1  # only the 2nd all


def test_new_catches_a_late_synced_activity_inside_the_lookback(sandbox, rt, sync):
    aid = register(rt, _one(sandbox, 80))
    sync(aid, "all")
    state, _ = AthleteRepo(rt.store).load_state(aid)
    late_start = state.cursor - 3 * 86400  # uploaded today, run three days before the newest
    late = sandbox.add_activity(aid, start_date=late_start, name="watch synced late")
    report = sync(aid, "new")
    assert report.result.inserted == 1
    assert int(late["id"]) in loaded(rt, aid)
    assert loaded(rt, aid) == set(truth(sandbox, aid))


def test_an_edit_inside_the_window_is_updated_and_first_seen_is_kept(sandbox, rt, sync):
    aid = register(rt, _one(sandbox, 60))
    sync(aid, "all")
    newest = max(truth(sandbox, aid).values(), key=lambda a: a["start_date"])
    sandbox.patch_activity(newest["id"], name="Renamed ✨ tempo")
    report = sync(aid, "new")
    assert report.result.updated == 1
    with rt.warehouse.reader() as con:  # type: ignore[attr-defined]
        name, first, updated = con.execute(
            "select name, first_seen_at::varchar, updated_at::varchar from activities where id = ?",
            [newest["id"]],
        ).fetchone()
    assert name == "Renamed ✨ tempo"
    assert first <= updated


def test_all_removes_what_strava_no_longer_lists(sandbox, rt, sync):
    aid = register(rt, _one(sandbox, 60))
    sync(aid, "all")
    gone = sorted(truth(sandbox, aid))[:3]
    for activity_id in gone:
        sandbox.delete_activity(activity_id)
    report = sync(aid, "all")
    assert report.result.deleted == 3
    assert loaded(rt, aid) == set(truth(sandbox, aid))


def test_two_athletes_are_kept_apart(sandbox, rt, sync):
    a = register(rt, _one(sandbox, 40))
    b = register(rt, _one(sandbox, 70))
    sync(a, "all")
    sync(b, "all")
    sandbox.delete_activity(sorted(truth(sandbox, b))[0])
    sync(b, "all")
    assert loaded(rt, a) == set(truth(sandbox, a))
    assert loaded(rt, b) == set(truth(sandbox, b))
    keys = list(rt.store.list("archive/strava/"))
    assert {k.split("/")[2] for k in keys} == {f"athlete={a}", f"athlete={b}"}


def test_rotated_refresh_token_is_saved_and_the_old_one_never_reused(sandbox, rt, sync):
    athlete = _one(sandbox, 30)
    aid = register(rt, athlete)
    old_refresh = athlete["refresh_token"]
    sandbox.advance_clock(5.5 * 3600)  # inside the last hour of the 6-hour access token
    sync(aid, "new")
    saved = AthleteRepo(rt.store).load_token(aid)
    assert saved.refresh_token != old_refresh
    assert saved.access_token != athlete["access_token"]
    current = {a["id"]: a for a in sandbox.athletes()}[aid]
    assert saved.refresh_token == current["refresh_token"]
    app = sandbox.app()
    stale = requests.post(
        f"{sandbox.base_url}/oauth/token",
        data={
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "grant_type": "refresh_token",
            "refresh_token": old_refresh,
        },
        timeout=10,
    )
    assert stale.status_code == 400
    # a later run keeps working with what we saved
    sandbox.advance_clock(5.8 * 3600)
    assert sync(aid, "new").outcome == "success"


def test_unknown_strava_field_survives_in_raw(sandbox, rt, sync):
    aid = register(rt, _one(sandbox, 10))
    added = sandbox.add_activity(aid, future_field={"added": 2027, "emoji": "🏃"})
    sync(aid, "all")
    with rt.warehouse.reader() as con:  # type: ignore[attr-defined]
        (raw,) = con.execute("select raw from activities where id = ?", [added["id"]]).fetchone()
    assert json.loads(raw)["future_field"] == {"added": 2027, "emoji": "🏃"}


def test_archive_holds_every_page_byte_for_byte(sandbox, rt, sync):
    aid = register(rt, _one(sandbox, 250))
    report = sync(aid, "all")
    everything = sorted(rt.store.list(f"archive/strava/athlete={aid}/"))
    keys = [k for k in everything if "/page-" in k]
    details = [k for k in everything if "/enrich-" in k]
    assert len(details) == report.drained.requests  # one object per response
    assert len(keys) == report.pages == 2
    assert all(report.run_id in k for k in keys)
    pages = [json.loads(rt.store.get(k).data) for k in keys]
    assert {a["id"] for page in pages for a in page} == set(truth(sandbox, aid))


def test_start_date_local_is_a_zoneless_wall_clock(sandbox, rt, sync):
    aid = register(rt, _one(sandbox, 20))
    sync(aid, "all")
    path = rt.settings.duckdb_file
    rt.warehouse.close()  # type: ignore[attr-defined]
    with duckdb.connect(str(path), read_only=True) as con:
        types = dict(
            con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_name = 'activities'"
            ).fetchall()
        )
        sample = con.execute("select id, start_date_local from activities limit 5").fetchall()
    assert types["start_date_local"] == "TIMESTAMP"
    assert types["start_date"] == "TIMESTAMP WITH TIME ZONE"
    want = truth(sandbox, aid)
    for activity_id, local in sample:
        assert local.isoformat() == want[activity_id]["start_date_local"].rstrip("Z")


@pytest.mark.parametrize("mode", ["new", "all"])
def test_every_row_carries_the_athlete_id(sandbox, rt, sync, mode):
    aid = register(rt, _one(sandbox, 25))
    sync(aid, mode)
    with rt.warehouse.reader() as con:  # type: ignore[attr-defined]
        assert con.execute("select distinct athlete_id from activities").fetchall() == [(aid,)]
        assert con.execute("select count(*) from activities").fetchone() == (25,)


def test_an_idle_poll_never_opens_the_warehouse(sandbox, rt, app_env):
    from nunis_ingest.core.events import SyncRequest
    from nunis_ingest.runtime import Runtime
    from nunis_ingest.settings import load_settings
    from nunis_ingest.usecases.sync import run_sync

    aid = register(rt, _one(sandbox, 30))
    first = rt.context()
    first.now = sandbox.clock
    run_sync(SyncRequest(athlete_id=aid, mode="all", trigger="test"), first)
    rt.warehouse.close()  # type: ignore[attr-defined]

    fresh = Runtime(load_settings(app_env))  # a cold function instance
    ctx = fresh.context()
    ctx.now = sandbox.clock
    report = run_sync(SyncRequest(athlete_id=aid, mode="new", trigger="test"), ctx)
    assert report.outcome == "success"
    assert report.requests == 1
    assert "warehouse" not in vars(fresh), "an idle poll built a warehouse client"
