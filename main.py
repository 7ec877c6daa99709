"""Cloud Function targets. Decode the event, run the use case, map the outcome.

Raising = Pub/Sub redelivers (transient faults only); returning = acknowledge. Every
permanent failure is logged once with what happened and what to do, then acknowledged,
so a poison message can never loop.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

import functions_framework

from nunis_ingest.core import events
from nunis_ingest.core.enrolment import Enrolment
from nunis_ingest.core.webhook_event import QueuedEvent
from nunis_ingest.errors import decide
from nunis_ingest.runtime import get_runtime
from nunis_ingest.usecases import budget_planner as planner
from nunis_ingest.usecases.athletes import AthleteRepo
from nunis_ingest.usecases.fanout import fan_out, tick_kind
from nunis_ingest.usecases.sync import run_sync

log = logging.getLogger("nunis_ingest.main")


@functions_framework.cloud_event  # type: ignore[untyped-decorator]
def ingest(cloud_event: Any) -> None:
    fields: dict[str, Any] = {"event_id": cloud_event["id"]}
    try:
        runtime = get_runtime()
        request = events.parse_message(cloud_event.data)
        if isinstance(request, QueuedEvent):  # a Strava webhook event, not a poll
            from nunis_ingest.usecases.webhook.process import process

            fields |= {"athlete_id": request.event.owner_id, "kind": "webhook_event"}
            process([request], runtime.context())
            return
        if isinstance(request, Enrolment):  # the onboarding page's hand-over
            from nunis_ingest.usecases.onboard.enroll import apply_and_load

            fields |= {"athlete_id": request.athlete_id, "kind": "enroll", "mode": "all"}
            loaded = apply_and_load(runtime.context(), request)
            if loaded is not None:
                log.info(loaded.summary(), extra={"json_fields": fields | loaded.log_fields()})
            return
        fields |= {
            "athlete_id": request.athlete_id,
            "mode": request.mode,
            "message_id": request.message_id,
        }
        now = datetime.fromtimestamp(time.time(), UTC)
        if events.is_stale(request, now, runtime.settings.max_message_age_seconds):
            log.warning(
                "dropped a stale message (older than NUNIS_MAX_MESSAGE_AGE_SECONDS)",
                extra={"json_fields": fields},
            )
            return
        # one job for every athlete; the publisher is built only for that fan-out
        if request.athlete_id is None and (publisher := runtime.ingest_publisher) is not None:
            choose = planner.chooser(runtime.context(), request.mode, request.force, time.time)
            kind = tick_kind(runtime.store, runtime.settings.webhook_subscription_id)
            ids = fan_out(request, AthleteRepo(runtime.store), publisher, choose, kind=kind)
            log.info("fanned out to %d athletes", len(ids), extra={"json_fields": fields})
            return
        report = run_sync(request, runtime.context())
        log.info(report.summary(), extra={"json_fields": fields | report.log_fields()})
    except Exception as exc:  # one mapping for every driver: errors.decide
        decision = decide(exc, mode=fields.get("mode"))
        fields |= {
            "athlete_id": decision.athlete_id or fields.get("athlete_id"),
            "error_class": decision.error_class,
            "retriable": decision.retry,
        }
        if decision.retry:
            log.warning("will retry: %s", decision.message, extra={"json_fields": fields})
            raise
        if decision.expected:  # e.g. a `new` poll meeting a held lease: covered, not failed
            log.info("acknowledged: %s", decision.message, extra={"json_fields": fields})
            return
        log.error("acknowledged without retry: %s", decision.message, extra={"json_fields": fields})


@functions_framework.http  # type: ignore[untyped-decorator]
def webhook(request: Any) -> Any:
    """Strava push subscription callback: handshake (GET) and events (POST), enqueue only."""
    from nunis_ingest.drivers.webhook.http import handle

    return handle(request, get_runtime)


@functions_framework.http  # type: ignore[untyped-decorator]
def onboard(request: Any) -> Any:
    """Web onboarding: the Connect page, Strava's OAuth callback and the confirmation."""
    from nunis_ingest.drivers.onboard.http import handle

    return handle(request, get_runtime)


@functions_framework.http  # type: ignore[untyped-decorator]
def drain_events(request: Any) -> Any:
    """Cloud Scheduler, every minute (a POST): webhook events from the pull subscription,
    batched. Anything but a POST drains nothing."""
    if request.method != "POST":
        return {"error": "drain_events answers Cloud Scheduler's POST only"}, 405
    from nunis_ingest.drivers.webhook.pull import run

    return run(get_runtime())
