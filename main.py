"""Cloud Function targets. Decode the event, run the use case, map the outcome.

Raising = Pub/Sub redelivers (transient faults only); returning = acknowledge. Every
permanent failure is logged once with what happened and what to do, then acknowledged,
so a poison message can never loop.
"""

from __future__ import annotations

from typing import Any

import functions_framework

from nunis_ingest.core import events
from nunis_ingest.core.enrolment import Enrolment
from nunis_ingest.core.webhook_event import QueuedEvent
from nunis_ingest.drivers import pubsub
from nunis_ingest.runtime import get_runtime


@functions_framework.cloud_event  # type: ignore[untyped-decorator]
def ingest(cloud_event: Any) -> None:
    """Pub/Sub: a poll, a Strava webhook event or an enrolment (``drivers/pubsub.py``)."""
    fields: dict[str, Any] = {"event_id": cloud_event["id"]}
    try:
        rt, request = get_runtime(), events.parse_message(cloud_event.data)
        if isinstance(request, QueuedEvent):
            return pubsub.webhook_event(rt, request, fields)
        if isinstance(request, Enrolment):
            return pubsub.enrolment(rt, request, fields)
        return pubsub.poll(rt, request, fields)
    except Exception as exc:  # one mapping for every driver: errors.decide
        pubsub.failed(exc, fields)


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
