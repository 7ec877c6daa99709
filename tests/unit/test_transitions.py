"""Every state change as plain values: the enrichment queue a run leaves, the drain's plan
and settlement, and the named transitions outside a run (failure, re-authorisation,
schema rebuild, replay). No I/O: states in, states out."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as hs

from nunis_ingest.core import enrichment as eq
from nunis_ingest.core.fetched import Drained, Fetched, Seen
from nunis_ingest.core.keys import archive_enrich_key
from nunis_ingest.core.plan import make_plan, plan_drain
from nunis_ingest.core.settle import next_stamp, settle, settle_drain, settle_events
from nunis_ingest.core.state import SyncState
from nunis_ingest.core.transitions import (
    after_failure,
    reauthorised,
    rebuild_blocked,
    replayed,
    schema_current,
)
from nunis_ingest.ports import WriteResult

NOW = 1_800_000_000
DAY = 86400


def plan(state: SyncState, requested: str = "new", **kw):
    return make_plan(
        athlete_id=7,
        run_id="20270115T080000Z-0a1b2c3d",
        now=NOW,
        requested=requested,  # type: ignore[arg-type]
        state=state,
        lookback_days=7,
        **kw,
    )


def loaded(**kw) -> SyncState:
    base = {"cursor": NOW - DAY, "rows": 10, "verified_at": NOW - 60, "enrich_kinds": "d"}
    return SyncState(**(base | kw))


def written(*ids: int, fingerprint: str = "f", manual: bool = False) -> Seen:
    out = Seen(7 * DAY)
    for i in ids:
        out.see(i, f"h{i}", NOW - i)
        out.staged.append(eq.Staged(i, NOW - i, fingerprint, manual))
    return out


# --- the queue a run leaves -------------------------------------------------------------


def test_an_activity_without_a_detail_is_queued_for_details_and_streams():
    state = loaded(enrich_kinds="ds")
    p = plan(state, kinds="ds")
    out = settle(p, state, Fetched(written(5), complete=True, fingerprints={}), NOW)
    assert out.state.enrich == {5: (NOW - 5, "ds", NOW)}
    assert out.state.enrich_stamp == NOW


def test_an_edit_queues_the_detail_only_and_a_kudo_nothing():
    state = loaded()
    p = plan(state, kinds="ds")
    edited = Fetched(written(5, fingerprint="new"), complete=True, fingerprints={5: "old"})
    assert settle(p, state, edited, NOW).state.enrich == {5: (NOW - 5, "d", NOW)}
    kudo = Fetched(written(5, fingerprint="same"), complete=True, fingerprints={5: "same"})
    assert settle(p, state, kudo, NOW).state.enrich == {}


def test_a_scan_queues_what_has_no_rows_but_never_a_file_activity():
    state = loaded(enrich_kinds="d")
    p = plan(state, kinds="ds")  # streams switched on: the history is scanned
    assert p.scan
    fetched = Fetched(Seen(7 * DAY), complete=True, unenriched={"s": [(8, NOW - 8), (-3, 1)]})
    out = settle(p, state, fetched, NOW)
    assert out.state.enrich == {8: (NOW - 8, "s", NOW)}
    assert out.state.enrich_kinds == "ds"


def test_an_unfinished_full_refresh_leaves_the_queue_alone():
    state = loaded(enrich={1: (NOW, "d", NOW - 5)}, enrich_stamp=NOW - 5)
    p = plan(state, "all", kinds="d")
    out = settle(p, state, Fetched(written(5), complete=False, fingerprints={}), NOW)
    assert out.state.enrich == state.enrich
    assert out.state.enrich_stamp == NOW - 5


def test_two_runs_in_one_second_never_share_a_stamp_so_never_an_archived_response():
    """The stamp keys the archived detail: a second edit queued in the same second as the
    first must not find the first edit's response (it would skip the fetch)."""
    state = loaded()
    p = plan(state, kinds="d")
    first = settle(p, state, Fetched(written(5, fingerprint="a"), fingerprints={}), NOW)
    after_drain = settle_drain(first.state, Drained(completed=[(5, "d")]), NOW)
    again = Fetched(written(5, fingerprint="b"), fingerprints={5: "a"})
    second = settle(plan(after_drain, kinds="d"), after_drain, again, NOW)  # the same second
    old_stamp, new_stamp = first.state.enrich[5][2], second.state.enrich[5][2]
    assert new_stamp > old_stamp
    assert archive_enrich_key(7, 5, "detail", new_stamp) != archive_enrich_key(
        7, 5, "detail", old_stamp
    )


