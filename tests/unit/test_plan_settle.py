"""plan and settle with plain values: every mode decision, stop and state transition."""

from __future__ import annotations

import pytest

from nunis_ingest.core.fetched import Confirmation, Fetched, Seen
from nunis_ingest.core.keys import archive_page_key
from nunis_ingest.core.plan import (
    CLOCK_SKEW_SECONDS,
    CONFIRMATIONS_PER_RUN,
    VERIFY_INTERVAL_SECONDS,
    make_plan,
    verify_due,
)
from nunis_ingest.core.settle import settle
from nunis_ingest.core.state import SyncState
from nunis_ingest.core.stops import Stop
from nunis_ingest.errors import StravaServerError
from nunis_ingest.ports import WriteResult

NOW = 1_800_000_000
DAY = 86400
RUN0 = "20270115T080000Z-0a1b2c3d"


def plan_for(state: SyncState, requested: str = "new", **kw):
    return make_plan(
        athlete_id=7,
        run_id="r1",
        now=NOW,
        requested=requested,  # type: ignore[arg-type]
        state=state,
        lookback_days=7,
        **kw,
    )


def loaded(**kw) -> SyncState:
    base = {"cursor": NOW - DAY, "rows": 10, "verified_at": NOW - 60}
    return SyncState(**(base | kw))


# --- plan -----------------------------------------------------------------------------


def test_first_load_is_a_full_listing_from_the_newest():
    plan = plan_for(SyncState())
    assert (plan.mode, plan.why, plan.before, plan.after) == ("all", "first load", None, None)


def test_new_lists_the_lookback_window_before_the_cursor():
    plan = plan_for(loaded())
    assert plan.mode == "new"
    assert plan.after == NOW - DAY - 7 * DAY - 1  # `after` is strict: the first second too
    assert not verify_due(loaded(), "new", NOW)


def test_a_future_cursor_is_capped_so_the_window_still_covers_today():
    plan = plan_for(loaded(cursor=NOW + 5 * 365 * DAY))
    assert plan.after == NOW + CLOCK_SKEW_SECONDS - 7 * DAY - 1
    assert plan.after < NOW


def test_requested_all_is_a_full_listing_and_verifies_the_warehouse():
    plan = plan_for(loaded(), "all")
    assert plan.full
    assert verify_due(loaded(), "all", NOW)


def test_new_resumes_a_backlog_where_the_last_run_stopped():
    plan = plan_for(loaded(pending={"mode": "new", "after": NOW - 3 * DAY, "page": 1}))
    assert (plan.mode, plan.after, plan.page) == ("new", NOW - 3 * DAY, 1)


def test_an_interrupted_full_refresh_is_resumed_whatever_was_requested():
    page = archive_page_key(7, RUN0, NOW - 900.0, 1)
    pending = {
        "mode": "all",
        "run_id": RUN0,
        "started_at": NOW - 900.0,
        "pages": [page],
        "digests": ["ab" * 32],
        "before": NOW - 50 * DAY,
        "page": 1,
    }
    plan = plan_for(loaded(pending=pending), "new")
    assert plan.mode == "all"
    assert plan.replay == (page,)
    assert plan.replay_digests == ("ab" * 32,)
    assert plan.before == NOW - 50 * DAY
    assert (plan.archive_run_id, plan.archive_started_at) == (RUN0, NOW - 900.0)
    assert not plan.warning


@pytest.mark.parametrize(
    "pending",
    [
        {"mode": "all"},
        {"mode": "all", "run_id": "r", "started_at": "x", "pages": []},
        {"mode": "all", "run_id": "r", "started_at": 1.0, "pages": [], "before": "soon"},
    ],
)
def test_an_unreadable_checkpoint_starts_the_full_refresh_over(pending):
    plan = plan_for(loaded(pending=pending), "all")
    assert plan.full
    assert plan.replay == ()
    assert plan.before is None


def test_fewer_rows_than_the_state_expects_make_a_full_listing_that_says_why():
    plan = plan_for(loaded(rows=10), counted=9)
    assert plan.full
    assert "warehouse" in plan.why
    assert plan.counted == 9


def test_as_many_rows_as_expected_keep_the_poll_a_new_one():
    assert plan_for(loaded(rows=10), counted=10).mode == "new"
    assert plan_for(loaded(rows=10), counted=12).mode == "new"


@pytest.mark.parametrize(
    ("state", "due"),
    [
        (loaded(), False),
        (loaded(rows=None), True),
        (loaded(verified_at=None), True),
        (loaded(verified_at=NOW - VERIFY_INTERVAL_SECONDS), True),
    ],
)
def test_the_warehouse_is_verified_at_most_every_few_hours(state, due):
    assert verify_due(state, "new", NOW) is due


def test_suspects_are_confirmed_newest_first_and_bounded_per_run():
    plan = plan_for(loaded(suspects=list(range(1, 100))))
    assert len(plan.confirm) == CONFIRMATIONS_PER_RUN
    assert plan.confirm[0] == 99


# --- settle ---------------------------------------------------------------------------


def seen(lookback: int = 7 * DAY, **entries: tuple[str, int]) -> Seen:
    out = Seen(lookback)
    for key, (digest, start) in entries.items():
        out.see(int(key.lstrip("a")), digest, start)
    return out


def do_settle(plan, state, listed: Seen, *, complete: bool = True, **kw):
    return settle(plan, state, Fetched(listed, complete=complete, **kw), NOW)


