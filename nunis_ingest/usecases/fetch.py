"""The fetch of one run: the only I/O loop of a poll (plan -> **fetch** -> settle).

``fetch`` lists (``listing.py``), archives each page raw before anything is derived from
it, stages rows (unchanged ones in ``new`` cost nothing), checks suspected deletions one
by one (``confirm.py``), makes one commit, and reads what enrichment decides from. It
returns one value, ``core.fetched.Fetched``, and decides nothing: the next state, the
outcome and the enrichment queue are ``core.settle``'s. An unfinished full refresh
commits nothing: the next run replays its archived pages and goes on, so readers only
ever see whole refreshes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from nunis_ingest.context import SyncContext
from nunis_ingest.core import enrichment as eq
from nunis_ingest.core import schema_detail as sd
from nunis_ingest.core.fetched import Confirmation, Fetched, Seen, page_digest
from nunis_ingest.core.guard import check_delete_share
from nunis_ingest.core.keys import archive_activity_key, archive_page_key
from nunis_ingest.core.ownership import check_owner
from nunis_ingest.core.plan import CONFIRMATIONS_PER_RUN, Plan
from nunis_ingest.core.representation import summary_of
from nunis_ingest.core.settle import missing_from_listing
from nunis_ingest.core.state import SyncState
from nunis_ingest.core.stops import Stop
from nunis_ingest.core.transform import InvalidActivity, content_hash, start_epoch
from nunis_ingest.core.transform import activity_id as valid_activity_id
from nunis_ingest.errors import BudgetDeferred, RetriableError, StravaRateLimited
from nunis_ingest.ports import Listed, StagedBatch, WriteResult
from nunis_ingest.usecases.athlete_api import AthleteApi
from nunis_ingest.usecases.bulk_export.twins import drop_file_twins
from nunis_ingest.usecases.confirm import confirm_deletions
from nunis_ingest.usecases.listing import Listing
from nunis_ingest.usecases.tokens import scope_warning
from nunis_ingest.usecases.tombstones import record_deletions

log = logging.getLogger("nunis_ingest.sync")


def fetch(plan: Plan, state: SyncState, ctx: SyncContext, api: AthleteApi) -> Fetched:
    """Everything one run reads from Strava and writes to the archive and the warehouse."""
    run = _Run(plan, state, ctx, api, Fetched(Seen(plan.lookback)))
    out = run.out
    listing = Listing(plan, api, ctx.store, api.proceed)
    listing.warnings = out.warnings  # a damaged archived page is shown to people
    try:
        for page in listing:
            run.page(page.fetched, page.body, page.items)
        out.stop = listing.stop
    except BudgetDeferred as exc:  # the shared ledger said wait: no request was made
        out.stop, out.detail = Stop.BUDGET_DEFERRED, str(exc)[:200]
    except StravaRateLimited as exc:
        out.stop, out.detail = Stop.RATE_LIMITED, str(exc)[:200]
    except RetriableError as exc:  # 5xx, timeouts, garbled pages that outlasted retries
        out.stop, out.failure, out.detail = Stop.STRAVA_FAILING, exc, str(exc)[:200]
    if api.token is not None and (warning := scope_warning(api.token, plan.athlete_id)):
        out.warnings.append(warning)
    out.complete = listing.complete and out.failure is None and out.stop is None
    out.resume = listing.resume(out.seen.archived, out.seen.digests)
    if plan.full and not out.complete:
        run.discard()
    else:
        out.confirmation = run.confirm()
        out.result = run.commit()
        out.fingerprints, out.unenriched = run.enrichment_reads()
    if ctx.budget is not None:
        ctx.budget.flush(ctx.now())
    out.requests, out.usage = api.requests_made, api.last_usage
    if plan.counted is not None:
        out.identity = _presence(ctx, plan.athlete_id)
    return out


@dataclass
class _Run:
    """The I/O steps of one fetch, over one staged batch (opened on the first row)."""

    plan: Plan
    state: SyncState
    ctx: SyncContext
    api: AthleteApi
    out: Fetched
    batch: StagedBatch | None = field(default=None)

    @property
    def seen(self) -> Seen:
        return self.out.seen

    def page(self, fetched_now: bool, body: bytes, items: list[Any]) -> None:
        plan, seen = self.plan, self.seen
        valid: list[tuple[int, dict[str, Any]]] = []
        for activity in items:
            try:
                valid.append((valid_activity_id(activity), activity))
            except InvalidActivity as exc:  # kept in the archive; nothing to load
                log.warning("skipped an item on page %d: %s", seen.pages + 1, exc)
        check_owner(plan.athlete_id, [a for _, a in valid])
        if fetched_now:  # archived raw before anything is derived from it
            number = len(plan.replay) + len(seen.archived) + 1
            key = archive_page_key(
                plan.athlete_id, plan.archive_run_id, plan.archive_started_at, number
            )
            self.ctx.store.put(key, body)
            seen.archived.append(key)
            seen.digests.append(page_digest(body))
        seen.pages += 1
        seen.seen += len(items)
        staged: list[Listed] = []
        for activity_id, activity in valid:
            digest, start = content_hash(activity), start_epoch(activity)
            seen.see(activity_id, digest, start)
            if not plan.full and self.state.known.get(activity_id, ("",))[0] == digest:
                seen.filtered += 1  # unchanged since we loaded it: no warehouse work
                continue
            if plan.kinds:  # enrichment decides from what was written (when it is on)
                seen.stage(activity_id, start, activity)
            staged.append((activity_id, digest, activity))
        if staged:
            self._stage(staged)
        if self.ctx.on_page:
            self.ctx.on_page(seen.pages, seen.seen)

    def _stage(self, items: list[Listed]) -> None:
        """Stage listed activities; the warehouse types them (``to_row``'s values)."""
        plan = self.plan
        if self.batch is None:
            self.batch = self.ctx.warehouse.stage(plan.athlete_id, plan.run_id)
        self.batch.add_activities(items, datetime.fromtimestamp(plan.started_at, UTC))

    def discard(self) -> None:
        if self.batch is not None:
            self.batch.discard()

    # --- deletions -------------------------------------------------------------------

    def confirm(self) -> Confirmation:
        plan, seen = self.plan, self.seen
        candidates = set(self.state.suspects)
        if plan.full and self.out.complete:
            stored = self.ctx.warehouse.fetch_activity_hashes(plan.athlete_id)
            candidates |= missing_from_listing(stored, seen)
        ordered = sorted(candidates - seen.seen_ids, reverse=True)
        if not ordered:
            return Confirmation()
        checked = ordered[:CONFIRMATIONS_PER_RUN]
        full = plan.full and self.out.complete
        result = confirm_deletions(self.api, checked, self.api.proceed, stop_on_alive=full)
        result.unchecked += ordered[CONFIRMATIONS_PER_RUN:]
        if result.alive:
            self._restore(result.alive)
        return result

    def _restore(self, alive: list[tuple[int, bytes, dict[str, Any]]]) -> None:
        """Load activities the listing missed from their own responses (archived first)."""
        plan, seen = self.plan, self.seen
        staged: list[Listed] = []
        for activity_id, body, data in alive:
            key = archive_activity_key(
                plan.athlete_id, plan.archive_run_id, plan.archive_started_at, activity_id
            )
            self.ctx.store.put(key, body)
            summary = summary_of(data)
            digest = content_hash(summary)
            seen.see(activity_id, digest, start_epoch(summary))
            seen.stage(activity_id, start_epoch(summary), summary)
            staged.append((activity_id, digest, summary))
        self._stage(staged)

    def commit(self) -> WriteResult:
        plan, ctx = self.plan, self.ctx
        result = WriteResult()
        try:
            if self.batch is not None:
                result = self.batch.commit(replace=False)
        finally:
            self.discard()
        gone = [i for i in self.out.confirmation.gone if i not in self.seen.seen_ids]
        if gone:
            if not plan.force:
                stored = self.state.rows
                if stored is None:
                    stored = ctx.warehouse.count_activities(plan.athlete_id)
                check_delete_share(
                    plan.athlete_id, len(gone), stored, ctx.settings.max_delete_share
                )
            record_deletions(
                ctx.store, plan.athlete_id, plan.run_id, plan.started_at, gone, ctx.now()
            )
            deleted = ctx.warehouse.delete_activities(plan.athlete_id, gone)
            result = replace(result, deleted=result.deleted + deleted)
        if result.inserted:  # Strava's copy of an activity imported from a file
            twins = drop_file_twins(ctx.store, ctx.warehouse, plan.athlete_id)
            result = replace(result, deleted=result.deleted + twins)
        return replace(result, unchanged=result.unchanged + self.seen.filtered)

    # --- what enrichment decides from --------------------------------------------------

    def enrichment_reads(
        self,
    ) -> tuple[dict[int, str | None] | None, dict[str, list[tuple[int, int | None]]]]:
        """The stored detail fingerprints of what was written (details on), and, when the
        plan scans the history, what has no detail or stream rows yet. No request."""
        plan, ctx = self.plan, self.ctx  # an idle poll opens no warehouse
        fingerprints = None
        if self.seen.staged and eq.DETAIL in plan.kinds:
            fingerprints = ctx.warehouse.fetch_detail_fingerprints(plan.athlete_id)
        unenriched: dict[str, list[tuple[int, int | None]]] = {}
        if plan.scan:
            for kind, table in ((eq.DETAIL, sd.DETAILS.name), (eq.STREAMS, sd.STREAMS.name)):
                if kind in plan.kinds:
                    unenriched[kind] = list(ctx.warehouse.fetch_unenriched(plan.athlete_id, table))
        return fingerprints, unenriched


def _presence(ctx: SyncContext, athlete_id: int) -> Any:
    """The warehouse's presence after this run's commit (recorded with a count)."""
    if ctx.presence is None:
        return None
    try:
        return ctx.presence()
    except Exception as exc:  # a free signal: its failure must not fail the run
        log.warning("athlete %d: warehouse presence unknown: %s", athlete_id, exc)
        return None
