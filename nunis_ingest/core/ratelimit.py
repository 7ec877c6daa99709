"""Strava's rate-limit headers, parsed into numbers the sync can budget with.

Strava limits per *application* (all athletes together): an overall pair of windows and a
stricter "read" pair that every GET we make counts against. Each response carries the figures
as ``"<15-min>,<daily>"`` headers. We parse them defensively: a missing or garbled header must
never fail a sync, so every figure is optional and garbage becomes ``None``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

_LIMIT = "x-ratelimit-limit"
_USAGE = "x-ratelimit-usage"
_READ_LIMIT = "x-readratelimit-limit"
_READ_USAGE = "x-readratelimit-usage"


def _pair(value: str | None) -> tuple[int | None, int | None]:
    """Parse ``"15min,daily"``; each side independently falls back to ``None``."""
    if value is None:
        return None, None
    parts = value.split(",")
    if len(parts) != 2:
        return None, None
    return _count(parts[0]), _count(parts[1])


def _count(text: str) -> int | None:
    text = text.strip()
    # isdecimal() alone accepts non-ASCII digits and int() would take "+5" or "1_0".
    if not text or not text.isascii() or not text.isdigit():
        return None
    return int(text)


@dataclass(frozen=True)
class RateLimitUsage:
    """One response's view of the application's rate-limit windows (``None`` = unknown)."""

    limit_15min: int | None = None
    limit_daily: int | None = None
    usage_15min: int | None = None
    usage_daily: int | None = None
    read_limit_15min: int | None = None
    read_limit_daily: int | None = None
    read_usage_15min: int | None = None
    read_usage_daily: int | None = None

    def read_remaining(self) -> tuple[int | None, int | None]:
        """Requests left (15-min, daily) for reads, the budget every GET we make spends.

        Falls back to the overall figures when the read headers are absent (older responses,
        proxies), since the overall limit then is the only bound we know of.
        """
        return (
            _remaining(
                self.read_limit_15min, self.read_usage_15min, self.limit_15min, self.usage_15min
            ),
            _remaining(
                self.read_limit_daily, self.read_usage_daily, self.limit_daily, self.usage_daily
            ),
        )

    def as_dict(self) -> dict[str, int | None]:
        """Plain dict, for run records and structured logs."""
        return asdict(self)


def _remaining(
    read_limit: int | None, read_usage: int | None, limit: int | None, usage: int | None
) -> int | None:
    if read_limit is not None and read_usage is not None:
        return max(read_limit - read_usage, 0)
    if limit is not None and usage is not None:
        return max(limit - usage, 0)
    return None


def from_headers(headers: Mapping[str, str]) -> RateLimitUsage | None:
    """Parse the four rate-limit headers; ``None`` when none of them is present.

    Header names are matched case-insensitively whatever mapping type is passed in (plain
    dicts from tests, ``requests``' case-insensitive dict in production).
    """
    lowered = {str(k).lower(): v for k, v in headers.items()}
    wanted = (_LIMIT, _USAGE, _READ_LIMIT, _READ_USAGE)
    if not any(name in lowered for name in wanted):
        return None
    limit = _pair(lowered.get(_LIMIT))
    usage = _pair(lowered.get(_USAGE))
    read_limit = _pair(lowered.get(_READ_LIMIT))
    read_usage = _pair(lowered.get(_READ_USAGE))
    return RateLimitUsage(
        limit_15min=limit[0],
        limit_daily=limit[1],
        usage_15min=usage[0],
        usage_daily=usage[1],
        read_limit_15min=read_limit[0],
        read_limit_daily=read_limit[1],
        read_usage_15min=read_usage[0],
        read_usage_daily=read_usage[1],
    )
