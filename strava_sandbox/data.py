"""Deterministic generation of athletes and their activity histories."""

from __future__ import annotations

import functools
import json
import random
from dataclasses import dataclass
from typing import Any

from strava_sandbox.clock import iso, parse_time
from strava_sandbox.geo import PLACES, Place, route_pool
from strava_sandbox.profile import make_profile

HISTORY_SECONDS = 730 * 86400
FIRST_ACTIVITY_ID = 2_147_000_000  # ids cross 2^31 early on, as real ones did years ago
NAMES = [
    "Morning Run",
    "Lunch Run",
    "Evening Run",
    "Afternoon Ride",
    "Morning Walk",
    "Long run 🌧️",
    "Course du matin 🏃",
    "Интервалы 8×400",
    "朝ラン",
    "Zürich → Uetliberg 🚴",
    "Parkrun #142",
    "Recovery jog 😅",
    "Tempo Σ",
    "Crème brûlée run ☕",
    "Hügel-Training",
    'Easy "shakeout" & <strides>',
    "Ñandú loop",
    "Swim 🏊‍♀️",
    "Yoga 🧘",
    "Commute 🚲",
]
# sport_type, legacy type, weight, speed range m/s, manual/indoor-only flag
SPORTS: list[tuple[str, str, float, tuple[float, float]]] = [
    ("Run", "Run", 0.55, (2.4, 4.2)),
    ("TrailRun", "Run", 0.05, (1.8, 3.2)),
    ("Ride", "Ride", 0.12, (5.5, 9.0)),
    ("VirtualRide", "VirtualRide", 0.04, (6.0, 9.5)),
    ("Walk", "Walk", 0.12, (1.1, 1.6)),
    ("Swim", "Swim", 0.06, (0.7, 1.2)),
    ("WeightTraining", "WeightTraining", 0.03, (0.0, 0.0)),
    ("Yoga", "Yoga", 0.03, (0.0, 0.0)),
]
DEVICES = ["Garmin Forerunner 265", "Apple Watch Series 9", "COROS PACE 3", "Wahoo ELEMNT BOLT"]


@dataclass(frozen=True, slots=True)
class Activity:
    """One activity: its summary dict, its precomputed JSON text and its start epoch."""

    id: int
    athlete_id: int
    start: int
    summary: dict[str, Any]
    text: str

    @property
    def only_me(self) -> bool:
        return self.summary.get("visibility") == "only_me"

    @property
    def sort_key(self) -> tuple[int, int]:
        return (self.start, self.id)


