"""The use case: one sync of one athlete, as plan -> fetch -> settle (ARCHITECTURE.md §2).

Order of effects, each durable before the next starts: lease -> token (a rotated refresh
token is saved before anything else) -> pages (each archived raw before it is
transformed) -> deletion checks -> one warehouse commit -> state (advanced only after the
commit; the enrichment queue with its stamps is saved before any detail request) -> the
enrichment drain and its state -> run record. ``core.plan`` and ``core.settle`` are pure;
``fetch`` and ``drain`` are the only I/O loops; ``save_settlement`` is the only writer of
``state.json``. A crash between any two steps leaves data that a replay converges: the
archive is write-once per run, the commit is an idempotent upsert, the state is saved by
compare-and-swap.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from nunis_ingest.context import SyncContext
from nunis_ingest.core import enrichment as eq
from nunis_ingest.core.events import SyncRequest
from nunis_ingest.core.plan import Plan, make_plan, plan_drain, verify_due
from nunis_ingest.core.run_report import RunReport
from nunis_ingest.core.settle import settle, settle_drain
from nunis_ingest.core.state import SyncState
from nunis_ingest.core.transitions import after_failure
from nunis_ingest.errors import AthleteNotConfigured, NunisError
from nunis_ingest.ports import Presence
from nunis_ingest.usecases.athlete_api import AthleteApi
from nunis_ingest.usecases.athletes import (
    AthleteConfig,
    AthleteRepo,
    save_settlement,
    update_state,
)
from nunis_ingest.usecases.drain import drain
from nunis_ingest.usecases.fetch import fetch
from nunis_ingest.usecases.lease import Lease
from nunis_ingest.usecases.rebuild import rebuild_if_schema_changed

__all__ = ["RunReport", "SyncContext", "new_run_id", "resolve_athlete", "run_sync"]

log = logging.getLogger(__name__)

LEASE_MARGIN_SECONDS = 120.0


def run_sync(request: SyncRequest, ctx: SyncContext) -> RunReport:
    """Sync one athlete. Raises NunisError; ``errors.decide`` tells a driver what to do."""
    repo = AthleteRepo(ctx.store)
    report = _new_report(request, resolve_athlete(request, repo), ctx.now())
    config = repo.load_config(report.athlete_id)
    if _skipped(report, ctx, config, repo.load_state(report.athlete_id, repair=True)[0]):
        return report  # cheap: no lease, no request
    with _lease(ctx, report):
        state, generation = repo.load_state(report.athlete_id, repair=True)  # under the lease
        if _skipped(report, ctx, config, state):
            return report
        state, generation = rebuild_if_schema_changed(ctx, repo, report, config, state, generation)
        plan = _plan(request, ctx, report, config, state, repo)
        api = AthleteApi(ctx, plan.athlete_id, deadline=_deadline(ctx), kind=plan.api_kind)
        try:
            state, generation = _run(plan, state, generation, ctx, api, repo, report)
            _drain(plan, state, generation, ctx, api, repo, report)
        except NunisError as exc:
            _record_failure(ctx, repo, report, exc)
            raise
    _record_run(ctx, report)
    return report


def _run(
    plan: Plan,
    state: SyncState,
    generation: int,
    ctx: SyncContext,
    api: AthleteApi,
    repo: AthleteRepo,
    report: RunReport,
) -> tuple[SyncState, int]:
    """Fetch, settle, save; a retriable failure is raised once its resume point is saved."""
    fetched = fetch(plan, state, ctx, api)
    settled = settle(plan, state, fetched, ctx.now())
    generation = save_settlement(repo, plan.athlete_id, settled.state, generation)
    report.settled(plan, fetched, settled, ctx.now())
    for warning in fetched.warnings:
        log.warning(warning)
    if fetched.failure is not None:
        raise fetched.failure
    return settled.state, generation


def _drain(
    plan: Plan,
    state: SyncState,
    generation: int,
    ctx: SyncContext,
    api: AthleteApi,
    repo: AthleteRepo,
    report: RunReport,
) -> None:
    """The enrichment drain after a run that stopped for nothing: its own plan and settle."""
    drain_plan = plan_drain(plan, state, share=ctx.settings.enrich_read_share, now=ctx.now())
    if drain_plan is None or report.stop is not None:
        return
    drained = drain(drain_plan, ctx, api, ctx.on_enrich)
    after = settle_drain(state, drained, ctx.now(), api.last_usage)
    if drained.touched:  # a drain that paused before its first request saves nothing
        save_settlement(repo, plan.athlete_id, after, generation)
    report.drained_with(drained, after, api.requests_made, api.last_usage)


def _plan(
    request: SyncRequest,
    ctx: SyncContext,
    report: RunReport,
    config: AthleteConfig,
    state: SyncState,
    repo: AthleteRepo,
) -> Plan:
    """The run's plan; the warehouse's rows are counted first when a check is due."""
    athlete_id = report.athlete_id
    presence = _presence(ctx, athlete_id)
    counted = None
    if verify_due(state, request.mode, report.started_at, presence):
        if presence is not None and presence.missing:
            ctx.warehouse.ensure_schema()  # the tables are gone: re-create, then heal
        counted = ctx.warehouse.count_activities(athlete_id)
    lookback = ctx.settings.lookback_days if config.lookback_days is None else config.lookback_days
    plan = make_plan(
        athlete_id=athlete_id,
        run_id=report.run_id,
        now=report.started_at,
        requested=request.mode,
        state=state,
        lookback_days=lookback,
        counted=counted,
        kinds=eq.wanted(config.details, config.streams),
        driven=request.details,
        force=request.force,
        api_kind="reconcile" if request.trigger == "reconcile" else "poll",
    )
    if plan.counted is not None and plan.mode == "all" and plan.why.startswith("the warehouse"):
        log.warning(
            "athlete %d: the warehouse holds %d rows, the state expects %s; healing with a "
            "full refresh",
            athlete_id,
            plan.counted,
            state.rows,
        )
    report.warnings += dict.fromkeys(repo.repaired)  # a state.json set aside
    if plan.warning:
        log.warning(plan.warning)
        report.warnings.append(plan.warning)
    report.mode = plan.mode
    return plan


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


def _new_report(request: SyncRequest, athlete_id: int, started: float) -> RunReport:
    return RunReport(
        new_run_id(started), athlete_id, request.mode, request.trigger, started, request.message_id
    )


def _lease(ctx: SyncContext, report: RunReport) -> Lease:
    ttl = ctx.settings.time_budget_seconds + LEASE_MARGIN_SECONDS
    local = ctx.settings.backend == "local"
    return Lease(ctx.store, report.athlete_id, report.run_id, report.started_at, ttl, local=local)


def _deadline(ctx: SyncContext) -> float:
    return ctx.monotonic() + ctx.settings.time_budget_seconds


def _presence(ctx: SyncContext, athlete_id: int) -> Presence | None:
    """The warehouse's free signal, or None (unknown, or its read failed: not fatal)."""
    if ctx.presence is None:
        return None
    try:
        return ctx.presence()
    except Exception as exc:
        log.warning("athlete %d: warehouse presence unknown: %s", athlete_id, exc)
        return None


