"""Original activity files (``.fit``, ``.gpx``, ``.tcx``, each maybe ``.gz``) -> points and laps.

Libraries: FIT with ``fitdecode`` (reads big-endian files and compressed timestamps, which
Garmin's SDK refuses), GPX with ``gpxpy``. TCX with the standard library's ElementTree:
no TCX reader on PyPI is both maintained and tolerant of Strava's TCX files, which start
with spaces before ``<?xml`` (stripped here). Expat does not fetch external entities.

Every reader raises ``UnreadableFile`` (with the reason) for anything it cannot read.
"""

from __future__ import annotations

import gzip
import io
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import fitdecode
import gpxpy

SEMICIRCLE = 180 / 2**31


class UnreadableFile(ValueError):
    """A file that is corrupt, truncated or of an unknown format."""


@dataclass
class Point:
    time: datetime | None = None
    distance: float | None = None
    lat: float | None = None
    lng: float | None = None
    altitude: float | None = None
    heartrate: int | None = None
    cadence: int | None = None
    watts: int | None = None
    temp: int | None = None
    velocity: float | None = None


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
class Track:
    points: list[Point] = field(default_factory=list)
    laps: list[Lap] = field(default_factory=list)
    device_name: str | None = None


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _int(value: Any) -> int | None:
    number = _num(value)
    return None if number is None else round(number)


