"""Apply webhook events through the same ports, lease, tokens and state as polling.

Per athlete, under its lease, with one ``AthleteApi`` (one client) for the batch:
deauthorization first (verified, see ``deauth.py``; if the token still works the event is
ignored and the batch's activity events are applied as usual). Then one fetch per
activity settles the truth (event bodies are never trusted):

- 200: archive the DetailedActivity body byte for byte, write its summary
  (``representation.summary_of``, the row the poll writes, same content hash) with
  ``replace=False``, and record the hash in ``state.json`` (``statesync.py``) so the next
  poll counts it unchanged. When the athlete has details on, the same response fills
  the detail tables (create and edit alike: one request for both); a create with
  streams on queues the streams request. An activity another athlete owns is not loaded.
  The batch's fetched activities are written together, per athlete: ONE stage/commit
  (one load job and one MERGE on BigQuery), ONE ``replace_details`` for every detail
  table, ONE state save, however many events the batch holds (``_flush``). Nothing is
  recorded (state, marks) before that commit succeeded, so a failed write is retried
  whole; the archive objects written before it are idempotent by key.
- 404, confirmed by a second GET after a token refresh (``confirm.fetch_confirmed``):
  delete the rows (every table), leave a tombstone in the marks, and forget the id in
  ``state.json``, so that a later listing that shows the activity makes the poll write it again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from dataclasses import replace as replace_result
from datetime import UTC, datetime
from typing import Any

from nunis_ingest.context import SyncContext
from nunis_ingest.core import enrichment as eq
from nunis_ingest.core import schema_detail as sd
from nunis_ingest.core.keys import archive_activity_key
from nunis_ingest.core.ownership import foreign_owner
from nunis_ingest.core.representation import summary_of
from nunis_ingest.core.transform import content_hash, start_epoch, to_row
from nunis_ingest.core.transform_detail import detail_rows, summary_fingerprint
from nunis_ingest.core.webhook_event import QueuedEvent
from nunis_ingest.errors import AthleteNotConfigured
from nunis_ingest.ports import DetailRows, WriteResult
from nunis_ingest.usecases.athlete_api import AthleteApi
from nunis_ingest.usecases.athletes import AthleteConfig, AthleteRepo
from nunis_ingest.usecases.bulk_export.twins import drop_file_twins
from nunis_ingest.usecases.confirm import fetch_confirmed
from nunis_ingest.usecases.lease import Lease
from nunis_ingest.usecases.sync import new_run_id
from nunis_ingest.usecases.tombstones import record_deletions
from nunis_ingest.usecases.webhook import deauth, statesync
from nunis_ingest.usecases.webhook.marks import Marks, load_marks, save_marks

log = logging.getLogger("nunis_ingest.webhook")

LEASE_TTL_SECONDS = 300.0
MAX_ATTEMPTS = 2  # in-request retries of a 5xx or a dropped connection


@dataclass
class Outcome:
    athlete_id: int
    action: str  # loaded | deleted | skipped | dropped | purged | disabled | ignored
    activity_id: int | None = None
    detail: str = ""
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class _Batch:
    athlete_id: int
    ctx: SyncContext
    repo: AthleteRepo
    api: AthleteApi
    run_id: str
    lookback: int
    config: AthleteConfig


def process(
    events: Sequence[QueuedEvent], ctx: SyncContext, wall: Callable[[], float] = time.time
) -> list[Outcome]:
    """Apply a batch; raises the first NunisError after finishing its athlete's other work."""
    by_athlete: dict[int, list[QueuedEvent]] = {}
    for item in events:
        by_athlete.setdefault(item.event.owner_id, []).append(item)
    outcomes: list[Outcome] = []
    for athlete_id, items in by_athlete.items():
        outcomes += _athlete(athlete_id, items, ctx, wall)
    for outcome in outcomes:
        log.info(
            "webhook event: athlete %s %s %s %s",
            outcome.athlete_id,
            outcome.action,
            outcome.activity_id or "",
            outcome.detail,
            extra={
                "json_fields": {"athlete_id": outcome.athlete_id, "action": outcome.action}
                | ({"activity_id": outcome.activity_id} if outcome.activity_id else {})
                | outcome.counts
            },
        )
    return outcomes


