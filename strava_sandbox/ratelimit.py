"""Per-application rate limits: 15-minute windows on the quarter hour and a UTC day."""

from __future__ import annotations

import threading
from dataclasses import dataclass

WINDOW = 900
DAY = 86400


@dataclass
class Limits:
    overall_15min: int = 200
    overall_daily: int = 2000
    read_15min: int = 100
    read_daily: int = 1000


@dataclass
class Usage:
    window: int = -1
    day: int = -1
    short: int = 0
    daily: int = 0

    def roll(self, now: float) -> None:
        window, day = int(now // WINDOW), int(now // DAY)
        if window != self.window:
            self.window, self.short = window, 0
        if day != self.day:
            self.day, self.daily = day, 0


class RateLimiter:
    """Counts every API request (reads are GETs) and says whether it is over a limit."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self.overall = Usage()
        self.read = Usage()
        self._lock = threading.Lock()

    def record(self, is_read: bool, now: float) -> tuple[bool, dict[str, str]]:
        """Count one request; return (allowed, headers)."""
        with self._lock:
            self.overall.roll(now)
            self.read.roll(now)
            self.overall.short += 1
            self.overall.daily += 1
            if is_read:
                self.read.short += 1
                self.read.daily += 1
            lim = self.limits
            over = self.overall.short > lim.overall_15min or self.overall.daily > lim.overall_daily
            if is_read:
                over = over or self.read.short > lim.read_15min or self.read.daily > lim.read_daily
            return not over, self._headers()

    def headers(self, now: float) -> dict[str, str]:
        with self._lock:
            self.overall.roll(now)
            self.read.roll(now)
            return self._headers()

    def _headers(self) -> dict[str, str]:
        lim = self.limits
        return {
            "X-RateLimit-Limit": f"{lim.overall_15min},{lim.overall_daily}",
            "X-RateLimit-Usage": f"{self.overall.short},{self.overall.daily}",
            "X-ReadRateLimit-Limit": f"{lim.read_15min},{lim.read_daily}",
            "X-ReadRateLimit-Usage": f"{self.read.short},{self.read.daily}",
        }

    def configure(self, **values: int) -> Limits:
        with self._lock:
            for name, value in values.items():
                if not hasattr(self.limits, name):
                    raise KeyError(name)
                setattr(self.limits, name, int(value))
            return self.limits
