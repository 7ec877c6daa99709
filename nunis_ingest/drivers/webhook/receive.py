"""Pure: a handshake or event request -> what to answer, what to log, what to enqueue.

No Strava, no warehouse, no store: the caller passes our verify token and a lookup of
our subscription id. First of all, when a path secret is configured
(NUNIS_WEBHOOK_PATH_SECRET), a request whose path is not exactly ``/<secret>`` is
answered 404 before anything else is looked at: the public URL alone reaches nothing.
Decisions per case (Strava retries anything but a 2xx, three
attempts in all, so a 4xx only makes sense where a retry is not Strava's):

- handshake, verify token matches -> 200 ``{"hub.challenge": ...}``
- handshake, token wrong or none configured -> 403 (a subscribe attempt by someone else)
- handshake, missing/oversized challenge or mode other than ``subscribe`` -> 400
- body too large -> 413; not JSON, or JSON that is not an event -> 400: Strava never
  sends these, so whoever did gets told, and no retry of ours is lost
- a well-formed event for another subscription -> logged 200, dropped: a stale delivery
  for a deleted subscription must not be retried, and a forger learns nothing
- a well-formed event of a kind we do not act on (athlete update without
  ``authorized: false``, a future object type) -> logged 200, dropped
- our subscription id unknown (not subscribed yet / config lost) -> 503 + error log:
  Strava retries, and the log says how to fix it
- otherwise -> enqueue, then 200 (503 if the queue fails or is too slow: Strava retries
  and duplicates are absorbed by processing)
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nunis_ingest.core.webhook_event import InvalidEvent, QueuedEvent, parse_event

MAX_BODY_BYTES = 4096  # a Strava event is ~250 bytes
MAX_CHALLENGE = 256


@dataclass(frozen=True)
class Decision:
    status: int
    body: dict[str, Any]
    message: str
    level: int = logging.INFO
    event: QueuedEvent | None = None
    fields: dict[str, Any] = field(default_factory=dict)


def path_allowed(path: str, secret: str | None) -> bool:
    """True when no path secret is configured, or ``path`` is exactly ``/<secret>``."""
    if not secret:
        return True
    return hmac.compare_digest(path.strip("/").encode(), secret.encode())


def not_found() -> Decision:
    # The message never says what the path was: it is what a guesser is guessing.
    return Decision(404, {"error": "not found"}, "refused a request for an unknown path")


def handshake(args: Mapping[str, str], verify_token: str | None) -> Decision:
    mode = args.get("hub.mode")
    challenge = args.get("hub.challenge")
    offered = args.get("hub.verify_token")
    if mode != "subscribe" or not challenge or len(challenge) > MAX_CHALLENGE:
        return Decision(
            400,
            {"error": "expected hub.mode=subscribe and a hub.challenge"},
            "refused a malformed subscription handshake",
            logging.WARNING,
        )
    if not verify_token:
        return Decision(
            403,
            {"error": "forbidden"},
            "refused a subscription handshake: NUNIS_WEBHOOK_VERIFY_TOKEN is not set",
            logging.ERROR,
        )
    if offered is None or not hmac.compare_digest(offered.encode(), verify_token.encode()):
        return Decision(
            403,
            {"error": "forbidden"},
            "refused a subscription handshake with a wrong hub.verify_token",
            logging.WARNING,
        )
    return Decision(200, {"hub.challenge": challenge}, "answered the subscription handshake")


def too_large() -> Decision:
    return Decision(413, {"error": "too large"}, "refused an oversized event", logging.WARNING)


def event(body: bytes, our_subscription: Callable[[int], int | None], now: float) -> Decision:
    """``our_subscription(seen_id)`` returns our id (it may refresh a cache on mismatch)."""
    if len(body) > MAX_BODY_BYTES:
        return too_large()
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        return Decision(400, {"error": "not JSON"}, "refused a non-JSON event", logging.WARNING)
    try:
        parsed = parse_event(doc)
    except InvalidEvent as exc:
        return Decision(
            400, {"error": str(exc)}, f"refused a malformed event: {exc}", logging.WARNING
        )
    fields = {
        "object_type": parsed.object_type,
        "aspect_type": parsed.aspect_type,
        "object_id": parsed.object_id,
        "athlete_id": parsed.owner_id,
        "subscription_id": parsed.subscription_id,
    }
    ours = our_subscription(parsed.subscription_id)
    if ours is None:
        return Decision(
            503,
            {"error": "not ready"},
            "cannot check an event's subscription_id: ours is unknown. Fix: run "
            "`nunis-ingest webhook subscribe` or set NUNIS_WEBHOOK_SUBSCRIPTION_ID",
            logging.ERROR,
            fields=fields,
        )
    if parsed.subscription_id != ours:
        return Decision(
            200,
            {"status": "ignored"},
            f"ignored an event for subscription {parsed.subscription_id} (ours is {ours})",
            logging.WARNING,
            fields=fields,
        )
    if not parsed.actionable:
        return Decision(
            200, {"status": "ignored"}, "ignored an event we do not act on", fields=fields
        )
    return Decision(
        200,
        {"status": "queued"},
        "queued an event",
        event=QueuedEvent(parsed, now),
        fields=fields,
    )
