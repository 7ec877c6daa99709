"""Detail views computed on request: detailed activity, laps, streams, athlete stats."""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from typing import Any

from strava_sandbox.clock import iso
from strava_sandbox.data import Activity

STREAM_TYPES = (
    "time",
    "distance",
    "latlng",
    "altitude",
    "velocity_smooth",
    "heartrate",
    "cadence",
    "watts",
    "temp",
    "moving",
    "grade_smooth",
)
MAX_LAPS = 40


def _rng(activity: Activity, what: str) -> random.Random:
    return random.Random(f"{activity.id}:{what}")


def laps(activity: Activity) -> list[dict[str, Any]]:
    s = activity.summary
    distance = float(s.get("distance") or 0.0)
    count = max(1, min(MAX_LAPS, math.ceil(distance / 1000))) if distance else 1
    moving, elapsed = int(s.get("moving_time") or 0), int(s.get("elapsed_time") or 0)
    rng = _rng(activity, "laps")
    out = []
    for i in range(count):
        lap_distance = round(distance / count, 1)
        lap_moving, lap_elapsed = moving // count, elapsed // count
        lap: dict[str, Any] = {
            "id": activity.id * 100 + i,
            "resource_state": 2,
            "name": f"Lap {i + 1}",
            "activity": {"id": activity.id, "resource_state": 1},
            "athlete": {"id": activity.athlete_id, "resource_state": 1},
            "elapsed_time": lap_elapsed,
            "moving_time": lap_moving,
            "start_date": iso(activity.start + i * lap_elapsed),
            "start_date_local": iso(activity.start + i * lap_elapsed + int(s["utc_offset"])),
            "distance": lap_distance,
            "start_index": i * 100,
            "end_index": i * 100 + 99,
            "total_elevation_gain": round(rng.uniform(0, 20), 1),
            "average_speed": round(lap_distance / lap_moving, 2) if lap_moving else 0,
            "max_speed": round(lap_distance / lap_moving * 1.3, 2) if lap_moving else 0,
            "lap_index": i + 1,
            "split": i + 1,
            "pace_zone": rng.randint(1, 5),
        }
        if "average_cadence" in s:
            lap["average_cadence"] = round(rng.uniform(75, 90), 1)
        if s.get("has_heartrate"):
            lap["average_heartrate"] = round(rng.uniform(120, 165), 1)
            lap["max_heartrate"] = float(rng.randint(165, 190))
        if "average_watts" in s:
            lap["average_watts"] = round(rng.uniform(140, 260), 1)
            lap["device_watts"] = bool(s.get("device_watts"))
        out.append(lap)
    return out


def _splits(activity: Activity, unit: float) -> list[dict[str, Any]]:
    s = activity.summary
    distance = float(s.get("distance") or 0.0)
    if not distance or s.get("manual"):
        return []
    speed = float(s.get("average_speed") or 1.0) or 1.0
    count = min(MAX_LAPS, math.ceil(distance / unit))
    out = []
    for i in range(count):
        length = min(unit, distance - i * unit)
        seconds = int(length / speed)
        out.append(
            {
                "distance": round(length, 1),
                "elapsed_time": seconds,
                "elevation_difference": 0.0,
                "moving_time": seconds,
                "split": i + 1,
                "average_speed": round(speed, 2),
                "pace_zone": 0,
            }
        )
    return out


def detailed(activity: Activity) -> dict[str, Any]:
    s = activity.summary
    rng = _rng(activity, "detail")
    d = dict(s)
    d["resource_state"] = 3
    d["description"] = rng.choice([None, "", "Felt great 💪", "Avec des amis, très bien."])
    d["calories"] = round(float(s.get("kilojoules") or s.get("moving_time") or 0) * 0.24, 1)
    gear_id = s.get("gear_id")
    d["gear"] = (
        {
            "id": gear_id,
            "primary": True,
            "name": "Gear ⚙️",
            "resource_state": 2,
            "distance": 123456.7,
        }
        if gear_id
        else None
    )
    d["photos"] = {"primary": None, "count": 0}
    d["map"] = dict(s["map"], polyline=s["map"].get("summary_polyline"), resource_state=3)
    d["laps"] = laps(activity)
    d["splits_metric"] = _splits(activity, 1000.0)
    d["splits_standard"] = _splits(activity, 1609.34)
    d["segment_efforts"] = []
    d["best_efforts"] = []
    d["embed_token"] = f"{activity.id:x}"
    d["hide_from_home"] = False
    d["available_zones"] = []
    return d


