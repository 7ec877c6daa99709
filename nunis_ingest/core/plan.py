"""Pure: what one run of one athlete will do, from the request, the state and the settings.

``make_plan`` decides the effective mode and why (a first load, a resumed full refresh, a
warehouse that disagrees with the state are all full listings), where the listing starts
(the ``new`` window, a resume point of an interrupted run), which archived pages a resumed
full refresh replays, which suspected deletions this run confirms, and whether it checks
that the warehouse still holds what the state says. No I/O, no clock: ``now`` is given.

Clocks lie: a device can date an activity years ahead, so the cursor that places the
``new`` window is never taken beyond ``now + CLOCK_SKEW_SECONDS``; otherwise one future
activity would move the window past every real one and freeze the athlete. The window
includes its first second (Strava's ``after`` is strict), so ``lookback_days = 0`` still
lists an activity that starts on the cursor's second.

``state.pending`` (a checkpoint) is read back from storage, so it is untrusted: a resume
point whose run id, archive keys or bounds are not what a run writes is dropped with a
``warning`` and the full refresh starts over (never a failure that repeats every run).

Verification (``verify_due``): the warehouse's row count is compared with ``state.rows``
every ``VERIFY_INTERVAL_SECONDS``, and at once when the warehouse's free signal
(``ports.Presence``: the DuckDB file gone, replaced or smaller than when last counted,
the BigQuery table re-created or holding fewer rows than this athlete alone should) says
it changed. The caller counts when it is due and gives ``make_plan`` the count: fewer
rows than the state expects make the run a full refresh that heals them.

``plan_drain`` plans the enrichment drain that follows a run: the due entries, newest
first, and the share of the read budget it may spend.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal

from nunis_ingest.core import enrichment as eq
from nunis_ingest.core.keys import archive_page_key
from nunis_ingest.core.state import SyncState
from nunis_ingest.ports import Presence

Mode = Literal["new", "all"]

CLOCK_SKEW_SECONDS = 86400
VERIFY_INTERVAL_SECONDS = 6 * 3600
CONFIRMATIONS_PER_RUN = 25
"""Suspected deletions checked per run (one ``GET /activities/{id}`` each)."""
RUN_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{8}$")
"""What ``sync.new_run_id`` makes: the only run ids a checkpoint may name."""
MAX_CHECKPOINT_PAGES = 100_000
MAX_CHECKPOINT_AGE_SECONDS = 2 * 86400
"""An interrupted full refresh older than this starts over: its archived pages would roll
back what later runs loaded."""
PAGE_NAME = re.compile(r"/page-(\d{5,7})\.json$")


@dataclass(frozen=True)
class Plan:
    athlete_id: int
    run_id: str
    started_at: float
    mode: Mode
    why: str
    lookback: int
    archive_run_id: str
    archive_started_at: float
    after: int | None = None  # new: list activities that started after this
    before: int | None = None  # all: keyset continue point (None = from the newest)
    page: int = 1  # new: page numbers; all: the page under ``before`` (ties, fallback)
    keyset: bool = True  # all: False once the pages proved not newest first
    replay: tuple[str, ...] = ()  # archived pages of the interrupted full refresh
    replay_digests: tuple[str, ...] = ()  # their ``page_digest``s, one per page
    confirm: tuple[int, ...] = ()  # suspected deletions to confirm this run
    counted: int | None = None  # the warehouse's row count, read because it was due
    warning: str = ""  # something read back was dropped (a damaged checkpoint)
    kinds: str = ""  # enrichment kinds the athlete asks for ("d", "s")
    scan: bool = False  # read what has no detail/stream rows yet (the history backfill)
    driven: bool = False  # `sync --details`: enrichment may use the whole read budget
    force: bool = False  # deletions bypass the mass-delete guard
    api_kind: str = "poll"  # what the shared read ledger counts this run's reads as

    @property
    def full(self) -> bool:
        return self.mode == "all"


@dataclass(frozen=True)
class DrainPlan:
    """One enrichment drain: the due entries, newest first, within ``share`` of the read
    limits; its reads count in the shared ledger as ``kind``."""

    athlete_id: int
    run_id: str
    items: tuple[eq.Item, ...]
    share: float
    kind: str
    failures: eq.Failures


def make_plan(
    *,
    athlete_id: int,
    run_id: str,
    now: float,
    requested: Mode,
    state: SyncState,
    lookback_days: int,
    counted: int | None = None,
    kinds: str = "",
    driven: bool = False,
    force: bool = False,
    api_kind: str = "poll",
) -> Plan:
    """``counted``: the warehouse's row count when ``verify_due`` said to read it."""
    lookback = 86400 * lookback_days
    heal = counted is not None and state.rows is not None and counted < state.rows
    full = heal or requested == "all" or state.cursor is None
    base: dict[str, Any] = {
        "athlete_id": athlete_id,
        "run_id": run_id,
        "started_at": now,
        "lookback": lookback,
        "archive_run_id": run_id,
        "archive_started_at": now,
        "confirm": tuple(sorted(state.suspects, reverse=True)[:CONFIRMATIONS_PER_RUN]),
        "counted": counted,
        "kinds": kinds,
        "scan": bool(kinds) and (full or driven or kinds != state.enrich_kinds),
        "driven": driven,
        "force": force,
        "api_kind": api_kind,
    }
    pending = state.pending or {}
    resumed = _resumed_full(pending, athlete_id, now)
    if heal:
        return Plan(mode="all", why="the warehouse lost rows the state knows", **base)
    if isinstance(resumed, str):
        key = f"athletes/{athlete_id}/state.json"
        base["warning"] = (
            f"athlete {athlete_id}: the full-refresh checkpoint in {key} is unusable "
            f"({resumed}); dropped, the full refresh starts over"
        )
        return Plan(mode="all", why="restarting a full refresh (checkpoint dropped)", **base)
    if resumed is not None:
        run, started, pages, digests, before, page, keyset = resumed
        base |= {"archive_run_id": run, "archive_started_at": started}
        return Plan(
            mode="all",
            why="resuming an interrupted full refresh",
            replay=pages,
            replay_digests=digests,
            before=before,
            page=page,
            keyset=keyset,
            **base,
        )
    if requested == "all":
        return Plan(mode="all", why="requested", **base)
    if state.cursor is None:
        return Plan(mode="all", why="first load", **base)
    after, page = _new_start(state, pending, lookback, now)
    return Plan(mode="new", why="requested", after=after, page=page, **base)


