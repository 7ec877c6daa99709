"""Detail views computed on request: detailed activity, laps, streams, athlete stats.

`expected` counts what they serve, for tests to compare with.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from strava_sandbox import efforts, track
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


def laps(activity: Activity, points: int | None = None) -> list[dict[str, Any]]:
    """The laps, as both GET /activities/{id}/laps and the DetailedActivity carry them."""
    return efforts.laps(activity, track.build(activity, points))


def detailed(activity: Activity, points: int | None = None) -> dict[str, Any]:
    s = activity.summary
    rng = track.rng_for(activity, "detail")
    recording = track.build(activity, points)
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
    d["photos"] = {"primary": None, "use_primary_photo": False, "count": 0}
    d["map"] = dict(s["map"], polyline=s["map"].get("summary_polyline"), resource_state=3)
    d["laps"] = efforts.laps(activity, recording)
    d["splits_metric"] = efforts.splits(activity, recording, efforts.METRIC)
    d["splits_standard"] = efforts.splits(activity, recording, efforts.STANDARD)
    d["segment_efforts"] = efforts.segment_efforts(activity, recording)
    d["best_efforts"] = efforts.best_efforts(activity, recording)
    d["embed_token"] = hashlib.sha1(
        f"embed:{activity.id}".encode(), usedforsecurity=False
    ).hexdigest()
    d["hide_from_home"] = False
    d["available_zones"] = ["heartrate"] if s.get("has_heartrate") else []
    return d


def available_streams(activity: Activity) -> set[str]:
    """Stream types the activity has: none for manual entries (404), no GPS ones indoors."""
    s = activity.summary
    if not track.has_track(activity):
        return set()
    have = {"time", "distance", "moving", "velocity_smooth", "temp"}
    if track.has_gps(activity):
        have |= track.GPS_STREAMS
    if s.get("has_heartrate"):
        have.add("heartrate")
    if "average_cadence" in s:
        have.add("cadence")
    if "average_watts" in s or s.get("device_watts"):
        have.add("watts")
    return have


def streams(
    activity: Activity, keys: Iterable[str], key_by_type: bool, points: int | None = None
) -> Any:
    """Strava returns the asked-for streams that exist, always with distance (and time)."""
    wanted = {k for k in keys if k in STREAM_TYPES} | {"distance", "time"}
    have = available_streams(activity)
    recording = track.build(activity, points)
    out: list[dict[str, Any]] = []
    if recording is None:
        return {} if key_by_type else out
    for kind in STREAM_TYPES:
        if kind in wanted and kind in have:
            out.append(
                {
                    "type": kind,
                    "data": recording.series(kind),
                    "series_type": "distance",
                    "original_size": recording.n,
                    "resolution": "high",
                }
            )
    if key_by_type:
        return {item.pop("type"): item for item in out}
    return out


def expected(activity: Activity, points: int | None = None) -> dict[str, Any]:
    """What the server serves for an activity, counted without building it."""
    return {
        "id": activity.id,
        "laps": efforts.lap_count(activity),
        "splits_metric": efforts.split_count(activity, efforts.METRIC),
        "splits_standard": efforts.split_count(activity, efforts.STANDARD),
        "best_efforts": len(efforts.best_effort_distances(activity)),
        "best_effort_names": [name for name, _ in efforts.best_effort_distances(activity)],
        "stream_points": track.sample_count(activity, points),
        "stream_types": sorted(available_streams(activity), key=STREAM_TYPES.index),
        "streams_status": 200 if track.has_track(activity) else 404,
    }


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
