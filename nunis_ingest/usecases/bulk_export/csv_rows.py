"""``activities.csv`` -> one Strava-shaped activity dict per row, or a bad row and why.

A row without a usable id (digits only, ``1 .. 2^63-1``) or date is a bad row: set aside
and reported with its line number, never loaded under an invented id. So is a row with a
field over ``limits.MAX_CSV_FIELD`` characters or a line over ``limits.MAX_CSV_LINE``.
Every other row loads, whatever else it holds: a value that does not parse becomes
NULL, and every non-empty cell is kept in ``raw["_export"]`` under its English column
name, so nothing in the file is lost.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from nunis_ingest.usecases.bulk_export import csv_values as cv
from nunis_ingest.usecases.bulk_export.csv_headers import Mapping, UnknownHeader, map_header
from nunis_ingest.usecases.bulk_export.csv_text import Lines, sniff_delimiter
from nunis_ingest.usecases.bulk_export.limits import MAX_CSV_FIELD, MAX_ROWS, MAX_TEXT_CHARS


class BadRow(ValueError):
    """A CSV row that cannot become an activity."""


@dataclass(frozen=True)
class Row:
    line: int
    """The line the row starts on (the header is line 1)."""
    cells: dict[str, str] | None
    """Canonical field -> text (``None`` for a bad row)."""
    kept: dict[str, str]
    """Every non-empty cell under its English column name (``raw["_export"]``)."""
    error: str = ""


class CsvRows:
    """The header's ``Mapping`` and, lazily, every row."""

    def __init__(self, lines: Lines) -> None:
        self.lines = lines
        first = next(lines, "")
        if not first.strip():
            raise UnknownHeader("it is empty")
        self.delimiter = sniff_delimiter(first)
        self.reader = csv.reader(itertools.chain([first], lines), delimiter=self.delimiter)
        try:
            header = next(self.reader)
        except csv.Error as error:
            raise UnknownHeader(f"its first line is not CSV ({error})") from None
        self.mapping: Mapping = map_header(header)
        self.truncated = False

    def __iter__(self) -> Iterator[Row]:
        fields, names = self.mapping.fields, self.mapping.names
        count = 0
        while True:
            start = self.reader.line_num + 1
            try:
                cells = next(self.reader)
            except StopIteration:
                return
            except csv.Error as error:
                yield Row(start, None, {}, _csv_error(error))
                continue
            if not any(c.strip() for c in cells):
                continue
            count += 1
            if count > MAX_ROWS:
                self.truncated = True
                return
            end = self.reader.line_num
            cut = [n for n in range(start, end + 1) if n in self.lines.overlong]
            if cut:
                yield Row(start, None, {}, f"line {cut[0]} is longer than the limit")
                continue
            row = {f: cells[i] for i, f in fields.items() if i < len(cells)}
            kept = {
                names.get(i, f"column {i + 1}"): c[:MAX_TEXT_CHARS]
                for i, c in enumerate(cells)
                if c.strip()
            }
            yield Row(start, row, kept)


def _csv_error(error: csv.Error) -> str:
    text = str(error)
    if "field larger than field limit" in text:
        return f"a field is longer than {MAX_CSV_FIELD:,} characters"
    return f"not CSV: {text[:120]}"


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


def to_activity(row: Row, athlete_id: int) -> dict[str, Any]:
    """A Strava-shaped activity from one CSV row (the fields the CSV carries; see importer).
    ``BadRow`` when the row has no usable id or date."""
    cells = row.cells
    if cells is None:
        raise BadRow(row.error)
    raw_id = cells.get("activity_id", "")
    activity_id = cv.parse_id(raw_id)
    if activity_id is None:
        raise BadRow(
            f"no usable activity id ({raw_id.strip()!r:.40}): an id is a whole number from 1 "
            "to 2^63-1"
        )
    started = cv.parse_date(cells.get("activity_date", ""))
    if started is None:
        raise BadRow(f"activity {activity_id}: unreadable date {cells.get('activity_date')!r:.60}")
    filename = cells.get("filename", "").strip()
    label = cells.get("sport", "")
    out: dict[str, Any] = {
        "id": activity_id,
        "athlete": {"id": athlete_id},
        "name": _text(cells.get("name")),
        "sport_type": _text(cells.get("sport_type")) or cv.sport_type(label),
        "start_date": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "elapsed_time": cv.parse_int(cells.get("elapsed_time", ""))
        or cv.parse_int(cells.get("elapsed_time_file", "")),
        "moving_time": cv.parse_int(cells.get("moving_time", "")),
        "manual": not filename,
        "commute": cv.parse_bool(cells.get("commute", "")),
        "flagged": cv.parse_bool(cells.get("flagged", "")),
        "description": _text(cells.get("description")),
        "gear_name": _text(cells.get("gear")),
    }
    for name in _FLOATS:
        out[name] = cv.parse_number(cells.get(name, ""))
    if out["distance"] is None:  # only the display distance (km or mi): not metres
        out.pop("distance")
    if out["max_heartrate"] is None:
        out["max_heartrate"] = cv.parse_number(cells.get("max_heartrate_file", ""))
    work = cv.parse_number(cells.get("total_work", ""))
    out["kilojoules"] = None if work is None else round(work / 1000, 3)
    out["has_heartrate"] = out["average_heartrate"] is not None
    out["_source"] = "export"
    out["_export_file"] = filename[:1000] or None
    out["_export"] = row.kept
    if label.strip():
        out["_activity_type"] = label.strip()[:200]
    return {k: v for k, v in out.items() if v is not None}


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip()
    return text[:MAX_CSV_FIELD] or None