def to_activity(summary: dict[str, Any], start: int | None = None) -> Activity:
    text = json.dumps(summary, ensure_ascii=False, separators=(",", ":"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate travels as a \u escape, as from Strava
        text = json.dumps(summary, separators=(",", ":"))
    return Activity(
        id=int(summary["id"]),
        athlete_id=int(summary["athlete"]["id"]),
        start=parse_time(summary["start_date"]) if start is None else start,
        summary=summary,
        text=text,
    )


@dataclass(frozen=True, slots=True)
class AthleteData:
    id: int
    profile: dict[str, Any]
    activities: tuple[Activity, ...]  # sorted by (start, id)


@dataclass(frozen=True, slots=True)
class Dataset:
    athletes: tuple[AthleteData, ...]
    next_activity_id: int


def athlete_rng(seed: int, athlete_index: int) -> random.Random:
    return random.Random(f"{seed}:athlete:{athlete_index}")


def _pick_sport(rng: random.Random) -> tuple[str, str, tuple[float, float]]:
    roll = rng.random()
    for sport, legacy, weight, speeds in SPORTS:
        if roll < weight:
            return sport, legacy, speeds
        roll -= weight
    return SPORTS[0][0], SPORTS[0][1], SPORTS[0][3]


def _maybe_float(rng: random.Random, value: float) -> float | int:
    """Strava flips between integer and float forms of the same number."""
    return float(value) if rng.random() < 0.5 else int(value)


def _workout_type(rng: random.Random, legacy: str) -> int | None:
    if rng.random() < 0.3:
        return None
    if legacy == "Run":
        return rng.choice([0, 0, 0, 1, 2, 3])
    if legacy in ("Ride", "VirtualRide"):
        return rng.choice([10, 10, 11, 12])
    return None


def make_summary(
    rng: random.Random, activity_id: int, athlete_id: int, start: int, place: Place, anchor: int
) -> dict[str, Any]:
    sport, legacy, (lo, hi) = _pick_sport(rng)
    gym = lo == 0.0
    manual = gym or rng.random() < 0.04
    trainer = sport == "VirtualRide" or (sport == "Run" and rng.random() < 0.08)
    gps = not (manual or trainer or (sport == "Swim" and rng.random() < 0.5))
    moving = rng.randint(900, 7200)
    elapsed = moving + rng.choice([0, rng.randint(0, 900)])
    speed = 0.0 if gym else rng.uniform(lo, hi)
    distance = 0.0 if gym else round(moving * speed, 1)
    visibility = rng.choices(["everyone", "followers_only", "only_me"], [0.8, 0.1, 0.1])[0]
    recent = start > anchor - 365 * 86400
    s: dict[str, Any] = {
        "resource_state": 2,
        "athlete": {"id": athlete_id, "resource_state": 1},
        "name": rng.choice(NAMES),
        "distance": distance,
        "moving_time": moving,
        "elapsed_time": elapsed,
        "total_elevation_gain": 0 if not gps else round(rng.uniform(0, 400), 1),
        "type": legacy,
        "sport_type": sport,
        "workout_type": _workout_type(rng, legacy),
        "id": activity_id,
        "start_date": iso(start),
        "start_date_local": iso(start + place.utc_offset),
        "timezone": place.timezone,
        "utc_offset": _maybe_float(rng, place.utc_offset),
        "location_city": None,
        "location_state": None,
        "location_country": place.country,
        "achievement_count": rng.randint(0, 5),
        "kudos_count": rng.randint(0, 40),
        "comment_count": rng.randint(0, 3),
        "athlete_count": rng.randint(1, 4),
        "photo_count": 0,
        "trainer": trainer,
        "commute": legacy == "Ride" and rng.random() < 0.2,
        "manual": manual,
        "private": visibility == "only_me",
        "visibility": visibility,
        "flagged": False,
        "gear_id": None if gym else f"{'b' if legacy.endswith('Ride') else 'g'}{athlete_id}",
        "average_speed": round(speed, 3) if speed else 0,
        "max_speed": round(speed * rng.uniform(1.1, 1.8), 1) if speed else 0,
    }
    if gps:
        latlng, polyline = rng.choice(route_pool(place))
        s["start_latlng"], s["end_latlng"] = list(latlng), list(latlng)
        s["map"] = {"id": f"a{activity_id}", "summary_polyline": polyline, "resource_state": 2}
        s["elev_high"], s["elev_low"] = round(rng.uniform(50, 500), 1), round(rng.uniform(0, 50), 1)
    else:
        s["start_latlng"] = s["end_latlng"] = [] if recent else None
        empty = None if manual else rng.choice(["", None])
        s["map"] = {"id": f"a{activity_id}", "summary_polyline": empty, "resource_state": 2}
    if not manual and legacy in ("Run", "Ride", "VirtualRide", "Walk"):
        s["average_cadence"] = round(rng.uniform(70, 90), 1)
    has_hr = not manual and rng.random() < 0.7
    s["has_heartrate"] = has_hr
    if has_hr:
        s["average_heartrate"] = round(rng.uniform(120, 160), 1)
        s["max_heartrate"] = _maybe_float(rng, rng.randint(165, 195))
        s["suffer_score"] = _maybe_float(rng, rng.randint(5, 200))
    s["heartrate_opt_out"] = False
    s["display_hide_heartrate_option"] = has_hr
    if legacy.endswith("Ride") and not manual and rng.random() < 0.6:
        watts = round(rng.uniform(140, 260), 1)
        s.update(
            average_watts=watts,
            weighted_average_watts=int(watts * 1.05),
            max_watts=int(watts * 3),
            kilojoules=round(watts * moving / 1000, 1),
            device_watts=rng.random() < 0.8,
        )
    s["pr_count"] = rng.randint(0, 2)
    s["total_photo_count"] = 0
    s["has_kudoed"] = False
    s["from_accepted_tag"] = False
    if not manual:
        upload = activity_id * 10 + 7
        s.update(upload_id=upload, upload_id_str=str(upload), external_id=f"garmin_{upload}.fit")
        if recent:
            s["device_name"] = rng.choice(DEVICES)
    else:
        s.update(upload_id=None, external_id=None)
    return s


def make_history(
    rng: random.Random, athlete_id: int, count: int, anchor: int, first_id: int
) -> tuple[Activity, ...]:
    home = rng.choice(PLACES)
    starts = sorted(rng.randint(anchor - HISTORY_SECONDS, anchor - 3600) for _ in range(count))
    acts = []
    next_id = first_id
    for start in starts:
        place = home if rng.random() < 0.9 else rng.choice(PLACES)
        summary = make_summary(rng, next_id, athlete_id, start, place, anchor)
        acts.append(to_activity(summary, start))
        next_id += rng.randint(1, 90_000)
    return tuple(acts)


def athlete_id_for(index: int) -> int:
    return 1_000_000 + index * 7919


def make_athlete(seed: int, index: int, count: int, anchor: int, first_id: int) -> AthleteData:
    rng = athlete_rng(seed, index)
    athlete_id = athlete_id_for(index)
    profile = make_profile(rng, athlete_id, rng.choice(PLACES), anchor)
    return AthleteData(athlete_id, profile, make_history(rng, athlete_id, count, anchor, first_id))


@functools.lru_cache(maxsize=8)
def generate_dataset(seed: int, athletes: int, activities: int, anchor: int) -> Dataset:
    """Build (once per arguments) the athletes and their activities; the result is immutable."""
    built = []
    next_id = FIRST_ACTIVITY_ID
    for index in range(athletes):
        athlete = make_athlete(seed, index, activities, anchor, next_id)
        built.append(athlete)
        if athlete.activities:
            next_id = athlete.activities[-1].id + 1
    return Dataset(tuple(built), next_id + 1000)
