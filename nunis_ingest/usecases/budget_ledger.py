"""The app-wide read ledger in the object store (``app/budget.json``), shared by every run.

One ``BudgetLedger`` per process (``runtime.py`` builds it); ``AthleteApi`` asks it before
every Strava request (``admit``) and tells it every response's headers (``record``).

Cheap reads: the stored ledger is read at most every ``CACHE_SECONDS`` per process; in
between, the process's own view (its responses' headers, which are Strava's count for the
whole app) is at least as fresh. Writes: back to the store every ``FLUSH_EVERY`` responses,
at once when a kind's ceiling is near (fewer than ``FLUSH_EVERY`` reads left) or when an
athlete was turned away, and on ``flush()``; by compare-and-swap, re-read and merged
(``rules.merge``) on a conflict, at most ``CAS_ATTEMPTS`` times.

Tolerance (what two processes racing can lose): nothing of the totals that Strava's
headers carry (they merge by maximum, and usage only grows within a window); per-athlete
counts add up exactly unless every CAS attempt is lost, and then they stay pending for the
next flush. Only reads whose responses carried no headers (a proxy's 502) can be missed,
at most ``FLUSH_EVERY`` per process per window. Write rate: at most one write per
``FLUSH_EVERY`` reads (a read per write near a ceiling), so at the default limits no more
than ~1,000 writes a day, well under Cloud Storage's one write per second per object (a
429 from it is a failing store, see next). A failing store never fails a sync: the
process goes on with the last figures it knows (its own headers), and tries again later.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from nunis_ingest.core import budget_rules as rules
from nunis_ingest.core.budget_rules import Headroom, Ledger, Shares, Verdict
from nunis_ingest.core.keys import BUDGET_KEY
from nunis_ingest.core.ratelimit import RateLimitUsage
from nunis_ingest.errors import PreconditionFailed
from nunis_ingest.ports import CREATE_ONLY, ObjectStore

log = logging.getLogger(__name__)

CACHE_SECONDS = 5.0
FLUSH_EVERY = 5
CAS_ATTEMPTS = 5


class BudgetLedger:
    def __init__(
        self,
        store: ObjectStore,
        *,
        headroom: Headroom = Headroom(),  # noqa: B008 (frozen)
        shares: Shares = Shares(),  # noqa: B008
        monotonic: Callable[[], float] = time.monotonic,
        cache_seconds: float = CACHE_SECONDS,
        flush_every: int = FLUSH_EVERY,
    ) -> None:
        self._store = store
        self.headroom = headroom
        self.shares = shares
        self._monotonic = monotonic
        self._cache_seconds = cache_seconds
        self._flush_every = flush_every
        self._lock = threading.RLock()
        self._view: Ledger | None = None
        self._generation = CREATE_ONLY
        self._read_at = float("-inf")
        self._drawn: dict[int, int] = {}  # reads per athlete not written yet
        self._extra = 0  # reads without headers not written yet
        self._unflushed = 0
        self._dirty_waiting = False
        self.writes = 0
        self.reads = 0
        self.conflicts = 0

    # --- the two calls AthleteApi makes ---------------------------------------------------

    def admit(self, athlete_id: int | None, kind: str, now: float) -> Verdict:
        """May one more read of ``kind`` be made now? Denials are remembered and flushed."""
        with self._lock:
            view = self._current(now)
            verdict = rules.decide(view, now, athlete_id, kind, self.headroom, self.shares)
            if verdict.why == "probe":  # one per window: written now, so others see it
                self._view = rules.probing(view, now)
                self._dirty_waiting = True
                self._flush(now)
            elif not verdict.allowed:
                self._view = rules.turned_away(view, athlete_id, now)
                self._dirty_waiting = True
                self._flush(now)
            return verdict

    def record(self, athlete_id: int | None, usage: RateLimitUsage | None, now: float) -> None:
        """One response came back (any status): its headers, or one more read."""
        with self._lock:
            if self._view is not None and self._view.window_start != rules.window_of(now):
                self._drawn, self._extra = {}, 0  # a new window: old deltas mean nothing
            view = self._current(now, refresh=False)
            self._view = rules.observe(view, usage, now, athlete_id)
            if athlete_id is not None:
                self._drawn[athlete_id] = self._drawn.get(athlete_id, 0) + 1
            if usage is None or rules.read_figures(usage)[0] is None:
                self._extra += 1
            self._unflushed += 1
            if self._unflushed >= self._flush_every or self._near_ceiling(now):
                self._flush(now)

    def flush(self, now: float | None = None) -> None:
        with self._lock:
            self._flush(time.time() if now is None else now)

    def snapshot(self, now: float) -> Ledger:
        """The freshest view (re-read from the store), for ``status``."""
        with self._lock:
            self._read_at = float("-inf")
            return self._current(now)

    # --- internals ----------------------------------------------------------------------

    def _near_ceiling(self, now: float) -> bool:
        view = self._view
        if view is None:
            return False
        share_15 = min(self.shares.of(k)[0] for k in rules.KINDS)
        share_day = min(self.shares.of(k)[1] for k in rules.KINDS)
        left_15 = rules.usable(view.limit_15min, self.headroom.window) * share_15 - view.used_15min
        left_day = rules.usable(view.limit_daily, self.headroom.day) * share_day - view.used_daily
        return min(left_15, left_day) < self._flush_every

    def _current(self, now: float, *, refresh: bool = True) -> Ledger:
        stale = self._monotonic() - self._read_at > self._cache_seconds
        if self._view is None or (refresh and stale):
            self._refresh(now)
        assert self._view is not None
        return rules.roll(self._view, now)

    def _refresh(self, now: float) -> None:
        try:
            stored = self._store.get(BUDGET_KEY)
        except Exception as exc:  # a failing store must not fail a sync
            log.warning("budget ledger unreadable, going on with what this run knows: %s", exc)
            self._read_at = self._monotonic()
            if self._view is None:
                self._view = rules.fresh(now)
            return
        self.reads += 1
        self._read_at = self._monotonic()
        self._generation = stored.generation if stored is not None else CREATE_ONLY
        loaded = rules.load(stored.data if stored is not None else None, now)
        if self._view is None:
            self._view = loaded
        else:  # keep what this process saw and has not written yet
            self._view = rules.merge(loaded, self._view, self._drawn, self._extra, now)

    def _flush(self, now: float) -> None:
        if self._unflushed == 0 and not self._dirty_waiting:
            return
        for _ in range(CAS_ATTEMPTS):
            try:
                stored = self._store.get(BUDGET_KEY)
                generation = stored.generation if stored is not None else CREATE_ONLY
                base = rules.load(stored.data if stored is not None else None, now)
                mine = self._view or rules.fresh(now)
                merged = rules.merge(base, mine, self._drawn, self._extra, now)
                self._generation = self._store.put(
                    BUDGET_KEY, rules.dump(merged), if_generation=generation
                )
            except PreconditionFailed:
                self.conflicts += 1
                continue  # someone wrote first: re-read, merge again
            except Exception as exc:  # a failing store must not fail a sync
                log.warning("budget ledger not saved (kept for the next write): %s", exc)
                return
            self.writes += 1
            self._view = merged
            self._read_at = self._monotonic()
            self._drawn, self._extra, self._unflushed = {}, 0, 0
            self._dirty_waiting = False
            return
        log.warning("budget ledger not saved after %d conflicts; kept for later", CAS_ATTEMPTS)
