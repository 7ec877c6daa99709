"""A Strava bulk export shaped like real ones, from the sandbox's synthetic data.

``write_export(path, anchor=..., generation="de92", ...)`` writes a folder (or, for a
``.zip`` path, a zip) with ``activities.csv`` under a real header (``export_facts``: the
generator's own copy of the facts, never the importer's tables), localised dates, numbers
and activity-type labels, ``profile.csv``, and ``activities/`` holding FIT, GPX and TCX
files, some gzipped, numbered apart from the activity ids; manual activities have no file.
With ``damage`` some files come damaged the ways real ones do and one ``Filename`` points
to nothing; with ``bad_rows`` the CSV also holds rows no importer may load (ids ``12.7``,
``1,5``, ``7.0e1``, beyond 2^63-1; a date that is not one; a field over 128 KB) and a name
that is not UTF-8. ``templated`` (benchmarks) builds each kind of file once and reuses its
bytes for every activity, so 10,000 activities take seconds. It returns an ``ExportTruth``:
what an importer must load and what it must report.

``python -m strava_sandbox.export PATH [N] [GENERATION]`` writes one.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from strava_sandbox import export_facts as facts
from strava_sandbox import export_files as ef
from strava_sandbox.data import Activity, generate_dataset
from strava_sandbox.track import has_gps, has_track, sample_count

ALIASES = {"en": "en94", "de": "de92", "fr": "fr103", "es": "es94", "it": "it94"}
DAMAGE: dict[int, tuple[str, Callable[[bytes], bytes]]] = {
    3: ("corrupt deflate stream", ef.corrupt_deflate),
    8: ("truncated gzip", ef.truncated_gzip),
    13: ("not gzip", ef.not_gzip),
    18: ("FIT CRC", lambda b: b),
    23: ("FIT cut mid-record", lambda b: b),
    28: ("GPX cut mid-element", ef.cut_xml),
}
MISSING_AT = 33
"""File positions (0-based, among activities with a file) damaged, and the one missing."""


@dataclass
class ExportTruth:
    athlete_id: int
    generation: str
    activities: dict[int, Activity] = field(default_factory=dict)
    files: dict[int, str] = field(default_factory=dict)
    """Activity id -> file name, for every file that must read."""
    damaged: dict[str, str] = field(default_factory=dict)
    """File name -> the damage done to it."""
    missing: list[str] = field(default_factory=list)
    bad_rows: dict[int, str] = field(default_factory=dict)
    """CSV line -> the row's id cell, for every row no importer may load."""
    points: dict[int, int] = field(default_factory=dict)
    recoded_name: tuple[int, str] | None = None
    """(id, name) of the row whose name is written in Windows-1252, not UTF-8."""


def _date(epoch: int, language: str) -> str:
    t = dt.datetime.fromtimestamp(epoch, dt.UTC)
    if language == "en":
        hour = t.hour % 12 or 12
        return f"{facts.MONTHS['en'][t.month - 1]} {t.day}, {t.year}, {hour}:{t:%M:%S} " + (
            "AM" if t.hour < 12 else "PM"
        )
    if language == "de":
        return f"{t:%d.%m.%Y, %H:%M:%S}"
    return f"{t.day} {facts.MONTHS[language][t.month - 1]} {t.year}, {t:%H:%M:%S}"


def _num(value: Any, language: str, digits: int | None = None) -> str:
    if value is None or value == "":
        return ""
    text = f"{float(value):.{digits}f}" if digits is not None else str(float(value))
    return text if language == "en" else text.replace(".", ",")


