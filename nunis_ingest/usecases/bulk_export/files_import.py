"""Import activity files from other platforms: a folder or zip with no ``activities.csv``.

A Garmin Connect export (activities in nested ``UploadedFiles_*_PartN.zip``, mixed with
monitoring and settings FIT files), a COROS, Wahoo or Suunto export, a watch's folder of
``.fit`` files: every readable FIT, GPX or TCX recording (``.gz`` too, at any depth, nested
zips opened) becomes one activity: a summary row from the file (FIT ``session``, TCX
laps, or the points), its laps and its streams. A FIT file that is not an activity
(``file_id.type``: monitoring, settings, ...), a GPX route and any file in a Strava
export's ``routes/``, ``media/``, ``clubs/`` or ``segments/`` folder (never read) are
counted as skipped, not as problems. An export that looks like Strava's (``profile.csv``,
an ``activities/`` folder) but has no ``activities.csv`` gets one warning with the fix.

Each activity gets a negative id from the file's identity (``ids``) and ``source`` = the
platform (``platforms``). An activity Strava already has (start within a minute,
distance within a few percent: ``ids.twins``) is not loaded, the warehouse keeps
Strava's; one that Strava brings later replaces it (``twins.drop_file_twins``).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from nunis_ingest.core.file_ids import Start, file_activity_id, identity
from nunis_ingest.core.transform import to_row
from nunis_ingest.usecases.bulk_export import twins
from nunis_ingest.usecases.bulk_export.files import kind_of
from nunis_ingest.usecases.bulk_export.importing import Importing
from nunis_ingest.usecases.bulk_export.platforms import INDOOR_SUB_SPORTS, platform_of, sport_type
from nunis_ingest.usecases.bulk_export.reading import fill_from_track, read_track
from nunis_ingest.usecases.bulk_export.report import ImportReport
from nunis_ingest.usecases.bulk_export.source import Entry, in_not_activity_folder
from nunis_ingest.usecases.bulk_export.track import Track
from nunis_ingest.usecases.bulk_export.writer import LAPS, STREAMS, Detail

GARMIN_FOLDER = "DI_CONNECT/"
_PLACEHOLDER_ID = 1
NO_CSV_FIX = (
    "download the export again (Strava: Settings > My Account > Download or Delete Your "
    "Account) or import the folder that holds its activities.csv"
)


def strava_without_csv(label: str, marks: list[str]) -> str:
    """The start of the one line that says an export looks like Strava's but lacks its
    ``activities.csv``."""
    return f"{label} looks like a Strava export ({' and '.join(marks)}) but holds no activities.csv"


class FilesImport(Importing):
    def run(self) -> ImportReport:
        report = self.report
        report.kind, report.language = "files", ""
        self.strava, _files = self.read_stored()
        marks = self.export.strava_marks()
        if marks:
            report.warn(
                f"{strava_without_csv(self.export.label, marks)}: its activity files are "
                "imported as files (no names, negative ids; its routes are not read). "
                f"Fix: {NO_CSV_FIX}."
            )
        for entry in self.export.walk():
            recording = kind_of(entry.name)[0] is not None
            if in_not_activity_folder(entry.name):
                report.skipped += recording  # a planned route, a photo: never an activity
            elif entry.opener is None and not recording and entry.name.casefold().endswith(".zip"):
                report.problem(entry.name, entry.refused)  # a zip too deep, or not a zip
            elif recording:
                self._file(entry)
            # else: JSON summaries, images, wellness data: not recordings
        self.writer.flush()
        if report.inserted:
            twins.mark(self.store, self.athlete_id, sorted(report.sources))
        return report

    def _file(self, entry: Entry) -> None:
        report = self.report
        report.rows += 1
        if entry.opener is None:
            report.problem(entry.name, entry.refused)
            return
        self.on_file()
        report.files += 1
        base = entry.name.rsplit("/", 1)[-1]
        where = hashlib.sha256(entry.name.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        track = read_track(  # archived as <digest of its path>-<name>: names repeat in folders
            self.export, entry, self.store, self.athlete_id, report,
            archive_as=f"{where}-{base}", activities_only=True,
        )  # fmt: skip
        if track is None:
            return
        if track.file_type not in (None, "activity"):
            report.skipped += 1
            return
        first = track.first_time()
        start = track.start()
        if first is None or start is None:
            report.problem(entry.name, "no timestamp in the file: the activity cannot be placed")
            return
        created = track.time_created.timestamp() if track.time_created else None
        aid = file_activity_id(identity(track.serial_number, created, first, len(track)))
        epoch = int(start.timestamp())
        twin = self.strava.twin(Start(aid, epoch, track.total_distance()))
        if aid in self.loaded or twin is not None:
            report.duplicates += 1
            return
        self.loaded.add(aid)
        report.activities += 1
        garmin = entry.name.startswith(GARMIN_FOLDER)
        source = "garmin" if garmin else platform_of(track.manufacturer)
        report.sources.add(source)
        tables: tuple[str, ...] = (LAPS, STREAMS)
        row = None
        if aid in self.known:
            report.unchanged += 1
            tables = (
                tuple(t for t in tables if aid in self.need[t]) if aid in self.need[STREAMS] else ()
            )
        else:
            row = self._row(aid, track, start, source, entry.name)
        self.writer.add(row, Detail(aid, track, start.isoformat(), tables, self.trail(source)))

    def _row(
        self, aid: int, track: Track, start: datetime, source: str, name: str
    ) -> dict[str, Any]:
        s = track.summary
        activity: dict[str, Any] = {
            "id": _PLACEHOLDER_ID,
            "athlete": {"id": self.athlete_id},
            "name": track.name,
            "sport_type": sport_type(s.sport, s.sub_sport),
            "start_date": start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "manual": False,
            "trainer": (s.sub_sport or "") in INDOOR_SUB_SPORTS,
            "_source": source,
            "_file": name[:1000],
            "_file_sport": {"sport": s.sport, "sub_sport": s.sub_sport},
            "_file_identity": {
                "manufacturer": track.manufacturer,
                "serial_number": track.serial_number,
                "time_created": None
                if track.time_created is None
                else track.time_created.isoformat(),
            },
        }
        fill_from_track(activity, track)
        activity = {k: v for k, v in activity.items() if v is not None}
        row = to_row(activity, athlete_id=self.athlete_id, run_id=self.writer.run_id,
                     seen_at=self.seen_at)  # fmt: skip
        # Strava's ids are positive and ``to_row`` checks that; a file activity's id is
        # negative (``ids``): set it after the row is built, in the row and in ``raw``.
        row["id"] = aid
        row["raw"]["id"] = aid
        return row