def _athlete(
    athlete_id: int, items: list[QueuedEvent], ctx: SyncContext, wall: Callable[[], float]
) -> list[Outcome]:
    repo = AthleteRepo(ctx.store)
    try:
        config = repo.load_config(athlete_id)
    except AthleteNotConfigured:
        return [Outcome(athlete_id, "dropped", detail="unknown athlete")]
    deauths = [i for i in items if i.event.is_deauthorization and i.event.object_id == athlete_id]
    why = _inactive(config.enabled, repo, athlete_id)
    if why and not deauths:  # cheap: no lease, no request
        return [Outcome(athlete_id, "dropped", detail=why)]
    days = ctx.settings.lookback_days if config.lookback_days is None else config.lookback_days
    run_id = new_run_id(ctx.now())
    api = AthleteApi(ctx, athlete_id, max_attempts=MAX_ATTEMPTS, kind="webhook")
    batch = _Batch(athlete_id, ctx, repo, api, run_id, 86400 * days, config)
    outcomes: list[Outcome] = []
    local = ctx.settings.backend == "local"
    with Lease(ctx.store, athlete_id, run_id, ctx.now(), LEASE_TTL_SECONDS, local=local):
        if deauths:
            verdict = deauth.verify(api)
            if verdict.gone:
                action, counts = deauth.purge(athlete_id, repo, ctx)
                return [Outcome(athlete_id, action, detail=verdict.detail, counts=counts)]
            outcomes.append(Outcome(athlete_id, "ignored", detail=verdict.detail))
        why = _inactive(config.enabled, repo, athlete_id)
        if why:
            return [*outcomes, Outcome(athlete_id, "dropped", detail=why)]
        per_activity: dict[int, list[QueuedEvent]] = {}
        for item in items:
            if item.event.object_type == "activity":
                per_activity.setdefault(item.event.object_id, []).append(item)
        if not per_activity:
            return outcomes
        marks = load_marks(ctx.store, athlete_id)
        fetched: list[_Fetched] = []
        try:
            try:
                for activity_id, events in per_activity.items():
                    done = _activity(batch, marks, activity_id, events, wall)
                    if isinstance(done, _Fetched):
                        fetched.append(done)
                    else:
                        outcomes.append(done)
            finally:  # what was fetched before a failure is still written (and marked)
                outcomes += _flush(batch, marks, fetched)
        finally:
            marks.prune(ctx.now(), wall())
            save_marks(ctx.store, athlete_id, marks)
            if ctx.budget is not None:
                ctx.budget.flush(ctx.now())
    return outcomes


def _inactive(enabled: bool, repo: AthleteRepo, athlete_id: int) -> str:
    """Why this athlete's activity events are dropped ('' when they are applied)."""
    if not enabled:
        return "disabled"
    state = repo.load_state(athlete_id, repair=True)[0]
    return "needs re-authorisation" if state.needs_reauth else ""


def _activity(
    batch: _Batch,
    marks: Marks,
    activity_id: int,
    items: list[QueuedEvent],
    wall: Callable[[], float],
) -> Outcome | _Fetched:
    """A skip, a confirmed delete or an ownership refusal as its outcome (applied now);
    a 200 as ``_Fetched``, written with the rest of the batch by ``_flush``."""
    athlete_id, ctx = batch.athlete_id, batch.ctx
    pending = [i for i in items if not marks.covered(activity_id, i.event, i.received_at)]
    if not pending:
        why = marks.covered(activity_id, items[0].event, items[0].received_at)
        return Outcome(athlete_id, "skipped", activity_id, f"already {why}")
    fetch_started = wall()
    fetched = fetch_confirmed(batch.api, activity_id)
    if fetched is None:  # gone for real: 404 twice, the second after a token refresh
        # Forget first: a crash in between leaves a row the poll may re-check, never a
        # deleted row the state still counts as loaded (the poll would not restore it).
        change = statesync.deleted(activity_id, batch.lookback, ctx.now())
        statesync.apply(batch.repo, athlete_id, change)
        record_deletions(ctx.store, athlete_id, batch.run_id, ctx.now(), [activity_id], ctx.now())
        gone = ctx.warehouse.delete_activities(athlete_id, [activity_id])
        marks.record_delete(activity_id, max(i.event.event_time for i in pending), ctx.now())
        return Outcome(athlete_id, "deleted", activity_id, "404 confirmed", {"rows": gone})
    body, data = fetched
    if (owner := foreign_owner(athlete_id, data)) is not None:
        return Outcome(athlete_id, "ignored", activity_id, f"owned by {owner}")
    # Archived now, as received (idempotent by key); the rows wait for the batch commit.
    ctx.store.put(archive_activity_key(athlete_id, batch.run_id, ctx.now(), activity_id), body)
    return _Fetched(activity_id, data, summary_of(data), pending, fetch_started)


