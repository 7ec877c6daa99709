"""Laps, splits, best efforts and segment efforts, cut from the activity's track."""

from __future__ import annotations

import hashlib
import math
from typing import Any

from strava_sandbox.clock import iso
from strava_sandbox.data import Activity
from strava_sandbox.track import Track, has_gps, rng_for, total_distance

MAX_LAPS = 40
METRIC, STANDARD = 1000.0, 1609.34
# Strava's best-effort distances (name, metres as Strava reports them)
BEST_EFFORTS: tuple[tuple[str, float], ...] = (
    ("400m", 400),
    ("1/2 mile", 805),
    ("1k", 1000),
    ("1 mile", 1609),
    ("2 mile", 3219),
    ("5k", 5000),
    ("10k", 10000),
    ("15k", 15000),
    ("10 mile", 16090),
    ("20k", 20000),
    ("Half-Marathon", 21097),
    ("30k", 30000),
    ("Marathon", 42195),
)
SEGMENT_NAMES = ("Park loop", "Bridge sprint", "Côte du moulin", "Riverside", "Hill repeat ⛰️")


def lap_count(activity: Activity) -> int:
    distance = total_distance(activity)
    if not distance or activity.summary.get("manual"):
        return 1
    return max(1, min(MAX_LAPS, math.ceil(distance / 1000)))


def split_count(activity: Activity, unit: float) -> int:
    distance = total_distance(activity)
    return 0 if not distance or activity.summary.get("manual") else math.ceil(distance / unit)


def best_effort_distances(activity: Activity) -> list[tuple[str, float]]:
    """The standard distances a run covers (none for other sports or manual entries)."""
    s = activity.summary
    if s.get("type") != "Run" or s.get("manual"):
        return []
    distance = total_distance(activity)
    return [(name, metres) for name, metres in BEST_EFFORTS if metres <= distance]


def _cut(track: Track, marks: list[float]) -> list[int]:
    """Index ending each piece: the first sample at or past each mark (the last ends at n-1).

    Every piece spans at least one sample."""
    n, ends, j = track.n, [], 0
    for k, mark in enumerate(marks):
        left = len(marks) - k - 1
        if left == 0:
            ends.append(n - 1)
            break
        while j < n - 1 - left and (track.distance[j] < mark or (ends and j <= ends[-1])):
            j += 1
        ends.append(max(j, ends[-1] + 1 if ends else 1))
    return ends


def _pieces(track: Track, count: int, length: float) -> list[tuple[int, int]]:
    ends = _cut(track, [length * (k + 1) for k in range(count)])
    return list(zip([0, *ends[:-1]], ends, strict=True))


def _mean(values: list[int], i: int, j: int) -> float:
    window = values[i + 1 : j + 1] or values[i : i + 1]
    return round(sum(window) / len(window), 1)


def _pace_zone(activity: Activity, track: Track | None, speed: float) -> int:
    """1 (easy) to 5 (fast) against the run's own moving pace; 0 for other sports."""
    if activity.summary.get("type") != "Run":
        return 0
    moving = track.moving_between(0, track.n - 1) if track else 0
    mean = track.distance[-1] / moving if track and moving else 0.0
    ratio = speed / (mean or float(activity.summary.get("average_speed") or 0) or 1.0)
    return 1 + sum(ratio > edge for edge in (0.9, 0.97, 1.03, 1.1))


def splits(activity: Activity, track: Track | None, unit: float) -> list[dict[str, Any]]:
    count = split_count(activity, unit)
    if track is None or not count:
        return []
    alt = track.altitude() if has_gps(activity) else None
    hr = track.series("heartrate") if activity.summary.get("has_heartrate") else None
    on_foot = activity.summary.get("type") in ("Run", "Walk")
    out = []
    for k, (i, j) in enumerate(_pieces(track, count, unit)):
        distance = round(track.distance[j] - track.distance[i], 1)
        moving = track.moving_between(i, j)
        speed = round(distance / moving, 2) if moving else 0.0
        climb = round(alt[j] - alt[i], 1) if alt else 0.0
        split: dict[str, Any] = {
            "distance": distance,
            "elapsed_time": track.time[j] - track.time[i],
            "elevation_difference": climb,
            "moving_time": moving,
            "split": k + 1,
            "average_speed": speed,
            "average_grade_adjusted_speed": (
                round(speed * (1 + 0.035 * 100 * climb / distance), 2)
                if on_foot and distance
                else None
            ),
            "pace_zone": _pace_zone(activity, track, speed),
        }
        if hr is not None:
            split["average_heartrate"] = _mean(hr, i, j)
        out.append(split)
    return out


def _window(track: Track, i: int, j: int) -> dict[str, Any]:
    a, offset = track.activity, int(track.activity.summary["utc_offset"])
    start = a.start + track.time[i]
    return {
        "activity": {"id": a.id, "resource_state": 1},
        "athlete": {"id": a.athlete_id, "resource_state": 1},
        "elapsed_time": track.time[j] - track.time[i],
        "moving_time": track.moving_between(i, j),
        "start_date": iso(start),
        "start_date_local": iso(start + offset),
        "start_index": i,
        "end_index": j,
    }


