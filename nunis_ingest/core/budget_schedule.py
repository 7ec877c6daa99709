"""Pure: which athletes to list now, so that listing fits the app's shared read budget.

Called on every tick (Cloud Scheduler's ``{"mode": "new"}`` every 15 minutes, fanned out
by ``fanout.py``; locally ``nunis-ingest sync`` with no athlete) with each athlete's
signals and the ledger. The rules, with the numbers at the default limits (1,000 reads a
day, 100 per 15 minutes, minus the headroom: 900 and 90 usable):

1. **The listing budget per day** is what events and enrichment leave.
   Events: ``READS_PER_EVENT`` (1.2: one fetch, now and then a deletion check) plus
   ``enrich_reads_per_event`` for every event of the last 24 hours, expected again in the
   next 24. With a live subscription listing then gets the rest, but never less than
   ``MIN_LISTING_SHARE`` (20 %: 180 reads a day). Without a subscription there are no
   events: listing gets all of it.
2. **Per-athlete interval** = ``86400 * athletes * reads per listing / listing budget``,
   never shorter than one tick (900 s). Without a subscription: 9 athletes or fewer are
   all listed on every tick (96 listings a day each, as before this scheduler); 100
   athletes each every ~2.7 h; 1,000 athletes each every ~27 h (a ``new`` listing is one
   read). With a live subscription polling is only reconciliation (events carry the
   freshness): also never more often than ``reconcile_hours`` (24 h), so 1,000 athletes
   sending 300 events a day leave 540 listing reads: each athlete reconciled every ~44 h.
3. **Weights move reads between athletes, not beyond the budget**: each interval is
   divided by the athlete's weight over the mean weight. With a subscription an athlete
   whose signals suggest missed updates (suspected deletions a listing found, a listing
   left unfinished) weighs 1 + ``MISSED_BOOST`` (3) and one with recent events 1.5 (a
   busy athlete edits more things that send no event: gear, description, distance).
   Without a subscription the athlete's usual recording hours count: in the four hours
   after the hours they usually start activities (from the start times the state knows)
   their interval halves, elsewhere it stretches by half.
4. **Spread over the day**: each athlete's slots are ``offset + k * interval``, with a
   stable offset from a hash of its id, so 1,000 daily reconciliations fall evenly over
   the day, not all at 00:00. An athlete is due when it has not been listed since its
   latest slot began and not within half an interval (a listing just before its slot
   does not earn a second one an hour later); one that has never been listed, or has a
   listing to resume, is due.
5. **Per tick, at most what the ledger has left** for listing now: the 15-minute window's
   usable reads minus the event reserve (twice a tick's expected events), and the day's
   minus the events expected in the rest of the day; a first load counts
   ``FIRST_LOAD_READS`` (5). Due athletes go most overdue first: resumes, then first
   loads, then by how many intervals they are late, then by id.

Whatever this module gets wrong, the ledger (``rules.py``) still bounds what is spent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from nunis_ingest.core import budget_rules as rules
from nunis_ingest.core.budget_rules import DAY_SECONDS, WINDOW_SECONDS, Headroom, Ledger, roll

TICK_SECONDS = WINDOW_SECONDS
READS_PER_LISTING = 1.0
FIRST_LOAD_READS = 5.0
READS_PER_EVENT = 1.2
MIN_LISTING_SHARE = 0.2
MISSED_BOOST = 3.0
EVENTS_BOOST = 0.5
ACTIVE_HOURS_AFTER_START = 4
ACTIVE_FACTOR = 0.5
QUIET_FACTOR = 1.5


@dataclass(frozen=True)
class Signals:
    """What the scheduler knows about one athlete (gathered by ``planner.py``)."""

    athlete_id: int
    last_listed_at: float | None  # the last listing that finished; None = never
    pending: bool = False  # a listing left unfinished (a backlog, a full refresh)
    events_24h: int = 0  # webhook events of the last 24 hours
    missed: int = 0  # signs that events missed something (suspected deletions)
    start_hours: tuple[int, ...] = ()  # UTC hours at which recent activities started


@dataclass(frozen=True)
class Policy:
    live_subscription: bool = False
    reconcile_hours: float = 24.0
    enrich_reads_per_event: float = 0.0
    headroom: Headroom = field(default_factory=Headroom)


@dataclass(frozen=True)
class Pick:
    athlete_id: int
    why: str  # resume | first load | due | probe (the ledger is not confirmed today)


def listing_budget(athletes: Sequence[Signals], ledger: Ledger, policy: Policy) -> float:
    """Reads a day listing may spend (rule 1)."""
    usable = rules.usable(ledger.limit_daily, policy.headroom.day)
    if not policy.live_subscription:
        return float(usable)
    events = sum(a.events_24h for a in athletes) * _event_cost(policy)
    return max(MIN_LISTING_SHARE * usable, usable - events)


def base_interval(athletes: Sequence[Signals], ledger: Ledger, policy: Policy) -> float:
    """Seconds between two listings of an average athlete (rule 2)."""
    budget = listing_budget(athletes, ledger, policy)
    need = DAY_SECONDS * len(athletes) * READS_PER_LISTING
    interval = need / budget if budget > 0 else float(DAY_SECONDS)
    if policy.live_subscription:
        interval = max(interval, policy.reconcile_hours * 3600)
    return max(float(TICK_SECONDS), interval)


def weight(signals: Signals, policy: Policy) -> float:
    if not policy.live_subscription:
        return 1.0
    if signals.missed or signals.pending:
        return 1.0 + MISSED_BOOST
    return 1.0 + EVENTS_BOOST if signals.events_24h else 1.0


def hour_factor(signals: Signals, now: float) -> float:
    """Rule 3 without a subscription: shorter inside the usual recording hours."""
    if not signals.start_hours:
        return 1.0
    hour = int(now % DAY_SECONDS) // 3600
    behind = {(hour - k) % 24 for k in range(ACTIVE_HOURS_AFTER_START)}
    inside = sum(1 for h in signals.start_hours if h in behind) / len(signals.start_hours)
    uniform = ACTIVE_HOURS_AFTER_START / 24
    return ACTIVE_FACTOR if inside >= 1.5 * uniform else QUIET_FACTOR


def intervals(
    athletes: Sequence[Signals], ledger: Ledger, policy: Policy, now: float
) -> dict[int, float]:
    """Each athlete's interval now (rules 2 and 3)."""
    if not athletes:
        return {}
    base = base_interval(athletes, ledger, policy)
    weights = {a.athlete_id: weight(a, policy) for a in athletes}
    mean = sum(weights.values()) / len(weights)
    out = {}
    for a in athletes:
        interval = base * mean / weights[a.athlete_id]
        if not policy.live_subscription and base > TICK_SECONDS:
            interval *= hour_factor(a, now)
        out[a.athlete_id] = max(float(TICK_SECONDS), interval)
    return out