def plan_drain(plan: Plan, state: SyncState, *, share: float, now: float) -> DrainPlan | None:
    """The drain after ``plan``'s run, from the settled state; None when nothing is due.
    A driven run (``sync --details``) may spend the whole read budget less the usual
    headroom, and the shared ledger counts its reads as the poll a person asked for."""
    items = tuple(eq.due(state.enrich, state.enrich_failed, int(now)))
    if not items:
        return None
    return DrainPlan(
        athlete_id=plan.athlete_id,
        run_id=plan.run_id,
        items=items,
        share=1.0 if plan.driven else share,
        kind="poll" if plan.driven else "enrich",
        failures=dict(state.enrich_failed),
    )


def window_floor(state: SyncState, lookback: int, now: float) -> int | None:
    """Start of the ``new`` window: ``cursor - lookback``, the cursor capped at
    ``now + CLOCK_SKEW_SECONDS`` (a future-dated activity must not freeze the window)."""
    if state.cursor is None:
        return None
    cursor = min(state.cursor, int(now) + CLOCK_SKEW_SECONDS)
    return max(0, cursor - lookback)


def _new_start(
    state: SyncState, pending: dict[str, Any], lookback: int, now: float
) -> tuple[int | None, int]:
    floor = window_floor(state, lookback, now)
    if pending.get("mode") == "new":
        after, page = pending.get("after"), pending.get("page", 1)
        horizon = int(now) + CLOCK_SKEW_SECONDS
        if (
            isinstance(after, int)
            and isinstance(page, int)
            and _is_int(after)
            and _is_int(page)
            and 0 <= after <= horizon
            and 1 <= page <= 10**6
        ):
            return after, page  # a backlog larger than one run's budget: carry on
    # ``after`` is strict: start one second early so the window's first second is listed
    return (None if floor is None else max(0, floor - 1)), 1


Resumed = tuple[str, float, tuple[str, ...], tuple[str, ...], int | None, int, bool]
DIGEST = re.compile(r"^[0-9a-f]{64}$")


def _resumed_full(pending: dict[str, Any], athlete_id: int, now: float) -> Resumed | str | None:
    """The checkpoint of an interrupted full refresh; a string says why it is unusable."""
    if pending.get("mode") != "all":
        return None
    run, started, pages = pending.get("run_id"), pending.get("started_at"), pending.get("pages")
    before, page = pending.get("before"), pending.get("page", 1)
    keyset = pending.get("keyset", page == 1)
    if not isinstance(run, str) or not RUN_ID.match(run):
        return "its run id is not one this program makes"
    if isinstance(started, bool) or not isinstance(started, int | float):
        return "its start time is not a number"
    if not math.isfinite(started) or not 0 < started <= now + CLOCK_SKEW_SECONDS:
        return "its start time is not plausible"
    if started < now - MAX_CHECKPOINT_AGE_SECONDS:  # its pages are older than Strava's truth
        return "it is older than two days"
    if not isinstance(pages, list) or len(pages) > MAX_CHECKPOINT_PAGES:
        return "its page list is not a list"
    numbers = [n for key in pages if (n := _page_number(key, athlete_id, run, started))]
    first = numbers[0] if numbers else 1  # after a fall-back to Strava's top: a later first
    if numbers != list(range(first, first + len(pages))):  # none left out between
        return "its pages are not consecutive archive keys of that run"
    if before is not None and (not _is_int(before) or before < 0):
        return "its 'before' bound is not an epoch second"
    if not _is_int(page) or not 1 <= page <= 10**6 or not isinstance(keyset, bool):
        return "its page number is not a positive integer"
    digests = pending.get("digests")  # one SHA-256 per page: the bytes the run archived
    if (
        not isinstance(digests, list)
        or len(digests) != len(pages)
        or not all(isinstance(d, str) and DIGEST.match(d) for d in digests)
    ):
        return "its page digests do not match its pages"
    return run, float(started), tuple(pages), tuple(digests), before, page, keyset


def _page_number(key: object, athlete_id: int, run: str, started: float) -> int | None:
    """n when ``key`` is exactly ``archive_page_key(athlete_id, run, started, n)``."""
    if not isinstance(key, str):
        return None
    match = PAGE_NAME.search(key)
    if match is None:
        return None
    number = int(match.group(1))
    return number if archive_page_key(athlete_id, run, started, number) == key else None


def verify_due(
    state: SyncState, requested: str, now: float, presence: Presence | None = None
) -> bool:
    """Whether this run compares the warehouse's row count with ``state.rows``."""
    if state.rows is None or state.verified_at is None or requested == "all":
        return True
    if presence is not None:
        if presence.missing:
            return True
        if presence.identity is not None and presence.identity != state.warehouse_id:
            return True
        if presence.total_rows is not None and presence.total_rows < state.rows:
            return True
        if presence.size is not None and presence.size < (state.warehouse_size or 0):
            return True  # a file created anew (maybe with the same inode number) is smaller
    return not 0 <= now - state.verified_at < VERIFY_INTERVAL_SECONDS


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
