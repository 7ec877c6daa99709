"""Webhook events on GCP, consumed in micro-batches from a PULL subscription.

The ``webhook`` function publishes each Strava event on the events topic; a pull
subscription keeps them. The events function (``main.drain_events``, HTTP, called by Cloud
Scheduler every minute, one instance at a time) drains it: pull up to ``BATCH`` (500)
messages, group them by athlete, apply each athlete's events with ONE ``process`` call,
acknowledge what was applied, and pull again until the subscription is empty or the time
budget (``NUNIS_TIME_BUDGET_SECONDS``) is spent.

Per athlete and batch, ``process`` makes one fetch per activity and then ONE stage/commit
(one load job into a staging table and one MERGE into ``activities``) and ONE
``replace_details`` for the detail tables, however many events the athlete had.

Failures, as ``errors.decide`` says (the mapping every driver uses). One poison event
never holds back its athlete's others: when an athlete's batch fails for a reason that is
not batch-wide (``errors.batch_wide``), its events are applied activity by activity and only the
failing one is retried (and, by the dead-letter policy, dead-lettered). A retriable one
(Strava 5xx or 429, a held lease, a budget deferral, a bug) leaves that athlete's messages
unacknowledged, their deadline set to 0 so the next pull gets them again (the
subscription's dead-letter policy bounds the attempts); the other athletes of the batch
are applied and acknowledged. A permanent one is logged once and acknowledged, and so is
a message that is not a webhook event (it could never succeed). Duplicates and
redeliveries change nothing: the marks skip events already covered by a fetch, and a
re-fetched activity MERGEs onto its own row.

Figures at 1,000 athletes (each uploads ~1 activity a day; Strava then sends a create and
on average ~1.5 updates (title, description, privacy edits) mostly within minutes):

- before (one push per event, ``process([event])``): ~2,500 events a day, each one load
  job and one MERGE on ``activities`` plus one ``replace_details`` (a load and a DML per
  detail table): ~2,500 load jobs and ~2,500 MERGEs a day on ``activities``, over
  BigQuery's 1,500 load jobs per table per day;
- batched: one load job and one MERGE per athlete with events in a batch. With a
  one-minute schedule at most 1,440 batches a day; the events of one upload (create and
  the edits that follow within the minute) share a batch, so ~1,000 to 1,500 loads a day
  at 1,000 athletes (bounded by athletes x batches they appear in, never by events),
  and ~0.4 to 0.6 per event: 500 events of 500 athletes in one batch are 500 loads, 500
  events of 5 athletes are 5.
Latency from Strava's POST to the warehouse: at most one schedule interval (60 s) plus the
batch's fetch and commit (a few seconds), ~35 s on average.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from nunis_ingest.context import SyncContext
from nunis_ingest.core.webhook_event import InvalidEvent, QueuedEvent
from nunis_ingest.errors import batch_wide, decide
from nunis_ingest.runtime import Runtime
from nunis_ingest.usecases.webhook.process import Outcome, process

log = logging.getLogger("nunis_ingest.webhook")

BATCH = 500
PULL_TIMEOUT_SECONDS = 10.0
MARGIN_SECONDS = 60.0  # stop pulling this long before the budget ends: a batch must finish


@dataclass
class DrainReport:
    batches: int = 0
    athlete_batches: int = 0  # process() calls: one commit (load + MERGE) each at most
    applied: int = 0  # messages acknowledged after their athlete's events were applied
    retried: int = 0  # messages left for redelivery
    dropped: int = 0  # messages acknowledged without effect (unreadable, permanent failure)
    outcomes: list[Outcome] = field(default_factory=list)

    def log_fields(self) -> dict[str, int]:
        return {
            "batches": self.batches,
            "athlete_batches": self.athlete_batches,
            "applied": self.applied,
            "retried": self.retried,
            "dropped": self.dropped,
        }


class EventSubscription:
    """The events pull subscription, through the official ``google-cloud-pubsub`` client."""

    def __init__(self, project: str, subscription: str, client: Any = None) -> None:
        if client is None:
            from google.cloud import pubsub_v1

            client = pubsub_v1.SubscriberClient()
        self.client: Any = client
        self.path = str(client.subscription_path(project, subscription))

    def pull(self, limit: int) -> list[tuple[str, bytes]]:
        """Up to ``limit`` messages as (ack id, data); [] when none came in time."""
        from google.api_core import exceptions

        try:
            answer = self.client.pull(
                request={"subscription": self.path, "max_messages": limit},
                timeout=PULL_TIMEOUT_SECONDS,
            )
        except exceptions.DeadlineExceeded:
            return []
        return [(m.ack_id, bytes(m.message.data)) for m in answer.received_messages]

    def ack(self, ack_ids: list[str]) -> None:
        for start in range(0, len(ack_ids), 1000):  # the API takes up to 2,500 ids
            chunk = ack_ids[start : start + 1000]
            self.client.acknowledge(request={"subscription": self.path, "ack_ids": chunk})

    def release(self, ack_ids: list[str]) -> None:
        """Give the messages back now (ack deadline 0): the next pull redelivers them."""
        for start in range(0, len(ack_ids), 1000):
            self.client.modify_ack_deadline(
                request={
                    "subscription": self.path,
                    "ack_ids": ack_ids[start : start + 1000],
                    "ack_deadline_seconds": 0,
                }
            )


def drain(
    subscription: EventSubscription,
    context: Callable[[], SyncContext],
    budget_seconds: float,
    clock: Callable[[], float] = time.monotonic,
    batch: int = BATCH,
) -> DrainReport:
    """Pull and apply batches until the subscription is empty or the budget is spent."""
    report = DrainReport()
    deadline = clock() + max(budget_seconds - MARGIN_SECONDS, 1.0)
    retry: list[str] = []  # still leased while we pull on, so never pulled twice here
    try:
        while clock() < deadline:
            messages = subscription.pull(batch)
            if not messages:
                break
            report.batches += 1
            apply_batch(subscription, messages, context, report, retry)
    finally:
        if retry:  # redelivered to the next pull (the next run), not spun on in this one
            subscription.release(retry)
    return report


def apply_batch(
    subscription: EventSubscription,
    messages: list[tuple[str, bytes]],
    context: Callable[[], SyncContext],
    report: DrainReport,
    retry: list[str],
) -> None:
    """One batch: group by athlete, one ``process`` per athlete, ack what was applied."""
    by_athlete: dict[int, list[tuple[str, QueuedEvent]]] = {}
    unreadable: list[str] = []
    for ack_id, data in messages:
        try:
            item = QueuedEvent.from_bytes(data)
        except InvalidEvent as exc:
            log.error("dropped an unreadable event message: %s", exc)
            unreadable.append(ack_id)
            continue
        by_athlete.setdefault(item.event.owner_id, []).append((ack_id, item))
    subscription.ack(unreadable)
    report.dropped += len(unreadable)
    for athlete_id, pairs in by_athlete.items():
        _apply_athlete(subscription, athlete_id, pairs, context, report, retry)


def _apply_athlete(
    subscription: EventSubscription,
    athlete_id: int,
    pairs: list[tuple[str, QueuedEvent]],
    context: Callable[[], SyncContext],
    report: DrainReport,
    retry: list[str],
) -> None:
    """One athlete's events with one ``process`` call; if that fails for a reason that is
    not batch-wide (``errors.batch_wide``), the events of each activity again on their own
    (``by_object``), so one poison event never holds back (nor dead-letters) the athlete's
    good ones."""
    ids = [ack_id for ack_id, _ in pairs]
    fields: dict[str, object] = {"athlete_id": athlete_id, "events": len(pairs)}
    report.athlete_batches += 1
    try:
        report.outcomes += process([item for _, item in pairs], context())
    except Exception as exc:  # one decision for every driver: errors.decide
        groups = by_object(pairs)
        if len(groups) > 1 and not batch_wide(exc):
            log.warning(
                "%d event(s) of athlete %d failed together (%s); applying them object by object",
                len(pairs),
                athlete_id,
                type(exc).__name__,
            )
            for group in groups:
                _apply_athlete(subscription, athlete_id, group, context, report, retry)
            return
        decision = decide(exc)
        fields |= {"error_class": decision.error_class, "retriable": decision.retry}
        if decision.retry:
            log.warning(
                "will retry %d event(s): %s",
                len(pairs),
                decision.message,
                extra={"json_fields": fields},
            )
            retry += ids
            report.retried += len(ids)
            return
        log.error(
            "dropped %d event(s) without retry: %s",
            len(pairs),
            decision.message,
            extra={"json_fields": fields},
        )
        report.dropped += len(ids)
    else:
        report.applied += len(ids)
    subscription.ack(ids)


T = TypeVar("T")


def by_object(pairs: list[tuple[T, QueuedEvent]]) -> list[list[tuple[T, QueuedEvent]]]:
    """The pairs grouped by the object their event is about (one activity's events share
    one fetch, so they share its fate), in first-seen order."""
    groups: dict[tuple[str, int], list[tuple[T, QueuedEvent]]] = {}
    for pair in pairs:
        event = pair[1].event
        groups.setdefault((event.object_type, event.object_id), []).append(pair)
    return list(groups.values())


def run(runtime: Runtime) -> tuple[dict[str, Any], int]:
    """``main.drain_events``: drain the subscription named by NUNIS_EVENTS_SUBSCRIPTION; the
    answer (JSON, status) shows in Cloud Scheduler's log. Unapplied messages stay queued."""
    settings = runtime.settings
    if not settings.events_subscription:
        message = "NUNIS_EVENTS_SUBSCRIPTION is not set: set it to the events pull subscription"
        log.error(message)
        return {"error": message}, 500
    project = settings.project
    if not project:
        import google.auth

        project = google.auth.default()[1]
    subscription = EventSubscription(str(project), settings.events_subscription)
    report = drain(subscription, runtime.context, settings.time_budget_seconds)
    log.info(
        "events: %d applied, %d to retry, %d dropped in %d batch(es)",
        report.applied,
        report.retried,
        report.dropped,
        report.batches,
        extra={"json_fields": report.log_fields() | {"kind": "webhook_events"}},
    )
    return report.log_fields(), 200