def offset(athlete_id: int) -> float:
    """A stable fraction in [0, 1) for the athlete's phase (rule 4)."""
    digest = hashlib.blake2b(str(athlete_id).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def latest_slot(athlete_id: int, interval: float, now: float) -> float:
    phase = offset(athlete_id) * interval
    return phase + ((now - phase) // interval) * interval


def capacity(athletes: Sequence[Signals], ledger: Ledger, policy: Policy, now: float) -> float:
    """Reads listing may spend in this tick (rule 5)."""
    ledger = roll(ledger, now)
    per_day = sum(a.events_24h for a in athletes) * _event_cost(policy)
    per_tick = per_day * TICK_SECONDS / DAY_SECONDS if policy.live_subscription else 0.0
    rest_of_day = (ledger.day_resets_at - now) / DAY_SECONDS
    window: float = rules.usable(ledger.limit_15min, policy.headroom.window) - ledger.used_15min
    day: float = rules.usable(ledger.limit_daily, policy.headroom.day) - ledger.used_daily
    if policy.live_subscription:
        day -= per_day * rest_of_day
    return max(0.0, min(window - 2 * per_tick, day))


def pick(athletes: Sequence[Signals], ledger: Ledger, policy: Policy, now: float) -> list[Pick]:
    """The athletes to list now, in the order to publish them."""
    every = intervals(athletes, ledger, policy, now)
    ranked: list[tuple[tuple[int, float, int], Pick, float]] = []
    for a in athletes:
        interval = every[a.athlete_id]
        if a.pending:
            ranked.append(((0, 0.0, a.athlete_id), Pick(a.athlete_id, "resume"), READS_PER_LISTING))
            continue
        if a.last_listed_at is None:
            ranked.append(
                ((1, 0.0, a.athlete_id), Pick(a.athlete_id, "first load"), FIRST_LOAD_READS)
            )
            continue
        slot = latest_slot(a.athlete_id, interval, now)
        if interval > TICK_SECONDS and (
            a.last_listed_at >= slot or now - a.last_listed_at < interval / 2
        ):
            continue  # listed since its latest slot began, or too recently for another
        late = (now - max(a.last_listed_at, slot - interval)) / interval
        ranked.append(((2, -late, a.athlete_id), Pick(a.athlete_id, "due"), READS_PER_LISTING))
    ranked.sort(key=lambda item: item[0])
    left = capacity(athletes, ledger, policy, now)
    if left < READS_PER_LISTING and athletes and probe_due(ledger, policy, now):
        # one listing re-reads Strava's own counts and limits for everyone
        if ranked:
            return [ranked[0][1]]
        oldest = min(athletes, key=lambda a: (a.last_listed_at or 0.0, a.athlete_id))
        return [Pick(oldest.athlete_id, "probe")]
    chosen: list[Pick] = []
    for _, candidate, cost in ranked:
        if left < READS_PER_LISTING:
            break
        if cost > left and chosen:
            continue  # a first load that does not fit: cheaper listings still may
        chosen.append(candidate)
        left -= cost
    return chosen


def probe_due(ledger: Ledger, policy: Policy, now: float) -> bool:
    """The stored ledger leaves no room for a listing, yet no Strava header confirmed its
    counts today (a stale or damaged ``app/budget.json``: a day's count far too high):
    while the ledger itself admits a read (``rules.decide``: at most a probe per window),
    the schedule publishes one listing, whose headers re-learn the truth; else nobody would
    read and the file would stand until midnight UTC. A day our own reads spent (confirmed
    today) waits for its reset. Garbled limits are ``rules.load``'s: never below Strava's
    defaults unless a header said so today."""
    ledger = roll(ledger, now)
    return (
        not ledger.confirmed_today
        and rules.decide(ledger, now, None, "poll", policy.headroom).allowed
    )


def _event_cost(policy: Policy) -> float:
    return READS_PER_EVENT + policy.enrich_reads_per_event
