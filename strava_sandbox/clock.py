"""The sandbox clock: wall time shifted by a settable offset."""

from __future__ import annotations

import threading
import time


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
