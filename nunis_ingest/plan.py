"""Pure: what one run of one athlete will do, from the request, the state and the settings.

``make_plan`` decides the effective mode and why (a first load, a resumed full refresh, a
warehouse that disagrees with the state are all full listings), where the listing starts
(the ``new`` window, a resume point of an interrupted run), which archived pages a resumed
full refresh replays, which suspected deletions this run confirms, and whether it checks
that the warehouse still holds what the state says. No I/O, no clock: ``now`` is given.

Clocks lie: a device can date an activity years ahead, so the cursor that places the
``new`` window is never taken beyond ``now + CLOCK_SKEW_SECONDS``; otherwise one future
activity would move the window past every real one and freeze the athlete.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from nunis_ingest.state import SyncState

Mode = Literal["new", "all"]

CLOCK_SKEW_SECONDS = 86400
VERIFY_INTERVAL_SECONDS = 6 * 3600
CONFIRMATIONS_PER_RUN = 25
"""Suspected deletions checked per run (one ``GET /activities/{id}`` each)."""


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
    page: int = 1  # page-number fallback (new, or an all whose pages were not newest first)
    replay: tuple[str, ...] = ()  # archived pages of the interrupted full refresh
    confirm: tuple[int, ...] = ()  # suspected deletions to confirm this run
    verify: bool = False  # compare the warehouse's row count with state.rows first

    @property
    def full(self) -> bool:
        return self.mode == "all"


def make_plan(
    *,
    athlete_id: int,
    run_id: str,
    now: float,
    requested: Mode,
    state: SyncState,
    lookback_days: int,
    heal: bool = False,
) -> Plan:
    lookback = 86400 * lookback_days
    base: dict[str, Any] = {
        "athlete_id": athlete_id,
        "run_id": run_id,
        "started_at": now,
        "lookback": lookback,
        "archive_run_id": run_id,
        "archive_started_at": now,
        "confirm": tuple(sorted(state.suspects, reverse=True)[:CONFIRMATIONS_PER_RUN]),
        "verify": not heal and _verify_due(state, requested, now),
    }
    pending = state.pending or {}
    resumed = _resumed_full(pending)
    if heal:
        return Plan(mode="all", why="the warehouse lost rows the state knows", **base)
    if resumed is not None:
        run, started, pages, before, page = resumed
        base |= {"archive_run_id": run, "archive_started_at": started}
        return Plan(
            mode="all",
            why="resuming an interrupted full refresh",
            replay=pages,
            before=before,
            page=page,
            **base,
        )
    if requested == "all":
        return Plan(mode="all", why="requested", **base)
    if state.cursor is None:
        return Plan(mode="all", why="first load", **base)
    after, page = _new_start(state, pending, lookback, now)
    return Plan(mode="new", why="requested", after=after, page=page, **base)


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
        if _is_int(after) and _is_int(page) and page >= 1:
            return after, page  # a backlog larger than one run's budget: carry on
    return floor, 1


def _resumed_full(
    pending: dict[str, Any],
) -> tuple[str, float, tuple[str, ...], int | None, int] | None:
    if pending.get("mode") != "all":
        return None
    try:
        pages = tuple(str(key) for key in pending["pages"])
        run, started = str(pending["run_id"]), float(pending["started_at"])
        before, page = pending.get("before"), pending.get("page", 1)
    except (KeyError, TypeError, ValueError):
        return None  # unreadable checkpoint: start the full refresh over
    if (before is not None and not _is_int(before)) or not _is_int(page) or page < 1:
        return None
    return run, started, pages, before, page


def _verify_due(state: SyncState, requested: Mode, now: float) -> bool:
    if state.rows is None or state.verified_at is None or requested == "all":
        return True
    return now - state.verified_at >= VERIFY_INTERVAL_SECONDS


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
