"""Pure-ish: per-athlete webhook bookkeeping in ``athletes/<id>/webhook.json``.

- ``deleted``: activity id -> the Strava ``event_time`` of the delete we applied
  (tombstones). Rule: a create/update whose event_time is <= the tombstone is dropped
  without a fetch; a later one is fetched and Strava settles it (404 -> stays deleted).
- ``fetched``: activity id -> ``{"at": our wall-clock time just before the fetch,
  "keys": identities of the events it covered}``. Rule: an event received (our clock)
  before that fetch started, or an exact duplicate of a covered event, costs no fetch.

Read and written only under the athlete's lease, with compare-and-swap as a backstop.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from nunis_ingest.keys import athlete_key
from nunis_ingest.ports import CREATE_ONLY, ObjectStore
from nunis_ingest.webhook.model import StravaEvent

MARKS_NAME = "webhook.json"
TOMBSTONE_SECONDS = 30 * 86400  # longer than any Strava retry or Pub/Sub retention
FETCHED_SECONDS = 86400
MAX_KEYS = 10


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
            if received_at <= float(seen.get("at", 0)):
                return "fetched"
            if event_key(event) in seen.get("keys", []):
                return "duplicate"
        return ""

    def record_fetch(self, activity_id: int, at: float, events: list[StravaEvent]) -> None:
        keys = [event_key(e) for e in events]
        self.fetched[activity_id] = {"at": at, "keys": keys[-MAX_KEYS:]}

    def record_delete(self, activity_id: int, event_time: int) -> None:
        self.deleted[activity_id] = max(event_time, self.deleted.get(activity_id, 0))
        self.fetched.pop(activity_id, None)

    def prune(self, strava_now: float, wall_now: float) -> None:
        self.deleted = {
            i: t for i, t in self.deleted.items() if t >= strava_now - TOMBSTONE_SECONDS
        }
        self.fetched = {
            i: f for i, f in self.fetched.items() if float(f["at"]) >= wall_now - FETCHED_SECONDS
        }

    def to_bytes(self) -> bytes:
        doc = {
            "deleted": {str(i): t for i, t in sorted(self.deleted.items())},
            "fetched": {str(i): f for i, f in sorted(self.fetched.items())},
        }
        return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def load_marks(store: ObjectStore, athlete_id: int) -> Marks:
    stored = store.get(athlete_key(athlete_id, MARKS_NAME))
    if stored is None:
        return Marks()
    try:
        doc = json.loads(stored.data)
        deleted = {int(k): int(v) for k, v in doc.get("deleted", {}).items()}
        fetched = {int(k): dict(v) for k, v in doc.get("fetched", {}).items()}
    except (ValueError, TypeError, AttributeError):
        deleted, fetched = {}, {}  # only an optimisation except tombstones; fetches settle truth
    return Marks(deleted, fetched, stored.generation)


def save_marks(store: ObjectStore, athlete_id: int, marks: Marks) -> None:
    marks.generation = store.put(
        athlete_key(athlete_id, MARKS_NAME), marks.to_bytes(), if_generation=marks.generation
    )