def test_a_complete_new_poll_advances_cursor_and_window():
    state = loaded(known={1: ("h1", NOW - 2 * DAY)})
    listed = seen(a2=("h2", NOW - 100))
    out = do_settle(plan_for(state), state, listed, result=WriteResult(inserted=1))
    assert out.outcome == "success"
    assert out.stop is None
    assert out.state.cursor == NOW - 100
    assert out.state.known == {1: ("h1", NOW - 2 * DAY), 2: ("h2", NOW - 100)}
    assert out.state.rows == 11
    assert out.state.last_error_class is None


def test_a_complete_full_refresh_replaces_the_window():
    state = loaded(known={1: ("old", NOW - DAY)})
    listed = seen(a2=("h2", NOW - 100))
    out = do_settle(plan_for(state, "all"), state, listed)
    assert out.state.known == {2: ("h2", NOW - 100)}


@pytest.mark.parametrize("stop", [s for s in Stop if s is not Stop.TRUNCATED_LISTING])
def test_every_stop_is_partial_keeps_the_cursor_and_saves_the_resume_point(stop):
    state = loaded()
    resume = {"mode": "new", "after": NOW - 3 * DAY, "page": 1}
    listed = seen(a5=("h5", NOW - 3 * DAY))
    out = do_settle(plan_for(state), state, listed, complete=False, stop=stop, resume=resume)
    assert out.outcome == "partial"
    assert out.stop is stop
    assert out.state.pending == resume
    assert out.state.cursor == state.cursor
    assert out.state.known[5] == ("h5", NOW - 3 * DAY), "loaded rows are not re-written"
    assert out.state.last_error_class == stop.error_class
    assert out.state.last_success_at == state.last_success_at


def test_a_failure_keeps_its_own_class_in_the_state():
    state = loaded()
    out = do_settle(
        plan_for(state),
        state,
        seen(),
        complete=False,
        stop=Stop.STRAVA_FAILING,
        failure=StravaServerError("Strava answered 503"),
    )
    assert out.state.last_error_class == "StravaServerError"


def test_a_live_suspect_makes_a_full_listing_truncated_and_clears_the_suspects():
    state = loaded(suspects=[3, 4])
    conf = Confirmation(alive=[(9, b"{}", {})], unchecked=[3, 4])
    out = do_settle(plan_for(state, "all"), state, seen(), confirmation=conf)
    assert out.stop is Stop.TRUNCATED_LISTING
    assert out.outcome == "partial"
    assert out.state.suspects == []
    assert out.state.pending is None, "the listing itself was complete"


def test_confirmed_deletions_are_forgotten_and_the_rest_stay_suspects():
    state = loaded(known={3: ("h3", NOW - DAY)}, suspects=[3, 4, 5])
    conf = Confirmation(gone=[3], unchecked=[5])
    out = do_settle(
        plan_for(state), state, seen(), confirmation=conf, result=WriteResult(deleted=1)
    )
    assert 3 not in out.state.known
    assert out.state.suspects == [4, 5]
    assert out.state.rows == 9


def test_a_suspect_seen_again_in_a_listing_is_no_longer_suspect():
    state = loaded(suspects=[8])
    out = do_settle(plan_for(state), state, seen(a8=("h8", NOW - 10)))
    assert out.state.suspects == []


def test_a_counted_warehouse_rebases_rows_and_records_the_verification():
    state = loaded(rows=None, verified_at=None)
    plan = plan_for(state, counted=40)
    out = do_settle(plan, state, seen(), result=WriteResult(inserted=2))
    assert (out.state.rows, out.state.verified_at) == (42, NOW)


def test_a_future_dated_activity_cannot_move_the_cursor_beyond_the_skew():
    state = loaded()
    out = do_settle(plan_for(state), state, seen(a1=("h", NOW + 9 * 365 * DAY)))
    assert out.state.cursor == NOW + CLOCK_SKEW_SECONDS


def test_a_webhook_write_makes_the_next_poll_find_it_unchanged():
    from nunis_ingest.core.settle import settle_events

    state = loaded(known={1: ("h1", NOW - 2 * DAY)}, suspects=[1, 2])
    out = settle_events(
        state,
        loaded=[(3, "h3", NOW - 60)],
        deleted=[1],
        result=WriteResult(inserted=1, deleted=1),
        lookback=7 * DAY,
        now=NOW,
    )
    assert out.known == {3: ("h3", NOW - 60)}
    assert out.cursor == state.cursor, "an event proves one activity, not the listing"
    assert out.rows == 10
    assert out.suspects == [2]


def test_a_webhook_write_of_an_old_activity_is_not_kept_in_the_window():
    from nunis_ingest.core.settle import settle_events

    state = loaded()
    out = settle_events(
        state,
        loaded=[(3, "h3", NOW - 90 * DAY)],
        deleted=[],
        result=WriteResult(updated=1),
        lookback=7 * DAY,
        now=NOW,
    )
    assert out.cursor == state.cursor
    assert 3 not in out.known, "outside the window: the poll does not list it"


def test_an_unfinished_full_refresh_commits_nothing_so_it_remembers_nothing():
    state = loaded(known={1: ("h1", NOW - DAY)})
    listed = seen(a2=("h2", NOW - 100))
    resume = {"mode": "all", "run_id": "r1", "started_at": NOW, "pages": [], "before": 5}
    out = do_settle(
        plan_for(state, "all"),
        state,
        listed,
        complete=False,
        stop=Stop.READ_BUDGET_15MIN,
        resume=resume,
    )
    assert out.state.known == state.known
    assert out.state.pending == resume
