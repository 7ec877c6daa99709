"""The sampled recording behind an activity's streams, splits, laps and efforts.

Everything is derived from the summary and seeded by the activity id, so the same
activity always yields the same track, and an edit of distance or time changes it.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from strava_sandbox.data import Activity

DEFAULT_MAX_POINTS = 1000
SECONDS_PER_POINT = 10
MIN_POINTS, MAX_POINTS = 2, 100_000
GPS_STREAMS = frozenset({"latlng", "altitude", "grade_smooth"})


def rng_for(activity: Activity, what: str) -> random.Random:
    return random.Random(f"{activity.id}:{what}")


def has_track(activity: Activity) -> bool:
    """Manual entries have no recording (their streams answer 404)."""
    return not activity.summary.get("manual")


def has_gps(activity: Activity) -> bool:
    return bool(activity.summary.get("start_latlng"))


def total_distance(activity: Activity) -> float:
    return round(float(activity.summary.get("distance") or 0.0), 1)


def sample_count(activity: Activity, points: int | None = None) -> int:
    """Points in every stream: one per ~10 s up to 1000, or `points` when the knob is set.

    Never fewer than one point per kilometre plus two, so every split spans a sample.
    """
    if not has_track(activity):
        return 0
    if points is None:
        elapsed = int(activity.summary.get("elapsed_time") or 0)
        n = min(DEFAULT_MAX_POINTS, elapsed // SECONDS_PER_POINT)
    else:
        n = points
    floor = math.ceil(total_distance(activity) / 1000) + 2
    return max(MIN_POINTS, floor, min(MAX_POINTS, n))


@dataclass(frozen=True, slots=True)
class Track:
    """Time (s), cumulative distance (m) and moving flags, one entry per sample."""

    activity: Activity
    time: list[int]
    distance: list[float]
    moving: list[bool]
    speed: list[float]

    @property
    def n(self) -> int:
        return len(self.time)

    def moving_between(self, i: int, j: int) -> int:
        """Moving seconds over the samples (i, j]."""
        return sum(self.time[k] - self.time[k - 1] for k in range(i + 1, j + 1) if self.moving[k])

    def series(self, kind: str) -> list[Any]:
        if kind == "time":
            return list(self.time)
        if kind == "distance":
            return list(self.distance)
        if kind == "moving":
            return list(self.moving)
        if kind == "velocity_smooth":
            return [round(v, 2) for v in self.speed]
        if kind == "latlng":
            return self._latlng()
        if kind == "altitude":
            return self.altitude()
        if kind == "grade_smooth":
            return self._grade()
        return self._sensor(kind)

    def _phase(self, what: str) -> float:
        return rng_for(self.activity, f"phase:{what}").uniform(0, 2 * math.pi)

    def _fraction(self, i: int) -> float:
        total = self.distance[-1] or 1.0
        return self.distance[i] / total

    def _latlng(self) -> list[list[float]]:
        lat, lng = self.activity.summary["start_latlng"]
        r = max(self.distance[-1], 100.0) / (2 * math.pi) / 111_000
        out = []
        for i in range(self.n):
            a = 2 * math.pi * self._fraction(i)
            out.append([round(lat + r * math.sin(a), 6), round(lng + r * (1 - math.cos(a)), 6)])
        return out

    def altitude(self) -> list[float]:
        s = self.activity.summary
        low, high = float(s.get("elev_low") or 10.0), float(s.get("elev_high") or 60.0)
        hills, phase = 1 + self.activity.id % 4, self._phase("altitude")
        return [
            round(low + (high - low) * (0.5 + 0.5 * math.sin(hills * 2 * math.pi * f + phase)), 1)
            for f in (self._fraction(i) for i in range(self.n))
        ]

    def _grade(self) -> list[float]:
        alt, d = self.altitude(), self.distance
        out = [0.0]
        for i in range(1, self.n):
            step = d[i] - d[i - 1]
            grade = 100 * (alt[i] - alt[i - 1]) / step if step > 0.5 else out[-1]
            out.append(round(max(-30.0, min(30.0, grade)), 1))
        return out

    def _sensor(self, kind: str) -> list[int]:
        s, rng = self.activity.summary, rng_for(self.activity, f"stream:{kind}")
        centre, swing, low, high = {
            "heartrate": (float(s.get("average_heartrate") or 140), 12.0, 60, 210),
            "cadence": (float(s.get("average_cadence") or 80), 4.0, 0, 200),
            "watts": (float(s.get("average_watts") or 180), 60.0, 0, 2000),
            "temp": (float(rng.randint(5, 28)), 1.5, -20, 45),
        }[kind]
        phase, out = self._phase(kind), []
        for i in range(self.n):
            wave = math.sin(2 * math.pi * i / max(self.n, 2) * 3 + phase)
            value = centre + swing * wave + rng.gauss(0, swing / 4)
            if kind in ("cadence", "watts") and not self.moving[i]:
                value = 0
            out.append(int(max(low, min(high, round(value)))))
        return out


def _pauses(activity: Activity, time: list[int]) -> list[bool]:
    """Moving flags: the first sample (standing at the start) and the pauses are False."""
    s, n = activity.summary, len(time)
    moving = [True] * n
    moving[0] = False
    paused = int(s.get("elapsed_time") or 0) - int(s.get("moving_time") or 0)
    step = time[-1] / max(n - 1, 1)
    stopped = min(n // 3, round(paused / step)) if paused > 0 and step > 0 else 0
    if stopped:
        rng = rng_for(activity, "pauses")
        first = stopped // 2
        for start, length in ((n // 3, first), (2 * n // 3, stopped - first)):
            offset = start + rng.randint(-n // 10, n // 10)
            for k in range(max(1, offset), min(n - 1, offset + length)):
                moving[k] = False
    return moving


def build(activity: Activity, points: int | None = None) -> Track | None:
    """The activity's recording, or None for a manual entry."""
    n = sample_count(activity, points)
    if not n:
        return None
    elapsed = int(activity.summary.get("elapsed_time") or 0)
    step = max(1.0, elapsed / (n - 1))
    time = [round(i * step) for i in range(n)]
    moving = _pauses(activity, time)
    rng, phase = rng_for(activity, "pace"), rng_for(activity, "phase:pace").uniform(0, 6.3)
    raw = [0.0]
    for i in range(1, n):
        factor = 1 + 0.08 * math.sin(2 * math.pi * i / n * 5 + phase) + rng.uniform(-0.04, 0.04)
        raw.append(factor * (time[i] - time[i - 1]) if moving[i] else 0.0)
    total, scale_by = total_distance(activity), sum(raw)
    scale = total / scale_by if scale_by else 0.0
    cumulative = [round(x * scale, 1) for x in accumulate(raw)]
    cumulative[-1] = total
    speed = [0.0] + [
        raw[i] * scale / (time[i] - time[i - 1]) if moving[i] else 0.0 for i in range(1, n)
    ]
    return Track(activity, time, cumulative, moving, speed)
