"""Issue 19, one test per case: damaged or hostile input at a trust boundary never loses
rows, never blocks an athlete for longer than one interval.

Every test drives the real pipeline over HTTP against strava_sandbox with real DuckDB and
the local object store, damages one stored object or payload the way the case says, and
asserts what a user would notice: the warehouse equals Strava's truth, the next run goes
on, the failure names the object. Listing (ties), archive (replay, resume), checkpoint,
lease, read ledger, warehouse loss, lookback 0 and the full-refresh count are here; the
enrichment queue, webhook events and the CLI lines are in ``test_trust_queues.py``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner

from nunis_ingest.core.keys import BUDGET_KEY, athlete_key
from nunis_ingest.drivers.cli.main import cli
from nunis_ingest.errors import NunisError
from nunis_ingest.usecases.athletes import AthleteConfig, AthleteRepo
from nunis_ingest.usecases.replay import replay
from tests.reliability.conftest import (
    LISTING,
    assert_converged,
    listing_requests,
    new_athlete,
    state_of,
    warehouse_rows,
)

DAY = 86400


def quarantine_key(key: str) -> str:
    return f"quarantine/{key}"  # where a damaged object of ours is set aside


def _pages(rt: Any, aid: int) -> list[str]:
    prefix = f"archive/strava/athlete={aid}/"
    return sorted(k for k in rt.store.list(prefix) if "/page-" in k)


def _damage(rt: Any, key: str, how: str) -> None:
    data = rt.store.get(key).data
    damaged = {
        "truncated": data[: len(data) // 2],
        "empty": b"",
        "object": b'{"message": "not a page"}',
        # valid JSON lists no parser can tell from a real page
        "shortened": json.dumps(json.loads(data)[:10]).encode(),
        "garbage items": json.dumps([{"junk": n} for n in range(5)] + [1, "x"]).encode(),
    }[how]
    rt.store.put(key, damaged)


def _detail_counts(rt: Any, aid: int) -> dict[str, int]:
    tables = ("activity_details", "activity_laps", "activity_best_efforts")
    return {t: rt.warehouse.count_rows(t, aid) for t in tables}


# --- Strava's listing: many activities on one second ----------------------------------


def test_a_full_refresh_lists_every_activity_sharing_one_start_second(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 40, details=False)
    tied = int(sandbox.clock()) - 400 * DAY  # far older than any lookback window
    for n in range(250):
        sandbox.add_activity(aid, start_date=tied, name=f"tied {n}")
    sandbox.clear_requests()
    first = pipe.run(aid, "all").report
    assert first is not None
    assert first.outcome == "success"
    assert_converged(rt, sandbox, aid)
    assert first.result.inserted == 290
    # the ties cost no extra request: ceil(290/200) = 2 pages, 1 more for the relisted
    # boundary second, then the page through the tie and the closing one
    assert len(listing_requests(sandbox)) <= 5
    again = pipe.run(aid, "all").report
    assert again is not None
    assert again.outcome == "success"
    assert again.result.deleted == 0
    assert_converged(rt, sandbox, aid)


def test_an_activity_too_large_for_a_row_is_quarantined_and_the_rest_loads(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 20, details=False)
    now = int(sandbox.clock())
    huge = sandbox.add_activity(aid, start_date=now - 7200, name="x" * (17 * 2**20))
    later = sandbox.add_activity(aid, start_date=now - 3600, name="after it")
    for mode in ("all", "new"):
        report = pipe.run(aid, mode).report
        assert report is not None
        assert report.outcome == "success", report.summary()
    rows = dict(warehouse_rows(rt, aid))
    assert later["id"] in rows
    assert huge["id"] not in rows
    assert len(rows) == 21
    with rt.warehouse.reader() as con:  # type: ignore[attr-defined]
        (reason,) = con.execute(
            "select reason from quarantine where activity_id = ?", [huge["id"]]
        ).fetchone()
    assert "MiB" in reason


# --- the archive: replay and resume ------------------------------------------------------


def test_replay_stops_on_a_damaged_page_and_loses_no_row(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 260)  # details on: the newest get detail rows
    assert pipe.run(aid, "all").report.outcome == "success"
    rows, details = warehouse_rows(rt, aid), _detail_counts(rt, aid)
    assert details["activity_details"] > 0
    page = _pages(rt, aid)[0]
    _damage(rt, page, "truncated")
    with pytest.raises(NunisError) as info:
        replay(rt.store, rt.warehouse, aid, run_id="replay-test", rewrite=True)
    assert page in str(info.value), "the failure must name the damaged object"
    assert "wrote nothing" in str(info.value)
    assert warehouse_rows(rt, aid) == rows
    assert _detail_counts(rt, aid) == details


@pytest.mark.parametrize("how", ["shortened", "garbage items"])
def test_a_replay_over_damage_no_parser_sees_keeps_every_row(sandbox, rt, pipe, how):
    aid = new_athlete(sandbox, rt, 260)  # 2 pages; details on
    assert pipe.run(aid, "all").report.outcome == "success"
    rows, details = warehouse_rows(rt, aid), _detail_counts(rt, aid)
    _damage(rt, _pages(rt, aid)[0], how)
    done = replay(rt.store, rt.warehouse, aid, run_id="replay-test", rewrite=True)
    assert set(warehouse_rows(rt, aid)) >= set(rows), "the replay dropped rows"
    assert done.kept == len(rows) - done.activities > 100, "kept rows must be counted"
    assert _detail_counts(rt, aid) == details
    assert_converged(rt, sandbox, aid)


def test_the_replay_command_names_the_damaged_object_and_exits_non_zero(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 30, details=False)
    pipe.run(aid, "all")
    page = _pages(rt, aid)[0]
    _damage(rt, page, "empty")
    rt.warehouse.close()
    env = {"NUNIS_BACKEND": "local", "NUNIS_DATA_DIR": str(rt.settings.data_dir)}
    shown = CliRunner().invoke(cli, ["replay", "--athlete", str(aid)], env=env)
    assert shown.exit_code == 1, shown.output
    assert page in shown.output
    rt.__dict__.pop("warehouse", None)
    assert len(warehouse_rows(rt, aid)) == 30


def test_a_schema_rebuild_over_a_damaged_archive_keeps_the_rows_and_the_athlete_going(
    sandbox, rt, pipe, monkeypatch
):
    aid = new_athlete(sandbox, rt, 60, details=False)
    pipe.run(aid, "all")
    rows = warehouse_rows(rt, aid)
    page = _pages(rt, aid)[0]
    _damage(rt, page, "object")
    monkeypatch.setattr("nunis_ingest.usecases.rebuild.SCHEMA_VERSION", 2)  # a column was added
    sandbox.add_activity(aid, start_date=int(sandbox.clock()) - 3600, name="new today")
    outcome = pipe.run(aid, "new")
    assert outcome.report is not None, outcome.error
    assert outcome.report.outcome == "success"
    assert set(rows) <= set(warehouse_rows(rt, aid)), "the rebuild dropped rows"
    assert_converged(rt, sandbox, aid)
    assert any(page in w for w in outcome.report.warnings), outcome.report.warnings
    assert state_of(rt, aid).rebuild_blocked == page
    rt.store.delete(page)  # the fix the warning names: the object is moved away
    assert pipe.run(aid, "all").report.outcome == "success"  # archives everything again
    assert pipe.run(aid, "new").report.outcome == "success"  # the rebuild runs now
    assert state_of(rt, aid).schema_version == 2
    assert_converged(rt, sandbox, aid)


@pytest.mark.parametrize("how", ["truncated", "empty", "object", "shortened", "garbage items"])
def test_a_damaged_page_of_an_interrupted_refresh_falls_back_to_strava(sandbox, rt, pipe, how):
    aid = new_athlete(sandbox, rt, 450, details=False)  # 3 pages
    sandbox.add_fault(kind="status", method="GET", path=LISTING, status=429, after=1, times=1)
    first = pipe.run(aid, "all").report
    assert first is not None
    assert first.outcome == "partial"
    (page,) = state_of(rt, aid).pending["pages"]
    _damage(rt, page, how)
    resumed = pipe.run(aid, "new")  # the athlete is not blocked: the refresh goes on
    assert resumed.report is not None, resumed.error
    assert resumed.report.outcome == "success"
    assert_converged(rt, sandbox, aid)  # nothing of the damaged page was skipped
    assert any(page in w for w in resumed.report.warnings)
    assert pipe.run(aid, "new").report.outcome == "success"
    assert rt.store.get(page) is None, "the damaged page stays in the archive"
    assert rt.store.get(quarantine_key(page)) is not None


def test_a_refresh_that_fell_back_and_stopped_again_resumes_its_new_pages(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 650, details=False)  # 4 pages
    sandbox.add_fault(kind="status", method="GET", path=LISTING, status=429, after=1, times=1)
    pipe.run(aid, "all")
    (page,) = state_of(rt, aid).pending["pages"]
    _damage(rt, page, "truncated")
    sandbox.add_fault(kind="status", method="GET", path=LISTING, status=429, after=3, times=1)
    fell_back = pipe.run(aid, "new").report
    assert fell_back.outcome == "partial"
    pages = state_of(rt, aid).pending["pages"]
    assert page not in pages
    sandbox.clear_requests()
    resumed = pipe.run(aid, "new").report
    assert resumed.outcome == "success"
    assert not any("checkpoint" in w for w in resumed.warnings), resumed.warnings
    assert len(listing_requests(sandbox)) <= 3, "the new pages were listed again"
    assert_converged(rt, sandbox, aid)


def test_a_checkpoint_bound_moved_below_its_last_page_is_not_trusted(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 600, details=False)  # 3 pages
    sandbox.add_fault(kind="status", method="GET", path=LISTING, status=429, after=2, times=1)
    assert pipe.run(aid, "all").report.outcome == "partial"
    repo = AthleteRepo(rt.store)
    state, generation = repo.load_state(aid)
    assert state.pending is not None
    moved = state.pending | {"before": state.pending["before"] - 200 * DAY}  # pages intact
    repo.save_state(aid, replace(state, pending=moved), generation)
    resumed = pipe.run(aid, "new").report
    assert resumed is not None
    assert resumed.outcome == "success"
    assert any("resume point" in w for w in resumed.warnings), resumed.warnings
    assert_converged(rt, sandbox, aid)


def test_replay_refuses_a_detail_object_that_holds_another_activity(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 6, details=True)
    pipe.run(aid, "all")
    prefix = f"archive/strava/athlete={aid}/"
    details = sorted(k for k in rt.store.list(prefix) if "/detail-" in k)
    assert len(details) >= 2
    swapped = details[-1]
    rt.store.put(swapped, rt.store.get(details[0]).data)
    with pytest.raises(NunisError) as info:
        replay(rt.store, rt.warehouse, aid, run_id="replay-test", rewrite=True)
    assert swapped in str(info.value)
    assert_converged(rt, sandbox, aid)


def test_a_tombstone_that_names_no_deletion_deletes_nothing(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 20, details=False)
    pipe.run(aid, "all")
    victim = warehouse_rows(rt, aid)[0][0]
    folder = _pages(rt, aid)[0].rpartition("/")[0]
    for body in (b"garbage", json.dumps({"id": victim + 1, "confirmed_at": 1}).encode()):
        key = f"{folder}/deleted-{victim}.json"
        rt.store.put(key, body)
        with pytest.raises(NunisError) as info:
            replay(rt.store, rt.warehouse, aid, run_id="replay-test", rewrite=True)
        assert key in str(info.value)
        assert victim in dict(warehouse_rows(rt, aid))
    assert_converged(rt, sandbox, aid)


def test_another_athletes_page_in_the_archive_is_named_not_loaded(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 10, details=False)
    other = new_athlete(sandbox, rt, 5, details=False)
    pipe.run(aid, "all")
    pipe.run(other, "all")
    theirs = _pages(rt, other)[0]
    planted = _pages(rt, aid)[0].replace("page-00001", "page-00009")
    rt.store.put(planted, rt.store.get(theirs).data)
    with pytest.raises(NunisError) as info:
        replay(rt.store, rt.warehouse, aid, run_id="replay-test", rewrite=True)
    assert planted in str(info.value)
    assert "unexpected" not in str(info.value)
    assert_converged(rt, sandbox, aid)
    assert_converged(rt, sandbox, other)


def test_rows_a_replay_removed_come_back_with_the_next_new_poll(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 20, details=False)
    pipe.run(aid, "all")
    newest = max(sandbox.truth(aid), key=lambda a: a["start_date"])["id"]
    later_run = "29990101T000000Z-0badc0de"  # a tombstone newer than any listing
    key = f"archive/strava/athlete={aid}/date=2999-01-01/{later_run}/deleted-{newest}.json"
    rt.store.put(key, json.dumps({"id": newest, "confirmed_at": 1}).encode())
    env = {"NUNIS_BACKEND": "local", "NUNIS_DATA_DIR": str(rt.settings.data_dir)}
    rt.warehouse.close()
    done = CliRunner().invoke(cli, ["replay", "--athlete", str(aid)], env=env)
    assert done.exit_code == 0, done.output
    rt.__dict__.pop("warehouse", None)
    assert newest not in dict(warehouse_rows(rt, aid))  # the archive said so
    restored = pipe.run(aid, "new").report
    assert restored is not None
    assert newest in dict(warehouse_rows(rt, aid)), "a live activity stayed deleted"
    assert_converged(rt, sandbox, aid)


# --- state.json and lease.json -------------------------------------------------------------


@pytest.mark.parametrize("run_id", ["../..", "r0", "20270115T080000Z-0a1b2c3d"])
def test_a_checkpoint_with_a_bad_run_id_or_keys_is_dropped_not_fatal(sandbox, rt, pipe, run_id):
    aid = new_athlete(sandbox, rt, 30, details=False)
    pipe.run(aid, "all")
    repo = AthleteRepo(rt.store)
    state, generation = repo.load_state(aid)
    pending = {
        "mode": "all",
        "run_id": run_id,
        "started_at": sandbox.clock() - 60,
        "pages": ["../../../../etc/passwd"],
        "before": None,
        "page": 1,
    }
    repo.save_state(aid, replace(state, pending=pending), generation)
    outcome = pipe.run(aid, "new")
    assert outcome.report is not None, outcome.error
    assert outcome.report.outcome == "success"
    assert any("checkpoint" in w for w in outcome.report.warnings)
    assert state_of(rt, aid).pending is None
    assert_converged(rt, sandbox, aid)


def test_a_corrupt_state_file_is_set_aside_and_the_athlete_reloads(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 30, details=False)
    pipe.run(aid, "all")
    key = athlete_key(aid, "state.json")
    rt.store.put(key, b'{"version": 1, "rows": -5, "cursor": "soon"}')
    first = pipe.run(aid, "new")
    assert first.report is not None, first.error
    assert first.report.outcome == "success"
    assert first.report.mode == "all"  # a fresh state: a full load, loses nothing
    assert any("set aside" in w for w in first.report.warnings), first.report.warnings
    assert rt.store.get(quarantine_key(key)).data.startswith(b'{"version": 1, "rows": -5')
    assert_converged(rt, sandbox, aid)


@pytest.mark.parametrize(
    "expires", [b"Infinity", b"1e308", b"NaN", b'"never"', b"9999999999", b"-1"]
)
def test_a_lease_with_an_implausible_expiry_does_not_block(sandbox, rt, pipe, expires):
    aid = new_athlete(sandbox, rt, 10, details=False)
    body = b'{"holder": "x", "acquired_at": 0, "expires_at": ' + expires + b"}"
    rt.store.put(athlete_key(aid, "lease.json"), body)
    outcome = pipe.run(aid, "all")
    assert outcome.report is not None, outcome.error
    assert outcome.report.outcome == "success"
    assert_converged(rt, sandbox, aid)


def test_a_run_killed_mid_sync_leaves_no_lease_that_blocks_the_next(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 450, details=False)
    sandbox.add_fault(kind="delay", method="GET", path=LISTING, delay=30, after=1)
    env = dict(os.environ) | {
        "NUNIS_BACKEND": "local",
        "NUNIS_DATA_DIR": str(rt.settings.data_dir),
        "NUNIS_STRAVA_BASE_URL": rt.settings.strava_base_url,
        "STRAVA_CLIENT_ID": str(rt.settings.strava_client_id),
        "STRAVA_CLIENT_SECRET": str(rt.settings.strava_client_secret),
    }
    code = "from nunis_ingest.drivers.cli.main import cli; cli()"
    args = [sys.executable, "-c", code, "sync", "--athlete", str(aid), "--mode", "all"]
    child = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lease = athlete_key(aid, "lease.json")
    deadline = time.monotonic() + 30
    while rt.store.get(lease) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert rt.store.get(lease) is not None, "the child never took the lease"
    time.sleep(0.3)  # inside its listing now
    child.send_signal(signal.SIGKILL)  # kill -9: no cleanup, the lease stays
    child.wait(10)
    assert rt.store.get(lease) is not None
    sandbox.clear_faults()
    outcome = pipe.run(aid, "all")  # at once, not ~10 minutes later
    assert outcome.report is not None, outcome.error
    assert outcome.report.outcome == "success"
    assert_converged(rt, sandbox, aid)


def test_a_lease_held_message_does_not_claim_a_run_is_loading(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 5, details=False)
    now = sandbox.clock()
    body = {"holder": "20270101T000000Z-deadbeef", "acquired_at": now, "expires_at": now + 500}
    rt.store.put(athlete_key(aid, "lease.json"), json.dumps(body).encode())
    outcome = pipe.run(aid, "new")
    assert outcome.error is not None
    text = str(outcome.error)
    assert "loading the same data" not in text or "killed" in text
    assert "frees itself" in text


# --- the app's read ledger -------------------------------------------------------------


def _ledger(sandbox: Any, **figures: Any) -> bytes:
    now = sandbox.clock()
    window = int(now // 900) * 900
    doc = {
        "version": 1,
        "window_start": window,
        "used_15min": 0,
        "used_daily": 0,
        "limit_15min": 100,
        "limit_daily": 1000,
        "by_athlete": {},
        "waiting": {},
        "updated_at": now,
    }
    return json.dumps(doc | figures).encode()


@pytest.mark.parametrize(
    "figures",
    [
        {"used_daily": 10**12},
        {"used_daily": 5000},
        {"limit_15min": 8},
        {"limit_15min": 1, "limit_daily": 3},
    ],
    ids=["huge-daily-count", "daily-count-above-limit", "limit-below-headroom", "tiny-limits"],
)
def test_a_stored_ledger_blocks_no_one_beyond_its_window_and_is_relearnt(
    sandbox, rt, pipe, figures
):
    aid = new_athlete(sandbox, rt, 10, details=False)
    rt.store.put(BUDGET_KEY, _ledger(sandbox, **figures))
    outcome = pipe.run(aid, "all")
    assert outcome.report is not None, outcome.error
    assert outcome.report.requests >= 1, "no read was admitted"
    sandbox.advance_clock(900)  # at the latest within the next window
    later = pipe.run(aid, "all").report
    assert later is not None
    assert later.outcome == "success", later.reason
    assert_converged(rt, sandbox, aid)
    ledger = rt.budget.snapshot(sandbox.clock())
    assert (ledger.limit_15min, ledger.limit_daily) == (100, 1000), "limits not re-learnt"
    assert ledger.used_daily < 1000


# --- the warehouse ---------------------------------------------------------------------


def test_a_lost_duckdb_file_is_healed_by_the_very_next_run(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 120, details=False)
    pipe.run(aid, "all")
    rt.warehouse.close()
    Path(rt.settings.duckdb_file).unlink()
    rt.__dict__.pop("warehouse", None)
    report = pipe.run(aid, "new").report  # no clock advance: not six hours later
    assert report is not None
    assert report.mode == "all", "a lost warehouse must be healed by the next run"
    assert report.result.inserted == 120
    assert_converged(rt, sandbox, aid)


def test_status_promises_a_heal_only_when_the_next_run_does_it(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 50, details=False)
    pipe.run(aid, "all")
    rt.warehouse.close()
    con = duckdb.connect(str(rt.settings.duckdb_file))  # rows deleted behind the state's back
    con.execute("DELETE FROM activities WHERE athlete_id = ? AND id % 2 = 0", [aid])
    con.close()
    held = len(warehouse_rows(rt, aid))
    rt.warehouse.close()
    env = {"NUNIS_BACKEND": "local", "NUNIS_DATA_DIR": str(rt.settings.data_dir)}
    shown = CliRunner().invoke(cli, ["status", "--json"], env=env)
    health = next(a for a in json.loads(shown.output) if a["athlete_id"] == aid)["health"]
    rt.__dict__.pop("warehouse", None)
    report = pipe.run(aid, "new").report
    assert report is not None
    healed = report.mode == "all"
    if "the next run heals it" in health:
        assert healed, f"status promised a heal the next run did not do: {health}"
    else:
        assert not healed
        assert "--mode all" in health, health  # and it says how to heal now
        assert len(warehouse_rows(rt, aid)) == held
        assert pipe.run(aid, "all").report.outcome == "success"
    assert_converged(rt, sandbox, aid)


# --- mode new and all: windows and counts --------------------------------------------------


def test_lookback_zero_lists_an_activity_on_the_cursors_second(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 15, details=False)
    AthleteRepo(rt.store).save_config(AthleteConfig(aid, lookback_days=0, details=False))
    pipe.run(aid, "all")
    cursor = state_of(rt, aid).cursor
    sandbox.add_activity(aid, start_date=cursor, name="same second as the newest")
    report = pipe.run(aid, "new").report
    assert report is not None
    assert report.result.inserted == 1
    assert_converged(rt, sandbox, aid)


def test_a_full_refresh_says_success_only_when_its_count_reconciles(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 80, details=False)
    pipe.run(aid, "all")
    gone = sorted(a["id"] for a in sandbox.truth(aid))[:30]  # more than one run confirms
    for activity_id in gone:
        sandbox.delete_activity(activity_id)
    first = pipe.run(aid, "all").report
    assert first is not None
    assert first.outcome != "success", "rows the listing did not show were not all confirmed"
    assert "not yet confirmed" in first.reason
    assert first.result.deleted == 25
    second = pipe.run(aid, "all").report
    assert second is not None
    assert second.outcome == "success"
    assert_converged(rt, sandbox, aid)
