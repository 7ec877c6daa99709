"""Import a Strava bulk export into the tables the API path fills.

Where each field comes from:

- ``activities``: from ``activities.csv`` (id, name, sport_type, start_date (UTC),
  elapsed/moving time, distance in metres (the second ``Distance``), speeds, elevation,
  cadence, heart rate, watts, kilojoules (``Total Work``/1000), commute, manual (no file),
  has_heartrate), plus from the file: ``start_latlng``/``end_latlng`` and ``device_name``.
  Not in the export, so NULL until the API loads the activity: ``start_date_local``,
  ``timezone``, ``utc_offset``, ``type``, counts (kudos, ...), visibility, ``gear_id``,
  ``map``, ``upload_id``. ``raw`` holds that dict with ``"_source": "export"``.
- ``activity_laps`` and ``activity_streams``: from the original file, ``source`` = ``export``.

Merge rules (by activity id, so importing twice changes nothing):

- An id already in ``activities`` (from the API or an earlier import) is never rewritten by
  the export: the API row wins. A later API listing serves a different ``raw``, so its
  ``content_hash`` differs and the sync's upsert overwrites an export row (the upgrade).
- Laps and streams are written only for an activity that has no row in that table yet, so
  a re-import writes nothing and rows the API path wrote are never replaced; the export's
  rows stay until the API path writes its own.
- A corrupt or unreadable file (or CSV row) is skipped and listed with its reason; the
  activity row is still loaded from the CSV when the row itself is readable.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from nunis_ingest import errors
from nunis_ingest.bulk_export.csv_rows import BadRow, read_rows, to_activity
from nunis_ingest.bulk_export.files import Track, UnreadableFile, parse_file
from nunis_ingest.bulk_export.source import ExportSource
from nunis_ingest.keys import archive_export_key
from nunis_ingest.ports import CREATE_ONLY, DetailRows, ObjectStore, Row, Warehouse
from nunis_ingest.transform import to_row

BATCH_ACTIVITIES = 500
BATCH_POINTS = 200_000
DETAIL_TABLES = ("activity_laps", "activity_streams")


@dataclass
class ImportReport:
    language: str = ""
    activities: int = 0
    inserted: int = 0
    unchanged: int = 0
    kept_api: int = 0
    files: int = 0
    laps: int = 0
    points: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def stream_rows(
    activity_id: int, athlete_id: int, track: Track, start: str, trail: dict[str, str]
) -> list[Row]:
    first = next((p.time for p in track.points if p.time is not None), None)
    rows: list[Row] = []
    for index, p in enumerate(track.points):
        seconds = (
            None if p.time is None or first is None else round((p.time - first).total_seconds())
        )
        rows.append(
            {
                "activity_id": activity_id,
                "athlete_id": athlete_id,
                "start_date": start,
                "point": index,
                "time": seconds,
                "distance": p.distance,
                "lat": p.lat,
                "lng": p.lng,
                "altitude": p.altitude,
                "velocity_smooth": p.velocity,
                "heartrate": p.heartrate,
                "cadence": p.cadence,
                "watts": p.watts,
                "temp": p.temp,
                "moving": None,
                "grade_smooth": None,
                **trail,
            }
        )
    return rows


def lap_rows(activity_id: int, athlete_id: int, track: Track, trail: dict[str, str]) -> list[Row]:
    return [
        {
            "activity_id": activity_id,
            "athlete_id": athlete_id,
            "lap_index": i + 1,
            "name": f"Lap {i + 1}",
            "split": i + 1,
            "elapsed_time": None if lap.elapsed_time is None else round(lap.elapsed_time),
            "moving_time": None if lap.moving_time is None else round(lap.moving_time),
            "start_date": _iso(lap.start),
            "distance": lap.distance,
            "total_elevation_gain": lap.total_elevation_gain,
            "average_speed": lap.average_speed,
            "max_speed": lap.max_speed,
            "average_cadence": lap.average_cadence,
            "average_heartrate": lap.average_heartrate,
            "max_heartrate": lap.max_heartrate,
            "average_watts": lap.average_watts,
            **trail,
        }
        for i, lap in enumerate(track.laps)
    ]


class Importer:
    def __init__(
        self,
        warehouse: Warehouse,
        store: ObjectStore,
        athlete_id: int,
        *,
        on_file: Callable[[], None] | None = None,
    ) -> None:
        self.warehouse, self.store, self.athlete_id = warehouse, store, athlete_id
        self.on_file = on_file or (lambda: None)
        self.run_id = f"export-{int(time.time())}"
        self.seen_at = datetime.now(UTC)
        self.report = ImportReport()
        self.trail = {
            "source": "export",
            "run_id": self.run_id,
            "loaded_at": _iso(self.seen_at) or "",
        }

    def run(self, source: ExportSource) -> ImportReport:
        mapping, rows = read_rows(source.csv_lines())
        self.report.language = mapping.language
        self.known = set(self.warehouse.fetch_activity_hashes(self.athlete_id))
        self.need = {
            t: {a for a, _ in self.warehouse.fetch_unenriched(self.athlete_id, t)}
            for t in DETAIL_TABLES
        }
        self._batches(source, rows)
        return self.report

    def _batches(self, source: ExportSource, rows: Iterable[dict[str, str]]) -> None:
        activities: list[Row] = []
        details: dict[int, tuple[Track, str]] = {}
        points = 0
        for line, row in enumerate(rows, start=2):
            try:
                activity = to_activity(row, self.athlete_id)
            except BadRow as error:
                self.report.problems.append((f"activities.csv line {line}", str(error)))
                continue
            self.report.activities += 1
            track = self._track(source, activity)
            if track is not None and track.points:
                latlng = [p for p in track.points if p.lat is not None and p.lng is not None]
                if latlng:
                    activity["start_latlng"] = [latlng[0].lat, latlng[0].lng]
                    activity["end_latlng"] = [latlng[-1].lat, latlng[-1].lng]
            if track is not None and track.device_name:
                activity["device_name"] = track.device_name
            act_id = int(activity["id"])
            if act_id in self.known:
                self.report.kept_api += 1
            else:
                activities.append(
                    to_row(
                        activity,
                        athlete_id=self.athlete_id,
                        run_id=self.run_id,
                        seen_at=self.seen_at,
                    )
                )
            if track is not None and (
                act_id not in self.known or any(act_id in n for n in self.need.values())
            ):
                details[act_id] = (track, str(activity["start_date"]))
                points += len(track.points)
            if (
                len(activities) >= BATCH_ACTIVITIES
                or points >= BATCH_POINTS
                or len(details) >= BATCH_ACTIVITIES
            ):
                self._flush(activities, details)
                activities, details, points = [], {}, 0
        self._flush(activities, details)

    def _track(self, source: ExportSource, activity: dict[str, Any]) -> Track | None:
        name = activity.get("_export_file")
        if not name:
            return None
        self.on_file()
        self.report.files += 1
        data = source.read(str(name))
        if data is None:
            self.report.problems.append((str(name), "file named in activities.csv is missing"))
            return None
        with contextlib.suppress(errors.PreconditionFailed):  # archived earlier
            self.store.put(
                archive_export_key(self.athlete_id, str(name)), data, if_generation=CREATE_ONLY
            )
        try:
            return parse_file(str(name), data)
        except UnreadableFile as error:
            self.report.problems.append((str(name), str(error)))
            return None

    def _flush(self, activities: list[Row], details: dict[int, tuple[Track, str]]) -> None:
        if activities:
            batch = self.warehouse.stage(self.athlete_id, self.run_id)
            try:
                batch.add(activities)
                result = batch.commit(replace=False)
            finally:
                batch.discard()
            self.report.inserted += result.inserted + result.updated
            self.report.unchanged += result.unchanged
        for table in DETAIL_TABLES:
            ids = tuple(a for a in details if a not in self.known or a in self.need[table])
            if not ids:
                continue
            rows: list[Row] = []
            for a in ids:
                track, start = details[a]
                if table == "activity_streams":
                    rows.extend(stream_rows(a, self.athlete_id, track, start, self.trail))
                else:
                    rows.extend(lap_rows(a, self.athlete_id, track, self.trail))
            written = self.warehouse.replace_details(
                self.athlete_id, DetailRows(ids, (table,), {table: rows})
            )
            if table == "activity_streams":
                self.report.points += written.get(table, 0)
            else:
                self.report.laps += written.get(table, 0)
            self.need[table].difference_update(ids)
        self.known.update(int(r["id"]) for r in activities)