@given(hs.lists(hs.integers(min_value=-5, max_value=5), min_size=1, max_size=30))
@settings(max_examples=60, deadline=None)
def test_stamps_only_ever_grow_whatever_the_clock_does(clock_moves):
    state, now, issued = SyncState(), NOW, []
    for move in clock_moves:
        now += move
        stamp = next_stamp(state, now)
        issued.append(stamp)
        state = SyncState(enrich_stamp=stamp)
    assert issued == sorted(set(issued))
    assert all(stamp >= NOW + min(0, min(clock_moves)) for stamp in issued)


def test_webhook_queued_streams_take_the_next_stamp():
    state = loaded(enrich_stamp=NOW + 3)
    out = settle_events(
        state,
        loaded=[],
        deleted=[],
        result=WriteResult(),
        lookback=7 * DAY,
        now=NOW,
        queued=[eq.Item(9, NOW - 9, "s", NOW)],
    )
    assert out.enrich[9] == (NOW - 9, "s", NOW + 4)
    assert out.enrich_stamp == NOW + 4


# --- the drain --------------------------------------------------------------------------


def test_the_drain_plan_holds_the_due_entries_newest_first():
    failures = {2: (1, NOW + 900, "boom")}
    state = loaded(enrich={1: (10, "d", 0), 2: (30, "d", 0), 3: (20, "ds", 0)})
    state = SyncState(**(vars(state) | {"enrich_failed": failures}))
    drain = plan_drain(plan(state), state, share=0.5, now=NOW)
    assert drain is not None
    assert [i.activity_id for i in drain.items] == [3, 1], "a backing-off entry waits"
    assert (drain.share, drain.kind) == (0.5, "enrich")


def test_a_driven_drain_may_use_the_whole_budget_and_counts_as_the_poll():
    state = loaded(enrich={1: (10, "d", 0)})
    drain = plan_drain(plan(state, driven=True), state, share=0.5, now=NOW)
    assert drain is not None
    assert (drain.share, drain.kind) == (1.0, "poll")


def test_no_drain_without_a_due_entry():
    assert plan_drain(plan(loaded()), loaded(), share=0.5, now=NOW) is None


def test_settling_a_drain_removes_what_it_wrote_and_backs_off_what_failed():
    state = loaded(enrich={1: (10, "ds", 0), 2: (20, "d", 0), 3: (30, "d", 0)}, suspects=[9])
    drained = Drained(completed=[(1, "d"), (2, "d")], failed=[(3, "500")], suspects=[3])
    out = settle_drain(state, drained, NOW)
    assert out.enrich == {1: (10, "s", 0), 3: (30, "d", 0)}
    attempts, retry_at, why = out.enrich_failed[3]
    assert (attempts, why) == (1, "500")
    assert retry_at > NOW
    assert out.suspects == [3, 9]


def test_a_completed_entry_leaves_its_failure_record_behind():
    state = loaded(enrich={4: (10, "d", 0)}, enrich_failed={4: (2, NOW - 1, "503")})
    out = settle_drain(state, Drained(completed=[(4, "d")]), NOW)
    assert out.enrich == {}
    assert out.enrich_failed == {}


# --- the named transitions -------------------------------------------------------------


def test_a_failure_is_recorded_unless_the_run_already_settled_its_resume_point():
    state = loaded(last_run_id="r9")
    kept = after_failure(
        state,
        run_id="r9",
        error_class="StravaServerError",
        message="503",
        retriable=True,
        needs_reauth=False,
        usage=None,
    )
    assert kept is state
    revoked = after_failure(
        state,
        run_id="r10",
        error_class="StravaAuthError",
        message="x" * 900,
        retriable=False,
        needs_reauth=True,
        usage={"read_usage_15min": 3},
    )
    assert (revoked.last_error_class, revoked.needs_reauth) == ("StravaAuthError", True)
    assert len(revoked.last_error_message or "") == 500
    assert revoked.last_read_usage == {"read_usage_15min": 3}


def test_reauthorisation_clears_the_verdict_and_the_error():
    state = loaded(needs_reauth=True, last_error_class="StravaAuthError", last_error_message="x")
    out = reauthorised(state)
    assert (out.needs_reauth, out.last_error_class, out.last_error_message) == (
        False,
        None,
        None,
    )
    assert out.cursor == state.cursor


def test_a_blocked_rebuild_is_remembered_and_a_finished_one_forgets_it():
    blocked = rebuild_blocked(loaded(schema_version=1), "archive/x.json")
    assert blocked.rebuild_blocked == "archive/x.json"
    done = schema_current(blocked, 2)
    assert (done.schema_version, done.rebuild_blocked) == (2, None)


def test_a_replay_forgets_the_window_and_asks_for_a_count():
    out = replayed(loaded(known={1: ("h", NOW)}))
    assert (out.known, out.rows, out.verified_at) == ({}, None, None)
    assert out.cursor == NOW - DAY