def _skipped(report: RunReport, ctx: SyncContext, config: AthleteConfig, state: SyncState) -> bool:
    if config.enabled and not state.needs_reauth:
        return False
    report.outcome = "skipped"
    report.reason = (
        "disabled"
        if not config.enabled
        else "needs re-authorisation: run `nunis-ingest auth` for this athlete"
    )
    report.finished_at = ctx.now()
    return True


def _record_failure(
    ctx: SyncContext, repo: AthleteRepo, report: RunReport, exc: NunisError
) -> None:
    """Best effort: the failure itself is what the caller acts on."""
    report.outcome, report.error, report.finished_at = "failed", exc, ctx.now()
    try:
        update_state(
            repo,
            report.athlete_id,
            lambda state: after_failure(
                state,
                run_id=report.run_id,
                error_class=type(exc).__name__,
                message=str(exc),
                retriable=exc.retriable,
                needs_reauth=bool(getattr(exc, "needs_reauth", False)),
                usage=report.usage_dict(),
            ),
        )
        ctx.warehouse.record_run(report.to_run_row())
    except Exception:
        log.warning("could not record the failed run %s", report.run_id, exc_info=True)


def _record_run(ctx: SyncContext, report: RunReport) -> None:
    """Idle polls leave no row (no load); anything that wrote, stopped or drained does."""
    if report.outcome == "skipped":
        return
    enriched = report.drained is not None and report.drained.enriched
    if report.changed or report.outcome != "success" or report.mode == "all" or enriched:
        ctx.warehouse.record_run(report.to_run_row())
