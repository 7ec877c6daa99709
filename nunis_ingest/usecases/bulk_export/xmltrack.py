"""GPX and TCX -> ``Track``, parsed as a stream with the standard library's expat.

Why not ``gpxpy`` or ElementTree: both build the whole document first (a 0.3 MB
``.gpx.gz`` of ten million points is gigabytes of objects). Here the file is fed to expat
in 64 KB pieces and only the current point is held, so memory is one point plus the
``Track`` columns, which ``limits.MAX_POINTS`` bounds.

Hostile XML is refused with the reason: any ``<!DOCTYPE`` (GPX and TCX never have one,
and without it there are no entities to expand, so no XXE and no entity bomb), nesting
deeper than ``limits.MAX_XML_DEPTH``, a tag longer than ``limits.MAX_TAG_BYTES`` (expat would
hold it whole); a text value is cut at ``limits.MAX_TEXT_CHARS``.
Spaces before ``<?xml`` (Strava's TCX files have them) are skipped.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import IO
from xml.parsers import expat

from nunis_ingest.usecases.bulk_export.limits import MAX_TAG_BYTES, MAX_TEXT_CHARS, MAX_XML_DEPTH
from nunis_ingest.usecases.bulk_export.track import Lap, Track, UnreadableFile, num, utc

CHUNK = 64 * 1024
_LEADING = b" \t\r\n\xef\xbb\xbf"

# leaf element (local name, lower case) -> point field
_GPX_POINT = {
    "ele": "altitude",
    "time": "time",
    "hr": "heartrate",
    "heartrate": "heartrate",
    "cad": "cadence",
    "cadence": "cadence",
    "power": "watts",
    "watts": "watts",
    "atemp": "temp",
    "temp": "temp",
    "speed": "velocity",
}
_TCX_POINT = {
    "time": "time",
    "latitudedegrees": "lat",
    "longitudedegrees": "lng",
    "altitudemeters": "altitude",
    "distancemeters": "distance",
    "value": "heartrate",  # inside HeartRateBpm
    "cadence": "cadence",
    "runcadence": "cadence",
    "speed": "velocity",
    "watts": "watts",
}
_TCX_LAP = {
    "totaltimeseconds": "elapsed_time",
    "distancemeters": "distance",
    "maximumspeed": "max_speed",
    "cadence": "average_cadence",
    "avgspeed": "average_speed",
    "avgwatts": "average_watts",
}


_LOCAL: dict[str, str] = {}


def _local(tag: str) -> str:
    """``gpxtpx:hr`` -> ``hr`` (memoised: a file repeats a handful of tags)."""
    name = _LOCAL.get(tag)
    if name is None:
        name = tag.rsplit(":", 1)[-1].casefold()
        if len(_LOCAL) < 4096:
            _LOCAL[tag] = name
    return name


def _open_tag(data: bytes, inside: int) -> int:
    """Bytes of the tag still open after ``data`` (expat holds a whole start tag, every
    attribute of it, before it calls us: a tag may not grow without bound)."""
    lt, gt = data.rfind(b"<"), data.rfind(b">")
    if lt > gt:
        return len(data) - lt
    if gt >= 0:
        return 0
    return inside + len(data) if inside else 0


def parse_time(text: str) -> datetime | None:
    try:
        return utc(datetime.fromisoformat(text.strip().replace("Z", "+00:00")))
    except ValueError:
        return None


def _float(text: str) -> float | None:
    try:
        return num(float(text))
    except ValueError:
        return None


def _given(text: str | None) -> float | None:
    """A coordinate or elevation as the file gives it: None when absent, NaN when present
    but not a number (``4,8``, ``x48.1``; Python's ``1_0`` too), for ``Track.add`` to drop
    and count; any float otherwise (``Track.add`` checks its range)."""
    if text is None:
        return None
    if "_" in text:
        return math.nan
    try:
        return float(text)
    except ValueError:
        return math.nan


class _Reader:
    """Expat callbacks that keep the element path, refuse DTDs and collect leaf text."""

    def __init__(self, track: Track) -> None:
        self.track = track
        self.path: list[str] = []
        self.text: list[str] = []
        self.chars = 0
        self.point: dict[str, str] | None = None
        self.lap: dict[str, str] | None = None
        parser = expat.ParserCreate()
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = self._refuse_dtd
        parser.EntityDeclHandler = self._refuse_dtd
        parser.ExternalEntityRefHandler = self._refuse_dtd
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._chars
        parser.buffer_text = True
        self.parser = parser

    def _refuse_dtd(self, *_: object) -> int:
        raise UnreadableFile(
            "XML: a DOCTYPE or entity declaration (refused: GPX and TCX have none)"
        )

    def _chars(self, data: str) -> None:
        if self.chars < MAX_TEXT_CHARS:
            self.text.append(data[: MAX_TEXT_CHARS - self.chars])
            self.chars += len(data)

    def _start(self, tag: str, attrs: dict[str, str]) -> None:
        if len(self.path) >= MAX_XML_DEPTH:
            raise UnreadableFile(f"XML: nested deeper than {MAX_XML_DEPTH} elements")
        self.path.append(_local(tag))
        self.text, self.chars = [], 0
        self.opened(self.path[-1], attrs)

    def _end(self, _tag: str) -> None:
        text = "".join(self.text).strip()
        self.text, self.chars = [], 0
        self.closed(self.path[-1], text)
        self.path.pop()

    def opened(self, name: str, attrs: dict[str, str]) -> None: ...

    def closed(self, name: str, text: str) -> None: ...

    def feed(self, stream: IO[bytes], kind: str) -> Track:
        try:
            first = stream.read(CHUNK)
            while first and not first.lstrip(_LEADING):
                first = stream.read(CHUNK)  # a file of nothing but spaces, read in pieces
            data = first.lstrip(_LEADING)
            inside = 0  # bytes of a tag still open ('<' seen, no '>' yet)
            while data:
                inside = _open_tag(data, inside)
                if inside > MAX_TAG_BYTES:
                    raise UnreadableFile(f"{kind}: a tag longer than {MAX_TAG_BYTES:,} bytes")
                self.parser.Parse(data, False)
                data = stream.read(CHUNK)
            self.parser.Parse(b"", True)
        except UnreadableFile:
            raise
        except expat.ExpatError as error:
            raise UnreadableFile(f"{kind}: not well-formed XML ({error})"[:300]) from None
        except Exception as error:  # a damaged gzip layer under the stream, for one
            raise UnreadableFile(f"{kind}: {type(error).__name__}: {error}"[:300]) from error
        return self.track

    def add_point(self, point: dict[str, str], lat: str | None, lng: str | None) -> None:
        values = {k: _float(v) for k, v in point.items() if k != "time"}
        self.track.add(
            parse_time(point["time"]) if "time" in point else None,
            lat=_given(lat if lat is not None else point.get("lat")),
            lng=_given(lng if lng is not None else point.get("lng")),
            distance=values.get("distance"),
            altitude=_given(point.get("altitude")),
            heartrate=values.get("heartrate"),
            cadence=values.get("cadence"),
            watts=values.get("watts"),
            temp=values.get("temp"),
            velocity=values.get("velocity"),
        )


class _Gpx(_Reader):
    lat: str | None = None
    lng: str | None = None

    def opened(self, name: str, attrs: dict[str, str]) -> None:
        if name == "gpx" and attrs.get("creator"):
            self.track.manufacturer = attrs["creator"][:120]
        elif name == "trkpt":
            self.point, self.lat, self.lng = {}, attrs.get("lat"), attrs.get("lon")

    def closed(self, name: str, text: str) -> None:
        if self.point is not None:
            if name == "trkpt":
                self.add_point(self.point, self.lat, self.lng)
                self.point = None
            elif name in _GPX_POINT and text:
                self.point.setdefault(_GPX_POINT[name], text)
        elif name == "name" and text and self.track.name is None and "trk" in self.path:
            self.track.name = text[:200]
        elif name == "type" and text and "trk" in self.path:
            self.track.summary.sport = text[:60]
        elif name == "time" and text and "metadata" in self.path:
            self.track.time_created = parse_time(text)


class _Tcx(_Reader):
    def opened(self, name: str, attrs: dict[str, str]) -> None:
        if name == "activity" and self.track.summary.sport is None:
            self.track.summary.sport = (attrs.get("Sport") or "")[:60] or None
        elif name == "lap":
            self.lap = {"start": attrs.get("StartTime", "")}
        elif name == "trackpoint":
            self.point = {}

    def closed(self, name: str, text: str) -> None:
        parent = self.path[-2] if len(self.path) > 1 else ""
        if self.point is not None:
            if name == "trackpoint":
                self.add_point(self.point, None, None)
                self.point = None
            elif text and name in _TCX_POINT and (name != "value" or parent == "heartratebpm"):
                self.point.setdefault(_TCX_POINT[name], text)
        elif self.lap is not None:
            self._lap_value(name, parent, text)
        elif name == "id" and parent == "activity" and self.track.summary.start is None:
            self.track.summary.start = parse_time(text)
        elif name == "name" and parent == "creator" and text:
            self.track.device_name = text[:120]
        elif name == "name" and parent == "author" and text:
            self.track.manufacturer = text[:120]

    def _lap_value(self, name: str, parent: str, text: str) -> None:
        lap = self.lap
        assert lap is not None
        if name == "lap":
            self.track.add_lap(_lap(lap))
            self.lap = None
        elif name == "value" and parent in ("averageheartratebpm", "maximumheartratebpm"):
            lap[parent] = text
        elif name in _TCX_LAP and text and (parent == "lap" or name.startswith("avg")):
            lap.setdefault(_TCX_LAP[name], text)


def _lap(values: dict[str, str]) -> Lap:
    get: Callable[[str], float | None] = lambda k: _float(values[k]) if k in values else None  # noqa: E731
    return Lap(
        start=parse_time(values["start"]) if values.get("start") else None,
        elapsed_time=get("elapsed_time"),
        moving_time=get("elapsed_time"),
        distance=get("distance"),
        max_speed=get("max_speed"),
        average_speed=get("average_speed"),
        average_heartrate=get("averageheartratebpm"),
        max_heartrate=get("maximumheartratebpm"),
        average_cadence=get("average_cadence"),
        average_watts=get("average_watts"),
    )


def parse_gpx(stream: IO[bytes]) -> Track:
    track = _Gpx(Track()).feed(stream, "GPX")
    if not len(track):
        raise UnreadableFile("GPX: no track points")
    track.fill_distance()
    return track


def parse_tcx(stream: IO[bytes]) -> Track:
    track = _Tcx(Track()).feed(stream, "TCX")
    if not len(track) and not track.laps:
        raise UnreadableFile("TCX: no laps and no track points")
    _summarise_laps(track)
    return track


def _summarise_laps(track: Track) -> None:
    """TCX has no session: the activity's totals are its laps' sums."""
    s, laps = track.summary, track.laps
    if not laps:
        return
    if s.start is None:
        s.start = laps[0].start
    for attr in ("elapsed_time", "moving_time", "distance"):
        values = [getattr(lap, attr) for lap in laps]
        if all(v is not None for v in values):
            setattr(s, attr, sum(v for v in values if v is not None))