@dataclass
class _Fetched:
    """An activity fetched (200) and archived, its rows not yet written."""

    activity_id: int
    data: dict[str, Any]
    summary: dict[str, Any]
    pending: list[QueuedEvent]
    fetch_started: float


def _flush(batch: _Batch, marks: Marks, fetched: list[_Fetched]) -> list[Outcome]:
    """Write every fetched activity of the batch at once: one stage/commit, one
    ``replace_details``, one state save; then mark them. Nothing when none was fetched."""
    if not fetched:
        return []
    ctx, athlete_id = batch.ctx, batch.athlete_id
    digests = [content_hash(f.summary) for f in fetched]
    result = _write(batch, fetched, digests)
    queued = _details(batch, fetched)
    loaded = [
        (f.activity_id, d, start_epoch(f.summary)) for f, d in zip(fetched, digests, strict=True)
    ]
    change = statesync.loaded_many(loaded, result, batch.lookback, ctx.now(), queued)
    statesync.apply(batch.repo, athlete_id, change)
    for f in fetched:
        marks.deleted.pop(f.activity_id, None)
        marks.record_fetch(f.activity_id, f.fetch_started, [i.event for i in f.pending])
    return [Outcome(athlete_id, "loaded", f.activity_id) for f in fetched]


def _details(batch: _Batch, fetched: list[_Fetched]) -> list[eq.Item]:
    """The fetched DetailedActivities also fill the detail tables (no extra request, one
    ``replace_details`` for the batch); created activities' streams join the queue."""
    config, ctx = batch.config, batch.ctx
    if config.details:
        rows: dict[str, list[Any]] = {}
        for f in fetched:
            one = detail_rows(
                f.data,
                athlete_id=batch.athlete_id,
                activity_id=f.activity_id,
                run_id=batch.run_id,
                loaded_at=ctx.now(),
                fingerprint=summary_fingerprint(f.summary),
            )
            for table, table_rows in one.items():
                rows.setdefault(table, []).extend(table_rows)
        tables = tuple(t.name for t in sd.FROM_DETAIL)
        ids = tuple(f.activity_id for f in fetched)
        ctx.warehouse.replace_details(batch.athlete_id, DetailRows(ids, tables, rows))
    queued: list[eq.Item] = []
    for f in fetched:
        created = any(i.event.aspect_type == "create" for i in f.pending)
        if config.streams and created and f.data.get("manual") is not True:
            start = start_epoch(f.summary) or 0
            queued.append(eq.Item(f.activity_id, start, eq.STREAMS, int(ctx.now())))
    return queued


def _write(batch: _Batch, fetched: list[_Fetched], digests: list[str]) -> WriteResult:
    """Upsert the batch's summary rows: one stage, one commit."""
    ctx, athlete_id, run_id = batch.ctx, batch.athlete_id, batch.run_id
    seen_at = datetime.fromtimestamp(ctx.now(), UTC)
    staged = ctx.warehouse.stage(athlete_id, run_id)
    try:
        staged.add(
            [
                to_row(f.summary, athlete_id=athlete_id, run_id=run_id, seen_at=seen_at, digest=d)
                for f, d in zip(fetched, digests, strict=True)
            ]
        )
        result = staged.commit(replace=False)
    finally:
        staged.discard()
    if result.inserted:  # Strava's copy of an activity imported from a file
        twins = drop_file_twins(ctx.store, ctx.warehouse, athlete_id)
        result = replace_result(result, deleted=result.deleted + twins)
    return result
