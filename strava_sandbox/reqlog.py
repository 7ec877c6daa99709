"""A bounded log of API requests with running counts."""

from __future__ import annotations

import threading
from collections import Counter, deque
from typing import Any

MAX_ENTRIES = 20_000


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.entries: deque[dict[str, Any]] = deque(maxlen=MAX_ENTRIES)
        self.by_status: Counter[str] = Counter()
        self.by_endpoint: Counter[str] = Counter()
        self.by_athlete: Counter[str] = Counter()
        self.total = 0
        self.epoch = 0  # bumped by a sandbox reset: requests begun before it are not logged

    def add(self, entry: dict[str, Any], epoch: int | None = None) -> None:
        with self._lock:
            if epoch is not None and epoch != self.epoch:
                return
            self.entries.append(entry)
            self.total += 1
            self.by_status[str(entry["status"])] += 1
            self.by_endpoint[f"{entry['method']} {entry['endpoint']}"] += 1
            if entry.get("athlete_id") is not None:
                self.by_athlete[str(entry["athlete_id"])] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": list(self.entries),
                "counts": {
                    "total": self.total,
                    "by_status": dict(self.by_status),
                    "by_endpoint": dict(self.by_endpoint),
                    "by_athlete": dict(self.by_athlete),
                },
            }

    def new_epoch(self) -> None:
        """A reset: forget everything, and ignore requests still in flight from before."""
        with self._lock:
            self.epoch += 1
        self.clear()

    def clear(self) -> None:
        with self._lock:
            self.entries.clear()
            self.by_status.clear()
            self.by_endpoint.clear()
            self.by_athlete.clear()
            self.total = 0