def row_values(activity: Activity, filename: str, language: str) -> dict[tuple[str, int], str]:
    """(English column, occurrence) -> the cell, for one activity."""
    s = activity.summary
    km = round(float(s.get("distance") or 0) / 1000, 2)
    labels = facts.TYPE_LABELS.get(language, facts.TYPE_LABELS["en"])
    sport = str(s.get("sport_type") or "")
    label = labels.get(sport) or facts.TYPE_LABELS["en"].get(sport, sport)
    work = s.get("kilojoules")
    return {
        ("Activity ID", 0): str(activity.id),
        ("Activity Date", 0): _date(activity.start, language),
        ("Activity Name", 0): str(s.get("name") or ""),
        ("Activity Type", 0): label,
        ("Elapsed Time", 0): str(s.get("elapsed_time") or 0),
        ("Distance", 0): "0" if km == 0 else _num(km, language, 2),
        ("Max Heart Rate", 0): _num(s.get("max_heartrate"), language),
        ("Commute", 0): "true" if s.get("commute") else "false",
        ("Filename", 0): filename,
        ("Elapsed Time", 1): _num(s.get("elapsed_time") or 0, language),
        ("Moving Time", 0): _num(s.get("moving_time"), language),
        ("Distance", 1): _num(s.get("distance"), language),
        ("Max Speed", 0): _num(s.get("max_speed"), language),
        ("Average Speed", 0): _num(s.get("average_speed"), language),
        ("Elevation Gain", 0): _num(s.get("total_elevation_gain"), language),
        ("Elevation Low", 0): _num(s.get("elev_low"), language),
        ("Elevation High", 0): _num(s.get("elev_high"), language),
        ("Average Cadence", 0): _num(s.get("average_cadence"), language),
        ("Max Heart Rate", 1): _num(s.get("max_heartrate"), language),
        ("Average Heart Rate", 0): _num(s.get("average_heartrate"), language),
        ("Max Watts", 0): _num(s.get("max_watts"), language),
        ("Average Watts", 0): _num(s.get("average_watts"), language),
        ("Total Work", 0): _num(None if work is None else float(work) * 1000, language),
        ("Weighted Average Power", 0): _num(s.get("weighted_average_watts"), language),
        ("Commute", 1): _num(1.0 if s.get("commute") else 0.0, language),
        ("From Upload", 0): _num(0.0 if s.get("manual") else 1.0, language),
        ("Media", 0): "",
    }


