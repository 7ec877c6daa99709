"""Mutable sandbox state: athletes, their sorted activities, and their tokens."""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass, field
from typing import Any

from strava_sandbox.clock import iso, parse_time
from strava_sandbox.data import (
    Activity,
    Dataset,
    athlete_rng,
    make_athlete,
    make_summary,
    to_activity,
)
from strava_sandbox.geo import PLACES

DEFAULT_SCOPE = "read,activity:read_all"
TOKEN_LIFETIME = 6 * 3600


@dataclass
class Tokens:
    access_token: str
    refresh_token: str
    expires_at: int
    scope: str


@dataclass
class AthleteState:
    id: int
    profile: dict[str, Any]
    activities: list[Activity]  # sorted by (start, id)
    keys: list[tuple[int, int]]
    tokens: Tokens | None = None

    def insert(self, activity: Activity) -> None:
        index = bisect.bisect_left(self.keys, activity.sort_key)
        self.keys.insert(index, activity.sort_key)
        self.activities.insert(index, activity)

    def remove(self, activity: Activity) -> None:
        index = bisect.bisect_left(self.keys, activity.sort_key)
        del self.keys[index]
        del self.activities[index]


@dataclass
class Store:
    seed: int
    anchor: int
    athletes: dict[int, AthleteState] = field(default_factory=dict)
    by_id: dict[int, Activity] = field(default_factory=dict)
    next_activity_id: int = 0
    rng: random.Random = field(default_factory=random.Random)

    @classmethod
    def from_dataset(cls, data: Dataset, seed: int, anchor: int, now: float) -> Store:
        store = cls(seed=seed, anchor=anchor, next_activity_id=data.next_activity_id)
        store.rng = random.Random(f"{seed}:tokens")
        for athlete in data.athletes:
            acts = list(athlete.activities)
            state = AthleteState(athlete.id, athlete.profile, acts, [a.sort_key for a in acts])
            store.athletes[athlete.id] = state
            store.by_id.update((a.id, a) for a in acts)
            store.issue_tokens(state, DEFAULT_SCOPE, now)
        return store

    # tokens -----------------------------------------------------------------------------
    def new_secret(self) -> str:
        return f"{self.rng.getrandbits(160):040x}"

    def issue_tokens(self, athlete: AthleteState, scope: str, now: float) -> Tokens:
        athlete.tokens = Tokens(
            self.new_secret(), self.new_secret(), int(now) + TOKEN_LIFETIME, scope
        )
        return athlete.tokens

    def by_refresh_token(self, token: str) -> AthleteState | None:
        return next(
            (a for a in self.athletes.values() if a.tokens and a.tokens.refresh_token == token),
            None,
        )

    def by_access_token(self, token: str) -> AthleteState | None:
        return next(
            (a for a in self.athletes.values() if a.tokens and a.tokens.access_token == token), None
        )

    # athletes ---------------------------------------------------------------------------
    def create_athlete(self, activities: int, scope: str, now: float) -> AthleteState:
        index = len(self.athletes) + 1000  # beyond the seeded ones, still deterministic
        data = make_athlete(self.seed, index, activities, self.anchor, self.next_activity_id)
        if data.activities:
            self.next_activity_id = data.activities[-1].id + 1
        acts = list(data.activities)
        state = AthleteState(data.id, data.profile, acts, [a.sort_key for a in acts])
        self.athletes[data.id] = state
        self.by_id.update((a.id, a) for a in acts)
        self.issue_tokens(state, scope, now)
        return state

    # activities -------------------------------------------------------------------------
    def add_activity(self, athlete_id: int, fields: dict[str, Any], now: float) -> Activity:
        athlete = self.athletes[athlete_id]
        start = parse_time(fields.get("start_date", now - 3600))
        rng = athlete_rng(self.seed, self.next_activity_id)
        summary = make_summary(
            rng, self.next_activity_id, athlete_id, start, PLACES[0], self.anchor
        )
        self.next_activity_id += 1
        activity = to_activity(_merge(summary, fields))
        athlete.insert(activity)
        self.by_id[activity.id] = activity
        return activity

    def patch_activity(self, activity_id: int, fields: dict[str, Any]) -> tuple[Activity, Activity]:
        old = self.by_id[activity_id]
        new = to_activity(_merge(dict(old.summary), fields))
        athlete = self.athletes[old.athlete_id]
        athlete.remove(old)
        athlete.insert(new)
        self.by_id[activity_id] = new
        return old, new

    def delete_activity(self, activity_id: int) -> Activity:
        activity = self.by_id.pop(activity_id)
        self.athletes[activity.athlete_id].remove(activity)
        return activity

    def page(
        self,
        athlete: AthleteState,
        *,
        before: float | None,
        after: float | None,
        page: int,
        size: int,
        include_only_me: bool,
    ) -> list[Activity]:
        """One listing page: newest first, or oldest first when `after` is given.

        Bounds are strict on start_date: after < start < before.
        """
        keys, acts = athlete.keys, athlete.activities
        lo = 0 if after is None else bisect.bisect_left(keys, (math.floor(after) + 1, -1))
        hi = len(acts) if before is None else bisect.bisect_left(keys, (math.ceil(before), -1))
        if not include_only_me:
            acts = [a for a in acts[lo:hi] if not a.only_me]
            lo, hi = 0, len(acts)
        offset = (page - 1) * size
        if after is not None:
            begin = lo + offset
            return acts[begin : min(hi, begin + size)] if begin < hi else []
        end = hi - offset
        return acts[max(lo, end - size) : end][::-1] if end > lo else []


def _merge(summary: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """Overlay user fields, keeping start_date/private/visibility consistent."""
    fields = dict(fields)
    if "start_date" in fields:
        start = parse_time(fields["start_date"])
        offset = int(summary.get("utc_offset") or 0)
        fields["start_date"] = iso(start)
        fields.setdefault("start_date_local", iso(start + offset))
    if "visibility" in fields:
        fields.setdefault("private", fields["visibility"] == "only_me")
    elif "private" in fields:
        fields["visibility"] = "only_me" if fields["private"] else "everyone"
    if "name" in fields or "title" in fields:
        fields["name"] = fields.pop("title", fields.get("name"))
    fields.pop("id", None)
    fields.pop("athlete", None)
    summary.update(fields)
    return summary
