"""Pure: one Strava webhook event, validated, and its queue message form.

Strava's event: ``{object_type, object_id, aspect_type, updates, owner_id,
subscription_id, event_time}``. Payloads are unsigned, so nothing here is trusted beyond
its shape: processing re-fetches the activity with the owner's own token.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

INT64_MAX = 2**63 - 1
OBJECT_TYPES = frozenset({"activity", "athlete"})
ASPECTS = frozenset({"create", "update", "delete"})
MAX_UPDATES = 20
MAX_TEXT = 512


class InvalidEvent(ValueError):
    """The body is not a Strava event (wrong or missing fields); the text says which."""


@dataclass(frozen=True)
class StravaEvent:
    object_type: str
    object_id: int
    aspect_type: str
    owner_id: int
    subscription_id: int
    event_time: int
    updates: dict[str, str] = field(default_factory=dict)

    @property
    def is_deauthorization(self) -> bool:
        return (
            self.object_type == "athlete"
            and self.aspect_type == "update"
            and self.updates.get("authorized") == "false"
        )

    @property
    def actionable(self) -> bool:
        """Activity events of a known aspect, and deauthorizations; the rest is ignored."""
        known = self.object_type in OBJECT_TYPES and self.aspect_type in ASPECTS
        return known and (self.object_type == "activity" or self.is_deauthorization)

    def to_json(self) -> dict[str, Any]:
        return {
            "object_type": self.object_type,
            "object_id": self.object_id,
            "aspect_type": self.aspect_type,
            "owner_id": self.owner_id,
            "subscription_id": self.subscription_id,
            "event_time": self.event_time,
            "updates": dict(self.updates),
        }


@dataclass(frozen=True)
class QueuedEvent:
    """What the receiver enqueues: the event and when we received it (our clock)."""

    event: StravaEvent
    received_at: float

    def to_bytes(self) -> bytes:
        doc = {"webhook_event": self.event.to_json(), "received_at": self.received_at}
        return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, doc: object) -> QueuedEvent:
        if not isinstance(doc, dict) or set(doc) != {"webhook_event", "received_at"}:
            raise InvalidEvent('expected {"webhook_event": {...}, "received_at": <epoch>}')
        received = doc["received_at"]
        if isinstance(received, bool) or not isinstance(received, int | float):
            raise InvalidEvent("received_at must be a number")
        return cls(parse_event(doc["webhook_event"]), float(received))

    @classmethod
    def from_bytes(cls, data: bytes) -> QueuedEvent:
        try:
            doc = json.loads(data)
        except (ValueError, RecursionError):
            raise InvalidEvent("queued event is not JSON") from None
        return cls.from_json(doc)


def _int(doc: dict[str, Any], key: str, *, positive: bool = True) -> int:
    value = doc.get(key)
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidEvent(f"{key!r} must be an integer")
    if not (1 if positive else 0) <= value <= INT64_MAX:
        raise InvalidEvent(f"{key!r} is out of range")
    return value


def _text(doc: dict[str, Any], key: str) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or not value or len(value) > 40:
        raise InvalidEvent(f"{key!r} must be a short string")
    return value


def parse_event(doc: object) -> StravaEvent:
    """Validate a decoded JSON body. Unknown ``object_type``/``aspect_type`` values are
    accepted (Strava may add some) and reported as not ``actionable``."""
    if not isinstance(doc, dict):
        raise InvalidEvent("the body must be a JSON object")
    updates = doc.get("updates", {})
    if updates is None:
        updates = {}
    if not isinstance(updates, dict) or len(updates) > MAX_UPDATES:
        raise InvalidEvent("'updates' must be an object of at most 20 entries")
    clean: dict[str, str] = {}
    for key, value in updates.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        if not isinstance(value, str | int | float) or len(str(value)) > MAX_TEXT:
            raise InvalidEvent("'updates' values must be short strings")
        clean[str(key)[:64]] = str(value)
    return StravaEvent(
        object_type=_text(doc, "object_type"),
        object_id=_int(doc, "object_id"),
        aspect_type=_text(doc, "aspect_type"),
        owner_id=_int(doc, "owner_id"),
        subscription_id=_int(doc, "subscription_id"),
        event_time=_int(doc, "event_time", positive=False),
        updates=clean,
    )
