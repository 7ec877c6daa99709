"""The scheduler's I/O half: gather each athlete's signals, ask ``schedule.pick``.

Signals come from objects a tick reads anyway or cheaply: ``state.json`` (when the last
listing finished, an unfinished one, suspected deletions, the start hours of the
activities in the window) and, with a live subscription, ``webhook.json`` (the events
of the last day). An athlete whose state cannot be read is always chosen, so its own run
reports the problem, as the fan-out has always done for an unreadable config.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from nunis_ingest.core import budget_rules as rules
from nunis_ingest.core import budget_schedule as schedule
from nunis_ingest.core.budget_rules import Headroom
from nunis_ingest.core.budget_schedule import Policy, Signals
from nunis_ingest.core.transform import parse_timestamp
from nunis_ingest.ports import ObjectStore
from nunis_ingest.settings import Settings
from nunis_ingest.usecases.athletes import AthleteRepo
from nunis_ingest.usecases.webhook import subscription
from nunis_ingest.usecases.webhook.marks import load_marks

if TYPE_CHECKING:
    from nunis_ingest.context import SyncContext
    from nunis_ingest.usecases.budget_ledger import BudgetLedger

log = logging.getLogger(__name__)

READERS = 8
STALE_HOURS = 24.0  # no successful run for this long: a WARNING line the stale alert counts
Chooser = Callable[[Sequence[int]], list[int]]


def chooser(ctx: SyncContext, mode: str, force: bool, now: Callable[[], float]) -> Chooser | None:
    """The schedule as a filter over athlete ids, for a ``new`` tick; ``None`` (everyone,
    as asked) for ``all`` or ``force``: an operator's explicit full refresh."""
    if mode != "new" or force:
        return None
    return lambda ids: choose(ctx.store, ctx.settings, ctx.budget, ids, now())


def choose(
    store: ObjectStore,
    settings: Settings,
    budget: BudgetLedger | None,
    ids: Sequence[int],
    now: float,
) -> list[int]:
    """The ids to list now, most urgent first (broken athletes last, always kept)."""
    live = subscription.live_id(store, settings.webhook_subscription_id) is not None
    repo = AthleteRepo(store)
    with ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="schedule") as pool:
        gathered = list(pool.map(lambda i: signals_of(repo, i, live=live, now=now), ids))
    known = [s for s in gathered if s is not None]
    broken = [i for i, s in zip(ids, gathered, strict=True) if s is None]
    ledger = budget.snapshot(now) if budget is not None else rules.fresh(now)
    policy = Policy(
        live_subscription=live,
        reconcile_hours=settings.reconcile_new_hours,
        headroom=Headroom(settings.read_headroom_15min, settings.read_headroom_daily),
    )
    report_stale(
        known, now, max(STALE_HOURS, 2 * settings.reconcile_new_hours) if live else STALE_HOURS
    )
    picks = schedule.pick(known, ledger, policy, now)
    log.info(
        "schedule: %d of %d athletes to list (subscription %s, %d of %d reads used today)",
        len(picks),
        len(ids),
        "live" if live else "none",
        ledger.used_daily,
        ledger.limit_daily,
    )
    return [p.athlete_id for p in picks] + broken


def report_stale(known: Sequence[Signals], now: float, hours: float) -> list[int]:
    """One WARNING line per athlete whose last successful run is older than ``hours``
    (``kind: stale_athlete``: the log metric nunis-stale-athletes and its alert count them;
    a day is the default, two reconciliation intervals with a live subscription). An
    athlete that never succeeded is left to its own failures' alert."""
    stale = []
    for signal in known:
        if signal.last_listed_at is not None and now - signal.last_listed_at > hours * 3600:
            age = (now - signal.last_listed_at) / 3600
            log.warning(
                "athlete %d: no successful run for %.0f hours (status says why)",
                signal.athlete_id,
                age,
                extra={
                    "json_fields": {
                        "athlete_id": signal.athlete_id,
                        "kind": "stale_athlete",
                        "stale_hours": round(age, 1),
                    }
                },
            )
            stale.append(signal.athlete_id)
    return stale


def signals_of(repo: AthleteRepo, athlete_id: int, *, live: bool, now: float) -> Signals | None:
    try:
        state, _ = repo.load_state(athlete_id)
    except Exception:  # its own run says what is wrong
        return None
    finished = parse_timestamp(state.last_success_at)
    hours = tuple(sorted(int(start % 86400) // 3600 for _, start in state.known.values()))
    events = 0
    if live:
        try:
            marks = load_marks(repo.store, athlete_id)
            events = sum(1 for f in marks.fetched.values() if float(f["at"]) >= now - 86400)
            events += sum(1 for t in marks.deleted.values() if t >= now - 86400)
        except Exception:  # only a hint
            events = 0
    missed = len(state.suspects) + (state.last_error_class == "TruncatedListing")
    return Signals(
        athlete_id=athlete_id,
        last_listed_at=finished.timestamp() if finished is not None else None,
        pending=state.pending is not None,
        events_24h=events,
        missed=missed,
        start_hours=hours,
    )
