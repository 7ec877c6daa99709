"""The ingest function's three kinds of Pub/Sub message, one function each, and the one
answer to a failure (``errors.decide``): raise to be redelivered, return to acknowledge.

- a poll (``SyncRequest``): one athlete's run, or the scheduler's tick fanned out to
  every athlete the read budget lets through;
- a Strava webhook event (``QueuedEvent``) published by the webhook receiver;
- an enrolment (``Enrolment``) published by the onboarding page.

``fields`` is the structured-log context of the message (``json_fields``): each handler
adds the athlete, mode and kind it learns, so the failure line names them too.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from nunis_ingest.core import events
from nunis_ingest.core.enrolment import Enrolment
from nunis_ingest.core.events import SyncRequest
from nunis_ingest.core.webhook_event import QueuedEvent
from nunis_ingest.errors import decide
from nunis_ingest.runtime import Runtime
from nunis_ingest.usecases import budget_planner as planner
from nunis_ingest.usecases.athletes import AthleteRepo
from nunis_ingest.usecases.fanout import fan_out, tick_kind
from nunis_ingest.usecases.sync import run_sync

log = logging.getLogger("nunis_ingest.main")
Fields = dict[str, Any]


def webhook_event(rt: Runtime, queued: QueuedEvent, fields: Fields) -> None:
    from nunis_ingest.usecases.webhook.process import process

    fields |= {"athlete_id": queued.event.owner_id, "kind": "webhook_event"}
    process([queued], rt.context())


def enrolment(rt: Runtime, enrolled: Enrolment, fields: Fields) -> None:
    from nunis_ingest.usecases.onboard.enroll import apply_and_load

    fields |= {"athlete_id": enrolled.athlete_id, "kind": "enroll", "mode": "all"}
    loaded = apply_and_load(rt.context(), enrolled)
    if loaded is not None:
        log.info(loaded.summary(), extra={"json_fields": fields | loaded.log_fields()})


def poll(rt: Runtime, request: SyncRequest, fields: Fields) -> None:
    fields |= {
        "athlete_id": request.athlete_id,
        "mode": request.mode,
        "message_id": request.message_id,
    }
    now = datetime.fromtimestamp(time.time(), UTC)
    if events.is_stale(request, now, rt.settings.max_message_age_seconds):
        log.warning(
            "dropped a stale message (older than NUNIS_MAX_MESSAGE_AGE_SECONDS)",
            extra={"json_fields": fields},
        )
        return
    # one job for every athlete; the publisher is built only for that fan-out
    if request.athlete_id is None and (publisher := rt.ingest_publisher) is not None:
        choose = planner.chooser(rt.context(), request.mode, request.force, time.time)
        kind = tick_kind(rt.store, rt.settings.webhook_subscription_id)
        ids = fan_out(request, AthleteRepo(rt.store), publisher, choose, kind=kind)
        log.info("fanned out to %d athletes", len(ids), extra={"json_fields": fields})
        return
    report = run_sync(request, rt.context())
    log.info(report.summary(), extra={"json_fields": fields | report.log_fields()})


def failed(exc: Exception, fields: Fields) -> None:
    """Log the failure once; re-raise it when a redelivery can fix it (Pub/Sub retries),
    else return so the message is acknowledged and a poison message cannot loop."""
    decision = decide(exc, mode=fields.get("mode"))
    fields |= {
        "athlete_id": decision.athlete_id or fields.get("athlete_id"),
        "error_class": decision.error_class,
        "retriable": decision.retry,
    }
    if decision.retry:
        log.warning("will retry: %s", decision.message, extra={"json_fields": fields})
        raise exc
    if decision.expected:  # e.g. a `new` poll meeting a held lease: covered, not failed
        log.info("acknowledged: %s", decision.message, extra={"json_fields": fields})
        return
    log.error("acknowledged without retry: %s", decision.message, extra={"json_fields": fields})