def _samples(activity: Activity) -> int:
    return max(2, min(1000, int(activity.summary.get("elapsed_time") or 0) // 10))


def available_streams(activity: Activity) -> set[str]:
    s = activity.summary
    have = {"time", "distance", "moving", "velocity_smooth", "temp"}
    if s.get("start_latlng"):
        have |= {"latlng", "altitude", "grade_smooth"}
    if s.get("has_heartrate"):
        have.add("heartrate")
    if "average_cadence" in s:
        have.add("cadence")
    if "average_watts" in s:
        have.add("watts")
    return have


def _series(activity: Activity, kind: str, n: int) -> list[Any]:
    s = activity.summary
    rng = _rng(activity, f"stream:{kind}")
    elapsed = int(s.get("elapsed_time") or 0)
    distance = float(s.get("distance") or 0.0)
    if kind == "time":
        return [round(i * elapsed / (n - 1)) for i in range(n)]
    if kind == "distance":
        return [round(i * distance / (n - 1), 1) for i in range(n)]
    if kind == "latlng":
        lat, lng = s["start_latlng"]
        r = max(distance, 100.0) / (2 * math.pi) / 111_000
        return [
            [
                round(lat + r * math.sin(2 * math.pi * i / (n - 1)), 6),
                round(lng + r * (1 - math.cos(2 * math.pi * i / (n - 1))), 6),
            ]
            for i in range(n)
        ]
    if kind == "moving":
        return [True] * n
    ranges = {
        "altitude": (10, 200),
        "velocity_smooth": (1, 5),
        "heartrate": (110, 185),
        "cadence": (70, 95),
        "watts": (80, 400),
        "temp": (5, 30),
        "grade_smooth": (-8, 8),
    }
    lo, hi = ranges[kind]
    integral = kind in ("heartrate", "cadence", "watts", "temp")
    return [rng.randint(lo, hi) if integral else round(rng.uniform(lo, hi), 1) for _ in range(n)]


def streams(activity: Activity, keys: Iterable[str], key_by_type: bool) -> Any:
    """Strava returns the asked-for streams that exist, always with distance (and time)."""
    wanted = {k for k in keys if k in STREAM_TYPES} | {"distance", "time"}
    have = available_streams(activity)
    n = _samples(activity)
    out: list[dict[str, Any]] = []
    for kind in STREAM_TYPES:
        if kind in wanted and kind in have:
            out.append(
                {
                    "type": kind,
                    "data": _series(activity, kind, n),
                    "series_type": "distance",
                    "original_size": n,
                    "resolution": "high",
                }
            )
    if key_by_type:
        return {item.pop("type"): item for item in out}
    return out


def _totals(acts: list[Activity]) -> dict[str, Any]:
    return {
        "count": len(acts),
        "distance": round(sum(float(a.summary.get("distance") or 0) for a in acts), 1),
        "moving_time": sum(int(a.summary.get("moving_time") or 0) for a in acts),
        "elapsed_time": sum(int(a.summary.get("elapsed_time") or 0) for a in acts),
        "elevation_gain": round(
            sum(float(a.summary.get("total_elevation_gain") or 0) for a in acts), 1
        ),
        "achievement_count": sum(int(a.summary.get("achievement_count") or 0) for a in acts),
    }


def stats(activities: Iterable[Activity], now: float) -> dict[str, Any]:
    """Totals over Everyone-visible activities, as Strava computes them."""
    public = [a for a in activities if a.summary.get("visibility") == "everyone"]
    year_start = int(now) - (int(now) % (365 * 86400))  # close enough to Jan 1 for a sandbox
    out: dict[str, Any] = {
        "biggest_ride_distance": max(
            (
                float(a.summary.get("distance") or 0)
                for a in public
                if a.summary.get("type") == "Ride"
            ),
            default=0.0,
        ),
        "biggest_climb_elevation_gain": max(
            (float(a.summary.get("total_elevation_gain") or 0) for a in public), default=0.0
        ),
    }
    kinds = {"ride": ("Ride", "VirtualRide"), "run": ("Run",), "swim": ("Swim",)}
    for name, types in kinds.items():
        mine = [a for a in public if a.summary.get("type") in types]
        out[f"recent_{name}_totals"] = _totals([a for a in mine if a.start > now - 28 * 86400])
        out[f"ytd_{name}_totals"] = _totals([a for a in mine if a.start >= year_start])
        out[f"all_{name}_totals"] = _totals(mine)
    return out
