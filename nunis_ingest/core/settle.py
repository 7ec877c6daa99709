"""Pure: what a run, a drain or a batch of webhook writes did -> the athlete's next state.

``settle`` turns a poll's plan and what its fetch did (``core.fetched.Fetched``) into the
next ``SyncState``, the run's outcome and its typed ``Stop``; the run record
(``ingest_runs``) and ``state.json`` are both built from the ``Settlement`` it returns,
so they always agree. ``settle_drain`` does the same for an enrichment drain
(``core.fetched.Drained``) and ``settle_events`` for webhook writes, so the state reflects
every write, whoever made it. With the named transitions of ``core.transitions`` these are
the only ways the state changes.

The enrichment queue after a run is decided here too (``next_queue``), from the facts the
fetch read: the activities it wrote, their stored detail fingerprints, and the activities
without detail or stream rows when the plan scans the history. Every entry a run queues
gets the athlete's next **queue stamp** (``state.enrich_stamp``: never behind the clock,
and strictly after every stamp issued before), because a response is archived under its
entry's stamp: a stamp reused for the same activity would serve an earlier response again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from nunis_ingest.core import enrichment as eq
from nunis_ingest.core.fetched import Confirmation, Drained, Fetched, Seen
from nunis_ingest.core.file_ids import is_file_activity
from nunis_ingest.core.plan import CLOCK_SKEW_SECONDS, Plan
from nunis_ingest.core.ratelimit import RateLimitUsage
from nunis_ingest.core.state import SyncState
from nunis_ingest.core.stops import Stop
from nunis_ingest.ports import WriteResult


@dataclass(frozen=True)
class Settlement:
    state: SyncState
    outcome: str  # success | partial
    stop: Stop | None
    reason: str


def settle(plan: Plan, state: SyncState, fetched: Fetched, now: float) -> Settlement:
    """The next state after one run. A complete full listing says ``success`` only when
    every row the warehouse held was listed or confirmed deleted (else
    ``Stop.UNVERIFIED_LISTING``); one that missed a live activity says
    ``Stop.TRUNCATED_LISTING`` and proves nothing about its other suspects."""
    seen, confirmation, complete = fetched.seen, fetched.confirmation, fetched.complete
    committed = complete or not plan.full  # an unfinished full refresh committed nothing
    cursor, known = _window(plan, state, seen, complete=complete, committed=committed, now=now)
    for activity_id in confirmation.gone:
        known.pop(activity_id, None)
    stop, detail = _stop(plan, fetched)
    ok = stop is None
    reason = stop.describe(detail) if stop else ""
    if confirmation.skipped:
        reason = (reason + "; " if reason else "") + confirmation.skipped
    queue, kinds, stamp = (
        next_queue(plan, state, fetched, now)
        if committed
        else (state.enrich, state.enrich_kinds, state.enrich_stamp)
    )
    queue = {k: v for k, v in queue.items() if k not in set(confirmation.gone)}
    counted, identity = plan.counted, fetched.identity
    base = counted if counted is not None else state.rows
    result = fetched.result
    failure = type(fetched.failure).__name__ if fetched.failure is not None else None
    next_state = replace(
        state,
        cursor=cursor,
        known=known,
        pending=None if complete else fetched.resume,
        suspects=_suspects(plan, state, seen, confirmation, complete),
        rows=None if base is None else max(0, base + result.inserted - result.deleted),
        verified_at=int(now) if counted is not None else state.verified_at,
        warehouse_id=identity.identity if identity and counted is not None else state.warehouse_id,
        warehouse_size=identity.size if identity and counted is not None else state.warehouse_size,
        last_run_id=plan.run_id,
        last_success_at=_ts(now) if ok else state.last_success_at,
        last_error_class=None if ok else failure or (stop.error_class if stop else None),
        last_error_message=None if ok else reason[:500],
        needs_reauth=False,
        last_read_usage=usage_dict(fetched.usage) or state.last_read_usage,
        enrich=queue,
        enrich_kinds=kinds,
        enrich_stamp=stamp,
        enrich_failed=eq.prune_failures(state.enrich_failed, queue),
    )
    return Settlement(next_state, "success" if ok else "partial", stop, reason)


def _window(
    plan: Plan, state: SyncState, seen: Seen, *, complete: bool, committed: bool, now: float
) -> tuple[int | None, dict[int, tuple[str, int]]]:
    """The cursor and the ``known`` hashes inside the next ``new`` window."""
    known = {} if complete and plan.full else dict(state.known)
    if committed:
        known.update(seen.window)
    cursor = state.cursor
    cap = int(now) + CLOCK_SKEW_SECONDS
    if complete and seen.max_start is not None:
        newest = min(seen.max_start, cap)  # a future-dated activity must not freeze `new`
        cursor = newest if cursor is None or plan.full else max(min(cursor, cap), newest)
    if cursor is not None:
        floor = min(cursor, cap) - plan.lookback
        known = {k: v for k, v in known.items() if v[1] >= floor}
    return cursor, known


def _stop(plan: Plan, fetched: Fetched) -> tuple[Stop | None, str]:
    stop, detail, confirmation = fetched.stop, fetched.detail, fetched.confirmation
    checked_full = plan.full and fetched.complete
    if stop is None and checked_full and confirmation.alive:
        alive = len(confirmation.alive)
        return Stop.TRUNCATED_LISTING, detail or f"{alive} live activity(ies) missing from it"
    if stop is None and checked_full and confirmation.unchecked and not confirmation.skipped:
        return Stop.UNVERIFIED_LISTING, detail or (
            f"listed {len(fetched.seen.seen_ids)}; {len(confirmation.unchecked)} held but "
            "not listed are not yet confirmed deleted"
        )
    return stop, detail


def _suspects(
    plan: Plan, state: SyncState, seen: Seen, confirmation: Confirmation, complete: bool
) -> list[int]:
    checked = set(confirmation.gone) | {i for i, _, _ in confirmation.alive}
    if plan.full and complete and confirmation.alive:
        return []  # the listing was truncated: its suspects prove nothing
    keep = set(state.suspects) | set(confirmation.unchecked)
    return sorted(keep - checked - seen.seen_ids)


def next_stamp(state: SyncState, now: float) -> int:
    """The queue stamp for entries queued now: the clock, and after every earlier stamp."""
    return max(int(now), (state.enrich_stamp or 0) + 1)


def next_queue(
    plan: Plan, state: SyncState, fetched: Fetched, now: float
) -> tuple[eq.Queue, str, int | None]:
    """The enrichment queue, the kinds it was scanned for and the last stamp, after a run.

    An activity written without a detail row is new (``d``, and ``s`` when streams are
    on); one whose stored detail was fetched for another summary fingerprint was edited
    (``d`` only, a fresh stamp); a history scan queues what has no rows yet."""
    kinds = plan.kinds
    queue = eq.restrict(state.enrich, kinds)
    if not kinds:
        return queue, kinds, state.enrich_stamp
    stamp = next_stamp(state, now)
    if fetched.seen.staged:
        fingerprints = fetched.fingerprints or {}
        new, edited = eq.from_poll(fetched.seen.staged, fingerprints, state.known, kinds, stamp)
        queue = eq.enqueue(eq.enqueue(queue, new), edited, fresh=True)
    for kind, missing in fetched.unenriched.items():
        strava = ((i, s) for i, s in missing if not is_file_activity(i))
        queue = eq.enqueue(queue, (eq.Item(i, s or 0, kind, stamp) for i, s in strava))
    issued = any(entry[2] == stamp for entry in queue.values())
    return queue, kinds, stamp if issued else state.enrich_stamp


def missing_from_listing(stored: Iterable[int], seen: Seen) -> set[int]:
    """Ids the warehouse holds that a complete full listing did not show (never an
    activity imported from another platform's file: Strava cannot list those)."""
    return {i for i in stored if not is_file_activity(i)} - seen.seen_ids


def settle_drain(
    state: SyncState, drained: Drained, now: float, usage: RateLimitUsage | None = None
) -> SyncState:
    """The state after an enrichment drain: completed kinds leave the queue (an entry
    with nothing left leaves it whole, with its failure record), failed entries are backed
    off (``enrichment.failed``), a detail's 404 makes a deletion suspect."""
    queue = dict(state.enrich)
    failures = dict(state.enrich_failed)
    for activity_id, kinds in drained.completed:
        eq.done(queue, activity_id, kinds)
    for activity_id, reason in drained.failed:
        failures = eq.failed(failures, activity_id, int(now), reason)
    return replace(
        state,
        enrich=queue,
        enrich_failed=eq.prune_failures(failures, queue),
        suspects=sorted(set(state.suspects) | set(drained.suspects)),
        last_read_usage=usage_dict(usage) or state.last_read_usage,
    )


def usage_dict(usage: RateLimitUsage | None) -> dict[str, int] | None:
    if usage is None:
        return None
    return {k: v for k, v in usage.as_dict().items() if v is not None}


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
    queued: Iterable[eq.Item] = (),
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
    created activity's streams) with the athlete's next queue stamp. ``rows`` follows the
    commit's counts like a poll's (a delete is counted before it is made: a crash in
    between leaves more rows than expected, which the verification re-bases, never fewer,
    which it would heal with a full load).
    """
    known = dict(state.known)
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
    stamp = next_stamp(state, now)
    items = [replace(item, queued_at=stamp) for item in queued]
    queue = {k: v for k, v in eq.enqueue(state.enrich, items).items() if k not in gone}
    return replace(
        state,
        known=known,
        rows=rows,
        suspects=suspects,
        enrich=queue,
        enrich_failed=eq.prune_failures(state.enrich_failed, queue),
        enrich_stamp=stamp if items else state.enrich_stamp,
    )
