"""Pure: the app-wide read ledger, and who may spend the next Strava read.

Strava counts reads per *application* in 15-minute windows (reset at :00, :15, :30, :45
UTC) and per UTC day. The ledger is every run's shared view of that count: the figures of
the ``X-ReadRateLimit-Usage`` header (Strava's own count, all athletes together), kept
with the limits of ``X-ReadRateLimit-Limit`` (default 100 / 15 min and 1,000 / day), the
reads each athlete drew in the current window, and the athletes that were turned away
recently (``waiting``).

Rules (all figures at the default limits and headroom, NUNIS_READ_HEADROOM_15MIN=10,
NUNIS_READ_HEADROOM_DAILY=100, so 90 usable reads per window and 900 per day):

- **Usage only grows within a window.** A header replaces the count only when it is
  higher; a response without headers adds one. A ledger from an earlier window (or a
  later one: a clock that jumped back) is reset, never trusted, so a stale or garbled
  ledger cannot block anyone for longer than its window.
- **Kinds spend up to a ceiling**, a share of the usable reads: ``webhook`` and ``poll``
  100 % (90 a window, 900 a day), ``enrich`` 80 % (72 / 720), ``reconcile`` 70 % of a
  window and 60 % of the day (63 / 540). What a lower kind may not take stays for the
  webhook events, which carry the freshness.
- **Fair across athletes.** Within a window no athlete draws more than its share of its
  kind's ceiling: ``ceil(ceiling / wanting)``, at least ``MIN_PER_ATHLETE``, where
  ``wanting`` counts the athletes that drew in this window or were turned away in this
  or the previous one. An athlete alone takes the whole window (a first load drains
  fast); a second athlete that asks halves it for both. Webhook events are not capped per
  athlete: they are one read each and are the freshness.
- **Denied means deferred:** to the next window, or to the next midnight UTC when the day
  is spent. An idle poll that is denied makes no request at all.
- **The stored ledger is untrusted** (``docs/reliability.md``): counts and limits are
  clamped to what Strava can report (``MAX_LIMIT``), the headroom never takes more than
  half a limit (a limit Strava once reported below the headroom still leaves reads), and
  a daily count carried over from an earlier window blocks only until that window ends:
  when it says the whole day is spent, one read (a *probe*) is admitted in a later
  window, and the count its response's header gives replaces the carried one (lower or
  higher; the first header of every window does) and is trusted for the rest of that
  window. A garbled or stale ledger therefore blocks no one for longer than one
  window, and a limit is re-learnt from the next response. A day Strava itself reports
  spent costs at most one read per window.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from nunis_ingest.core.ratelimit import RateLimitUsage

WINDOW_SECONDS = 900
DAY_SECONDS = 86400
DEFAULT_LIMIT_15MIN = 100
DEFAULT_LIMIT_DAILY = 1000
MIN_PER_ATHLETE = 2
LEDGER_VERSION = 1
MAX_LIMIT = 1_000_000
"""No app's read limit is higher: a larger stored figure is garbage."""
MAX_ATHLETES = 100_000

Kind = Literal["poll", "webhook", "enrich", "reconcile"]
KINDS: tuple[Kind, ...] = ("poll", "webhook", "enrich", "reconcile")
Why = Literal["window", "day", "share", "probe"]


@dataclass(frozen=True)
class Shares:
    """Ceilings per kind, as shares of the usable reads: (15-min window, day)."""

    ceilings: Mapping[str, tuple[float, float]] = field(
        default_factory=lambda: {
            "webhook": (1.0, 1.0),
            "poll": (1.0, 1.0),
            "enrich": (0.8, 0.8),
            "reconcile": (0.7, 0.6),
        }
    )

    def of(self, kind: str) -> tuple[float, float]:
        return self.ceilings.get(kind, (1.0, 1.0))


@dataclass(frozen=True)
class Headroom:
    """Reads left unused in each window (other clients of the app, clock skew)."""

    window: int = 10
    day: int = 100


