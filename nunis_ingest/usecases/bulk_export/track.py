"""Pure: what one activity file holds, column by column, and a summary derived from it.

Points are kept in ``array('d')`` columns (8 bytes a value, NaN for none), not one object
per point: a 500,000-point file (``limits.MAX_POINTS``) takes ~40 MB, not ~400 MB. Adding
a point past the limit raises ``UnreadableFile``, so no file makes the reader grow
without bound.

A position is kept as a pair or not at all: a latitude outside [-90, 90], a longitude
outside [-180, 180], a half that is not a finite number (NaN, infinite, or text that did
not parse) or a half without the other drops the pair; the point keeps its time and other
values, and the track counts it (``dropped_positions``). An elevation that is not finite or
lies outside ``limits.MIN_ELEVATION``..``limits.MAX_ELEVATION`` is dropped the same way
(``dropped_elevations``). Distances are accumulated over kept positions only.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from nunis_ingest.usecases.bulk_export.limits import (
    MAX_ELEVATION,
    MAX_LAPS,
    MAX_POINTS,
    MIN_ELEVATION,
)

NAN = math.nan
COLUMNS = (
    "time",
    "distance",
    "lat",
    "lng",
    "altitude",
    "heartrate",
    "cadence",
    "watts",
    "temp",
    "velocity",
)


class UnreadableFile(ValueError):
    """A file that is corrupt, truncated, too large or of an unknown format."""


def num(value: Any) -> float | None:
    """A finite float, or None (bools, strings, NaN and infinities are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def utc(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _f(value: float | None) -> float:
    return NAN if value is None else value


def position(lat: float | None, lng: float | None) -> tuple[float, float] | None:
    """The pair as degrees when both halves are finite and on the globe, else None."""
    if lat is None or lng is None:
        return None
    if -90.0 <= lat <= 90.0 and -180.0 <= lng <= 180.0:  # False for NaN; infinities fail
        return lat, lng
    return None


def elevation(value: float | None) -> float | None:
    """Metres when finite and within ``MIN_ELEVATION``..``MAX_ELEVATION``, else None."""
    if value is None or not MIN_ELEVATION <= value <= MAX_ELEVATION:  # NaN fails too
        return None
    return value


@dataclass
class Lap:
    start: datetime | None = None
    elapsed_time: float | None = None
    moving_time: float | None = None
    distance: float | None = None
    average_speed: float | None = None
    max_speed: float | None = None
    average_heartrate: float | None = None
    max_heartrate: float | None = None
    average_cadence: float | None = None
    average_watts: float | None = None
    total_elevation_gain: float | None = None


@dataclass
class Summary:
    """What the file itself says of the whole activity (FIT ``session``, TCX laps)."""

    start: datetime | None = None
    elapsed_time: float | None = None
    moving_time: float | None = None
    distance: float | None = None
    total_elevation_gain: float | None = None
    average_speed: float | None = None
    max_speed: float | None = None
    average_heartrate: float | None = None
    max_heartrate: float | None = None
    average_cadence: float | None = None
    average_watts: float | None = None
    max_watts: float | None = None
    calories: float | None = None
    sport: str | None = None
    sub_sport: str | None = None


@dataclass
class Track:
    columns: dict[str, array[float]] = field(
        default_factory=lambda: {c: array("d") for c in COLUMNS}
    )
    laps: list[Lap] = field(default_factory=list)
    summary: Summary = field(default_factory=Summary)
    device_name: str | None = None
    manufacturer: str | None = None
    """FIT ``file_id.manufacturer`` or the GPX/TCX creator: names the platform."""
    serial_number: int | None = None
    time_created: datetime | None = None
    file_type: str | None = None
    """FIT ``file_id.type`` (``activity`` for a recording); None for GPX and TCX."""
    name: str | None = None
    dropped_positions: int = 0
    """Points whose position was given (one half or both) but impossible or unreadable."""
    dropped_elevations: int = 0
    """Points whose elevation was given but not finite or outside the plausible range."""

    def __len__(self) -> int:
        return len(self.columns["time"])

    def add(
        self,
        time: datetime | None,
        *,
        distance: float | None = None,
        lat: float | None = None,
        lng: float | None = None,
        altitude: float | None = None,
        heartrate: float | None = None,
        cadence: float | None = None,
        watts: float | None = None,
        temp: float | None = None,
        velocity: float | None = None,
    ) -> None:
        """One point. ``lat``/``lng``/``altitude``: None when the file has none; NaN (or
        any impossible value) when it has one that is not a position or an elevation."""
        cols = self.columns
        if len(cols["time"]) >= MAX_POINTS:
            raise UnreadableFile(f"more than {MAX_POINTS:,} track points")
        cols["time"].append(NAN if time is None else time.timestamp())
        cols["distance"].append(_f(distance))
        pair = position(lat, lng)
        if pair is None and (lat is not None or lng is not None):
            self.dropped_positions += 1
        height = elevation(altitude)
        if height is None and altitude is not None:
            self.dropped_elevations += 1
        cols["lat"].append(NAN if pair is None else pair[0])
        cols["lng"].append(NAN if pair is None else pair[1])
        cols["altitude"].append(_f(height))
        cols["heartrate"].append(_f(heartrate))
        cols["cadence"].append(_f(cadence))
        cols["watts"].append(_f(watts))
        cols["temp"].append(_f(temp))
        cols["velocity"].append(_f(velocity))

    def add_lap(self, lap: Lap) -> None:
        if len(self.laps) >= MAX_LAPS:
            raise UnreadableFile(f"more than {MAX_LAPS:,} laps")
        self.laps.append(lap)

    def first_time(self) -> float | None:
        return next((t for t in self.columns["time"] if t == t), None)

    def last_time(self) -> float | None:
        return next((t for t in reversed(self.columns["time"]) if t == t), None)

    def latlng(self, last: bool = False) -> list[float] | None:
        lat, lng = self.columns["lat"], self.columns["lng"]
        order = range(len(lat) - 1, -1, -1) if last else range(len(lat))
        for i in order:
            if lat[i] == lat[i] and lng[i] == lng[i]:
                return [lat[i], lng[i]]
        return None

    def fill_distance(self) -> None:
        """GPX carries no distance: accumulate it along the track (haversine, metres)."""
        lat, lng, dist = self.columns["lat"], self.columns["lng"], self.columns["distance"]
        total, previous = 0.0, None
        for i in range(len(lat)):
            if lat[i] == lat[i] and lng[i] == lng[i]:
                if previous is not None:
                    total += _haversine(previous, (lat[i], lng[i]))
                previous = (lat[i], lng[i])
            if dist[i] != dist[i]:
                dist[i] = round(total, 1)

    def start(self) -> datetime | None:
        if self.summary.start is not None:
            return self.summary.start
        first = self.first_time()
        return None if first is None else datetime.fromtimestamp(first, UTC)

    def elapsed(self) -> float | None:
        if self.summary.elapsed_time is not None:
            return self.summary.elapsed_time
        first, last = self.first_time(), self.last_time()
        return None if first is None or last is None else last - first

    def total_distance(self) -> float | None:
        if self.summary.distance is not None:
            return self.summary.distance
        values = [d for d in self.columns["distance"] if d == d]
        return max(values) if values else None


def _haversine(a: tuple[float, float], b: tuple[float, float]) -> float:
    p1, p2 = math.radians(a[0]), math.radians(b[0])
    dp, dl = p2 - p1, math.radians(b[1] - a[1])
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(min(1.0, math.sqrt(h)))