def _utc(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_fit(data: bytes) -> Track:
    track = Track()
    try:
        with fitdecode.FitReader(io.BytesIO(data), check_crc=fitdecode.CrcCheck.RAISE) as fit:
            for frame in fit:
                if not isinstance(frame, fitdecode.FitDataMessage):
                    continue
                get = frame.get_value
                if frame.name == "record":
                    lat, lng = (
                        get("position_lat", fallback=None),
                        get("position_long", fallback=None),
                    )
                    altitude = get("enhanced_altitude", fallback=None)
                    speed = get("enhanced_speed", fallback=None)
                    track.points.append(
                        Point(
                            time=_utc(get("timestamp", fallback=None)),
                            distance=_num(get("distance", fallback=None)),
                            lat=None if lat is None else lat * SEMICIRCLE,
                            lng=None if lng is None else lng * SEMICIRCLE,
                            altitude=_num(
                                altitude if altitude is not None else get("altitude", fallback=None)
                            ),
                            heartrate=_int(get("heart_rate", fallback=None)),
                            cadence=_int(get("cadence", fallback=None)),
                            watts=_int(get("power", fallback=None)),
                            temp=_int(get("temperature", fallback=None)),
                            velocity=_num(
                                speed if speed is not None else get("speed", fallback=None)
                            ),
                        )
                    )
                elif frame.name == "lap":
                    track.laps.append(
                        Lap(
                            start=_utc(get("start_time", fallback=None)),
                            elapsed_time=_num(get("total_elapsed_time", fallback=None)),
                            moving_time=_num(get("total_timer_time", fallback=None)),
                            distance=_num(get("total_distance", fallback=None)),
                            average_speed=_num(
                                get("enhanced_avg_speed", fallback=None)
                                or get("avg_speed", fallback=None)
                            ),
                            max_speed=_num(
                                get("enhanced_max_speed", fallback=None)
                                or get("max_speed", fallback=None)
                            ),
                            average_heartrate=_num(get("avg_heart_rate", fallback=None)),
                            max_heartrate=_num(get("max_heart_rate", fallback=None)),
                            average_cadence=_num(get("avg_cadence", fallback=None)),
                            average_watts=_num(get("avg_power", fallback=None)),
                            total_elevation_gain=_num(get("total_ascent", fallback=None)),
                        )
                    )
                elif frame.name == "file_id" and track.device_name is None:
                    product = get("garmin_product", fallback=None) or get("product", fallback=None)
                    maker = get("manufacturer", fallback=None)
                    if maker is not None:
                        track.device_name = f"{maker} {product}".strip() if product else str(maker)
    except Exception as error:  # fitdecode raises many types for damaged files
        raise UnreadableFile(f"FIT: {type(error).__name__}: {error}"[:300]) from error
    return track


def _haversine(a: Point, b: Point) -> float:
    p1, p2 = math.radians(a.lat or 0.0), math.radians(b.lat or 0.0)
    dp, dl = p2 - p1, math.radians((b.lng or 0.0) - (a.lng or 0.0))
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(min(1.0, math.sqrt(h)))


def _fill_distance(points: list[Point]) -> None:
    """GPX carries no distance: accumulate it along the track."""
    total, previous = 0.0, None
    for point in points:
        if point.lat is not None and point.lng is not None:
            if previous is not None:
                total += _haversine(previous, point)
            previous = point
        if point.distance is None:
            point.distance = round(total, 1)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _ext_values(element: Any) -> dict[str, str]:
    """Garmin TrackPointExtension children (hr, cad, atemp, power) by local name."""
    out: dict[str, str] = {}
    for child in element.iter() if element is not None else ():
        if child.text and child.text.strip():
            out[_local(child.tag).casefold()] = child.text.strip()
    return out


def _float_text(value: str | None) -> float | None:
    try:
        return None if value is None else _num(float(value))
    except ValueError:
        return None


def parse_gpx(data: bytes) -> Track:
    try:
        gpx = gpxpy.parse(data.decode("utf-8-sig").lstrip())
    except Exception as error:
        raise UnreadableFile(f"GPX: {type(error).__name__}: {error}"[:300]) from error
    track = Track()
    for trk in gpx.tracks:
        for segment in trk.segments:
            for p in segment.points:
                ext: dict[str, str] = {}
                for e in p.extensions:
                    ext.update(_ext_values(e))
                track.points.append(
                    Point(
                        time=_utc(p.time),
                        lat=p.latitude,
                        lng=p.longitude,
                        altitude=_num(p.elevation),
                        heartrate=_int(_float_text(ext.get("hr"))),
                        cadence=_int(_float_text(ext.get("cad"))),
                        watts=_int(_float_text(ext.get("power"))),
                        temp=_int(_float_text(ext.get("atemp"))),
                    )
                )
    _fill_distance(track.points)
    return track


def _child(element: ET.Element, name: str) -> ET.Element | None:
    for child in element:
        if _local(child.tag) == name:
            return child
    return None


def _text(element: ET.Element | None, *path: str) -> str | None:
    for name in path:
        if element is None:
            return None
        element = _child(element, name)
    return None if element is None or element.text is None else element.text.strip()


def _tcx_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return _utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return None


def parse_tcx(data: bytes) -> Track:
    try:
        root = ET.fromstring(data.lstrip())  # noqa: S314 (expat resolves no external entities)
    except ET.ParseError as error:
        raise UnreadableFile(f"TCX: {error}"[:300]) from error
    track = Track()
    for lap_el in root.iter():
        if _local(lap_el.tag) != "Lap":
            continue
        hr_avg = _float_text(_text(lap_el, "AverageHeartRateBpm", "Value"))
        track.laps.append(
            Lap(
                start=_tcx_time(lap_el.get("StartTime")),
                elapsed_time=_float_text(_text(lap_el, "TotalTimeSeconds")),
                moving_time=_float_text(_text(lap_el, "TotalTimeSeconds")),
                distance=_float_text(_text(lap_el, "DistanceMeters")),
                max_speed=_float_text(_text(lap_el, "MaximumSpeed")),
                average_heartrate=hr_avg,
                max_heartrate=_float_text(_text(lap_el, "MaximumHeartRateBpm", "Value")),
                average_cadence=_float_text(_text(lap_el, "Cadence")),
            )
        )
        for tp in lap_el.iter():
            if _local(tp.tag) != "Trackpoint":
                continue
            ext = _ext_values(_child(tp, "Extensions"))
            track.points.append(
                Point(
                    time=_tcx_time(_text(tp, "Time")),
                    distance=_float_text(_text(tp, "DistanceMeters")),
                    lat=_float_text(_text(tp, "Position", "LatitudeDegrees")),
                    lng=_float_text(_text(tp, "Position", "LongitudeDegrees")),
                    altitude=_float_text(_text(tp, "AltitudeMeters")),
                    heartrate=_int(_float_text(_text(tp, "HeartRateBpm", "Value"))),
                    cadence=_int(_float_text(_text(tp, "Cadence"))),
                    watts=_int(_float_text(ext.get("watts"))),
                    velocity=_float_text(ext.get("speed")),
                )
            )
    if not track.points and not track.laps:
        raise UnreadableFile("TCX: no laps and no track points")
    return track


def parse_file(name: str, data: bytes) -> Track:
    """Parse by file name (``x.fit.gz``, ``x.GPX``, ...); ``UnreadableFile`` when it cannot."""
    lowered = name.casefold()
    if lowered.endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as error:
            raise UnreadableFile(f"gzip: {error}"[:300]) from error
        lowered = lowered[:-3]
    if lowered.endswith(".fit"):
        return parse_fit(data)
    if lowered.endswith(".gpx"):
        return parse_gpx(data)
    if lowered.endswith(".tcx"):
        return parse_tcx(data)
    raise UnreadableFile(f"unknown file type: {name.rsplit('/', 1)[-1]!r:.80}")
