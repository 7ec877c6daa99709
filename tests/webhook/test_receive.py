"""Unit tests of the request-path decisions (no Strava, no warehouse, no store)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from nunis_ingest.settings import Settings
from nunis_ingest.webhook import receive, reconcile
from nunis_ingest.webhook.model import QueuedEvent

OURS = 4242
EVENT = {
    "aspect_type": "create",
    "event_time": 1_700_000_000,
    "object_id": 2_150_000_000,
    "object_type": "activity",
    "owner_id": 1000000,
    "subscription_id": OURS,
    "updates": {},
}


def decide(doc: object, ours: int | None = OURS) -> receive.Decision:
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return receive.event(body, lambda seen: ours, 123.0)


def test_handshake() -> None:
    args = {"hub.mode": "subscribe", "hub.challenge": "c1", "hub.verify_token": "t"}
    assert receive.handshake(args, "t").body == {"hub.challenge": "c1"}
    assert receive.handshake(args, "other").status == 403
    assert receive.handshake(args, None).status == 403
    assert (
        receive.handshake({k: v for k, v in args.items() if k != "hub.verify_token"}, "t").status
        == 403
    )
    assert receive.handshake(args | {"hub.mode": "unsubscribe"}, "t").status == 400
    assert receive.handshake(args | {"hub.challenge": "x" * 300}, "t").status == 400


def test_valid_event_is_queued_with_receipt_time() -> None:
    decision = decide(EVENT)
    assert decision.status == 200
    assert decision.event is not None
    assert decision.event.received_at == 123.0
    assert QueuedEvent.from_bytes(decision.event.to_bytes()) == decision.event


@pytest.mark.parametrize(
    ("doc", "status"),
    [
        (b"not json", 400),
        (b"x" * 5000, 413),
        ([1, 2], 400),
        ({k: v for k, v in EVENT.items() if k != "owner_id"}, 400),
        (EVENT | {"object_id": True}, 400),
        (EVENT | {"object_id": -5}, 400),
        (EVENT | {"updates": "nope"}, 400),
    ],
)
def test_malformed_events_get_a_4xx(doc: object, status: int) -> None:
    decision = decide(doc)
    assert decision.status == status
    assert decision.event is None


def test_foreign_unknown_kind_and_unknown_subscription() -> None:
    foreign = decide(EVENT | {"subscription_id": OURS + 1})
    assert (foreign.status, foreign.event) == (200, None)
    athlete = decide(EVENT | {"object_type": "athlete", "aspect_type": "update"})
    assert (athlete.status, athlete.event) == (200, None)
    future = decide(EVENT | {"object_type": "route"})
    assert (future.status, future.event) == (200, None)
    deauth = decide(
        EVENT
        | {
            "object_type": "athlete",
            "aspect_type": "update",
            "object_id": 1000000,
            "updates": {"authorized": "false"},
        }
    )
    assert deauth.event is not None
    assert deauth.event.event.is_deauthorization
    assert decide(EVENT, ours=None).status == 503


def test_reconcile_rule() -> None:
    settings = Settings()
    now = datetime(2026, 1, 10, tzinfo=UTC)
    t = now.timestamp()
    assert reconcile.due(t, None, None, settings) == "all"
    assert reconcile.due(t, now - timedelta(hours=2), now - timedelta(days=2), settings) is None
    assert reconcile.due(t, now - timedelta(hours=25), now - timedelta(days=2), settings) == "new"
    assert reconcile.due(t, now, now - timedelta(days=8), settings) == "all"
    runs = [
        {"mode": "all", "outcome": "success", "finished_at": "2026-01-03T00:00:00+00:00"},
        {"mode": "all", "outcome": "failed", "finished_at": "2026-01-09T00:00:00+00:00"},
        {"mode": "new", "outcome": "success", "finished_at": "2026-01-09T00:00:00+00:00"},
    ]
    assert reconcile.last_all_success(runs) == datetime(2026, 1, 3, tzinfo=UTC)
