"""The ledger's pure rules: windows, monotone usage, kinds' ceilings, fair shares."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from nunis_ingest.core import budget_rules as rules
from nunis_ingest.core.budget_rules import Headroom, Ledger, decide, observe
from nunis_ingest.core.ratelimit import RateLimitUsage

DAY = 86400
T0 = 20_000 * DAY + 3 * 3600 + 60  # 03:01 UTC, one minute into a window


def headers(
    used_15: int, used_day: int, limit_15: int = 100, limit_day: int = 1000
) -> RateLimitUsage:
    return RateLimitUsage(
        read_limit_15min=limit_15,
        read_limit_daily=limit_day,
        read_usage_15min=used_15,
        read_usage_daily=used_day,
    )


def test_windows_reset_on_the_quarter_hour_and_the_day_at_midnight_utc():
    ledger = observe(rules.fresh(T0), headers(40, 500), T0, 1)
    assert (ledger.used_15min, ledger.used_daily) == (40, 500)
    later = rules.roll(ledger, T0 + 14 * 60)  # 03:15: a new window, the same day
    assert (later.used_15min, later.used_daily, later.by_athlete) == (0, 500, {})
    tomorrow = rules.roll(ledger, T0 + DAY)
    assert (tomorrow.used_15min, tomorrow.used_daily) == (0, 0)
    assert rules.roll(ledger, T0 + 60) is ledger  # same window: unchanged


def test_usage_only_grows_within_a_window_and_headerless_responses_count_one():
    ledger = observe(rules.fresh(T0), headers(40, 500), T0, 1)
    ledger = observe(ledger, headers(12, 480), T0 + 1, 1)  # an older response, late
    assert (ledger.used_15min, ledger.used_daily) == (40, 500)
    ledger = observe(ledger, None, T0 + 2, 2)  # a proxy's 502: no headers
    assert (ledger.used_15min, ledger.used_daily) == (41, 501)
    assert ledger.by_athlete == {1: 2, 2: 1}


def test_limits_come_from_the_headers():
    ledger = observe(rules.fresh(T0), headers(1, 1, limit_15=600, limit_day=30000), T0, 1)
    assert (ledger.limit_15min, ledger.limit_daily) == (600, 30000)


def test_a_stale_or_garbled_ledger_never_blocks():
    spent = Ledger(window_start=rules.window_of(T0 - 3600), used_15min=100, used_daily=400)
    assert rules.load(rules.dump(spent), T0).used_15min == 0  # an old window is reset
    from_the_future = Ledger(window_start=rules.window_of(T0 + 7200), used_15min=100)
    assert rules.load(rules.dump(from_the_future), T0).used_15min == 0  # a clock jumped back
    for garbage in (b"", b"{", b"[]", b'{"version": 1}', b'{"version": 9}', b"\xff"):
        assert decide(rules.load(garbage, T0), T0, 1, "poll").allowed


def test_a_spent_window_defers_to_its_end_and_a_spent_day_to_midnight():
    ledger = observe(rules.fresh(T0), headers(90, 300), T0, 1)
    verdict = decide(ledger, T0, 2, "poll")
    assert not verdict.allowed
    assert (verdict.why, verdict.until) == ("window", rules.window_of(T0) + 900)
    day_spent = observe(rules.fresh(T0), headers(5, 900), T0, 1)
    verdict = decide(day_spent, T0, 2, "webhook")
    assert (verdict.allowed, verdict.why, verdict.until) == (False, "day", rules.day_of(T0) + DAY)


def test_lower_kinds_stop_earlier_leaving_reads_for_events():
    ledger = observe(rules.fresh(T0), headers(63, 100), T0, None)  # 70 % of 90
    assert not decide(ledger, T0, 1, "reconcile").allowed
    assert decide(ledger, T0, 1, "enrich").allowed
    assert decide(ledger, T0, 1, "poll").allowed
    assert decide(ledger, T0, 1, "webhook").allowed
    daily = observe(rules.fresh(T0), headers(0, 540), T0, None)  # 60 % of 900
    assert not decide(daily, T0, 1, "reconcile").allowed
    assert decide(daily, T0, 1, "webhook").allowed


def test_headroom_is_left_unused():
    ledger = observe(rules.fresh(T0), headers(95, 100), T0, None)
    assert decide(ledger, T0, 1, "poll", Headroom(window=0, day=0)).allowed
    assert not decide(ledger, T0, 1, "poll", Headroom(window=5, day=0)).allowed


def _draw(ledger: Ledger, athlete_id: int, count: int, now: float) -> Ledger:
    for _ in range(count):
        ledger = observe(
            ledger, headers(ledger.used_15min + 1, ledger.used_daily + 1), now, athlete_id
        )
    return ledger


def test_an_athlete_alone_takes_the_window_and_a_second_one_halves_it():
    alone = _draw(rules.fresh(T0), 1, 89, T0)
    assert decide(alone, T0, 1, "poll").allowed  # nobody else wants reads: all 90 are its
    two = _draw(rules.fresh(T0), 1, 45, T0)
    two = _draw(two, 2, 1, T0)  # athlete 2 draws too: the cap is 90 / 2
    verdict = decide(two, T0, 1, "poll")
    assert (verdict.allowed, verdict.why) == (False, "share")
    assert decide(two, T0, 2, "poll").allowed
    assert decide(two, T0, 1, "webhook").allowed  # events are not capped per athlete


def test_an_athlete_turned_away_counts_for_the_next_window_share():
    spent = _draw(rules.fresh(T0), 1, 90, T0)
    assert not decide(spent, T0, 2, "poll").allowed
    spent = rules.turned_away(spent, 2, T0)
    nxt = T0 + 900
    ledger = _draw(rules.roll(spent, nxt), 1, 45, nxt)
    assert not decide(ledger, nxt, 1, "poll").allowed  # athlete 2 waits: 1 gets half
    assert decide(ledger, nxt, 2, "poll").allowed
    much_later = rules.roll(spent, T0 + 3 * 900)
    assert much_later.waiting == {}  # forgotten after a window it did not come back in


def test_merge_keeps_the_larger_count_and_adds_per_athlete_draws():
    stored = observe(rules.fresh(T0), headers(30, 300), T0, 1)
    mine = observe(observe(rules.fresh(T0), headers(20, 290), T0, 2), None, T0, 2)
    merged = rules.merge(stored, mine, {2: 2}, extra=1, now=T0)
    assert merged.used_15min == 31  # Strava's larger count, plus the one headerless read
    assert merged.by_athlete == {1: 1, 2: 2}


def test_merge_drops_draws_of_an_earlier_window():
    mine = observe(rules.fresh(T0), headers(20, 290), T0, 2)
    later = T0 + 900
    merged = rules.merge(rules.fresh(later), mine, {2: 5}, extra=3, now=later)
    assert (merged.used_15min, dict(merged.by_athlete)) == (0, {})
    assert merged.used_daily == 290  # the day goes on


counts = st.integers(min_value=0, max_value=2000)


@given(st.lists(st.tuples(counts, counts, st.integers(0, 5)), max_size=40))
def test_property_usage_never_falls_within_a_window_and_spent_means_denied(seq):
    ledger = rules.fresh(T0)
    last = (0, 0)
    for used_15, used_day, athlete in seq:
        usage = headers(used_15, used_day) if athlete else None
        ledger = observe(ledger, usage, T0, athlete or None)
        assert ledger.used_15min >= last[0]
        assert ledger.used_daily >= last[1]
        assert ledger.used_daily >= ledger.used_15min
        last = (ledger.used_15min, ledger.used_daily)
        for kind in rules.KINDS:
            verdict = decide(ledger, T0, athlete, kind)
            if ledger.used_15min >= 90 or ledger.used_daily >= 900:
                assert not verdict.allowed
            if not verdict.allowed:
                assert verdict.until is not None
                assert verdict.until > T0


@given(
    st.builds(
        Ledger,
        window_start=st.just(rules.window_of(T0)),
        used_15min=counts,
        used_daily=counts,
        limit_15min=st.integers(1, 10_000),
        limit_daily=st.integers(1, 100_000),
        by_athlete=st.dictionaries(st.integers(1, 2**40), counts, max_size=5),
        waiting=st.dictionaries(st.integers(1, 2**40), st.just(rules.window_of(T0)), max_size=5),
        updated_at=st.just(float(T0)),
    )
)
def test_property_the_stored_form_round_trips(ledger):
    loaded = rules.load(rules.dump(ledger), T0)
    if ledger.confirmed_today:
        assert loaded == ledger
    else:  # limits no header stated today are never below Strava's defaults
        assert loaded == replace(
            ledger,
            limit_15min=max(ledger.limit_15min, rules.DEFAULT_LIMIT_15MIN),
            limit_daily=max(ledger.limit_daily, rules.DEFAULT_LIMIT_DAILY),
        )
