"""The sandbox as one object: configuration, state, and the services around it."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from strava_sandbox.clock import SandboxClock
from strava_sandbox.data import Activity, generate_dataset
from strava_sandbox.faults import FaultRegistry
from strava_sandbox.ratelimit import RateLimiter
from strava_sandbox.reqlog import RequestLog
from strava_sandbox.store import AthleteState, Store
from strava_sandbox.webhooks import Deliverer, Subscription

CLIENT_ID = 424242
EVENT_FIELDS = {"name": "title", "type": "type", "sport_type": "type", "private": "private"}


@dataclass
class Config:
    seed: int = 7
    athletes: int = 2
    activities: int = 60
    anchor: int = field(default_factory=lambda: int(time.time()))
    retry_delay: float = 0.5
    stream_points: int | None = None  # None: ~1 point per 10 s, up to 1000


class Sandbox:
    """Holds everything a request can see or change; `lock` guards the mutable state."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.client_id = CLIENT_ID
        self.client_secret = f"{random.Random(f'{config.seed}:app').getrandbits(160):040x}"
        self.clock = SandboxClock(config.anchor)
        self.faults = FaultRegistry()
        self.log = RequestLog()
        self.deliverer = Deliverer(config.retry_delay)
        self.limiter = RateLimiter()
        self.active = True
        self.stream_points = config.stream_points
        self.subscription: Subscription | None = None
        self.subscription_count = 0
        self.codes: dict[str, tuple[int, str]] = {}
        self.consent_page = False  # /oauth/authorize shows an Authorize page (browsers)
        self.current = (config.seed, config.athletes, config.activities)
        self.store = self._fresh_store(*self.current)

    def _fresh_store(self, seed: int, athletes: int, activities: int) -> Store:
        anchor = self.config.anchor
        return Store.from_dataset(
            generate_dataset(seed, athletes, activities, anchor), seed, anchor, anchor
        )

    def reset(
        self, seed: int | None = None, athletes: int | None = None, activities: int | None = None
    ) -> None:
        cfg = self.config
        wanted = (
            cfg.seed if seed is None else seed,
            cfg.athletes if athletes is None else athletes,
            cfg.activities if activities is None else activities,
        )
        store = self._fresh_store(*wanted)
        with self.lock:
            self.current = wanted
            self.store = store
            self.clock.set(cfg.anchor)
            self.faults.clear()
            self.limiter = RateLimiter()
            self.log.new_epoch()
            self.active = True
            self.stream_points = cfg.stream_points
            self.subscription = None
            self.codes.clear()
            self.consent_page = False
            self.deliverer.reset()
            self.deliverer.retry_delay = cfg.retry_delay

    def now(self) -> float:
        return self.clock.now()

    # webhook events -----------------------------------------------------------------------
    def emit(
        self,
        object_type: str,
        object_id: int,
        aspect: str,
        owner_id: int,
        updates: dict[str, str] | None = None,
    ) -> None:
        sub = self.subscription
        if sub is None:
            return
        event = {
            "aspect_type": aspect,
            "event_time": int(self.now()),
            "object_id": object_id,
            "object_type": object_type,
            "owner_id": owner_id,
            "subscription_id": sub.id,
            "updates": updates or {},
        }
        self.deliverer.enqueue(sub.callback_url, event)

    def emit_patch(self, old: Activity, new: Activity) -> None:
        updates: dict[str, str] = {}
        for name, key in EVENT_FIELDS.items():
            if old.summary.get(name) != new.summary.get(name):
                value = new.summary.get(name)
                updates[key] = str(value).lower() if isinstance(value, bool) else str(value)
        if updates:
            self.emit("activity", new.id, "update", new.athlete_id, updates)

    def revoke(self, athlete: AthleteState) -> None:
        athlete.tokens = None
        self.emit("athlete", athlete.id, "update", athlete.id, {"authorized": "false"})

    def athlete_entry(self, athlete: AthleteState) -> dict[str, Any]:
        tokens = athlete.tokens
        return {
            "id": athlete.id,
            "firstname": athlete.profile.get("firstname"),
            "lastname": athlete.profile.get("lastname"),
            "activity_count": len(athlete.activities),
            "authorized": tokens is not None,
            "refresh_token": tokens.refresh_token if tokens else None,
            "access_token": tokens.access_token if tokens else None,
            "expires_at": tokens.expires_at if tokens else None,
            "scope": tokens.scope if tokens else None,
        }
