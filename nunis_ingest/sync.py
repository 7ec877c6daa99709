"""The use case: one sync of one athlete through the ports (ARCHITECTURE.md §2).

Order of effects, each step durable before the next starts:
lease → token (a rotated refresh token is saved before anything else) → pages (each
archived raw, before it is transformed) → one atomic warehouse commit → state (advanced
only after the commit) → run record. A crash between any two steps leaves data that a
replay converges: the archive is write-once per run, the commit is an idempotent
upsert, and the state is saved by compare-and-swap.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import requests

from nunis_ingest import state as st
from nunis_ingest.athletes import AthleteRepo
from nunis_ingest.errors import AthleteNotConfigured, NunisError, StravaRateLimited
from nunis_ingest.events import SyncRequest
from nunis_ingest.lease import Lease
from nunis_ingest.ports import ObjectStore, Warehouse, WriteResult
from nunis_ingest.settings import Settings
from nunis_ingest.strava.client import Page, StravaClient
from nunis_ingest.strava.ratelimit import RateLimitUsage
from nunis_ingest.tokens import fresh_token
from nunis_ingest.transform import InvalidActivity, content_hash, start_epoch, to_row
from nunis_ingest.transform import activity_id as valid_activity_id

log = logging.getLogger(__name__)

LEASE_MARGIN_SECONDS = 120.0


def new_run_id(now: float) -> str:
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{uuid.uuid4().hex[:8]}"


def archive_key(athlete_id: int, run_id: str, started: float, page: int) -> str:
    day = datetime.fromtimestamp(started, UTC).strftime("%Y-%m-%d")
    return f"archive/strava/athlete={athlete_id}/date={day}/{run_id}/page-{page:05d}.json"


@dataclass
class SyncContext:
    """Everything a sync touches, injected (runtime.py builds the real one)."""

    store: ObjectStore
    warehouse: Warehouse
    session: requests.Session
    settings: Settings
    now: Callable[[], float] = time.time
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    on_page: Callable[[int, int], None] | None = None  # (pages so far, activities so far)


@dataclass
class RunReport:
    run_id: str
    athlete_id: int
    mode: str
    trigger: str
    started_at: float
    message_id: str | None = None
    outcome: str = "success"  # success | partial | skipped | failed
    reason: str = ""
    pages: int = 0
    requests: int = 0
    seen: int = 0
    result: WriteResult = field(default_factory=WriteResult)
    usage: RateLimitUsage | None = None
    finished_at: float = 0.0
    error: NunisError | None = None

    def to_run_row(self) -> dict[str, Any]:
        usage = self.usage
        return {
            "run_id": self.run_id,
            "athlete_id": self.athlete_id,
            "mode": self.mode,
            "trigger": self.trigger,
            "message_id": self.message_id,
            "started_at": _ts(self.started_at),
            "finished_at": _ts(self.finished_at or self.started_at),
            "outcome": self.outcome,
            "pages": self.pages,
            "requests": self.requests,
            "activities_seen": self.seen,
            "inserted": self.result.inserted,
            "updated": self.result.updated,
            "deleted": self.result.deleted,
            "unchanged": self.result.unchanged,
            "read_usage_15min": usage.read_usage_15min if usage else None,
            "read_usage_daily": usage.read_usage_daily if usage else None,
            "read_limit_15min": usage.read_limit_15min if usage else None,
            "read_limit_daily": usage.read_limit_daily if usage else None,
            "error_class": type(self.error).__name__ if self.error else None,
            "error_message": str(self.error)[:1000] if self.error else None,
        }

    def log_fields(self) -> dict[str, Any]:
        row = self.to_run_row()
        keep = ("run_id", "athlete_id", "mode", "trigger", "message_id", "outcome", "pages")
        fields = {k: row[k] for k in keep}
        fields |= {k: row[k] for k in ("requests", "activities_seen", "inserted", "updated")}
        fields |= {"deleted": row["deleted"], "unchanged": row["unchanged"]}
        fields["read_usage"] = f"{row['read_usage_15min']},{row['read_usage_daily']}"
        return fields

    def summary(self) -> str:
        """One line for people: what happened, counts, and the read budget used."""
        r = self.result
        text = (
            f"athlete {self.athlete_id}: {self.outcome} ({self.mode}) pages={self.pages} "
            f"requests={self.requests} seen={self.seen} inserted={r.inserted} "
            f"updated={r.updated} deleted={r.deleted} unchanged={r.unchanged}"
        )
        if self.usage and self.usage.read_usage_15min is not None:
            u = self.usage
            text += (
                f" read-usage={u.read_usage_15min}/{u.read_limit_15min} (15 min)"
                f" {u.read_usage_daily}/{u.read_limit_daily} (day)"
            )
        return text + (f" - {self.reason}" if self.reason else "")

    @property
    def changed(self) -> bool:
        r = self.result
        return bool(r.inserted or r.updated or r.deleted)


def _ts(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


class _Stop(Exception):
    """Internal: the read budget or the time budget ran out; checkpoint and return."""


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
    state, generation = repo.load_state(athlete_id)
    if not config.enabled or state.needs_reauth:
        report.outcome = "skipped"
        report.reason = "disabled" if not config.enabled else "needs re-authorisation"
        report.finished_at = ctx.now()
        return report
    ttl = ctx.settings.time_budget_seconds + LEASE_MARGIN_SECONDS
    with Lease(ctx.store, athlete_id, report.run_id, started, ttl):
        try:
            _run_locked(request, ctx, repo, report, state, generation, config.lookback_days)
        except NunisError as exc:
            report.outcome, report.error = "failed", exc
            _record_failure(ctx, repo, report)
            raise
    return report


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
    client = StravaClient(
        ctx.session,
        base_url=settings.strava_base_url,
        access_token=token.access_token,
        timeout=settings.http_timeout_seconds,
        deadline=deadline - 30,
        sleep=ctx.sleep,
        clock=ctx.monotonic,
    )
    pending = state.pending if state.pending and state.pending.get("mode") == "all" else None
    full = request.mode == "all" or state.cursor is None or pending is not None
    report.mode = "all" if full else "new"
    batch = ctx.warehouse.stage(report.athlete_id, report.run_id)
    seen: dict[int, tuple[str, int]] = {}
    max_start = state.cursor or 0
    filtered = 0
    stopped = ""
    archive_run, archive_started = report.run_id, report.started_at
    done_keys: list[str] = []
    seen_at = datetime.fromtimestamp(report.started_at, UTC)
    if pending:
        archive_run, archive_started = pending["run_id"], float(pending["started_at"])
        done_keys = list(pending["pages"])
    try:
        pages = _pages(ctx, client, state, lookback, full, done_keys, archive_started)
        for number, body, items in pages:
            if number > len(done_keys):  # fetched now, not replayed from the archive
                key = archive_key(report.athlete_id, archive_run, archive_started, number)
                ctx.store.put(key, body)
                done_keys.append(key)
            report.pages += 1
            rows = []
            for activity in items:
                try:
                    activity_id = valid_activity_id(activity)
                except InvalidActivity as exc:  # kept in the archive; nothing to load
                    log.warning("skipped an item on page %d: %s", number, exc)
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
                        )
                    )
            report.seen += len(items)
            batch.add(rows)
            _prune(seen, max_start - lookback)
            if ctx.on_page:
                ctx.on_page(report.pages, report.seen)
            stopped = _budget_exhausted(ctx, client, settings, deadline)
            if stopped:
                break
    except StravaRateLimited as exc:
        stopped = f"Strava answered 429 ({exc})"
    finally:
        report.requests = client.requests_made
        report.usage = client.last_usage
    if stopped and full:
        batch.discard()
        state = replace(
            state,
            pending={
                "mode": "all",
                "run_id": archive_run,
                "started_at": archive_started,
                "pages": done_keys,
            },
        )
        report.outcome, report.reason = "partial", stopped
    else:
        guard = None if request.force else settings.max_delete_share
        result = batch.commit(replace=full, max_delete_share=guard)
        report.result = replace(result, unchanged=result.unchanged + filtered)
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
    state = replace(
        state,
        last_run_id=report.run_id,
        last_success_at=_ts(report.finished_at)
        if report.outcome == "success"
        else state.last_success_at,
        last_error_class=None if report.outcome == "success" else "BudgetStop",
        last_error_message=None if report.outcome == "success" else report.reason,
        last_read_usage=_usage_dict(report.usage) or state.last_read_usage,
    )
    repo.save_state(report.athlete_id, state, generation)
    if report.changed or report.outcome != "success" or report.mode == "all":
        ctx.warehouse.record_run(report.to_run_row())  # idle polls leave no row: no load


def _usage_dict(usage: RateLimitUsage | None) -> dict[str, int] | None:
    if usage is None:
        return None
    return {k: v for k, v in usage.as_dict().items() if v is not None}


def _pages(
    ctx: SyncContext,
    client: StravaClient,
    state: st.SyncState,
    lookback: int,
    full: bool,
    done_keys: list[str],
    started: float,
) -> Iterator[tuple[int, bytes, list[dict[str, Any]]]]:
    """(page number, raw bytes, items): archived pages of a resumed run, then Strava's."""
    for number, key in enumerate(list(done_keys), start=1):
        stored = ctx.store.get(key)
        if stored is None:  # archive pruned by hand: fall back to fetching everything
            done_keys.clear()
            break
        yield number, stored.data, json.loads(stored.data)
    if full:
        listing = client.iter_activity_pages(before=int(started), start_page=len(done_keys) + 1)
    else:
        after = st.window_start(state, lookback)
        listing = client.iter_activity_pages(after=after, stop_on_short_page=True)
    page: Page
    for page in listing:
        yield page.number, page.body, page.items


def _prune(seen: dict[int, tuple[str, int]], horizon: int) -> None:
    """Keep only activities inside the window so memory stays flat in mode all."""
    if len(seen) > 400:
        for activity_id in [i for i, (_, s) in seen.items() if s < horizon]:
            del seen[activity_id]


def _budget_exhausted(
    ctx: SyncContext, client: StravaClient, settings: Settings, deadline: float
) -> str:
    if ctx.monotonic() > deadline - 60:
        return "time budget nearly used; resuming on the next run"
    usage = client.last_usage
    if usage is None:
        return ""
    left_15, left_day = usage.read_remaining()
    if left_15 is not None and left_15 <= settings.read_headroom_15min:
        return f"15-minute read budget nearly used ({left_15} left); resuming on the next run"
    if left_day is not None and left_day <= settings.read_headroom_daily:
        return f"daily read budget nearly used ({left_day} left); resuming tomorrow"
    return ""


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
        )
        repo.save_state(report.athlete_id, state, generation)
        ctx.warehouse.record_run(report.to_run_row())
    except Exception:
        log.warning("could not record the failed run %s", report.run_id, exc_info=True)
