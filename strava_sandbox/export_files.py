"""Activity files as devices and Strava write them, from the sandbox's synthetic recordings,
and the ways real ones come damaged.

FIT through ``fit_writer`` (our own encoder, not the importer's decoder); GPX and TCX as
text, the way Strava and Garmin write them (TCX with spaces before ``<?xml``, GPX with
Garmin's ``TrackPointExtension`` and, when asked, points without a time). Damage:
a corrupted deflate stream, a truncated gzip, a gzip header that is not one, a FIT file
with a wrong CRC or cut mid-record, a GPX cut mid-element.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
from typing import Any

from strava_sandbox.data import Activity
from strava_sandbox.detail import laps as sandbox_laps
from strava_sandbox.detail import streams
from strava_sandbox.fit_writer import FILE_ACTIVITY, MANUFACTURERS, FitWriter, Point, Session

KEYS = ("time", "distance", "latlng", "altitude", "heartrate", "cadence", "watts", "temp",
        "velocity_smooth")  # fmt: skip
FIT_SPORT = {"Run": "running", "TrailRun": "running", "Ride": "cycling", "VirtualRide": "cycling",
             "Walk": "walking", "Hike": "walking"}  # fmt: skip
FIT_SUB = {"TrailRun": "trail", "VirtualRide": "virtual_activity"}
TCX_SPORT = {"Run": "Running", "TrailRun": "Running", "Ride": "Biking", "VirtualRide": "Biking"}


def series(activity: Activity) -> dict[str, list[Any]]:
    return {k: v["data"] for k, v in streams(activity, KEYS, True).items()}


def _iso(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fit_bytes(
    activity: Activity,
    *,
    manufacturer: str = "garmin",
    serial: int | None = None,
    compressed: bool = False,
    big_endian: bool = False,
    bad_crc: bool = False,
    cut: int = 0,
    kind: int = FILE_ACTIVITY,
    shift: int = 0,
    scale: float = 1.0,
) -> bytes:
    """``shift`` seconds later and distances times ``scale``: the same ride as another
    device (or platform) recorded it."""
    s, summary = series(activity), activity.summary
    start = activity.start + shift
    writer = FitWriter(big_endian=big_endian)
    writer.file_id(
        kind=kind,
        manufacturer=MANUFACTURERS[manufacturer],
        product=3990,
        serial=serial if serial is not None else 3_900_000_000 + activity.id % 10_000_000,
        created=start + int(summary.get("elapsed_time") or 0),
    )
    if kind != FILE_ACTIVITY:  # a monitoring or settings file: one record, no session
        writer.records([Point(start, heartrate=60)])
        return writer.to_bytes()
    latlng = s.get("latlng")
    points = [
        Point(
            t=start + t,
            lat=latlng[i][0] if latlng else None,
            lng=latlng[i][1] if latlng else None,
            altitude=s["altitude"][i] if "altitude" in s else None,
            distance=s["distance"][i] * scale,
            heartrate=s["heartrate"][i] if "heartrate" in s else None,
            cadence=s["cadence"][i] if "cadence" in s else None,
            watts=s["watts"][i] if "watts" in s else None,
            temp=s["temp"][i] if "temp" in s else None,
            speed=s["velocity_smooth"][i] if "velocity_smooth" in s else None,
        )
        for i, t in enumerate(s["time"])
    ]
    writer.records(points, compressed=compressed)
    for lap in sandbox_laps(activity):
        at = shift + int(
            dt.datetime.fromisoformat(lap["start_date"].replace("Z", "+00:00")).timestamp()
        )
        writer.lap(at, at + lap["elapsed_time"], lap["elapsed_time"], lap["moving_time"],
                   lap["distance"] * scale)  # fmt: skip
    sport = str(summary.get("sport_type"))
    writer.session(
        Session(
            start=start,
            elapsed=float(summary.get("elapsed_time") or 0),
            moving=float(summary.get("moving_time") or 0),
            distance=float(summary.get("distance") or 0) * scale,
            sport=FIT_SPORT.get(sport, "training"),
            sub_sport=FIT_SUB.get(sport, "generic"),
        )
    )
    return writer.to_bytes(bad_crc=bad_crc, cut=cut)


def gpx_bytes(activity: Activity, *, creator: str = "StravaGPX", untimed_every: int = 0) -> bytes:
    s = series(activity)
    out = io.StringIO()
    out.write(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<gpx creator="{creator}" version="1.1" xmlns="http://www.topografix.com/GPX/1/1" '
        'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">\n'
        f" <metadata><time>{_iso(activity.start)}</time></metadata>\n"
        f" <trk><name>{_xml(activity.summary.get('name') or '')}</name>"
        f"<type>{FIT_SPORT.get(str(activity.summary.get('sport_type')), 'other')}</type><trkseg>\n"
    )
    for i, t in enumerate(s["time"]):
        lat, lng = s["latlng"][i]
        out.write(f'  <trkpt lat="{lat}" lon="{lng}"><ele>{s["altitude"][i]}</ele>')
        if not (untimed_every and i % untimed_every == untimed_every - 1):
            out.write(f"<time>{_iso(activity.start + t)}</time>")
        ext = "".join(
            f"<gpxtpx:{tag}>{s[key][i]}</gpxtpx:{tag}>"
            for key, tag in (("temp", "atemp"), ("heartrate", "hr"), ("cadence", "cad"))
            if key in s
        )
        if ext or "watts" in s:
            power = f"<power>{s['watts'][i]}</power>" if "watts" in s else ""
            out.write(f"<extensions>{power}<gpxtpx:TrackPointExtension>{ext}"
                      "</gpxtpx:TrackPointExtension></extensions>")  # fmt: skip
        out.write("</trkpt>\n")
    out.write(" </trkseg></trk>\n</gpx>\n")
    return out.getvalue().encode()


def tcx_bytes(activity: Activity, *, author: str = "") -> bytes:
    s, summary = series(activity), activity.summary
    out = io.StringIO()
    sport = TCX_SPORT.get(str(summary.get("sport_type")), "Other")
    out.write(
        '      <?xml version="1.0" encoding="UTF-8"?>\n'
        '<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"'
        ' xmlns:ns3="http://www.garmin.com/xmlschemas/ActivityExtension/v2">\n'
        f' <Activities><Activity Sport="{sport}"><Id>{_iso(activity.start)}</Id>\n'
    )
    laps = sandbox_laps(activity)
    for n, lap in enumerate(laps):  # Strava's laps share their boundary point: write it once
        first, last = lap["start_index"], lap["end_index"] - (n < len(laps) - 1)
        out.write(
            f'  <Lap StartTime="{lap["start_date"]}"><TotalTimeSeconds>{lap["elapsed_time"]}'
            f"</TotalTimeSeconds><DistanceMeters>{lap['distance']}</DistanceMeters>"
            f"<Intensity>Active</Intensity><TriggerMethod>Manual</TriggerMethod><Track>\n"
        )
        for i in range(first, last + 1):
            out.write(f"   <Trackpoint><Time>{_iso(activity.start + s['time'][i])}</Time>")
            if "latlng" in s:
                lat, lng = s["latlng"][i]
                out.write(f"<Position><LatitudeDegrees>{lat}</LatitudeDegrees><LongitudeDegrees>"
                          f"{lng}</LongitudeDegrees></Position>"
                          f"<AltitudeMeters>{s['altitude'][i]}</AltitudeMeters>")  # fmt: skip
            out.write(f"<DistanceMeters>{s['distance'][i]}</DistanceMeters>")
            if "heartrate" in s:
                out.write(f"<HeartRateBpm><Value>{s['heartrate'][i]}</Value></HeartRateBpm>")
            if "velocity_smooth" in s:
                out.write(f"<Extensions><ns3:TPX><ns3:Speed>{s['velocity_smooth'][i]}</ns3:Speed>"
                          "</ns3:TPX></Extensions>")  # fmt: skip
            out.write("</Trackpoint>\n")
        out.write("  </Track></Lap>\n")
    out.write(" </Activity></Activities>\n")
    if author:
        out.write(f" <Author><Name>{_xml(author)}</Name></Author>\n")
    out.write("</TrainingCenterDatabase>\n")
    return out.getvalue().encode()


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


# --- damage, as found in real exports ---------------------------------------------------


def corrupt_deflate(data: bytes) -> bytes:
    """A gzip whose deflate stream is damaged in the middle (zlib: "invalid distance too
    far back", "invalid block type", ... or a CRC that no longer matches)."""
    packed = bytearray(gz(data))
    middle = len(packed) // 2
    for i in range(middle, min(middle + 24, len(packed) - 8)):
        packed[i] ^= 0xA5
    return bytes(packed)


def truncated_gzip(data: bytes) -> bytes:
    """Cut in the middle: ``EOFError`` (the end-of-stream marker never comes)."""
    packed = gz(data)
    return packed[: len(packed) // 2]


def not_gzip(_data: bytes) -> bytes:
    """Named ``.gz``, with gzip's magic, then garbage: ``gzip.BadGzipFile`` or zlib."""
    return b"\x1f\x8b this is not gzip"


def cut_xml(data: bytes) -> bytes:
    """A GPX or TCX that ends in the middle of an element."""
    return data[: len(data) * 2 // 3]
