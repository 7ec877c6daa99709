"""The local worker (embedded default): drain the SQLite queue, apply events, reconcile.

Coalescing: a message is claimed only once it is NUNIS_WEBHOOK_COALESCE_SECONDS old, so a
burst for one activity lands in one claim and costs one fetch; a straggler received
before that fetch started is then skipped by the marks (see ``marks.py``). Failures per
athlete, as ``errors.decide`` says (the one mapping every driver uses): retry -> the
messages come back after a backoff (dead-lettered after 10 attempts); acknowledge ->
logged once and dropped. An unexpected exception (a bug) is retried, never lost.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from nunis_ingest.adapters.queues import Claimed, LocalQueue
from nunis_ingest.core.events import SyncRequest
from nunis_ingest.core.transform import parse_timestamp
from nunis_ingest.core.webhook_event import InvalidEvent, QueuedEvent
from nunis_ingest.drivers.webhook.pull import by_object
from nunis_ingest.errors import BudgetDeferred, NunisError, batch_wide, decide
from nunis_ingest.runtime import Runtime
from nunis_ingest.usecases import budget_planner as planner
from nunis_ingest.usecases.athletes import AthleteRepo
from nunis_ingest.usecases.sync import SyncContext, run_sync
from nunis_ingest.usecases.webhook import reconcile, subscription
from nunis_ingest.usecases.webhook.process import Outcome, process

log = logging.getLogger("nunis_ingest.webhook")

RETRY_DELAY_SECONDS = 5.0
IDLE_SLEEP_SECONDS = 0.05
RECONCILE_TICK_SECONDS = 60.0


class Worker:
    def __init__(
        self,
        runtime: Runtime,
        queue: LocalQueue,
        *,
        context: Callable[[], SyncContext] | None = None,
        on_outcome: Callable[[Outcome, QueuedEvent], None] | None = None,
        reconcile_polls: bool = True,
    ) -> None:
        self.runtime = runtime
        self.queue = queue
        self.context = context or runtime.context
        self.on_outcome = on_outcome
        self.reconcile_polls = reconcile_polls
        self.stop_event = threading.Event()
        self._next_reconcile = 0.0

    def run_once(self) -> int:
        """Process what is ready; return how many messages were handled."""
        coalesce = self.runtime.settings.webhook_coalesce_seconds
        claimed = self.queue.claim(limit=500, min_age=coalesce)
        by_athlete: dict[int, list[tuple[Claimed, QueuedEvent]]] = {}
        for message in claimed:
            try:
                item = QueuedEvent.from_bytes(message.body)
            except InvalidEvent as exc:
                log.error("dropped an unreadable queued event %d: %s", message.id, exc)
                self.queue.ack([message.id])
                continue
            by_athlete.setdefault(item.event.owner_id, []).append((message, item))
        for pairs in by_athlete.values():
            self._apply(pairs)
        return len(claimed)

    def _apply(self, pairs: list[tuple[Claimed, QueuedEvent]]) -> None:
        ids = [m.id for m, _ in pairs]
        try:
            outcomes = process([item for _, item in pairs], self.context())
        except Exception as exc:  # one decision for every driver: errors.decide
            groups = by_object(pairs)
            if len(groups) > 1 and not batch_wide(exc):  # maybe one poison event: isolate it
                for group in groups:
                    self._apply(group)
                return
            decision = decide(exc)
            if not isinstance(exc, NunisError):  # a bug: keep the worker alive, show it
                log.exception("event processing failed")
            if decision.retry:
                log.warning("will retry %d event(s): %s", len(pairs), decision.message)
                for message, _ in pairs:
                    delay = RETRY_DELAY_SECONDS * message.attempts
                    if isinstance(exc, BudgetDeferred) and exc.until is not None:
                        # wait for the read budget's reset: one attempt per deferral
                        delay = min(max(delay, exc.until - self.queue.clock()), 86400.0)
                    self.queue.retry(message, delay, decision.message)
                return
            log.error(
                "dropped %d event(s) without retry (%s): %s",
                len(pairs),
                decision.kind,
                decision.message,
            )
        else:
            if self.on_outcome is not None:
                for outcome in outcomes:
                    for _, item in pairs:
                        if item.event.object_id in (outcome.activity_id, outcome.athlete_id):
                            self.on_outcome(outcome, item)
        self.queue.ack(ids)

    def reconcile_once(self, now: float | None = None) -> dict[int, str]:
        """Run the slow reconcile polls that are due; return athlete -> mode run.

        A weekly ``all`` as ``reconcile.due`` says; a ``new`` when the scheduler picks the
        athlete (within the shared read budget, spread over the day, sooner after signs
        of missed updates)."""
        settings = self.runtime.settings
        store = self.runtime.store
        if subscription.live_id(store, settings.webhook_subscription_id) is None:
            return {}
        now = time.time() if now is None else now
        repo = AthleteRepo(store)
        ran: dict[int, str] = {}
        ids = repo.list_ids()
        # the scheduler (budget/schedule.py) says who is due a `new` reconciliation
        scheduled = set(planner.choose(store, settings, self.runtime.budget, ids, now))
        for athlete_id in ids:
            try:
                config = repo.load_config(athlete_id)
                state, _ = repo.load_state(athlete_id)
                if not config.enabled or state.needs_reauth:
                    continue
                last = parse_timestamp(state.last_success_at)
                runs = self.runtime.warehouse.fetch_runs(athlete_id, limit=50)
                mode = reconcile.due(now, last, reconcile.last_all_success(runs), settings)
                if mode != "all":
                    mode = "new" if athlete_id in scheduled else None
                if mode is None:
                    continue
                request = SyncRequest(athlete_id=athlete_id, mode=mode, trigger="reconcile")
                report = run_sync(request, self.context())
                log.info("reconcile: %s", report.summary())
                ran[athlete_id] = mode
            except NunisError as exc:
                log.warning("reconcile of athlete %d failed: %s", athlete_id, exc)
        return ran

    def run(self) -> None:
        """Loop until ``stop_event`` is set."""
        while not self.stop_event.is_set():
            try:
                if self.reconcile_polls and time.monotonic() >= self._next_reconcile:
                    self._next_reconcile = time.monotonic() + RECONCILE_TICK_SECONDS
                    self.reconcile_once()
                if self.run_once() == 0:
                    self.stop_event.wait(IDLE_SLEEP_SECONDS)
            except Exception:
                log.exception("webhook worker iteration failed; continuing")
                self.stop_event.wait(1.0)
