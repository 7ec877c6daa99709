"""The enrichment queue and its budget rules (pure)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as hs

from nunis_ingest.core import enrichment as eq
from nunis_ingest.core.ratelimit import RateLimitUsage
from nunis_ingest.core.state import EPOCH_MAX, SyncState, dump_state, load_state
from nunis_ingest.core.stops import Stop


def test_queue_drains_newest_first() -> None:
    queue = eq.enqueue(
        {}, [eq.Item(1, 100, "d", 5), eq.Item(2, 300, "ds", 5), eq.Item(3, 200, "s", 5)]
    )
    assert [i.activity_id for i in eq.order(queue)] == [2, 3, 1]
    assert eq.cost(queue) == 4


def test_enqueue_unites_kinds_and_only_an_edit_moves_the_stamp() -> None:
    queue = eq.enqueue({}, [eq.Item(1, 100, "d", 5)])
    scanned = eq.enqueue(queue, [eq.Item(1, 100, "s", 9)])
    assert scanned[1] == (100, "ds", 5)  # a scan keeps the stamp: archived responses stay valid
    edited = eq.enqueue(scanned, [eq.Item(1, 100, "d", 9)], fresh=True)
    assert edited[1] == (100, "ds", 9)


def test_done_removes_kinds_then_the_entry() -> None:
    queue = eq.enqueue({}, [eq.Item(1, 100, "ds", 5)])
    eq.done(queue, 1, "d")
    assert queue == {1: (100, "s", 5)}
    eq.done(queue, 1, "s")
    assert queue == {}


def test_turning_streams_off_drops_their_entries() -> None:
    queue = eq.enqueue({}, [eq.Item(1, 1, "ds", 5), eq.Item(2, 2, "s", 5)])
    assert eq.restrict(queue, "d") == {1: (1, "d", 5)}


def test_from_poll_new_edited_and_social_only() -> None:
    staged = [
        eq.Staged(1, 10, "fpA", manual=False),  # no detail yet: new
        eq.Staged(2, 20, "fpB", manual=False),  # detail fetched for another summary: edited
        eq.Staged(3, 30, "fpC", manual=False),  # same fingerprint: kudos only, no request
        eq.Staged(4, 40, "fpD", manual=True),  # manual: never streams
    ]
    fingerprints = {2: "old", 3: "fpC"}
    new, edited = eq.from_poll(staged, fingerprints, {}, "ds", now=99)
    assert [(i.activity_id, i.kinds) for i in new] == [(1, "ds"), (4, "d")]
    assert [(i.activity_id, i.kinds) for i in edited] == [(2, "d")]


def test_streams_only_follow_activities_the_state_did_not_know() -> None:
    staged = [eq.Staged(1, 10, "a", manual=False), eq.Staged(2, 20, "b", manual=False)]
    new, edited = eq.from_poll(staged, {}, {2: ("h", 20)}, "s", now=99)
    assert [(i.activity_id, i.kinds) for i in new] == [(1, "s")]
    assert edited == []


def _usage(used_15: int, used_day: int) -> RateLimitUsage:
    return RateLimitUsage(
        read_limit_15min=100,
        read_limit_daily=1000,
        read_usage_15min=used_15,
        read_usage_daily=used_day,
    )


def test_enrichment_leaves_the_rest_of_the_budget_to_polls() -> None:
    assert eq.allowance(_usage(10, 100), 0.5) == (40, 400)
    assert eq.enrich_stop(_usage(49, 100), 0.5) is None
    assert eq.enrich_stop(_usage(50, 100), 0.5) is Stop.ENRICH_SHARE_15MIN
    assert eq.enrich_stop(_usage(0, 500), 0.5) is Stop.ENRICH_SHARE_DAILY
    assert eq.enrich_stop(None, 0.5) is None  # unknown usage: Strava's defaults


def test_eta_at_default_limits_is_bound_by_the_daily_share() -> None:
    # 2,000 requests (1,000 activities with streams) at 500 a day: 4 days.
    assert eq.eta_seconds(2000, _usage(0, 0), 0.5) == 4 * 86400
    assert eq.eta_seconds(0, None, 0.5) == 0


@given(
    hs.dictionaries(
        hs.integers(1, 2**63 - 1),
        hs.tuples(  # epoch seconds up to 9999-12-31: a date a key can be built from
            hs.integers(0, EPOCH_MAX), hs.sampled_from(["d", "s", "ds"]), hs.integers(0, EPOCH_MAX)
        ),
        max_size=30,
    )
)
def test_state_keeps_the_queue_across_a_save(queue: dict[int, tuple[int, str, int]]) -> None:
    state = SyncState(enrich=queue, enrich_kinds="ds")
    loaded = load_state(dump_state(state))
    assert loaded.enrich == queue
    assert loaded.enrich_kinds == "ds"


def test_a_corrupt_queue_is_reported_naming_the_key() -> None:
    import pytest

    from nunis_ingest.errors import ConfigError

    for bad in ({"enrich": {"12": [1, "x", 2]}}, {"enrich": {"abc": [1, "d", 2]}}, {"enrich": []}):
        with pytest.raises(ConfigError, match="'enrich'"):
            load_state(json_bytes({"version": 1} | bad))


def json_bytes(doc: object) -> bytes:
    import json

    return json.dumps(doc).encode()
