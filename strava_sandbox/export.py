"""A realistic Strava bulk export from the sandbox's synthetic data (same ids and starts).

``write_export(path, seed, athletes, activities, anchor, athlete_index, language)`` writes a
folder (or, for a ``.zip`` path, a zip) with ``activities.csv`` (localised header with the
repeated columns), ``activities/`` holding FIT (fit-tool encoder), GPX (gpxpy), TCX files,
some gzipped, file numbers that differ from the activity ids, manual activities without a
file, and a corrupt file or two. ``python -m strava_sandbox.export PATH`` writes one.
"""

from __future__ import annotations

import csv
import gzip
import io
import sys
import zipfile
from pathlib import Path
from typing import Any

import gpxpy.gpx
from fit_tool.fit_file_builder import FitFileBuilder
from fit_tool.profile.messages.file_id_message import FileIdMessage
from fit_tool.profile.messages.record_message import RecordMessage
from fit_tool.profile.profile_type import FileType, Manufacturer

from nunis_ingest.bulk_export.csv_headers import header_for
from strava_sandbox.data import Activity, generate_dataset
from strava_sandbox.detail import streams

FIELDS = (
    "activity_id", "activity_date", "name", "sport", "description", "elapsed_time",
    "distance_display", "max_heartrate", "suffer_score", "commute", "filename",
    "elapsed_time_file", "moving_time", "distance", "max_speed", "average_speed",
    "total_elevation_gain", "elev_low", "elev_high", "average_cadence", "average_heartrate",
    "max_heartrate_file", "average_watts", "max_watts", "commute_flag", "total_work",
)  # fmt: skip
_EN_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _date(activity: Activity, language: str) -> str:
    import datetime as dt

    t = dt.datetime.fromtimestamp(activity.start, dt.UTC)
    if language == "en":
        hour = t.hour % 12 or 12
        ampm = "AM" if t.hour < 12 else "PM"
        return f"{_EN_MONTHS[t.month - 1]} {t.day}, {t.year}, {hour}:{t:%M:%S} {ampm}"
    return f"{t:%d.%m.%Y, %H:%M:%S}"


def _num(value: Any, language: str) -> str:
    if value is None:
        return ""
    text = str(value)
    return text.replace(".", ",") if language != "en" else text


def _series(activity: Activity) -> dict[str, list[Any]]:
    keys = ("time", "distance", "latlng", "altitude", "heartrate", "cadence", "watts", "temp")
    return {k: v["data"] for k, v in streams(activity, keys, True).items()}


def fit_bytes(activity: Activity) -> bytes:
    s = _series(activity)
    builder = FitFileBuilder(auto_define=True)
    file_id = FileIdMessage()
    file_id.type = FileType.ACTIVITY
    file_id.manufacturer = Manufacturer.GARMIN.value
    file_id.time_created = activity.start * 1000
    builder.add(file_id)
    for i, t in enumerate(s["time"]):
        r = RecordMessage()
        r.timestamp = (activity.start + t) * 1000
        r.distance = s["distance"][i]
        if "latlng" in s:
            r.position_lat, r.position_long = s["latlng"][i]
            r.altitude = s["altitude"][i]
        for key, attr in (
            ("heartrate", "heart_rate"),
            ("cadence", "cadence"),
            ("watts", "power"),
            ("temp", "temperature"),
        ):
            if key in s:
                setattr(r, attr, s[key][i])
        builder.add(r)
    return bytes(builder.build().to_bytes())


def gpx_bytes(activity: Activity) -> bytes:
    import datetime as dt

    s = _series(activity)
    gpx = gpxpy.gpx.GPX()
    track, segment = gpxpy.gpx.GPXTrack(), gpxpy.gpx.GPXTrackSegment()
    gpx.tracks.append(track)
    track.segments.append(segment)
    for i, t in enumerate(s["time"]):
        lat, lng = s["latlng"][i]
        when = dt.datetime.fromtimestamp(activity.start + t, dt.UTC)
        segment.points.append(gpxpy.gpx.GPXTrackPoint(lat, lng, s["altitude"][i], when))
    return gpx.to_xml().encode()


