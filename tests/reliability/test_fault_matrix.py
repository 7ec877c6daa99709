"""Fault matrix: one named test per fault, the real pipeline over HTTP against strava_sandbox.

Each test asserts the three things issue 5 asks for: the final warehouse equals the
sandbox's truth (same ids, same content, no duplicate), the stored token still works, and
the ack/retry decision main.ingest makes is the right one.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from typing import Any

from nunis_ingest.core.events import SyncRequest
from nunis_ingest.core.stops import Stop
from nunis_ingest.errors import (
    LeaseHeld,
    StravaAuthError,
    StravaInactiveApp,
    StravaServerError,
)
from nunis_ingest.usecases.sync import run_sync
from tests.reliability.conftest import (
    LISTING,
    Pipeline,
    assert_converged,
    assert_token_works,
    listing_requests,
    new_athlete,
    register,
    state_of,
    warehouse_rows,
)

DAY = 86400


def _ok(rt: Any, sandbox: Any, aid: int) -> None:
    assert_converged(rt, sandbox, aid)
    assert_token_works(rt, sandbox, aid)


# --- Strava throttles, fails and garbles -----------------------------------------------


def test_429_on_page_k_of_all_checkpoints_and_resumes_without_refetching(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 700)  # pages of 200: 4 pages + the empty one
    sandbox.add_fault(kind="status", method="GET", path=LISTING, status=429, after=2, times=1)
    first = pipe.run(aid, "all")
    assert first.decision == "ack"
    assert first.report
    assert first.report.outcome == "partial"
    assert "429" in first.report.reason
    pending = state_of(rt, aid).pending
    assert pending
    assert len(pending["pages"]) == 2, "the two pages fetched must be kept"
    assert warehouse_rows(rt, aid) == [], "nothing is committed from an unfinished full sync"

    sandbox.clear_requests()
    second = pipe.run(aid, "new")  # the next scheduled poll resumes the full sync
    assert second.decision == "ack"
    assert second.report
    assert second.report.outcome == "success"
    assert second.report.mode == "all"
    # 300 activities were left: 2 pages + the empty one; the 400 archived are not fetched
    assert len(listing_requests(sandbox)) == math.ceil(300 / 200) + 1
    assert state_of(rt, aid).pending is None
    _ok(rt, sandbox, aid)


def test_500s_and_timeouts_are_absorbed_by_in_run_retries(sandbox, make_rt):
    rt = make_rt(NUNIS_HTTP_TIMEOUT_SECONDS="1")
    pipe = Pipeline(rt, sandbox)
    aid = new_athlete(sandbox, rt, 450)
    sandbox.add_fault(kind="status", method="GET", path=LISTING, status=502, after=1, times=2)
    sandbox.add_fault(kind="delay", method="GET", path=LISTING, delay=1.6, after=3, times=1)
    outcome = pipe.run(aid, "all")
    assert outcome.decision == "ack"
    assert outcome.report
    assert outcome.report.outcome == "success"
    assert sum(f["fired"] for f in sandbox.faults()) == 3
    _ok(rt, sandbox, aid)


def test_500s_that_outlast_the_retries_raise_and_keep_the_pages_already_fetched(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 500)
    sandbox.add_fault(kind="status", method="GET", path=LISTING, status=500, after=1)
    failed = pipe.run(aid, "all")
    assert failed.decision == "retry"
    assert isinstance(failed.error, StravaServerError)
    state = state_of(rt, aid)
    assert state.last_error_class == "StravaServerError"
    assert state.pending
    assert len(state.pending["pages"]) == 1

    sandbox.clear_faults()
    sandbox.clear_requests()
    redelivered = pipe.run(aid, "all")
    assert redelivered.report
    assert redelivered.report.outcome == "success"
    assert len(listing_requests(sandbox)) == math.ceil(300 / 200) + 1, "page 1 not refetched"
    _ok(rt, sandbox, aid)


def test_dropped_connection_mid_listing_is_retried(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 450)
    sandbox.add_fault(kind="drop", method="GET", path=LISTING, after=1, times=1)
    outcome = pipe.run(aid, "all")
    assert outcome.report
    assert outcome.report.outcome == "success"
    statuses = [r["status"] for r in listing_requests(sandbox)]
    assert 0 in statuses, "the connection was really dropped"
    _ok(rt, sandbox, aid)


def test_dropped_connections_that_persist_raise_for_redelivery(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 50)
    sandbox.add_fault(kind="drop", method="GET", path=LISTING)
    outcome = pipe.run(aid, "all")
    assert outcome.decision == "retry"
    sandbox.clear_faults()
    assert pipe.run(aid, "all").decision == "ack"
    _ok(rt, sandbox, aid)


def test_malformed_json_page_is_never_archived_or_loaded(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 450)
    sandbox.add_fault(kind="malformed", method="GET", path=LISTING, after=1, times=1)
    outcome = pipe.run(aid, "all")
    assert outcome.report
    assert outcome.report.outcome == "success"
    for key in rt.store.list(f"archive/strava/athlete={aid}/"):
        json.loads(rt.store.get(key).data)  # every archived page is the real, whole body
    _ok(rt, sandbox, aid)


def test_malformed_pages_that_persist_raise_for_redelivery(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 30)
    sandbox.add_fault(kind="malformed", method="GET", path=LISTING)
    assert pipe.run(aid, "all").decision == "retry"
    assert warehouse_rows(rt, aid) == []
    sandbox.clear_faults()
    assert pipe.run(aid, "all").decision == "ack"
    _ok(rt, sandbox, aid)


def test_short_pages_before_the_end_do_not_stop_a_full_listing(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 100)
    sandbox.add_fault(kind="short_page", method="GET", path=LISTING, size=7)
    outcome = pipe.run(aid, "all")
    assert outcome.report
    assert outcome.report.outcome == "success"
    # each page's oldest second is listed again (a short page may end inside one): one
    # probe finds that short pages are not the last, then 6 new activities per page
    assert outcome.report.pages <= math.ceil(100 / 6) + 3
    _ok(rt, sandbox, aid)


# --- the function dies mid-run -----------------------------------------------------------


def test_rotated_token_is_written_back_before_any_api_request(sandbox, rt, pipe):
    athlete = sandbox.create_athlete(activities=40)
    aid = register(rt, athlete)
    sandbox.advance_clock(5.5 * 3600)  # inside the last hour: the refresh rotates
    # die at the first API request after the refresh: the new token must already be saved
    tap = pipe.crash(aid, "all", lambda op, key: op == "http" and key.startswith("/api/v3"))
    token_written = tap.events.index(("put-done", f"athletes/{aid}/token.json"))
    refreshed = tap.events.index(("http", "/oauth/token"))
    first_api = next(i for i, (op, key) in enumerate(tap.events) if key.startswith("/api/v3"))
    assert refreshed < token_written < first_api
    assert_token_works(rt, sandbox, aid)  # the rotated pair survived the crash
    sandbox.advance_clock(700)  # the crashed run's lease expires
    assert pipe.run(aid, "new").decision == "ack"
    _ok(rt, sandbox, aid)


def test_crash_after_archive_before_load_is_replayed_by_the_next_run(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 300)
    tap = pipe.crash(aid, "all", lambda op, key: op == "commit")
    assert any(op == "put-done" and "archive/" in key for op, key in tap.events)
    assert warehouse_rows(rt, aid) == []
    assert state_of(rt, aid).cursor is None, "state must not move before the data is durable"
    held = pipe.run(aid, "new")  # the dead run's lease still blocks, cleanly
    assert held.decision == "ack", "a `new` poll behind a held lease is covered by the next"
    assert isinstance(held.error, LeaseHeld)
    assert pipe.run(aid, "all").decision == "retry", "an `all` behind it comes back"
    sandbox.advance_clock(700)
    assert pipe.run(aid, "new").decision == "ack"
    _ok(rt, sandbox, aid)


def test_crash_after_load_before_state_save_replays_harmlessly(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 300)
    pipe.run(aid, "all")
    newest = max(sandbox.truth(aid), key=lambda a: a["start_date"])
    sandbox.patch_activity(newest["id"], name="renamed before the crash")
    sandbox.add_activity(aid, start_date=int(sandbox.clock()) - 3600, name="fresh one")
    before = state_of(rt, aid)
    tap = pipe.crash(aid, "new", lambda op, key: op == "put" and key.endswith("/state.json"))
    assert ("commit-done", "") in tap.events
    assert state_of(rt, aid).cursor == before.cursor, "the state did not move"
    sandbox.advance_clock(700)
    replay = pipe.run(aid, "new")
    assert replay.report
    assert replay.report.outcome == "success"
    assert replay.report.result.inserted == 0
    assert replay.report.result.updated == 0
    assert state_of(rt, aid).cursor > before.cursor
    _ok(rt, sandbox, aid)


def test_duplicate_delivery_of_one_message_changes_nothing_the_second_time(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 120)
    pipe.run(aid, "all")
    sandbox.add_activity(aid, start_date=int(sandbox.clock()) - 7200, name="new run")
    first = pipe.run(aid, "new", message_id="m-1")
    second = pipe.run(aid, "new", message_id="m-1")
    assert first.report
    assert first.report.result.inserted == 1
    assert second.report
    assert second.report.outcome == "success"
    assert (second.report.result.inserted, second.report.result.updated) == (0, 0)
    _ok(rt, sandbox, aid)


def test_two_concurrent_runs_for_one_athlete_exactly_one_runs(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 200)
    rt.warehouse.ensure_schema()
    barrier = threading.Barrier(2)
    outcomes: list[Any] = []

    def go() -> None:
        barrier.wait()
        outcomes.append(pipe.run(aid, "all"))

    sandbox.add_fault(kind="delay", method="GET", path=LISTING, delay=0.5)
    threads = [threading.Thread(target=go) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    decisions = sorted(o.decision for o in outcomes)
    assert decisions == ["ack", "retry"]
    loser = next(o for o in outcomes if o.decision == "retry")
    assert isinstance(loser.error, LeaseHeld)
    assert "did nothing" in str(loser.error)
    winner = next(o for o in outcomes if o.decision == "ack")
    assert winner.report
    total = sandbox.requests_log()["counts"]["total"]
    assert total == winner.report.requests, "only the winner called Strava"
    assert state_of(rt, aid).last_error_class is None, "the loser wrote no state"
    _ok(rt, sandbox, aid)


# --- permanent failures: acknowledge with a fix ------------------------------------------


def test_revoked_token_is_acked_marks_reauth_and_later_polls_skip(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 30)
    pipe.run(aid, "all")
    sandbox.revoke(aid)
    failed = pipe.run(aid, "new")
    assert failed.decision == "ack"
    assert isinstance(failed.error, StravaAuthError)
    assert "nunis-ingest auth" in str(failed.error)
    assert state_of(rt, aid).needs_reauth
    sandbox.clear_requests()
    later = pipe.run(aid, "new")
    assert later.report
    assert later.report.outcome == "skipped"
    assert sandbox.requests_log()["counts"]["total"] == 0, "a skipped athlete costs nothing"
    assert_converged(rt, sandbox, aid)  # the data loaded before the revocation stays


def test_missing_read_all_scope_warns_and_only_me_activities_are_absent(sandbox, rt, pipe, caplog):
    aid = register(rt, sandbox.create_athlete(activities=60, scope="read,activity:read"))
    sandbox.add_activity(aid, name="secret", visibility="only_me")
    with caplog.at_level(logging.WARNING, logger="nunis_ingest"):
        outcome = pipe.run(aid, "all")
    assert outcome.report
    assert outcome.report.outcome == "success"
    warnings = [r for r in caplog.records if "activity:read_all" in r.getMessage()]
    assert len(warnings) == 1
    assert str(aid) in warnings[0].getMessage()
    assert_converged(rt, sandbox, aid, only_me=False)
    hidden = [a for a in sandbox.truth(aid) if a["visibility"] == "only_me"]
    assert hidden
    assert not {a["id"] for a in hidden} & {i for i, _ in warehouse_rows(rt, aid)}
    assert_token_works(rt, sandbox, aid)


def test_inactive_application_is_acked_with_the_fix(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 30)
    pipe.run(aid, "all")
    sandbox.set_app_status(False)
    outcome = pipe.run(aid, "new")
    assert outcome.decision == "ack"
    assert isinstance(outcome.error, StravaInactiveApp)
    assert "subscription" in str(outcome.error)
    state = state_of(rt, aid)
    assert state.last_error_class == "StravaInactiveApp"
    assert not state.needs_reauth
    sandbox.set_app_status(True)
    assert pipe.run(aid, "new").report is not None
    _ok(rt, sandbox, aid)


# --- budgets ---------------------------------------------------------------------------


def test_daily_limit_reached_mid_run_resumes_the_next_day(sandbox, make_rt):
    rt = make_rt(NUNIS_READ_HEADROOM_DAILY="3", NUNIS_READ_HEADROOM_15MIN="0")
    pipe = Pipeline(rt, sandbox)
    aid = new_athlete(sandbox, rt, 950)  # 5 pages + the empty one
    sandbox.set_rate_limits(read_daily=6)
    first = pipe.run(aid, "all")
    assert first.report
    assert first.report.outcome == "partial"
    assert "daily read budget" in first.report.reason
    assert first.report.requests == 3
    assert state_of(rt, aid).last_read_usage["read_usage_daily"] == 3
    # the next day (the access token has expired meanwhile: the run also refreshes it)
    now = sandbox.clock()
    sandbox.set_clock((now // DAY + 1) * DAY + 60)
    sandbox.clear_requests()
    second = pipe.run(aid, "new")
    assert second.report
    assert second.report.outcome == "success"
    assert len(listing_requests(sandbox)) == 3  # pages 4-5 + the empty one, nothing again
    _ok(rt, sandbox, aid)


def test_time_budget_checkpoints_before_the_function_timeout(sandbox, make_rt):
    rt = make_rt(NUNIS_TIME_BUDGET_SECONDS="200")
    pipe = Pipeline(rt, sandbox)
    ticks = iter(range(0, 10**6, 50))
    pipe.monotonic = lambda: float(next(ticks))  # every clock reading costs 50 s
    aid = new_athlete(sandbox, rt, 600)
    first = pipe.run(aid, "all")
    assert first.report
    assert first.report.outcome == "partial"
    assert "time budget" in first.report.reason
    pipe.monotonic = None
    second = pipe.run(aid, "all")
    assert second.report
    assert second.report.outcome == "success"
    _ok(rt, sandbox, aid)


# --- data-level hazards ------------------------------------------------------------------


def test_late_synced_activity_older_than_the_lookback_is_caught_by_the_next_all(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 80, lookback_days=7)
    pipe.run(aid, "all")
    cursor = state_of(rt, aid).cursor
    late = sandbox.add_activity(aid, start_date=cursor - 30 * DAY, name="synced a month late")
    pipe.run(aid, "new")
    assert int(late["id"]) not in dict(warehouse_rows(rt, aid)), "outside the window: new misses"
    outcome = pipe.run(aid, "all")
    assert outcome.report
    assert outcome.report.result.inserted == 1
    _ok(rt, sandbox, aid)


def test_listing_that_suddenly_returns_nothing_deletes_nothing(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 60)
    pipe.run(aid, "all")
    before = warehouse_rows(rt, aid)
    sandbox.add_fault(kind="short_page", method="GET", path=LISTING, size=0, times=1)
    sandbox.clear_requests()
    outcome = pipe.run(aid, "all")
    assert outcome.decision == "ack"
    assert outcome.report.outcome == "partial"
    assert outcome.report.stop is Stop.TRUNCATED_LISTING
    assert warehouse_rows(rt, aid) == before, "an empty listing must not wipe history"
    # one listing request, then one check of the newest suspect proves it alive and stops
    assert sandbox.requests_log()["counts"]["total"] == 2
    assert state_of(rt, aid).suspects == []
    assert state_of(rt, aid).last_error_class == "TruncatedListing"
    _ok(rt, sandbox, aid)


def test_an_empty_page_in_place_of_page_4_of_5_deletes_nothing(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 900)
    pipe.run(aid, "all")
    before = warehouse_rows(rt, aid)
    sandbox.add_fault(kind="short_page", method="GET", path=LISTING, size=0, after=3, times=1)
    outcome = pipe.run(aid, "all")
    assert outcome.report.stop is Stop.TRUNCATED_LISTING
    assert outcome.report.result.deleted == 0
    assert warehouse_rows(rt, aid) == before
    _ok(rt, sandbox, aid)


def test_deleted_activities_leave_only_once_strava_confirms_each(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 60)
    pipe.run(aid, "all")
    gone = [int(a["id"]) for a in sandbox.truth(aid)[:3]]
    for activity_id in gone:
        sandbox.delete_activity(activity_id)
    sandbox.clear_requests()
    outcome = pipe.run(aid, "all")
    assert outcome.report.outcome == "success"
    assert outcome.report.result.deleted == 3
    checks = [r for r in sandbox.requests_log()["requests"] if "/api/v3/activities/" in r["path"]]
    # each 404 is believed only when a second GET after a token refresh answers 404 too
    assert sorted(int(r["path"].rsplit("/", 1)[1]) for r in checks) == sorted(gone * 2)
    assert not set(gone) & {i for i, _ in warehouse_rows(rt, aid)}
    _ok(rt, sandbox, aid)


def test_a_delete_while_all_pages_through_never_deletes_a_live_activity(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 600)
    pipe.run(aid, "all")
    newest = sorted(sandbox.truth(aid), key=lambda a: a["start_date"], reverse=True)
    ctx = pipe.context()
    deleted: list[int] = []

    def on_page(pages: int, seen: int) -> None:
        if pages == 1 and not deleted:  # the athlete deletes an activity of page 1 meanwhile
            deleted.append(int(newest[3]["id"]))
            sandbox.delete_activity(deleted[0])

    ctx.on_page = on_page
    report = run_sync(SyncRequest(athlete_id=aid, mode="all", trigger="test"), ctx)
    assert report.outcome == "success"
    assert report.result.deleted == 0, "it was listed before it went: the next `all` removes it"
    live = {int(a["id"]) for a in sandbox.truth(aid)}
    assert live <= {i for i, _ in warehouse_rows(rt, aid)}, "a live activity was deleted"
    assert pipe.run(aid, "all").report.result.deleted == 1
    _ok(rt, sandbox, aid)


def test_deletions_between_a_stop_and_its_resume_skip_no_other_activity(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 700)
    sandbox.add_fault(kind="status", method="GET", path=LISTING, status=429, after=2, times=1)
    assert pipe.run(aid, "all").report.outcome == "partial"
    newest = sorted(sandbox.truth(aid), key=lambda a: a["start_date"])[-5:]
    for activity in newest:  # on the archived page 1: later pages shift up by five
        sandbox.delete_activity(activity["id"])
    resumed = pipe.run(aid, "new")
    assert resumed.report.outcome == "success"
    loaded = {i for i, _ in warehouse_rows(rt, aid)}
    assert {int(a["id"]) for a in sandbox.truth(aid)} <= loaded, "an activity was skipped"
    # the deleted five were listed before they went; the next complete `all` removes them
    again = pipe.run(aid, "all")
    assert again.report.result.deleted == 5
    _ok(rt, sandbox, aid)
