"""The sandbox clock (wall time shifted by a settable offset) and time formatting."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any


class SandboxClock:
    """A clock that ticks with real time but can be set or advanced."""

    def __init__(self, start: float | None = None) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0
        if start is not None:
            self.set(start)

    def now(self) -> float:
        with self._lock:
            return time.time() + self._offset

    def set(self, epoch: float) -> None:
        with self._lock:
            self._offset = epoch - time.time()

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds


def iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(epoch)))


def parse_time(value: Any) -> int:
    """Epoch seconds from an int/float epoch or an ISO 8601 string."""
    if isinstance(value, int | float):
        return int(value)
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())
