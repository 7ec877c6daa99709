"""Pure: ``activities.csv`` rows -> dicts of canonical fields, and one Strava-shaped dict.

Robust by design: any column order, any extra column, localised numbers (``9,44``) and
dates (``Sep 26, 2026, 10:56:05 AM``, ``09.12.2022, 15:24:49``, ``26 sept. 2026, 10:56:05``,
``2026-09-26 10:56:05``). ``Activity Date`` is UTC. A value that does not parse becomes
``None``; a row without a usable activity id or date raises ``BadRow``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from nunis_ingest.bulk_export.csv_headers import Mapping, map_header

_MONTHS: dict[str, int] = {}
for _names in (
    "jan feb mar apr may jun jul aug sep oct nov dec",  # en
    "jan feb mär apr mai jun jul aug sep okt nov dez",  # de
    "janv févr mars avr mai juin juil août sept oct nov déc",  # fr
    "ene feb mar abr may jun jul ago sept oct nov dic",  # es
    "gen feb mar apr mag giu lug ago set ott nov dic",  # it
    "jan feb mrt apr mei jun jul aug sep okt nov dec",  # nl
    "jan fev mar abr mai jun jul ago set out nov dez",  # pt
):
    for _number, _name in enumerate(_names.split(), start=1):
        _MONTHS.setdefault(_name, _number)
_MONTHS.update({"mrz": 3, "fév": 2, "fevr": 2, "déc": 12, "sep": 9, "sept": 9, "fev": 2})
_WORD = re.compile(r"[^\W\d_]+")
_NUMBER = re.compile(r"\d+")


class BadRow(ValueError):
    """A CSV row that cannot become an activity (no usable id or date)."""


def parse_date(text: str) -> datetime | None:
    """An aware UTC datetime from an export date in any supported language, or ``None``."""
    text = text.strip()
    if not text:
        return None
    lowered = text.casefold()
    numbers = [int(n) for n in _NUMBER.findall(lowered)]
    month: int | None = None
    pm = am = False
    for word in _WORD.findall(lowered):
        if word in ("pm", "p"):
            pm = True
        elif word in ("am", "a"):
            am = True
        elif month is None:
            month = _MONTHS.get(word) or _MONTHS.get(word[:4]) or _MONTHS.get(word[:3])
    try:
        if month is not None:  # day, year, h, m, s in some order: the 4-digit one is the year
            year_at = next(i for i, n in enumerate(numbers) if n > 31)
            year = numbers.pop(year_at)
            day = numbers.pop(0)
            hour, minute, second = [*numbers, 0, 0, 0][:3]
        elif numbers and numbers[0] > 31:
            year, month, day, hour, minute, second = [*numbers, 0, 0, 0][:6]
        else:
            day, month, year, hour, minute, second = [*numbers, 0, 0, 0][:6]
        if pm and hour < 12:
            hour += 12
        elif am and hour == 12:
            hour = 0
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except (StopIteration, ValueError, IndexError):
        return None


def parse_number(text: str) -> float | None:
    """A float from ``9.44``, ``9,44``, ``1.234,5`` or ``1,234.5``; ``None`` if none."""
    text = text.strip().replace("\u00a0", "").replace(" ", "")
    if not text:
        return None
    if "," in text and "." in text:
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif "," in text:
        text = text.replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def parse_bool(text: str) -> bool | None:
    lowered = text.strip().casefold()
    if lowered in ("true", "1", "1.0", "yes", "wahr", "vrai", "verdadero", "vero", "waar"):
        return True
    if lowered in ("false", "0", "0.0", "no", "falsch", "faux", "falso", ""):
        return False
    return None


def read_rows(lines: Iterable[str]) -> tuple[Mapping, Iterator[dict[str, str]]]:
    """The header's mapping and, lazily, each row as canonical field -> text."""
    reader = csv.reader(lines)
    header = next(reader, [])
    mapping = map_header(header)

    def rows() -> Iterator[dict[str, str]]:
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            yield {f: cells[i] for i, f in mapping.fields.items() if i < len(cells)}

    return mapping, rows()


_FLOATS = (
    "distance",
    "max_speed",
    "average_speed",
    "total_elevation_gain",
    "elev_low",
    "elev_high",
    "average_cadence",
    "average_heartrate",
    "max_heartrate",
    "average_watts",
    "max_watts",
    "weighted_average_watts",
    "average_temp",
    "suffer_score",
    "calories",
)


def _int(value: float | None) -> int | None:
    return None if value is None else round(value)


def to_activity(row: dict[str, str], athlete_id: int) -> dict[str, Any]:
    """A Strava-shaped activity from one CSV row (fields the CSV carries; see importer)."""
    activity_id = _int(parse_number(row.get("activity_id", "")))
    started = parse_date(row.get("activity_date", ""))
    if activity_id is None or activity_id < 1:
        raise BadRow(f"no usable activity id ({row.get('activity_id', '')!r:.40})")
    if started is None:
        raise BadRow(f"activity {activity_id}: unreadable date {row.get('activity_date')!r:.60}")
    filename = row.get("filename", "").strip()
    out: dict[str, Any] = {
        "id": activity_id,
        "athlete": {"id": athlete_id},
        "name": row.get("name", "").strip() or None,
        "sport_type": row.get("sport", "").strip() or None,
        "start_date": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "elapsed_time": _int(parse_number(row.get("elapsed_time", ""))),
        "moving_time": _int(parse_number(row.get("moving_time", ""))),
        "manual": not filename,
        "commute": parse_bool(row.get("commute", "")),
    }
    for name in _FLOATS:
        out[name] = parse_number(row.get(name, ""))
    work = parse_number(row.get("total_work", ""))
    out["kilojoules"] = None if work is None else round(work / 1000, 3)
    out["has_heartrate"] = out["average_heartrate"] is not None
    if row.get("description", "").strip():
        out["description"] = row["description"].strip()
    if row.get("gear", "").strip():
        out["gear_name"] = row["gear"].strip()
    out["_source"] = "export"
    out["_export_file"] = filename or None
    return {k: v for k, v in out.items() if v is not None}
