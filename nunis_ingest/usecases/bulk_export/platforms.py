"""Pure: which platform a file comes from, and Strava's ``sport_type`` for its sport.

``source`` (``raw._source`` of the activity, ``source`` of its laps and streams) names
the platform: ``garmin`` for a Garmin Connect export (its ``DI_CONNECT/`` folder) or a
Garmin device's file, ``coros``, ``wahoo``, ``suunto``, ``polar``, ``zwift``,
``hammerhead``; ``file`` when nothing in the file names one. FIT files name their maker
in ``file_id.manufacturer``; GPX and TCX files in their ``creator`` or ``Author``.
"""

from __future__ import annotations

PLATFORMS = ("garmin", "coros", "wahoo", "suunto", "polar", "zwift", "hammerhead")
_ALIASES = {"dynastream": "garmin", "dynastream_oem": "garmin", "polar_electro": "polar"}

_SPORTS = {
    "running": "Run",
    "run": "Run",
    "cycling": "Ride",
    "biking": "Ride",
    "ride": "Ride",
    "swimming": "Swim",
    "walking": "Walk",
    "hiking": "Hike",
    "training": "Workout",
    "fitness_equipment": "Workout",
    "rowing": "Rowing",
    "cross_country_skiing": "NordicSki",
    "alpine_skiing": "AlpineSki",
    "snowboarding": "Snowboard",
    "e_biking": "EBikeRide",
    "paddling": "Canoeing",
    "kayaking": "Kayaking",
    "stand_up_paddleboarding": "StandUpPaddling",
    "surfing": "Surfing",
    "rock_climbing": "RockClimbing",
    "inline_skating": "InlineSkate",
    "ice_skating": "IceSkate",
    "snowshoeing": "Snowshoe",
    "golf": "Golf",
    "tennis": "Tennis",
    "soccer": "Soccer",
    "windsurfing": "Windsurf",
    "kitesurfing": "Kitesurf",
    "sailing": "Sail",
    "wheelchair_push_run": "Wheelchair",
    "wheelchair_push_walk": "Wheelchair",
}
_SUB_SPORTS = {
    ("running", "trail"): "TrailRun",
    ("running", "virtual_activity"): "VirtualRun",
    ("cycling", "virtual_activity"): "VirtualRide",
    ("cycling", "mountain"): "MountainBikeRide",
    ("cycling", "gravel_cycling"): "GravelRide",
    ("cycling", "e_bike_mountain"): "EMountainBikeRide",
    ("training", "strength_training"): "WeightTraining",
    ("training", "yoga"): "Yoga",
    ("training", "pilates"): "Pilates",
    ("training", "hiit"): "HighIntensityIntervalTraining",
    ("fitness_equipment", "elliptical"): "Elliptical",
    ("fitness_equipment", "stair_climbing"): "StairStepper",
    ("fitness_equipment", "indoor_rowing"): "Rowing",
}
INDOOR_SUB_SPORTS = frozenset({"treadmill", "indoor_cycling", "virtual_activity", "indoor_rowing"})


def platform_of(manufacturer: str | None) -> str:
    """The platform a FIT manufacturer or a GPX/TCX creator names; ``file`` if none."""
    if not manufacturer:
        return "file"
    text = manufacturer.casefold().strip()
    if text in _ALIASES:
        return _ALIASES[text]
    for platform in PLATFORMS:
        if platform in text:
            return platform
    return "file"


def sport_type(sport: str | None, sub_sport: str | None) -> str | None:
    """Strava's ``sport_type`` for a FIT ``sport``/``sub_sport`` (or a GPX ``type``, a TCX
    ``Sport``); None when there is no sensible one (the raw values stay in ``raw``)."""
    if not sport:
        return None
    key = sport.casefold().strip()
    sub = (sub_sport or "").casefold().strip()
    return _SUB_SPORTS.get((key, sub)) or _SPORTS.get(key)