def laps(activity: Activity, track: Track | None) -> list[dict[str, Any]]:
    s, count = activity.summary, lap_count(activity)
    rng = rng_for(activity, "laps")
    pieces = [(0, 0)] if track is None else _pieces(track, count, total_distance(activity) / count)
    hr = track.series("heartrate") if track and s.get("has_heartrate") else None
    out = []
    for k, (i, j) in enumerate(pieces):
        lap: dict[str, Any] = {
            "id": activity.id * 100 + k,
            "resource_state": 2,
            "name": f"Lap {k + 1}",
        }
        if track is None:
            lap.update(_window_manual(activity))
            distance, moving = total_distance(activity), int(s.get("moving_time") or 0)
        else:
            lap.update(_window(track, i, j))
            distance, moving = round(track.distance[j] - track.distance[i], 1), lap["moving_time"]
        speed = round(distance / moving, 2) if moving else 0
        lap.update(
            distance=distance,
            total_elevation_gain=round(rng.uniform(0, 20), 1) if has_gps(activity) else 0,
            average_speed=speed,
            max_speed=round(speed * 1.3, 2),
            lap_index=k + 1,
            split=k + 1,
            pace_zone=_pace_zone(activity, track, float(speed)),
        )
        if "average_cadence" in s:
            lap["average_cadence"] = round(rng.uniform(75, 90), 1)
        if hr is not None:
            lap["average_heartrate"] = _mean(hr, i, j)
            lap["max_heartrate"] = float(max(hr[i : j + 1]))
        if "average_watts" in s:
            lap["average_watts"] = round(rng.uniform(140, 260), 1)
            lap["device_watts"] = bool(s.get("device_watts"))
        out.append(lap)
    return out


def _window_manual(activity: Activity) -> dict[str, Any]:
    s = activity.summary
    return {
        "activity": {"id": activity.id, "resource_state": 1},
        "athlete": {"id": activity.athlete_id, "resource_state": 1},
        "elapsed_time": int(s.get("elapsed_time") or 0),
        "moving_time": int(s.get("moving_time") or 0),
        "start_date": s["start_date"],
        "start_date_local": s["start_date_local"],
        "start_index": 0,
        "end_index": 0,
    }


def _fastest(track: Track, metres: float) -> tuple[int, int]:
    """The quickest window (i, j] covering `metres`, by two pointers over the samples."""
    d, t, best, i = track.distance, track.time, (0, track.n - 1), 0
    for j in range(1, track.n):
        if d[j] - d[0] < metres:
            continue
        while d[j] - d[i + 1] >= metres:
            i += 1
        if t[j] - t[i] < t[best[1]] - t[best[0]]:
            best = (i, j)
    return best


def best_efforts(activity: Activity, track: Track | None) -> list[dict[str, Any]]:
    if track is None:
        return []
    rng, out = rng_for(activity, "best_efforts"), []
    for k, (name, metres) in enumerate(best_effort_distances(activity)):
        i, j = _fastest(track, metres)
        rank = rng.choice([None, None, None, None, None, 1, 2, 3])
        effort: dict[str, Any] = {
            "id": activity.id * 1000 + 900 + k,
            "resource_state": 2,
            "name": name,
            **_window(track, i, j),
            "distance": metres,
            "pr_rank": rank,
            "achievements": [] if rank is None else [{"type_id": 3, "type": "pr", "rank": rank}],
            "kom_rank": None,
            "segment": None,
        }
        out.append(effort)
    return out


def _segment_id(activity: Activity, k: int) -> int:
    route = str(activity.summary.get("start_latlng"))
    return int(hashlib.sha1(f"{route}:{k}".encode(), usedforsecurity=False).hexdigest()[:7], 16)


def segment_efforts(activity: Activity, track: Track | None) -> list[dict[str, Any]]:
    """One to three efforts on about half of the GPS activities."""
    if track is None or not has_gps(activity) or track.distance[-1] < 500:
        return []
    rng = rng_for(activity, "segments")
    if rng.random() < 0.5:
        return []
    out = []
    for k in range(rng.randint(1, 3)):
        i = rng.randrange(0, track.n // 2)
        length = rng.uniform(300, min(3000, track.distance[-1] - track.distance[i] + 300))
        j = next(
            (x for x in range(i + 1, track.n) if track.distance[x] - track.distance[i] >= length),
            track.n - 1,
        )
        name = SEGMENT_NAMES[_segment_id(activity, k) % len(SEGMENT_NAMES)]
        distance = round(track.distance[j] - track.distance[i], 1)
        lat, lng = activity.summary["start_latlng"]
        out.append(
            {
                "id": activity.id * 1000 + 800 + k,
                "resource_state": 2,
                "name": name,
                **_window(track, i, j),
                "distance": distance,
                "segment": {
                    "id": _segment_id(activity, k),
                    "resource_state": 2,
                    "name": name,
                    "activity_type": "Ride"
                    if str(activity.summary.get("type")).endswith("Ride")
                    else "Run",
                    "distance": round(distance * 0.98, 1),
                    "average_grade": round(rng.uniform(-3, 6), 1),
                    "maximum_grade": round(rng.uniform(6, 15), 1),
                    "elevation_high": round(rng.uniform(50, 300), 1),
                    "elevation_low": round(rng.uniform(0, 50), 1),
                    "start_latlng": [lat, lng],
                    "end_latlng": [lat, lng],
                    "climb_category": 0,
                    "city": None,
                    "state": None,
                    "country": activity.summary.get("location_country"),
                    "private": False,
                    "hazardous": False,
                    "starred": False,
                },
                "kom_rank": None,
                "pr_rank": rng.choice([None, None, 1, 2, 3]),
                "achievements": [],
                "hidden": False,
            }
        )
    return out
