"""The fetch half of one run: the only I/O loop (plan → **fetch** → settle).

It lists (``listing.py``), archives each page raw before anything is derived from it,
stages rows (unchanged ones in ``new`` cost nothing), checks suspected deletions one by
one (``confirm.py``), makes one commit, and hands what it saw to the pure ``settle``;
the run record and ``state.json`` are both built from the settlement.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from nunis_ingest.context import SyncContext
from nunis_ingest.core import enrichment as eq
from nunis_ingest.core import state as st
from nunis_ingest.core.events import SyncRequest
from nunis_ingest.core.guard import check_delete_share
from nunis_ingest.core.keys import archive_activity_key, archive_page_key
from nunis_ingest.core.plan import CONFIRMATIONS_PER_RUN, Plan, make_plan
from nunis_ingest.core.ratelimit import RateLimitUsage
from nunis_ingest.core.representation import summary_of
from nunis_ingest.core.settle import Fetched, Settlement, missing_from_listing, settle
from nunis_ingest.core.stops import Stop, budget_stop
from nunis_ingest.core.transform import InvalidActivity, content_hash, start_epoch
from nunis_ingest.core.transform import activity_id as valid_activity_id
from nunis_ingest.errors import BudgetDeferred, RetriableError, StravaRateLimited, TokenMismatch
from nunis_ingest.ports import Listed, Presence, StagedBatch, WriteResult
from nunis_ingest.usecases.athlete_api import AthleteApi
from nunis_ingest.usecases.athletes import AthleteConfig, AthleteRepo
from nunis_ingest.usecases.bulk_export.twins import drop_file_twins
from nunis_ingest.usecases.confirm import Confirmation, confirm_deletions
from nunis_ingest.usecases.drain import Enrichment, drain_queue, queue_for_run
from nunis_ingest.usecases.listing import Listing
from nunis_ingest.usecases.run_report import RunReport
from nunis_ingest.usecases.tokens import scope_warning
from nunis_ingest.usecases.tombstones import record_deletions

log = logging.getLogger("nunis_ingest.sync")


@dataclass
class Run:
    """The fetch half of one run: list, archive, stage, confirm, commit; then settle."""

    ctx: SyncContext
    repo: AthleteRepo
    request: SyncRequest
    report: RunReport
    state: st.SyncState
    generation: int
    config: AthleteConfig

    def execute(self, plan: Plan, presence: Presence | None = None) -> None:
        ctx, report = self.ctx, self.report
        deadline = ctx.monotonic() + ctx.settings.time_budget_seconds
        kind = "reconcile" if self.request.trigger == "reconcile" else "poll"
        self.api = AthleteApi(ctx, report.athlete_id, deadline=deadline - 30, kind=kind)
        self.deadline = deadline
        counted = None
        if plan.verify:  # cheap: one count, when due (plan.verify_due)
            if presence is not None and presence.missing:
                ctx.warehouse.ensure_schema()  # the tables are gone: re-create, then heal
            counted = ctx.warehouse.count_activities(report.athlete_id)
            if self.state.rows is not None and counted < self.state.rows:
                log.warning(
                    "athlete %d: the warehouse holds %d rows, the state expects %d; "
                    "healing with a full refresh",
                    report.athlete_id,
                    counted,
                    self.state.rows,
                )
                plan = make_plan(
                    athlete_id=plan.athlete_id,
                    run_id=plan.run_id,
                    now=plan.started_at,
                    requested="all",
                    state=self.state,
                    lookback_days=plan.lookback // 86400,
                    heal=True,
                )
        report.mode = plan.mode
        self.plan = plan
        fetched = Fetched(plan.lookback)
        listing = Listing(plan, self.api, ctx.store, self._proceed)
        listing.warnings = report.warnings  # a damaged archived page is shown to people
        self.batch: StagedBatch | None = None  # opened on the first row: idle polls never do
        stop, failure, detail = None, None, ""
        try:
            for page in listing:
                self._page(page.fetched, page.body, page.items, fetched)
            stop = listing.stop
        except BudgetDeferred as exc:  # the shared ledger said wait: no request was made
            stop, detail = Stop.BUDGET_DEFERRED, str(exc)[:200]
        except StravaRateLimited as exc:
            stop, detail = Stop.RATE_LIMITED, str(exc)[:200]
        except RetriableError as exc:  # 5xx, timeouts, garbled pages that outlasted retries
            stop, failure, detail = Stop.STRAVA_FAILING, exc, str(exc)[:200]
        token = self.api.token
        if token is not None and (warning := scope_warning(token, report.athlete_id)):
            log.warning(warning)
            report.warnings.append(warning)
        complete = listing.complete and failure is None and stop is None
        enriched = None
        if plan.full and not complete:
            # An unfinished full refresh commits nothing: the next run replays its archived
            # pages and goes on, so readers only ever see whole refreshes.
            confirmation, result = Confirmation(), WriteResult()
            if self.batch is not None:
                self.batch.discard()
        else:
            confirmation = self._confirm(fetched, complete=complete)
            result = self._commit(confirmation, fetched)
            if result.inserted:  # Strava's copy of an activity imported from a file
                twins = drop_file_twins(ctx.store, ctx.warehouse, report.athlete_id)
                result = replace(result, deleted=result.deleted + twins)
            enriched = self._enrich(fetched, scan=plan.full and complete)
            report.enrichment = enriched
        if ctx.budget is not None:
            ctx.budget.flush(ctx.now())
        report.requests = self.api.requests_made
        report.usage = self.api.last_usage
        report.pages, report.seen = fetched.pages, fetched.seen
        report.result = replace(result, unchanged=result.unchanged + fetched.filtered)
        settled = settle(
            plan,
            self.state,
            fetched,
            complete=complete,
            stop=stop,
            resume=listing.resume(fetched.archived),
            result=result,
            confirmation=confirmation,
            counted=counted,
            usage=usage_dict(report.usage),
            now=ctx.now(),
            detail=detail,
            failure=type(failure).__name__ if failure is not None else None,
            enrich=None if enriched is None else (enriched.queue, enriched.kinds),
            identity=self._identity() if counted is not None else None,
        )
        self._save(settled)  # the queue, with its stamps, is durable before any detail fetch
        if failure is not None:
            raise failure  # the resume point is saved; the driver retries
        if enriched is not None and stop is None and enriched.queue:
            self._drain(enriched, settled.state)
        if (
            report.changed
            or report.outcome != "success"
            or report.mode == "all"
            or (enriched is not None and enriched.drained.enriched)
        ):
            ctx.warehouse.record_run(report.to_run_row())  # idle polls leave no row: no load

    def _enrich(self, fetched: Fetched, *, scan: bool) -> Enrichment:
        """The queue after this run's listing (no request is made here)."""
        config, state = self.config, self.state
        return queue_for_run(
            self.ctx,
            athlete_id=self.report.athlete_id,
            queue=state.enrich,
            kinds=eq.wanted(config.details, config.streams),
            scanned_kinds=state.enrich_kinds,
            known=state.known,
            staged=fetched.staged,
            scan=scan or self.request.details,
        )

    def _drain(self, enriched: Enrichment, saved: st.SyncState) -> None:
        """Fetch what the saved queue holds, within budget; save the queue that is left."""
        report = self.report
        enriched.drained = drain_queue(
            self.ctx,
            self.api,
            enriched.queue,
            athlete_id=report.athlete_id,
            run_id=report.run_id,
            driven=self.request.details,
            proceed=self._proceed,
            on_progress=self.ctx.on_enrich,
            failures=saved.enrich_failed,
        )
        drained = enriched.drained
        if not (drained.requests or drained.from_archive or drained.rows or drained.suspects):
            return  # paused before its first request (budget): the saved state stands
        report.requests = self.api.requests_made
        report.usage = self.api.last_usage
        suspects = sorted(set(saved.suspects) | set(enriched.drained.suspects))
        usage = usage_dict(report.usage) or saved.last_read_usage
        after = replace(
            saved,
            enrich=enriched.queue,
            enrich_failed=drained.failures,
            suspects=suspects,
            last_read_usage=usage,
        )
        self.generation = self.repo.save_state(report.athlete_id, after, self.generation)

    def _identity(self) -> Presence | None:
        """The warehouse's presence after this run's commit (recorded with a count)."""
        if self.ctx.presence is None:
            return None
        try:
            return self.ctx.presence()
        except Exception as exc:  # a free signal: its failure must not fail the run
            log.warning("athlete %d: warehouse presence unknown: %s", self.report.athlete_id, exc)
            return None

    # --- fetch -----------------------------------------------------------------------

    def _proceed(self) -> Stop | None:
        return budget_stop(
            self.api.last_usage, self.ctx.settings, self.ctx.monotonic(), self.deadline
        )

    def _page(self, fetched_now: bool, body: bytes, items: list[Any], fetched: Fetched) -> None:
        plan, report = self.plan, self.report
        valid: list[tuple[int, dict[str, Any]]] = []
        for activity in items:
            try:
                valid.append((valid_activity_id(activity), activity))
            except InvalidActivity as exc:  # kept in the archive; nothing to load
                log.warning("skipped an item on page %d: %s", fetched.pages + 1, exc)
        _check_owner(report.athlete_id, [a for _, a in valid])
        if fetched_now:  # archived raw before anything is derived from it
            key = archive_page_key(
                report.athlete_id,
                plan.archive_run_id,
                plan.archive_started_at,
                len(plan.replay) + len(fetched.archived) + 1,
            )
            self.ctx.store.put(key, body)
            fetched.archived.append(key)
        fetched.pages += 1
        fetched.seen += len(items)
        staged: list[Listed] = []
        track = self._tracks_staged()
        for activity_id, activity in valid:
            digest, start = content_hash(activity), start_epoch(activity)
            fetched.see(activity_id, digest, start)
            if not plan.full and self.state.known.get(activity_id, ("",))[0] == digest:
                fetched.filtered += 1  # unchanged since we loaded it: no warehouse work
                continue
            if track:
                fetched.stage(activity_id, start, activity)
            staged.append((activity_id, digest, activity))
        if staged:
            self._stage(staged)
        if self.ctx.on_page:
            self.ctx.on_page(fetched.pages, fetched.seen)

    def _tracks_staged(self) -> bool:
        """Whether enrichment decides from the activities staged (it does when details
        or streams are on; otherwise ``Fetched.staged`` would only cost time per row)."""
        return bool(eq.wanted(self.config.details, self.config.streams))

    def _stage(self, items: list[Listed]) -> None:
        """Stage listed activities; the warehouse types them (``to_row``'s values)."""
        report = self.report
        if self.batch is None:
            self.batch = self.ctx.warehouse.stage(report.athlete_id, report.run_id)
        self.batch.add_activities(items, datetime.fromtimestamp(report.started_at, UTC))

    # --- deletions -------------------------------------------------------------------

    def _confirm(self, fetched: Fetched, *, complete: bool) -> Confirmation:
        plan, state = self.plan, self.state
        candidates = set(state.suspects)
        if plan.full and complete:
            stored = self.ctx.warehouse.fetch_activity_hashes(self.report.athlete_id)
            candidates |= missing_from_listing(stored, fetched)
        ordered = sorted(candidates - fetched.seen_ids, reverse=True)
        if not ordered:
            return Confirmation()
        checked = ordered[:CONFIRMATIONS_PER_RUN]
        result = confirm_deletions(
            self.api, checked, self._proceed, stop_on_alive=plan.full and complete
        )
        result.unchecked += ordered[CONFIRMATIONS_PER_RUN:]
        if result.alive:
            self._restore(result.alive, fetched)
        return result

    def _restore(self, alive: list[tuple[int, bytes, dict[str, Any]]], fetched: Fetched) -> None:
        """Load activities the listing missed from their own responses (archived first)."""
        report, plan = self.report, self.plan
        staged: list[Listed] = []
        for activity_id, body, data in alive:
            key = archive_activity_key(
                report.athlete_id, plan.archive_run_id, plan.archive_started_at, activity_id
            )
            self.ctx.store.put(key, body)
            summary = summary_of(data)
            digest = content_hash(summary)
            fetched.see(activity_id, digest, start_epoch(summary))
            fetched.stage(activity_id, start_epoch(summary), summary)
            staged.append((activity_id, digest, summary))
        self._stage(staged)

    def _commit(self, confirmation: Confirmation, fetched: Fetched) -> WriteResult:
        athlete_id = self.report.athlete_id
        result = WriteResult()
        try:
            if self.batch is not None:
                result = self.batch.commit(replace=False)
        finally:
            if self.batch is not None:
                self.batch.discard()
        gone = [i for i in confirmation.gone if i not in fetched.seen_ids]
        if gone:
            if not self.request.force:
                stored = self.state.rows
                if stored is None:
                    stored = self.ctx.warehouse.count_activities(athlete_id)
                check_delete_share(
                    athlete_id, len(gone), stored, self.ctx.settings.max_delete_share
                )
            plan = self.plan
            record_deletions(
                self.ctx.store, athlete_id, plan.run_id, plan.started_at, gone, self.ctx.now()
            )
            deleted = self.ctx.warehouse.delete_activities(athlete_id, gone)
            result = replace(result, deleted=result.deleted + deleted)
        return result

    # --- settle ----------------------------------------------------------------------

    def _save(self, settled: Settlement) -> None:
        report = self.report
        report.finished_at = self.ctx.now()
        report.outcome, report.reason, report.stop = settled.outcome, settled.reason, settled.stop
        self.generation = self.repo.save_state(report.athlete_id, settled.state, self.generation)


def _check_owner(athlete_id: int, items: list[dict[str, Any]]) -> None:
    """Every listed activity must be this athlete's: a token registered under the wrong id
    would otherwise file one athlete's activities under another's."""
    for activity in items:
        owner = (activity.get("athlete") or {}).get("id")
        if isinstance(owner, int) and owner != athlete_id:
            raise TokenMismatch(
                f"The token registered for athlete {athlete_id} lists activities of athlete "
                f"{owner}; nothing was loaded.",
                athlete_id=athlete_id,
                action=f"run `nunis-ingest auth` as athlete {athlete_id}.",
            )


def usage_dict(usage: RateLimitUsage | None) -> dict[str, int] | None:
    if usage is None:
        return None
    return {k: v for k, v in usage.as_dict().items() if v is not None}
