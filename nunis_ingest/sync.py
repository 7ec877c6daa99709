"""The use case: one sync of one athlete through the ports (ARCHITECTURE.md §2).

Order of effects, each step durable before the next starts:
lease → token (a rotated refresh token is saved before anything else) → pages (each
archived raw, before it is transformed) → one atomic warehouse commit → state (advanced
only after the commit) → run record. A crash between any two steps leaves data that a
replay converges: the archive is write-once per run, the commit is an idempotent
upsert, and the state is saved by compare-and-swap.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime

from nunis_ingest import state as st
from nunis_ingest.athletes import AthleteRepo
from nunis_ingest.checkpoint import Checkpoint, Listed, archive_key, budget_exhausted, full_listing
from nunis_ingest.context import SyncContext
from nunis_ingest.errors import (
    AthleteNotConfigured,
    MassDeleteRefused,
    NunisError,
    RetriableError,
    StravaRateLimited,
)
from nunis_ingest.events import SyncRequest
from nunis_ingest.lease import Lease
from nunis_ingest.ports import StagedBatch, WriteResult
from nunis_ingest.report import RunReport
from nunis_ingest.strava.client import StravaClient
from nunis_ingest.strava.ratelimit import RateLimitUsage
from nunis_ingest.tokens import fresh_token, scope_warning
from nunis_ingest.transform import InvalidActivity, content_hash, start_epoch, to_row
from nunis_ingest.transform import activity_id as valid_activity_id

__all__ = ["RunReport", "SyncContext", "archive_key", "resolve_athlete", "run_sync"]

log = logging.getLogger(__name__)

LEASE_MARGIN_SECONDS = 120.0


def new_run_id(now: float) -> str:
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{uuid.uuid4().hex[:8]}"


def resolve_athlete(request: SyncRequest, repo: AthleteRepo) -> int:
    """The request's athlete, or the single configured one for legacy messages."""
    if request.athlete_id is not None:
        return request.athlete_id
    ids = repo.list_ids()
    if len(ids) == 1:
        return ids[0]
    raise AthleteNotConfigured(
        f"The message names no athlete and {len(ids)} athletes are configured.",
        action='publish {"athlete_id": <id>, "mode": "new"} or set the athlete_id attribute.',
    )


def run_sync(request: SyncRequest, ctx: SyncContext) -> RunReport:
    """Sync one athlete. Raises NunisError; its ``retriable`` flag tells main what to do."""
    repo = AthleteRepo(ctx.store)
    athlete_id = resolve_athlete(request, repo)
    started = ctx.now()
    report = RunReport(
        new_run_id(started), athlete_id, request.mode, request.trigger, started, request.message_id
    )
    config = repo.load_config(athlete_id)
    state, _ = repo.load_state(athlete_id)
    if _skipped(report, ctx, config.enabled, state):  # cheap: no lease, no request
        return report
    ttl = ctx.settings.time_budget_seconds + LEASE_MARGIN_SECONDS
    with Lease(ctx.store, athlete_id, report.run_id, started, ttl):
        # Read the state again under the lease: a run that just finished may have moved it.
        state, generation = repo.load_state(athlete_id)
        if _skipped(report, ctx, config.enabled, state):
            return report
        try:
            _run_locked(request, ctx, repo, report, state, generation, config.lookback_days)
        except NunisError as exc:
            report.outcome, report.error = "failed", exc
            _record_failure(ctx, repo, report)
            raise
    return report


def _skipped(report: RunReport, ctx: SyncContext, enabled: bool, state: st.SyncState) -> bool:
    if enabled and not state.needs_reauth:
        return False
    report.outcome = "skipped"
    report.reason = (
        "disabled"
        if not enabled
        else "needs re-authorisation: run `nunis-ingest auth` for this athlete"
    )
    report.finished_at = ctx.now()
    return True


