"""The use case: one sync of one athlete, as plan → fetch → settle (ARCHITECTURE.md §2).

Order of effects, each durable before the next starts: lease → token (a rotated refresh
token is saved before anything else) → pages (each archived raw before it is transformed)
→ deletion checks → one warehouse commit → state (advanced only after the commit) → run
record. ``plan`` and ``settle`` are pure; ``fetch.py`` is the only I/O loop; this module takes the
lease, plans and records failures. A crash
between any two steps leaves data that a replay converges: the archive is write-once per
run, the commit is an idempotent upsert, the state is saved by compare-and-swap.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from datetime import UTC, datetime

from nunis_ingest.context import SyncContext
from nunis_ingest.core import state as st
from nunis_ingest.core.events import SyncRequest
from nunis_ingest.core.plan import make_plan
from nunis_ingest.core.schema import SCHEMA_VERSION
from nunis_ingest.errors import (
    AthleteNotConfigured,
    NunisError,
)
from nunis_ingest.ports import Presence
from nunis_ingest.usecases.athletes import AthleteConfig, AthleteRepo
from nunis_ingest.usecases.fetch import Run, usage_dict
from nunis_ingest.usecases.lease import Lease
from nunis_ingest.usecases.run_report import RunReport

__all__ = ["RunReport", "SyncContext", "new_run_id", "resolve_athlete", "run_sync"]

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
    """Sync one athlete. Raises NunisError; ``errors.decide`` tells a driver what to do."""
    repo = AthleteRepo(ctx.store)
    athlete_id = resolve_athlete(request, repo)
    started = ctx.now()
    report = RunReport(
        new_run_id(started), athlete_id, request.mode, request.trigger, started, request.message_id
    )
    config = repo.load_config(athlete_id)
    state, _ = repo.load_state(athlete_id, repair=True)
    if _skipped(report, ctx, config.enabled, state):  # cheap: no lease, no request
        return report
    ttl = ctx.settings.time_budget_seconds + LEASE_MARGIN_SECONDS
    local = ctx.settings.backend == "local"
    with Lease(ctx.store, athlete_id, report.run_id, started, ttl, local=local):
        # Read the state again under the lease: a run that just finished may have moved it.
        state, generation = repo.load_state(athlete_id, repair=True)
        if _skipped(report, ctx, config.enabled, state):
            return report
        state, generation = _rebuild_if_schema_changed(ctx, repo, report, config, state, generation)
        lookback_days = (
            ctx.settings.lookback_days if config.lookback_days is None else config.lookback_days
        )
        presence = _presence(ctx, athlete_id)
        plan = make_plan(
            athlete_id=athlete_id,
            run_id=report.run_id,
            now=started,
            requested=request.mode,
            state=state,
            lookback_days=lookback_days,
            presence=presence,
        )
        report.warnings += dict.fromkeys(repo.repaired)  # a state.json set aside
        if plan.warning:
            log.warning(plan.warning)
            report.warnings.append(plan.warning)
        try:
            Run(ctx, repo, request, report, state, generation, config).execute(plan, presence)
        except NunisError as exc:
            report.outcome, report.error = "failed", exc
            _record_failure(ctx, repo, report)
            raise
    return report


def _rebuild_if_schema_changed(
    ctx: SyncContext,
    repo: AthleteRepo,
    report: RunReport,
    config: AthleteConfig,
    state: st.SyncState,
    generation: int,
) -> tuple[st.SyncState, int]:
    """A newer ``schema.SCHEMA_VERSION`` (a column added, a meaning changed): rebuild the
    athlete's rows from the archive once, before the run, with no Strava request.

    A damaged archive object stops the rebuild before it writes anything; the run goes on
    (the athlete is not blocked), the object is named in a warning and in
    ``state.rebuild_blocked``, and the rebuild is tried again once it is gone."""
    built = state.schema_version or 1
    if built >= SCHEMA_VERSION or state.cursor is None:
        if state.schema_version == SCHEMA_VERSION:
            return state, generation
        state = replace(state, schema_version=SCHEMA_VERSION, rebuild_blocked=None)
        return state, repo.save_state(report.athlete_id, state, generation)
    from nunis_ingest.errors import ArchiveDamaged
    from nunis_ingest.usecases.replay import forget_loaded, replay

    blocked = state.rebuild_blocked
    if blocked is not None and ctx.store.get(blocked) is not None:
        _warn(
            report,
            f"athlete {report.athlete_id}: rows still built with schema version "
            f"{built}: the rebuild waits for the damaged archive object {blocked} to be "
            "restored or moved to quarantine/",
        )
        return state, generation

    log.warning(
        "athlete %d: rows were built with schema version %d, this code has %d; "
        "rebuilding them from the archive",
        report.athlete_id,
        built,
        SCHEMA_VERSION,
    )
    ctx.warehouse.ensure_schema()
    try:
        replay(
            ctx.store,
            ctx.warehouse,
            report.athlete_id,
            run_id=report.run_id,
            details=config.details,
            streams=config.streams,
            rewrite=True,
        )
    except ArchiveDamaged as exc:
        _warn(report, f"athlete {report.athlete_id}: the schema rebuild stopped: {exc}")
        state = replace(state, rebuild_blocked=exc.key)
        return state, repo.save_state(report.athlete_id, state, generation)
    state = replace(forget_loaded(state), schema_version=SCHEMA_VERSION, rebuild_blocked=None)
    return state, repo.save_state(report.athlete_id, state, generation)


def _warn(report: RunReport, text: str) -> None:
    log.warning(text)
    report.warnings.append(text)


def _presence(ctx: SyncContext, athlete_id: int) -> Presence | None:
    """The warehouse's free signal, or None (unknown, or its read failed: not fatal)."""
    if ctx.presence is None:
        return None
    try:
        return ctx.presence()
    except Exception as exc:
        log.warning("athlete %d: warehouse presence unknown: %s", athlete_id, exc)
        return None


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


def _record_failure(ctx: SyncContext, repo: AthleteRepo, report: RunReport) -> None:
    """Best effort: the failure itself is what the caller acts on."""
    report.finished_at = ctx.now()
    exc = report.error
    try:
        state, generation = repo.load_state(report.athlete_id, repair=True)
        if state.last_run_id == report.run_id and exc is not None and exc.retriable:
            pass  # this run already settled its state (a checkpoint before raising)
        else:
            state = replace(
                state,
                last_run_id=report.run_id,
                last_error_class=type(exc).__name__,
                last_error_message=str(exc)[:500],
                needs_reauth=state.needs_reauth or bool(getattr(exc, "needs_reauth", False)),
                last_read_usage=usage_dict(report.usage) or state.last_read_usage,
            )
            repo.save_state(report.athlete_id, state, generation)
        ctx.warehouse.record_run(report.to_run_row())
    except Exception:
        log.warning("could not record the failed run %s", report.run_id, exc_info=True)
