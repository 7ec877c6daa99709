"""Import a Strava bulk export (``activities.csv`` and its files) into the API's tables.

Where each field comes from:

- ``activities``: from ``activities.csv`` (id, name, ``sport_type`` from the localised
  ``Activity Type`` label, ``start_date`` (UTC), elapsed and moving time, distance in
  metres (the second ``Distance``), speeds, elevation, cadence, heart rate, watts,
  kilojoules (``Total Work`` / 1000), commute, flagged, manual (no file)), plus from the
  file: ``start_latlng``/``end_latlng``, ``device_name`` and any summary field the CSV
  lacks. Not in the export, so NULL until the API loads the activity:
  ``start_date_local``, ``timezone``, ``utc_offset``, ``type``, counts (kudos, ...),
  visibility, ``gear_id``, ``map``, ``upload_id``. ``raw`` holds that dict with
  ``"_source": "export"`` and every non-empty cell of the row under ``"_export"``.
- ``activity_laps`` and ``activity_streams``: from the original file, ``source`` =
  ``export``.

Merge rules (by activity id, so importing twice changes nothing): an id the warehouse
holds is never rewritten by an import, whenever either was written (``keep_existing``
commits); a later API sync upgrades an export row (its ``content_hash`` differs). Laps and
streams are written only for activities with no rows in that table yet. A file activity
of another platform that is this activity (``ids.twins``) is replaced by it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from nunis_ingest.core.file_ids import Start
from nunis_ingest.core.transform import to_row
from nunis_ingest.errors import ExportError
from nunis_ingest.usecases.bulk_export.csv_headers import UnknownHeader
from nunis_ingest.usecases.bulk_export.csv_rows import BadRow, CsvRows, to_activity
from nunis_ingest.usecases.bulk_export.csv_text import Lines
from nunis_ingest.usecases.bulk_export.files import kind_of
from nunis_ingest.usecases.bulk_export.importing import Importing
from nunis_ingest.usecases.bulk_export.reading import fill_from_track, read_track
from nunis_ingest.usecases.bulk_export.report import ImportReport
from nunis_ingest.usecases.bulk_export.track import Track
from nunis_ingest.usecases.bulk_export.writer import LAPS, STREAMS, Detail


class StravaImport(Importing):
    def run(self) -> ImportReport:
        assert self.export.csv is not None
        report, athlete = self.report, self.athlete_id
        try:
            lines = Lines(self.export.open(self.export.csv, budgeted=False))
            rows = CsvRows(lines)
        except UnknownHeader:
            raise
        except Exception as error:  # a zip member that cannot be inflated, for one
            raise ExportError(
                f"{self.export.label}: activities.csv cannot be read "
                f"({type(error).__name__}: {error}).",
                action="unzip the export with another tool and import the folder, or "
                "download the export again.",
            ) from None
        mapping = rows.mapping
        report.language = mapping.language
        if mapping.positional:
            report.warn(
                "activities.csv: no known language names its columns (first ones: "
                f"{', '.join(list(mapping.names.values())[:3])}); the activity id, date and "
                "file name were read by position (columns 1, 2 and 13), the rest from the files"
            )
        _strava, self.file_starts = self.read_stored()
        reading = iter(rows)
        while True:
            try:
                row = next(reading)
            except StopIteration:
                break
            except Exception as error:  # the rest of the file is damaged: keep what was read
                report.problem(
                    "activities.csv",
                    f"unreadable after {report.rows} rows "
                    f"({type(error).__name__}: {error}); the rest was not read",
                )
                break
            report.rows += 1
            try:
                activity = to_activity(row, athlete)
            except BadRow as error:
                report.problem(f"activities.csv line {row.line}", str(error))
                continue
            self._one(activity)
        self.writer.flush()
        if rows.truncated:
            report.problem("activities.csv", "more rows than the limit: the rest was not read")
        if lines.recoded:
            report.warn(
                f"activities.csv: {lines.recoded} line(s) were not UTF-8 and were read as "
                "Windows-1252 (a spreadsheet re-saved the file?)"
            )
        return report

    def _tables(self, activity_id: int) -> tuple[str, ...]:
        """Laps and streams for a new activity, or a stored one without stream rows (many
        files carry no laps: a missing lap alone never makes an import read a file again)."""
        if activity_id not in self.known or activity_id in self.need[STREAMS]:
            return (
                (LAPS, STREAMS)
                if activity_id in self.need[LAPS] or (activity_id not in self.known)
                else (STREAMS,)
            )
        return ()

    def _one(self, activity: dict[str, Any]) -> None:
        report, aid = self.report, int(activity["id"])
        if aid in self.loaded:
            report.problem(
                f"activity {aid}", "listed twice in activities.csv: the first row loaded"
            )
            return
        self.loaded.add(aid)
        report.activities += 1
        tables = self._tables(aid)
        name = activity.get("_export_file")
        track = self._track(str(name)) if name and tables else None
        if track is not None:
            fill_from_track(activity, track)
        if aid in self.known:
            report.unchanged += 1
            row = None
        else:
            row = to_row(activity, athlete_id=self.athlete_id, run_id=self.writer.run_id,
                         seen_at=self.seen_at)  # fmt: skip
            start = int(datetime.fromisoformat(activity["start_date"]).timestamp())
            twin = self.file_starts.twin(Start(aid, start, activity.get("distance")))
            if twin is not None:
                self.writer.drop.append(twin.activity_id)
        detail = None
        if track is not None and len(track):
            detail = Detail(aid, track, str(row["start_date"]) if row else _iso(activity),
                            tables, self.trail("export"))  # fmt: skip
        elif track is not None:  # laps only (a TCX without track points)
            detail = Detail(aid, track, _iso(activity), (LAPS,), self.trail("export"))
        self.writer.add(row, detail)

    def _track(self, name: str) -> Track | None:
        self.on_file()
        self.report.files += 1
        if kind_of(name)[0] is None:
            self.report.problem(name, "not a FIT, GPX or TCX file")
            return None
        entry = self.export.lookup(name)
        if entry is None:
            self.report.problem(name, "named in activities.csv but missing from the export")
            return None
        return read_track(
            self.export, entry, self.store, self.athlete_id, self.report, archive_as=name
        )


def _iso(activity: dict[str, Any]) -> str:
    return datetime.fromisoformat(str(activity["start_date"])).astimezone(UTC).isoformat()