@dataclass(frozen=True)
class Ledger:
    window_start: int
    used_15min: int = 0
    used_daily: int = 0
    limit_15min: int = DEFAULT_LIMIT_15MIN
    limit_daily: int = DEFAULT_LIMIT_DAILY
    by_athlete: Mapping[int, int] = field(default_factory=dict)
    waiting: Mapping[int, int] = field(default_factory=dict)  # athlete -> window denied in
    updated_at: float = 0.0
    confirmed: int = -1  # the window whose Strava header last set ``used_daily``
    probed: int = -1  # the window in which a probe read was admitted

    @property
    def day_start(self) -> int:
        return day_of(self.window_start)

    @property
    def resets_at(self) -> int:
        return self.window_start + WINDOW_SECONDS

    @property
    def day_resets_at(self) -> int:
        return self.day_start + DAY_SECONDS

    @property
    def confirmed_today(self) -> bool:
        """A Strava header set the daily count and the limits on this UTC day."""
        return self.confirmed >= 0 and day_of(self.confirmed) == self.day_start


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    until: float | None = None  # epoch seconds the request is deferred to
    why: Why | None = None
    detail: str = ""


def usable(limit: int, headroom: int) -> int:
    """Reads of ``limit`` the app may use: the headroom takes at most half of it."""
    return max(0, limit - min(max(0, headroom), limit // 2))


def window_of(now: float) -> int:
    return int(now // WINDOW_SECONDS) * WINDOW_SECONDS


def day_of(now: float) -> int:
    return int(now // DAY_SECONDS) * DAY_SECONDS


def fresh(now: float) -> Ledger:
    return Ledger(window_start=window_of(now), updated_at=now)


def roll(ledger: Ledger, now: float) -> Ledger:
    """The ledger as of ``now``: an earlier (or later) window's counts are reset."""
    window = window_of(now)
    if ledger.window_start == window:
        return ledger
    same_day = ledger.day_start == day_of(now) and ledger.window_start < window
    recent = {a: w for a, w in ledger.waiting.items() if window - WINDOW_SECONDS <= w <= window}
    return replace(
        ledger,
        window_start=window,
        used_15min=0,
        used_daily=ledger.used_daily if same_day else 0,
        by_athlete={},
        waiting=recent,
    )


def read_figures(usage: RateLimitUsage) -> tuple[int | None, int | None, int | None, int | None]:
    """(used 15 min, used day, limit 15 min, limit day): the read headers, else overall."""
    if usage.read_usage_15min is not None or usage.read_usage_daily is not None:
        return (
            usage.read_usage_15min,
            usage.read_usage_daily,
            usage.read_limit_15min,
            usage.read_limit_daily,
        )
    return usage.usage_15min, usage.usage_daily, usage.limit_15min, usage.limit_daily


def observe(
    ledger: Ledger, usage: RateLimitUsage | None, now: float, athlete_id: int | None
) -> Ledger:
    """One response seen: its headers (or, without them, one more read) and its athlete."""
    ledger = roll(ledger, now)
    used_15, used_day = ledger.used_15min + 1, ledger.used_daily + 1
    limit_15, limit_day = ledger.limit_15min, ledger.limit_daily
    confirmed = ledger.confirmed
    if usage is not None:
        h15, hday, l15, lday = read_figures(usage)
        used_15 = max(ledger.used_15min, h15) if h15 is not None else used_15
        if hday is not None:  # Strava's own count: it replaces one carried from before
            carried = ledger.confirmed != ledger.window_start
            used_day = hday if carried else max(ledger.used_daily, hday)
            confirmed = ledger.window_start
        limit_15 = _limit(l15, limit_15)
        limit_day = _limit(lday, limit_day)
    by_athlete = dict(ledger.by_athlete)
    if athlete_id is not None:
        by_athlete[athlete_id] = by_athlete.get(athlete_id, 0) + 1
    return replace(
        ledger,
        used_15min=used_15,
        used_daily=max(used_day, used_15),
        limit_15min=limit_15,
        limit_daily=limit_day,
        by_athlete=by_athlete,
        updated_at=now,
        confirmed=confirmed,
    )


def _limit(header: int | None, known: int) -> int:
    return min(header, MAX_LIMIT) if header is not None and header > 0 else known


def merge(stored: Ledger, mine: Ledger, drawn: Mapping[int, int], extra: int, now: float) -> Ledger:
    """What to write back: the stored ledger plus what this process saw since it read it.

    ``mine`` is this process's view, ``drawn`` the reads per athlete not written yet and
    ``extra`` the reads not written yet whose responses carried no headers. Totals merge
    by maximum (each header is Strava's own count, so the larger one is the newer), plus
    ``extra``; per-athlete counts add up.
    """
    current = mine.window_start == window_of(now)  # draws of an earlier window are void
    base, mine = roll(stored, now), roll(mine, now)
    by_athlete = dict(base.by_athlete)
    if current:
        for athlete_id, count in drawn.items():
            by_athlete[athlete_id] = by_athlete.get(athlete_id, 0) + count
    waiting = dict(base.waiting)
    for athlete_id, window in mine.waiting.items():
        waiting[athlete_id] = max(window, waiting.get(athlete_id, window))
    extra = extra if current else 0
    used_15 = max(base.used_15min + extra, mine.used_15min)
    window = base.window_start
    mine_sure, base_sure = mine.confirmed == window, base.confirmed == window
    if mine_sure and not base_sure:  # a carried count never outvotes Strava's header
        used_day = max(mine.used_daily, used_15)
    elif base_sure and not mine_sure:
        used_day = max(base.used_daily + extra, used_15)
    else:
        used_day = max(base.used_daily + extra, mine.used_daily, used_15)
    return replace(
        base,
        used_15min=used_15,
        used_daily=used_day,
        limit_15min=mine.limit_15min or base.limit_15min,
        limit_daily=mine.limit_daily or base.limit_daily,
        by_athlete=by_athlete,
        waiting=waiting,
        updated_at=now,
        confirmed=max(mine.confirmed, base.confirmed),
        probed=max(mine.probed, base.probed),
    )


def decide(
    ledger: Ledger,
    now: float,
    athlete_id: int | None,
    kind: str,
    headroom: Headroom = Headroom(),
    shares: Shares = Shares(),
) -> Verdict:
    """May ``athlete_id`` make one more read of ``kind`` now? If not, until when not."""
    ledger = roll(ledger, now)
    share_15, share_day = shares.of(kind)
    day_ceiling = usable(ledger.limit_daily, headroom.day) * share_day
    if ledger.used_daily >= day_ceiling:
        window = ledger.window_start
        spent = ledger.used_daily >= usable(ledger.limit_daily, headroom.day)  # for everyone
        unsure = spent or not ledger.confirmed_today  # a kind's share, by a count not re-read
        if unsure and ledger.confirmed != window and ledger.probed != window:
            return Verdict(True, None, "probe", "the daily count is from an earlier window")
        sure = ledger.confirmed == window  # Strava's own header said so in this window
        return Verdict(  # unconfirmed: until the window ends, whose probe re-reads it
            False,
            float(ledger.day_resets_at if sure else ledger.resets_at),
            "day",
            f"{ledger.used_daily} of {ledger.limit_daily} reads used today; {kind} may use "
            f"{day_ceiling:.0f}",
        )
    ceiling = usable(ledger.limit_15min, headroom.window) * share_15
    if ledger.used_15min >= ceiling:
        return Verdict(
            False,
            float(ledger.resets_at),
            "window",
            f"{ledger.used_15min} of {ledger.limit_15min} reads used this window; {kind} may "
            f"use {ceiling:.0f}",
        )
    if kind == "webhook" or athlete_id is None:
        return Verdict(True)
    cap = athlete_cap(ledger, athlete_id, ceiling)
    drawn = ledger.by_athlete.get(athlete_id, 0)
    if drawn >= cap:
        return Verdict(
            False,
            float(ledger.resets_at),
            "share",
            f"athlete {athlete_id} drew {drawn} reads this window, its fair share of "
            f"{wanting(ledger, athlete_id)} athletes wanting work",
        )
    return Verdict(True)


def wanting(ledger: Ledger, athlete_id: int) -> int:
    """Athletes wanting reads now: drawn this window, turned away lately, and this one."""
    return len(set(ledger.by_athlete) | set(ledger.waiting) | {athlete_id})


def athlete_cap(ledger: Ledger, athlete_id: int, ceiling: float) -> int:
    return max(MIN_PER_ATHLETE, math.ceil(ceiling / wanting(ledger, athlete_id)))


def probing(ledger: Ledger, now: float) -> Ledger:
    """Remember that this window's probe read was admitted (one per window)."""
    ledger = roll(ledger, now)
    return replace(ledger, probed=ledger.window_start)


def turned_away(ledger: Ledger, athlete_id: int | None, now: float) -> Ledger:
    """Remember that ``athlete_id`` wanted reads (it counts for the fair share)."""
    ledger = roll(ledger, now)
    if athlete_id is None:
        return ledger
    return replace(ledger, waiting={**ledger.waiting, athlete_id: ledger.window_start})


# --- serialisation -------------------------------------------------------------------


def dump(ledger: Ledger) -> bytes:
    doc = {
        "version": LEDGER_VERSION,
        "window_start": ledger.window_start,
        "used_15min": ledger.used_15min,
        "used_daily": ledger.used_daily,
        "limit_15min": ledger.limit_15min,
        "limit_daily": ledger.limit_daily,
        "by_athlete": {str(k): v for k, v in sorted(ledger.by_athlete.items())},
        "waiting": {str(k): v for k, v in sorted(ledger.waiting.items())},
        "updated_at": ledger.updated_at,
        "confirmed": ledger.confirmed,
        "probed": ledger.probed,
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def load(data: bytes | None, now: float) -> Ledger:
    """Parse a stored ledger; anything unreadable is a fresh one (it only makes us wait)."""
    if data is None:
        return fresh(now)
    try:
        doc = json.loads(data)
        if not isinstance(doc, dict) or doc.get("version") != LEDGER_VERSION:
            return fresh(now)
        ledger = Ledger(
            window_start=_nat(doc["window_start"]),
            used_15min=min(_nat(doc["used_15min"]), MAX_LIMIT),
            used_daily=min(_nat(doc["used_daily"]), MAX_LIMIT),
            limit_15min=min(_nat(doc["limit_15min"]), MAX_LIMIT) or DEFAULT_LIMIT_15MIN,
            limit_daily=min(_nat(doc["limit_daily"]), MAX_LIMIT) or DEFAULT_LIMIT_DAILY,
            by_athlete=_counts(doc.get("by_athlete", {})),
            waiting=_counts(doc.get("waiting", {}), cap=None),  # window stamps, not counts
            updated_at=float(doc.get("updated_at", 0.0)),
            confirmed=_stamp(doc.get("confirmed", -1), now),
            probed=_stamp(doc.get("probed", -1), now),
        )
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError, OverflowError):
        return fresh(now)
    ledger = roll(ledger, now)
    if not ledger.confirmed_today:
        # limits no Strava header stated today: never below the defaults Strava gives every
        # app (it raises them on request, never lowers them); the next header re-learns them
        ledger = replace(
            ledger,
            limit_15min=max(ledger.limit_15min, DEFAULT_LIMIT_15MIN),
            limit_daily=max(ledger.limit_daily, DEFAULT_LIMIT_DAILY),
        )
    return ledger


def _nat(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("not a count")
    return value


def _stamp(value: Any, now: float) -> int:
    """A window stamp (``confirmed``, ``probed``): -1 when absent, garbled or later than
    the current window (a stamp from the future would hold back every later probe)."""
    if isinstance(value, bool) or not isinstance(value, int) or value > window_of(now):
        return -1
    return value


def _counts(raw: Any, cap: int | None = MAX_LIMIT) -> dict[int, int]:
    entries = dict(raw)
    if len(entries) > MAX_ATHLETES:  # more athletes than any app serves: garbage
        raise ValueError("too many athletes")
    return {int(k): _nat(v) if cap is None else min(_nat(v), cap) for k, v in entries.items()}