def _cells(meaning: list[str], values: dict[tuple[str, int], str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in meaning:
        nth = seen.get(name, 0)
        seen[name] = nth + 1
        out.append(values.get((name, nth), ""))
    return out


class _Files:
    """Each activity's file name and bytes (or, templated, one file per kind, reused)."""

    def __init__(self, templated: bool) -> None:
        self.templated = templated
        self.cache: dict[tuple[str, bool], tuple[bytes, int]] = {}

    def make(self, activity: Activity, n: int) -> tuple[str, bytes, int] | None:
        if not has_track(activity):
            return None
        gps = has_gps(activity)
        kind = ("fit.gz", "gpx", "gpx.gz", "tcx.gz", "fit")[n % 5]
        if not gps and kind.startswith("gpx"):
            kind = "fit.gz"
        number = activity.id - 1000 - n  # device uploads: a number near the id, not equal
        name = f"activities/{activity.id if kind == 'gpx' else number}.{kind}"
        key = (kind, gps)
        if self.templated and key in self.cache:
            data, points = self.cache[key]
            return name, data, points
        if kind.startswith("fit"):
            data = ef.fit_bytes(activity, compressed=n % 2 == 1, big_endian=n % 3 == 2)
        elif kind.startswith("gpx"):
            data = ef.gpx_bytes(activity, untimed_every=11 if n % 2 else 0)
        else:
            data = ef.tcx_bytes(activity)
        if kind.endswith(".gz"):
            data = ef.gz(data)
        points = sample_count(activity)
        self.cache[key] = (data, points)
        return name, data, points


def _damage(name: str, data: bytes, activity: Activity, position: int) -> tuple[str, bytes] | None:
    if position not in DAMAGE:
        return None
    what, hurt = DAMAGE[position]
    stem, kind = name.split(".", 1)
    if what == "FIT CRC":
        return f"{stem}.fit", ef.fit_bytes(activity, bad_crc=True)
    if what.startswith("FIT cut"):
        return f"{stem}.fit", ef.fit_bytes(activity, cut=7)
    if what.startswith("GPX"):
        if has_gps(activity):
            return f"{stem}.gpx", hurt(ef.gpx_bytes(activity))
        return f"{stem}.tcx", hurt(ef.tcx_bytes(activity))
    plain = gzip.decompress(data) if kind.endswith(".gz") else data
    inner = kind[:-3] if kind.endswith(".gz") else kind
    return f"{stem}.{inner}.gz", hurt(plain)


def bad_rows(meaning: list[str], language: str, anchor: int) -> list[tuple[str, list[str]]]:
    """Rows no importer may load: (the id cell, the row)."""
    date = _date(anchor - 86400, language)
    out = []
    for raw_id in ("12.7", "1,5", "7.0e1", "9223372036854775808", "-4", "abc"):
        out.append((raw_id, _cells(meaning, {("Activity ID", 0): raw_id, ("Activity Date", 0): date,
                                             ("Activity Name", 0): "bad id"})))  # fmt: skip
    out.append(("424242", _cells(meaning, {("Activity ID", 0): "424242",
                                           ("Activity Date", 0): "yesterday-ish"})))  # fmt: skip
    huge = {("Activity ID", 0): "434343", ("Activity Date", 0): date,
            ("Activity Description", 0): "x" * 200_000}  # fmt: skip
    out.append(("434343", _cells(meaning, huge)))
    return out


def write_export(
    path: Path, *, seed: int = 7, athletes: int = 1, activities: int = 60, anchor: int,
    athlete_index: int = 0, generation: str = "en94", language: str | None = None,
    damage: bool = True, with_bad_rows: bool = False, templated: bool = False,
    encoding: str = "utf-8",
) -> ExportTruth:  # fmt: skip
    """Write the export at ``path`` (a folder, or a zip for a ``.zip`` path)."""
    generation = ALIASES.get(language or "", generation) if language else generation
    header, meaning = facts.GENERATIONS[generation]
    lang = facts.LANGUAGE_OF[generation]
    athlete = generate_dataset(seed, athletes, activities, anchor).athletes[athlete_index]
    truth = ExportTruth(athlete.id, generation)
    files: dict[str, bytes] = {}
    maker = _Files(templated)
    lines: list[list[str]] = []
    position = 0
    for n, activity in enumerate(athlete.activities):
        made = maker.make(activity, n)
        name = ""
        if made is not None:
            name, data, points = made
            hurt = None if templated or not damage else _damage(name, data, activity, position)
            if damage and not templated and position == MISSING_AT:
                truth.missing.append(name)
            elif hurt is not None:
                name, files[hurt[0]] = hurt
                truth.damaged[name] = DAMAGE[position][0]
            else:
                files[name] = data
                truth.files[activity.id] = name
                truth.points[activity.id] = points
            position += 1
        truth.activities[activity.id] = activity
        lines.append(_cells(meaning, row_values(activity, name, lang)))
    if with_bad_rows:
        for raw_id, cells in bad_rows(meaning, lang, anchor):
            truth.bad_rows[len(lines) + 2] = raw_id
            lines.append(cells)
    files["activities.csv"] = _csv(header, lines, encoding, truth, with_bad_rows)
    files["profile.csv"] = f"{facts.PROFILE_HEADER}\n{athlete.id},a@example.com,Ana,Lima\n".encode()
    files["routes/1.gpx"] = b'<?xml version="1.0"?><gpx creator="StravaGPX"><rte></rte></gpx>'
    files["bikes.csv"] = b"Bike Name,Bike Brand,Bike Model,Bike Default Sport Types\n"
    _write(path, files)
    return truth


def _csv(header: list[str], lines: list[list[str]], encoding: str, truth: ExportTruth,
         recode: bool) -> bytes:  # fmt: skip
    text = io.StringIO()
    delimiter = "\t" if encoding.startswith("utf-16") else ","
    csv.writer(text, delimiter=delimiter, lineterminator="\n").writerow(header)
    out = bytearray()
    if encoding.startswith("utf-16"):
        body = io.StringIO()
        csv.writer(body, delimiter="\t", lineterminator="\r\n").writerows(lines)
        return ("\ufeff" + text.getvalue() + body.getvalue()).encode(encoding)
    out += text.getvalue().encode()
    for i, cells in enumerate(lines):
        line = io.StringIO()
        if recode and i == 1:  # one name re-saved by a spreadsheet in Windows-1252
            cells = list(cells)
            cells[2] = "Café à l'aube"
            truth.recoded_name = (int(cells[0]), cells[2])
            csv.writer(line, lineterminator="\n").writerow(cells)
            out += line.getvalue().encode("cp1252")
            continue
        csv.writer(line, lineterminator="\n").writerow(cells)
        out += line.getvalue().encode()
    return bytes(out)


def _write(path: Path, files: dict[str, bytes]) -> None:
    if path.suffix == ".zip":
        with zipfile.ZipFile(path, "w") as z:
            for name, data in files.items():
                kind = zipfile.ZIP_STORED if name.endswith(".gz") else zipfile.ZIP_DEFLATED
                z.writestr(name, data, compress_type=kind, compresslevel=1)
        return
    for name, data in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(data)


if __name__ == "__main__":
    import time

    target = Path(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    gen = sys.argv[3] if len(sys.argv) > 3 else "en94"
    print(
        write_export(target, activities=count, anchor=int(time.time()), generation=gen).athlete_id
    )
