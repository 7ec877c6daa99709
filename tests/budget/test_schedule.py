"""The scheduler's rules, at the default limits, and a simulated day at 1,000 athletes."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nunis_ingest.core import budget_rules as rules
from nunis_ingest.core import budget_schedule as schedule
from nunis_ingest.core.budget_schedule import Policy, Signals

DAY = 86400
MIDNIGHT = 20_000 * DAY
LIVE = Policy(live_subscription=True)
POLL = Policy(live_subscription=False)


def athletes(
    n: int, listed_at: float | None = MIDNIGHT - DAY, first: int = 1000, **kw
) -> list[Signals]:
    return [Signals(athlete_id=first + i, last_listed_at=listed_at, **kw) for i in range(n)]


def test_the_docstrings_figures_at_the_default_limits():
    ledger = rules.fresh(MIDNIGHT)
    hours = lambda group, policy: schedule.base_interval(group, ledger, policy) / 3600  # noqa: E731
    assert hours(athletes(9), POLL) == 0.25  # every tick, as before the scheduler
    assert hours(athletes(100), POLL) == pytest.approx(2.67, abs=0.01)
    assert hours(athletes(1000), POLL) == pytest.approx(26.7, abs=0.1)
    busy = athletes(300, events_24h=1) + athletes(700, first=5000)
    assert schedule.listing_budget(busy, ledger, LIVE) == pytest.approx(540)
    assert hours(busy, LIVE) == pytest.approx(44.4, abs=0.1)
    assert hours(athletes(10), LIVE) == 24.0  # reconciliation: daily at most
    flood = [replace(a, events_24h=10) for a in athletes(1000)]
    assert schedule.listing_budget(flood, ledger, LIVE) == pytest.approx(180)  # the floor


def test_few_athletes_without_a_subscription_are_all_listed_on_every_tick():
    group = athletes(5, listed_at=MIDNIGHT + 30)
    picks = schedule.pick(group, rules.fresh(MIDNIGHT + 60), POLL, MIDNIGHT + 60)
    assert [p.athlete_id for p in picks] == [a.athlete_id for a in group]


def test_resumes_then_first_loads_then_the_most_overdue():
    group = [
        Signals(1, last_listed_at=MIDNIGHT - 3 * DAY),
        Signals(2, last_listed_at=None),
        Signals(3, last_listed_at=MIDNIGHT - 60, pending=True),
    ]
    picks = schedule.pick(group, rules.fresh(MIDNIGHT), LIVE, MIDNIGHT)
    assert [(p.athlete_id, p.why) for p in picks] == [(3, "resume"), (2, "first load"), (1, "due")]


def test_a_spent_window_lists_nobody():
    ledger = rules.observe(
        rules.fresh(MIDNIGHT),
        rules.RateLimitUsage(read_usage_15min=90, read_usage_daily=90),
        MIDNIGHT,
        None,
    )
    assert schedule.pick(athletes(3, listed_at=None), ledger, POLL, MIDNIGHT) == []


def test_a_stored_count_no_header_confirmed_lets_one_listing_probe_strava():
    """A ledger saying the day is spent, from an earlier window and never confirmed by a
    Strava header in this one (a stale or poisoned app/budget.json), must not freeze the
    schedule until midnight UTC: one listing goes out, and its headers re-learn the count."""
    now = MIDNIGHT + 6 * 3600
    poisoned = replace(rules.fresh(MIDNIGHT), used_daily=10**9, updated_at=MIDNIGHT)
    picks = schedule.pick(athletes(3), poisoned, POLL, now)
    assert len(picks) == 1
    window = rules.roll(poisoned, now).window_start
    confirmed = replace(rules.roll(poisoned, now), confirmed=window)  # Strava said so now
    assert schedule.pick(athletes(3), confirmed, POLL, now) == []
    probed = replace(rules.roll(poisoned, now), probed=window)  # this window's probe went
    assert schedule.pick(athletes(3), probed, POLL, now) == []
    stored = {"version": 1, "window_start": MIDNIGHT, "used_15min": 0, "used_daily": 0}
    garbled = rules.load(json.dumps(stored | {"limit_15min": 1, "limit_daily": 1}).encode(), now)
    assert len(schedule.pick(athletes(3), garbled, POLL, now)) == 3  # no header said 1/1


def test_missed_updates_make_an_athlete_sooner_without_spending_more():
    group = athletes(100)
    group[0] = replace(group[0], missed=2)
    every = schedule.intervals(group, rules.fresh(MIDNIGHT), LIVE, MIDNIGHT)
    assert every[group[0].athlete_id] < every[group[1].athlete_id] / 3
    assert sum(1 / i for i in every.values()) == pytest.approx(
        len(group) / schedule.base_interval(group, rules.fresh(MIDNIGHT), LIVE)
    )


def test_usual_recording_hours_shorten_the_interval_then():
    evening = Signals(1, last_listed_at=MIDNIGHT, start_hours=(18, 18, 19, 18))
    assert schedule.hour_factor(evening, MIDNIGHT + 20 * 3600) == schedule.ACTIVE_FACTOR
    assert schedule.hour_factor(evening, MIDNIGHT + 8 * 3600) == schedule.QUIET_FACTOR
    assert schedule.hour_factor(replace(evening, start_hours=()), MIDNIGHT) == 1.0


def test_offsets_are_stable_and_spread():
    assert schedule.offset(42) == schedule.offset(42)
    buckets = Counter(int(schedule.offset(i) * 24) for i in range(1, 2401))
    assert min(buckets.values()) > 50  # of 100 expected per hour: no pile-up at 00:00


def _spend(ledger: rules.Ledger, reads: int, now: float, athlete_id: int | None) -> rules.Ledger:
    usage = rules.RateLimitUsage(
        read_usage_15min=ledger.used_15min + reads, read_usage_daily=ledger.used_daily + reads
    )
    return rules.observe(ledger, usage, now, athlete_id)


def _simulate(
    group: list[Signals], policy: Policy, days: int, event_reads: int = 0
) -> tuple[Counter[int], list[int]]:
    """Run the scheduler every 15 minutes; each listing costs one read (Strava's count),
    the events ``event_reads`` a day, spread over the ticks."""
    listed: Counter[int] = Counter()
    per_day = [0] * days
    now = float(MIDNIGHT)
    ledger = rules.fresh(now)
    by_id = {a.athlete_id: a for a in group}
    for tick in range(days * 96):
        now = MIDNIGHT + tick * 900 + 30
        ledger = rules.roll(ledger, now)
        events = event_reads * (tick % 96 + 1) // 96 - event_reads * (tick % 96) // 96
        if events:
            ledger = _spend(ledger, events, now - 20, None)
        for chosen in schedule.pick(list(by_id.values()), ledger, policy, now):
            cost = 1
            ledger = _spend(ledger, cost, now, chosen.athlete_id)
            by_id[chosen.athlete_id] = replace(by_id[chosen.athlete_id], last_listed_at=now)
            listed[chosen.athlete_id] += 1
            per_day[tick // 96] += cost
    return listed, per_day


def test_a_simulated_day_at_1000_athletes_stays_in_budget_and_reaches_everyone():
    group = athletes(1000, listed_at=MIDNIGHT - DAY)
    listed, per_day = _simulate(group, POLL, days=2)
    assert max(per_day) <= 900, per_day  # 1,000 a day minus the headroom
    assert len(listed) == 1000, "every athlete listed within two days"
    assert max(listed.values()) <= 3


def test_a_simulated_day_with_a_subscription_leaves_reads_for_events():
    group = athletes(300, events_24h=1) + athletes(700, listed_at=MIDNIGHT, first=5000)
    listed, per_day = _simulate(group, LIVE, days=1, event_reads=360)  # 300 events x 1.2
    assert max(per_day) <= 540, per_day  # the listing reads: 900 less the events'
    assert sum(listed.values()) > 300


signals = st.builds(
    Signals,
    athlete_id=st.integers(1, 10**6),
    last_listed_at=st.one_of(st.none(), st.floats(MIDNIGHT - 5 * DAY, MIDNIGHT + DAY)),
    pending=st.booleans(),
    events_24h=st.integers(0, 20),
    missed=st.integers(0, 3),
    start_hours=st.lists(st.integers(0, 23), max_size=8).map(tuple),
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(signals, max_size=60, unique_by=lambda s: s.athlete_id),
    st.integers(0, 120),
    st.integers(0, 1100),
    st.booleans(),
    st.floats(0, DAY - 1),
)
def test_property_picks_fit_the_tick_and_are_unique(group, used_15, used_day, live, offset):
    now = MIDNIGHT + offset
    ledger = rules.Ledger(
        window_start=rules.window_of(now), used_15min=used_15, used_daily=max(used_15, used_day)
    )
    policy = Policy(live_subscription=live)
    picks = schedule.pick(group, ledger, policy, now)
    ids = [p.athlete_id for p in picks]
    assert len(ids) == len(set(ids))
    assert set(ids) <= {a.athlete_id for a in group}
    capacity = schedule.capacity(group, ledger, policy, now)
    cost = {a.athlete_id: 5.0 if a.last_listed_at is None and not a.pending else 1.0 for a in group}
    spent = sum(cost[i] for i in ids)
    assert spent <= capacity or len(ids) == 1  # one first load may start what it cannot end
    if capacity < 1:  # nobody, but one probe when no header confirmed today's count
        assert ids == [] or (len(ids) == 1 and schedule.probe_due(ledger, policy, now))
    every = schedule.intervals(group, ledger, policy, now)
    assert all(i >= schedule.TICK_SECONDS for i in every.values())
