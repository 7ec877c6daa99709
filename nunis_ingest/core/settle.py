"""Pure: from what a run fetched and committed to its next state, outcome and stop.

``Fetched`` accumulates what the fetch loop saw (no I/O: plain values); ``settle`` turns
plan + fetched + commit result + deletion checks into the next ``SyncState`` and the
run's outcome. The run record (``ingest_runs``) and ``state.json`` are both built from the
``Settlement`` it returns, so they always agree; the webhook path settles its writes with
``settle_event`` so the state reflects every write, whoever made it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from nunis_ingest.core.enrichment import Item, Queue, Staged, enqueue, prune_failures
from nunis_ingest.core.plan import CLOCK_SKEW_SECONDS, Plan
from nunis_ingest.core.state import SyncState
from nunis_ingest.core.stops import Stop
from nunis_ingest.core.transform_detail import summary_fingerprint
from nunis_ingest.ports import Presence, WriteResult
from nunis_ingest.usecases.bulk_export.ids import is_file_activity
from nunis_ingest.usecases.confirm import Confirmation

WINDOW_SLACK = 400
"""Entries kept before pruning the in-run window (memory stays flat in a full listing)."""


@dataclass
class Fetched:
    """What the listing showed this run."""

    lookback: int
    pages: int = 0
    seen: int = 0
    filtered: int = 0  # unchanged since loaded: no warehouse work
    max_start: int | None = None
    window: dict[int, tuple[str, int]] = field(default_factory=dict)
    seen_ids: set[int] = field(default_factory=set)
    archived: list[str] = field(default_factory=list)
    staged: list[Staged] = field(default_factory=list)
    """Activities written this run: what their enrichment is decided from."""

    def stage(self, activity_id: int, start: int | None, summary: Mapping[str, Any]) -> None:
        fingerprint = summary_fingerprint(summary)
        manual = summary.get("manual") is True
        self.staged.append(Staged(activity_id, start, fingerprint, manual))

    def see(self, activity_id: int, digest: str, start: int | None) -> None:
        self.seen_ids.add(activity_id)
        if start is None:
            return
        self.max_start = start if self.max_start is None else max(self.max_start, start)
        self.window[activity_id] = (digest, start)
        if len(self.window) > WINDOW_SLACK:
            horizon = self.max_start - self.lookback
            self.window = {k: v for k, v in self.window.items() if v[1] >= horizon}


@dataclass(frozen=True)
class Settlement:
    state: SyncState
    outcome: str  # success | partial
    stop: Stop | None
    reason: str


def settle(
    plan: Plan,
    state: SyncState,
    fetched: Fetched,
    *,
    complete: bool,
    stop: Stop | None,
    resume: dict[str, Any] | None,
    result: WriteResult,
    confirmation: Confirmation,
    counted: int | None,
    usage: dict[str, int] | None,
    now: float,
    detail: str = "",
    failure: str | None = None,
    enrich: tuple[Queue, str] | None = None,
    identity: Presence | None = None,
) -> Settlement:
    """The next state. ``counted``: the warehouse's row count read this run (or None);
    ``identity``: the warehouse's ``Presence`` after this run's commit (recorded with a
    count). ``enrich``: the enrichment queue and kinds after this run (None:
    unchanged). A complete full listing says ``success`` only when every row the
    warehouse held was listed or confirmed deleted (else ``Stop.UNVERIFIED_LISTING``)."""
    known = dict(state.known)
    cursor = state.cursor
    cap = int(now) + CLOCK_SKEW_SECONDS
    if complete and plan.full:
        known = {}
    if complete or not plan.full:  # an unfinished full refresh committed nothing
        known.update(fetched.window)
    if complete and fetched.max_start is not None:
        newest = min(fetched.max_start, cap)  # a future-dated activity must not freeze `new`
        cursor = newest if cursor is None or plan.full else max(min(cursor, cap), newest)
    if cursor is not None:
        floor = min(cursor, cap) - plan.lookback
        known = {k: v for k, v in known.items() if v[1] >= floor}
    suspects = _suspects(plan, state, fetched, confirmation, complete)
    queue, kinds = enrich if enrich is not None else (state.enrich, state.enrich_kinds)
    queue = {k: v for k, v in queue.items() if k not in set(confirmation.gone)}
    for activity_id in confirmation.gone:
        known.pop(activity_id, None)
    truncated = bool(confirmation.alive) and plan.full and complete
    if truncated and stop is None:
        stop = Stop.TRUNCATED_LISTING
        detail = detail or f"{len(confirmation.alive)} live activity(ies) missing from it"
    unverified = plan.full and complete and confirmation.unchecked and not confirmation.skipped
    if unverified and stop is None:  # the count listed does not reconcile with the rows held
        stop = Stop.UNVERIFIED_LISTING
        detail = detail or (
            f"listed {len(fetched.seen_ids)}; {len(confirmation.unchecked)} held but not "
            "listed are not yet confirmed deleted"
        )
    base = counted if counted is not None else state.rows
    rows = None if base is None else max(0, base + result.inserted - result.deleted)
    ok = stop is None
    reason = stop.describe(detail) if stop else ""
    if confirmation.skipped:
        reason = (reason + "; " if reason else "") + confirmation.skipped
    next_state = replace(
        state,
        cursor=cursor,
        known=known,
        pending=None if complete else resume,
        suspects=suspects,
        rows=rows,
        verified_at=int(now) if counted is not None else state.verified_at,
        warehouse_id=identity.identity if identity and counted is not None else state.warehouse_id,
        warehouse_size=identity.size if identity and counted is not None else state.warehouse_size,
        last_run_id=plan.run_id,
        last_success_at=_ts(now) if ok else state.last_success_at,
        last_error_class=None if ok else failure or (stop.error_class if stop else None),
        last_error_message=None if ok else reason[:500],
        needs_reauth=False,
        last_read_usage=usage or state.last_read_usage,
        enrich=queue,
        enrich_kinds=kinds,
        enrich_failed=prune_failures(state.enrich_failed, queue),
    )
    return Settlement(next_state, "success" if ok else "partial", stop, reason)


def _suspects(
    plan: Plan, state: SyncState, fetched: Fetched, confirmation: Confirmation, complete: bool
) -> list[int]:
    checked = set(confirmation.gone) | {i for i, _, _ in confirmation.alive}
    if plan.full and complete and confirmation.alive:
        return []  # the listing was truncated: its suspects prove nothing
    keep = set(state.suspects) | set(confirmation.unchecked)
    return sorted(keep - checked - fetched.seen_ids)


def missing_from_listing(stored: Iterable[int], fetched: Fetched) -> set[int]:
    """Ids the warehouse holds that a complete full listing did not show (never an
    activity imported from another platform's file: Strava cannot list those)."""
    return {i for i in stored if not is_file_activity(i)} - fetched.seen_ids


def _ts(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def settle_events(
    state: SyncState,
    *,
    loaded: Iterable[tuple[int, str, int | None]],
    deleted: Iterable[int],
    result: WriteResult,
    lookback: int,
    now: float,
    queued: Iterable[Item] = (),
) -> SyncState:
    """The next state after webhook writes: what the poll will then find unchanged.

    ``loaded`` (id, content hash of the summary representation, start) enter ``known``
    when they start inside the window the next ``new`` poll lists, so it writes nothing
    for them; one outside it leaves ``known``. The cursor never moves: it means "the poll
    listed everything up to here", and an event proves one activity, not the listing
    (moving it forward would shrink the next window past activities whose events were
    lost). Without a cursor (no full load yet) only ``rows`` follows. Confirmed deletions
    leave ``known`` and the suspects, so a later listing that shows the activity again
    re-writes it; they leave the enrichment queue too, which ``queued`` entries join (a
    created activity's streams). ``rows`` follows the commit's counts like a poll's (a
    delete is counted before it is made: a crash in between leaves more rows than
    expected, which the verification re-bases, never fewer, which it would heal with a
    full load).
    """
    known = dict(state.known)
    floor = None
    if state.cursor is not None:
        floor = min(state.cursor, int(now) + CLOCK_SKEW_SECONDS) - lookback
        for activity_id, digest, start in loaded:
            if start is None or start < max(0, floor):
                known.pop(activity_id, None)
            else:
                known[activity_id] = (digest, start)
    gone = set(deleted)
    known = {k: v for k, v in known.items() if k not in gone}
    rows = None if state.rows is None else max(0, state.rows + result.inserted - result.deleted)
    suspects = [i for i in state.suspects if i not in gone]
    queue = {k: v for k, v in enqueue(state.enrich, queued).items() if k not in gone}
    failed = prune_failures(state.enrich_failed, queue)
    return replace(
        state, known=known, rows=rows, suspects=suspects, enrich=queue, enrich_failed=failed
    )
