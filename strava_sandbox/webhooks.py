"""Push subscriptions: the callback handshake and event delivery with retries."""

from __future__ import annotations

import queue
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests

from strava_sandbox.clock import iso

CALLBACK_TIMEOUT = 2.0
ATTEMPTS = 3


@dataclass
class Subscription:
    id: int
    callback_url: str
    verify_token: str
    created_at: float

    def to_json(self, application_id: int) -> dict[str, Any]:
        return {
            "id": self.id,
            "resource_state": 2,
            "application_id": application_id,
            "callback_url": self.callback_url,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.created_at),
        }


def handshake(callback_url: str, verify_token: str) -> str | None:
    """GET the callback with a challenge; return None on success, else the reason."""
    challenge = secrets.token_hex(8)
    params = {"hub.mode": "subscribe", "hub.challenge": challenge, "hub.verify_token": verify_token}
    try:
        resp = requests.get(callback_url, params=params, timeout=CALLBACK_TIMEOUT)
    except requests.RequestException as exc:
        return f"callback unreachable: {type(exc).__name__}"
    if resp.status_code != 200:
        return f"callback returned {resp.status_code}"
    try:
        echoed = resp.json().get("hub.challenge")
    except (ValueError, AttributeError):
        return "callback did not return JSON"
    return None if echoed == challenge else "callback did not echo hub.challenge"


class Deliverer:
    """Delivers events in a background thread, up to 3 attempts each; records every attempt."""

    def __init__(self, retry_delay: float = 0.2) -> None:
        self.retry_delay = retry_delay
        self.deliveries: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._queue: queue.Queue[tuple[int, str, dict[str, Any]] | None] = queue.Queue()
        self._generation = 0
        self._thread = threading.Thread(target=self._run, name="webhook-deliverer", daemon=True)
        self._thread.start()

    def enqueue(self, callback_url: str, event: dict[str, Any]) -> None:
        with self._lock:
            generation = self._generation
        self._queue.put((generation, callback_url, event))

    def reset(self) -> None:
        with self._lock:
            self._generation += 1
            self.deliveries = []

    def stop(self) -> None:
        self._queue.put(None)

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(d, attempts=list(d["attempts"])) for d in self.deliveries]

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            self._deliver(*item)

    def _deliver(self, generation: int, callback_url: str, event: dict[str, Any]) -> None:
        record: dict[str, Any] = {
            "event": event,
            "callback_url": callback_url,
            "attempts": [],
            "delivered": False,
        }
        with self._lock:
            if generation != self._generation:
                return
            self.deliveries.append(record)
        for attempt in range(1, ATTEMPTS + 1):
            outcome: dict[str, Any] = {"attempt": attempt, "at": time.time()}
            try:
                resp = requests.post(callback_url, json=event, timeout=CALLBACK_TIMEOUT)
                outcome["status"] = resp.status_code
                ok = 200 <= resp.status_code < 300
            except requests.RequestException as exc:
                outcome["error"] = type(exc).__name__
                ok = False
            with self._lock:
                if generation != self._generation:
                    return
                record["attempts"].append(outcome)
                record["delivered"] = ok
            if ok:
                return
            if attempt < ATTEMPTS:
                time.sleep(self.retry_delay)
