"""Pure-ish: per-athlete webhook bookkeeping in ``athletes/<id>/webhook.json``.

- ``deleted``: activity id -> the Strava ``event_time`` of the delete we applied
  (tombstones). Rule: a create/update whose event_time is <= the tombstone is dropped
  without a fetch; a later one is fetched and Strava settles it (404 -> stays deleted).
  Event times come from unsigned payloads: a tombstone is never later than the moment
  Strava confirmed the deletion (``record_delete``'s ``now``), so a forged delete dated
  far ahead for an id not created yet cannot swallow that activity's real create.
- ``fetched``: activity id -> ``{"at": our wall-clock time just before the fetch,
  "keys": identities of the events it covered}``. Rule: an event received (our clock)
  before that fetch started, or an exact duplicate of a covered event, costs no fetch.

Read and written only under the athlete's lease, with compare-and-swap as a backstop.
The file is read back from storage, so it is untrusted: unreadable entries are dropped,
and tombstones or fetch times later than now are brought back to now (``prune``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from nunis_ingest.core.keys import athlete_key
from nunis_ingest.core.webhook_event import StravaEvent
from nunis_ingest.ports import CREATE_ONLY, ObjectStore

MARKS_NAME = "webhook.json"
TOMBSTONE_SECONDS = 30 * 86400  # longer than any Strava retry or Pub/Sub retention
FETCHED_SECONDS = 86400
MAX_KEYS = 10
CLOCK_SKEW_SECONDS = 60  # between our processes' clocks


def event_key(event: StravaEvent) -> str:
    updates = json.dumps(event.updates, sort_keys=True, separators=(",", ":"))
    return f"{event.aspect_type}:{event.event_time}:{updates}"


@dataclass
class Marks:
    deleted: dict[int, int] = field(default_factory=dict)
    fetched: dict[int, dict[str, Any]] = field(default_factory=dict)
    generation: int = CREATE_ONLY

    def covered(self, activity_id: int, event: StravaEvent, received_at: float) -> str:
        """Why this event needs no fetch ('' when it does)."""
        tomb = self.deleted.get(activity_id)
        if tomb is not None and event.event_time <= tomb:
            return "deleted"
        seen = self.fetched.get(activity_id)
        if seen is not None:
            if received_at <= _at(seen):
                return "fetched"
            if event_key(event) in seen.get("keys", []):
                return "duplicate"
        return ""

    def record_fetch(self, activity_id: int, at: float, events: list[StravaEvent]) -> None:
        keys = [event_key(e) for e in events]
        self.fetched[activity_id] = {"at": at, "keys": keys[-MAX_KEYS:]}

    def record_delete(self, activity_id: int, event_time: int, now: float) -> None:
        """A confirmed deletion; ``now`` is when Strava confirmed it (the tombstone is
        never dated later: an event time comes from an unsigned payload)."""
        stamp = min(int(event_time), int(now))
        self.deleted[activity_id] = max(stamp, self.deleted.get(activity_id, 0))
        self.fetched.pop(activity_id, None)

    def prune(self, strava_now: float, wall_now: float) -> None:
        self.deleted = {
            i: min(t, int(strava_now))
            for i, t in self.deleted.items()
            if t >= strava_now - TOMBSTONE_SECONDS
        }
        self.fetched = {
            i: f
            for i, f in self.fetched.items()
            if wall_now - FETCHED_SECONDS <= _at(f) <= wall_now + CLOCK_SKEW_SECONDS
        }

    def to_bytes(self) -> bytes:
        doc = {
            "deleted": {str(i): t for i, t in sorted(self.deleted.items())},
            "fetched": {str(i): f for i, f in sorted(self.fetched.items())},
        }
        return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def _at(fetch: dict[str, Any]) -> float:
    try:
        at = float(fetch.get("at", 0))
    except (TypeError, ValueError):
        return float("-inf")
    return at if at == at else float("-inf")  # NaN: never believed


def load_marks(store: ObjectStore, athlete_id: int) -> Marks:
    stored = store.get(athlete_key(athlete_id, MARKS_NAME))
    if stored is None:
        return Marks()
    try:
        doc = json.loads(stored.data)
        deleted = {int(k): int(v) for k, v in doc.get("deleted", {}).items()}
        fetched = {int(k): dict(v) for k, v in doc.get("fetched", {}).items()}
    except (ValueError, TypeError, AttributeError, RecursionError, OverflowError):
        deleted, fetched = {}, {}  # only an optimisation except tombstones; fetches settle truth
    fetched = {i: f for i, f in fetched.items() if isinstance(f.get("keys", []), list)}
    return Marks(deleted, fetched, stored.generation)


def save_marks(store: ObjectStore, athlete_id: int, marks: Marks) -> None:
    marks.generation = store.put(
        athlete_key(athlete_id, MARKS_NAME), marks.to_bytes(), if_generation=marks.generation
    )