def tcx_bytes(activity: Activity) -> bytes:
    import datetime as dt

    s = _series(activity)
    out = io.StringIO()
    out.write(
        '   <?xml version="1.0" encoding="UTF-8"?>\n<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"><Activities><Activity>'
    )
    start = dt.datetime.fromtimestamp(activity.start, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    out.write(
        f'<Id>{start}</Id><Lap StartTime="{start}"><TotalTimeSeconds>{s["time"][-1]}</TotalTimeSeconds><DistanceMeters>{s["distance"][-1]}</DistanceMeters><Track>'  # noqa: E501
    )
    for i, t in enumerate(s["time"]):
        when = dt.datetime.fromtimestamp(activity.start + t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        out.write(f"<Trackpoint><Time>{when}</Time>")
        if "latlng" in s:
            lat, lng = s["latlng"][i]
            out.write(
                f"<Position><LatitudeDegrees>{lat}</LatitudeDegrees><LongitudeDegrees>{lng}</LongitudeDegrees></Position><AltitudeMeters>{s['altitude'][i]}</AltitudeMeters>"
            )
        out.write(f"<DistanceMeters>{s['distance'][i]}</DistanceMeters>")
        if "heartrate" in s:
            out.write(f"<HeartRateBpm><Value>{s['heartrate'][i]}</Value></HeartRateBpm>")
        out.write("</Trackpoint>")
    out.write("</Track></Lap></Activity></Activities></TrainingCenterDatabase>")
    return out.getvalue().encode()


def _file_for(activity: Activity, n: int) -> tuple[str, bytes] | None:
    s = activity.summary
    if s.get("manual"):
        return None
    number = activity.id - 1000 - n  # device uploads: a number near the id, not equal
    gps = bool(s.get("start_latlng"))
    kind = n % 4
    if kind == 1 and gps:
        return f"activities/{activity.id}.gpx", gpx_bytes(activity)
    if kind == 2 and gps:
        return f"activities/{number}.gpx.gz", gzip.compress(gpx_bytes(activity))
    if kind == 3:
        return f"activities/{number}.tcx.gz", gzip.compress(tcx_bytes(activity))
    return f"activities/{number}.fit.gz", gzip.compress(fit_bytes(activity))


def csv_row(activity: Activity, filename: str, language: str) -> list[str]:
    s = activity.summary
    values = {
        "activity_id": str(activity.id),
        "activity_date": _date(activity, language),
        "name": s.get("name") or "",
        "sport": s.get("sport_type") or "",
        "elapsed_time": str(s.get("elapsed_time") or ""),
        "elapsed_time_file": str(s.get("elapsed_time") or ""),
        "distance_display": _num(round((s.get("distance") or 0) / 1000, 2), language),
        "distance": _num(s.get("distance"), language),
        "moving_time": _num(s.get("moving_time"), language),
        "commute": "true" if s.get("commute") else "false",
        "commute_flag": _num(1.0 if s.get("commute") else 0.0, language),
        "filename": filename,
        "max_heartrate_file": _num(s.get("max_heartrate"), language),
        "total_work": _num(
            None if s.get("kilojoules") is None else s["kilojoules"] * 1000, language
        ),
    }
    for f in FIELDS:
        if f not in values:
            values[f] = _num(s.get(f), language)
    return [values[f] for f in FIELDS]


def write_export(
    path: Path, *, seed: int = 7, athletes: int = 1, activities: int = 60, anchor: int,
    athlete_index: int = 0, language: str = "en",
) -> int:  # fmt: skip
    """Write the export; return the athlete id it belongs to."""
    athlete = generate_dataset(seed, athletes, activities, anchor).athletes[athlete_index]
    files: dict[str, bytes] = {}
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header_for(language, FIELDS))
    for n, activity in enumerate(athlete.activities):
        made = _file_for(activity, n)
        if made is not None:
            corrupt = len(files) % 25 == 3  # a corrupt file or two per export
            files[made[0]] = b"\x1f\x8b this is not gzip" if corrupt else made[1]
        writer.writerow(csv_row(activity, made[0] if made else "", language))
    files["activities.csv"] = text.getvalue().encode()
    files["profile.csv"] = b"Athlete ID\n" + str(athlete.id).encode() + b"\n"
    if path.suffix == ".zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
            for name, data in files.items():
                z.writestr(name, data)
    else:
        for name, data in files.items():
            (path / name).parent.mkdir(parents=True, exist_ok=True)
            (path / name).write_bytes(data)
    return athlete.id


if __name__ == "__main__":
    import time

    target = Path(sys.argv[1])
    print(
        write_export(
            target,
            activities=int(sys.argv[2]) if len(sys.argv) > 2 else 60,
            anchor=int(time.time()),
        )
    )
