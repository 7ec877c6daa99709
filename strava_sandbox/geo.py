"""Places, tracks and Google polyline encoding for generated activities."""

from __future__ import annotations

import functools
import math
import random
from typing import NamedTuple


class Place(NamedTuple):
    city: str
    state: str
    country: str
    timezone: str
    utc_offset: int
    lat: float
    lng: float


PLACES = [
    Place(
        "San Francisco",
        "CA",
        "United States",
        "(GMT-08:00) America/Los_Angeles",
        -28800,
        37.7749,
        -122.4194,
    ),
    Place("Paris", "Île-de-France", "France", "(GMT+01:00) Europe/Paris", 3600, 48.8566, 2.3522),
    Place("東京", "東京都", "Japan", "(GMT+09:00) Asia/Tokyo", 32400, 35.6762, 139.6503),
    Place("London", "England", "United Kingdom", "(GMT+00:00) Europe/London", 0, 51.5072, -0.1276),
    Place("São Paulo", "SP", "Brazil", "(GMT-03:00) America/Sao_Paulo", -10800, -23.5505, -46.6333),
    Place("Zürich", "ZH", "Switzerland", "(GMT+01:00) Europe/Zurich", 3600, 47.3769, 8.5417),
]


def track(
    rng: random.Random, place: Place, distance: float, points: int
) -> list[tuple[float, float]]:
    """A rough loop of `points` coordinates starting near the place."""
    lat = place.lat + rng.uniform(-0.05, 0.05)
    lng = place.lng + rng.uniform(-0.05, 0.05)
    radius = max(distance, 100.0) / (2 * math.pi) / 111_000
    out = []
    for i in range(points):
        angle = 2 * math.pi * i / max(points - 1, 1)
        out.append(
            (
                round(lat + radius * math.sin(angle), 6),
                round(lng + radius * (1 - math.cos(angle)), 6),
            )
        )
    return out


def _encode_value(value: int) -> str:
    value = ~(value << 1) if value < 0 else value << 1
    chunks = []
    while value >= 0x20:
        chunks.append(chr((0x20 | (value & 0x1F)) + 63))
        value >>= 5
    chunks.append(chr(value + 63))
    return "".join(chunks)


def encode_polyline(points: list[tuple[float, float]]) -> str:
    out = []
    prev_lat = prev_lng = 0
    for lat, lng in points:
        ilat, ilng = round(lat * 1e5), round(lng * 1e5)
        out.append(_encode_value(ilat - prev_lat) + _encode_value(ilng - prev_lng))
        prev_lat, prev_lng = ilat, ilng
    return "".join(out)


@functools.cache
def route_pool(place: Place) -> tuple[tuple[tuple[float, float], str], ...]:
    """A few fixed loops per place: (start lat/lng, encoded summary polyline)."""
    rng = random.Random(place.city)
    routes = []
    for i in range(24):
        points = track(rng, place, 2000.0 + 1500 * i, 6)
        routes.append((points[0], encode_polyline(points)))
    return tuple(routes)