def _run_locked(
    request: SyncRequest,
    ctx: SyncContext,
    repo: AthleteRepo,
    report: RunReport,
    state: st.SyncState,
    generation: int,
    lookback_days: int | None,
) -> None:
    settings = ctx.settings
    lookback = 86400 * (settings.lookback_days if lookback_days is None else lookback_days)
    deadline = ctx.monotonic() + settings.time_budget_seconds
    token = fresh_token(ctx.session, ctx.settings, repo, report.athlete_id, ctx.now())
    warning = scope_warning(token, report.athlete_id)
    if warning:
        log.warning(warning)
    client = StravaClient(
        ctx.session,
        base_url=settings.strava_base_url,
        access_token=token.access_token,
        timeout=settings.http_timeout_seconds,
        deadline=deadline - 30,
        sleep=ctx.sleep,
        clock=ctx.monotonic,
    )
    ckpt = Checkpoint.resume(state.pending)
    full = request.mode == "all" or state.cursor is None or ckpt is not None
    report.mode = "all" if full else "new"
    if full and ckpt is None:
        ckpt = Checkpoint(report.run_id, report.started_at)
    archive = (ckpt.run_id, ckpt.started_at) if ckpt else (report.run_id, report.started_at)
    batch: StagedBatch | None = None  # opened on the first row: idle polls never open it
    seen: dict[int, tuple[str, int]] = {}
    max_start = state.cursor or 0
    filtered = 0
    stopped = ""
    failure: NunisError | None = None
    seen_at = datetime.fromtimestamp(report.started_at, UTC)

    def within_budget() -> bool:  # asked before every further request of the listing
        nonlocal stopped
        stopped = budget_exhausted(client, settings, ctx.monotonic(), deadline)
        return not stopped

    listing = (
        full_listing(ctx.store, client, ckpt, within_budget)
        if ckpt
        else _new_pages(client, state, lookback, within_budget)
    )
    try:
        for fetched, body, items in listing:
            if fetched:  # archived raw before anything is derived from it
                key = archive_key(report.athlete_id, *archive, report.pages + 1)
                ctx.store.put(key, body)
                if ckpt:
                    ckpt.pages.append(key)
            report.pages += 1
            rows = []
            for activity in items:
                try:
                    activity_id = valid_activity_id(activity)
                except InvalidActivity as exc:  # kept in the archive; nothing to load
                    log.warning("skipped an item on page %d: %s", report.pages, exc)
                    continue
                digest, start = content_hash(activity), start_epoch(activity) or 0
                max_start = max(max_start, start)
                seen[activity_id] = (digest, start)
                if not full and state.known.get(activity_id, ("",))[0] == digest:
                    filtered += 1  # unchanged since we loaded it: no warehouse work
                else:
                    rows.append(
                        to_row(
                            activity,
                            athlete_id=report.athlete_id,
                            run_id=report.run_id,
                            seen_at=seen_at,
                            digest=digest,
                        )
                    )
            report.seen += len(items)
            if rows:
                batch = batch or ctx.warehouse.stage(report.athlete_id, report.run_id)
                batch.add(rows)
            _prune(seen, max_start - lookback)
            if ctx.on_page:
                ctx.on_page(report.pages, report.seen)
    except StravaRateLimited as exc:
        stopped = f"Strava answered 429 ({exc})"
    except RetriableError as exc:  # 5xx, timeouts, garbled pages that outlasted the retries
        if ckpt is None:
            raise
        stopped, failure = str(exc), exc  # keep the pages archived so far, then retry
    finally:
        report.requests = client.requests_made
        report.usage = client.last_usage
    if stopped and ckpt:
        if batch:
            batch.discard()
        state = replace(state, pending=ckpt.as_pending())
        report.outcome, report.reason = "partial", stopped
    else:
        guard = None if request.force else settings.max_delete_share
        if full and batch is None:  # an empty full listing still replaces (guarded)
            batch = ctx.warehouse.stage(report.athlete_id, report.run_id)
        try:
            result = batch.commit(replace=full, max_delete_share=guard) if batch else WriteResult()
        except MassDeleteRefused:
            # Drop the checkpoint, or every later poll would resume this refused refresh.
            if state.pending:
                repo.save_state(report.athlete_id, replace(state, pending=None), generation)
            raise
        report.result = replace(result, unchanged=result.unchanged + filtered)
        if batch:
            batch.discard()
        if stopped:  # mode new: keep what we loaded, re-list the same window next time
            report.outcome, report.reason = "partial", stopped
            state = replace(state, known={**state.known, **seen})
        else:
            base = replace(state, known={}, pending=None) if full else state
            state = st.advance(
                base, ((i, h, s) for i, (h, s) in seen.items()), lookback_seconds=lookback
            )
    report.finished_at = ctx.now()
    ok = report.outcome == "success"
    state = replace(
        state,
        last_run_id=report.run_id,
        last_success_at=_ts(report.finished_at) if ok else state.last_success_at,
        last_error_class=None if ok else _stop_class(stopped, failure),
        last_error_message=None if ok else report.reason[:500],
        last_read_usage=_usage_dict(report.usage) or state.last_read_usage,
    )
    repo.save_state(report.athlete_id, state, generation)
    if failure is not None:
        raise failure  # the checkpoint is saved; main raises so Pub/Sub redelivers
    if report.changed or report.outcome != "success" or report.mode == "all":
        ctx.warehouse.record_run(report.to_run_row())  # idle polls leave no row: no load


def _new_pages(
    client: StravaClient, state: st.SyncState, lookback: int, ahead: Callable[[], bool]
) -> Iterator[Listed]:
    after = st.window_start(state, lookback)
    pages = client.iter_activity_pages(after=after, stop_on_short_page=True, continue_while=ahead)
    for page in pages:
        yield True, page.body, page.items


def _stop_class(stopped: str, failure: NunisError | None) -> str:
    if failure is not None:
        return type(failure).__name__
    return "RateLimitStop" if "read budget" in stopped or "429" in stopped else "TimeBudgetStop"


def _ts(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def _usage_dict(usage: RateLimitUsage | None) -> dict[str, int] | None:
    if usage is None:
        return None
    return {k: v for k, v in usage.as_dict().items() if v is not None}


def _prune(seen: dict[int, tuple[str, int]], horizon: int) -> None:
    """Keep only activities inside the window so memory stays flat in mode all."""
    if len(seen) > 400:
        for activity_id in [i for i, (_, s) in seen.items() if s < horizon]:
            del seen[activity_id]


def _record_failure(ctx: SyncContext, repo: AthleteRepo, report: RunReport) -> None:
    """Best effort: the failure itself is what the caller acts on."""
    report.finished_at = ctx.now()
    exc = report.error
    try:
        state, generation = repo.load_state(report.athlete_id)
        state = replace(
            state,
            last_run_id=report.run_id,
            last_error_class=type(exc).__name__,
            last_error_message=str(exc)[:500],
            needs_reauth=state.needs_reauth or bool(getattr(exc, "needs_reauth", False)),
            last_read_usage=_usage_dict(report.usage) or state.last_read_usage,
        )
        repo.save_state(report.athlete_id, state, generation)
        ctx.warehouse.record_run(report.to_run_row())
    except Exception:
        log.warning("could not record the failed run %s", report.run_id, exc_info=True)
