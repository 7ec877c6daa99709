"""``import``: open an export, decide whose and what it is, and load it under the lease.

- **Whose.** ``profile.csv`` (English header in every language seen: ``Athlete ID,...``)
  names the athlete; ``--athlete`` is then optional, and a different ``--athlete`` is
  refused before anything is written. An export without ``profile.csv`` (another
  platform's) needs ``--athlete``.
- **What.** With an ``activities.csv``: a Strava export (``strava_import``). Without:
  other platforms' activity files (``files_import``); one that looks like a Strava export
  (``profile.csv``, ``activities/``) is said to lack its ``activities.csv``, with the fix.
  Neither: not an export.
- **Under the lease.** The import takes the athlete's lease like any writer
  (``lease.py``), waiting up to ``wait`` seconds for a running sync to finish, and renews
  it before each batch it writes; a sync that starts meanwhile finds the lease held and
  the next poll does its work. On top of that every ``activities`` commit keeps existing
  rows (``keep_existing``), so an export row never replaces an API row, whenever either
  commits.

Everything that stops an import is an ``errors.ExportError`` (one line: what and the
fix); one bad file or row is never that (it is listed in the report, and the rest loads).
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from typing import Any

from nunis_ingest.errors import ExportError, LeaseHeld
from nunis_ingest.ports import ObjectStore, Warehouse
from nunis_ingest.usecases.bulk_export.csv_headers import UnknownHeader, clean
from nunis_ingest.usecases.bulk_export.csv_text import Lines
from nunis_ingest.usecases.bulk_export.csv_values import parse_id
from nunis_ingest.usecases.bulk_export.files import UnreadableFile, kind_of
from nunis_ingest.usecases.bulk_export.files_import import (
    NO_CSV_FIX,
    FilesImport,
    strava_without_csv,
)
from nunis_ingest.usecases.bulk_export.report import ImportReport
from nunis_ingest.usecases.bulk_export.source import (
    BadExport,
    Export,
    in_not_activity_folder,
    open_source,
)
from nunis_ingest.usecases.bulk_export.strava_import import StravaImport
from nunis_ingest.usecases.bulk_export.writer import Writer
from nunis_ingest.usecases.lease import Lease
from nunis_ingest.usecases.sync import new_run_id

LEASE_SECONDS = 900.0
RENEW_EVERY = 60.0
WAIT_SECONDS = 600.0
EXPORT_FIX = (
    'give the zip from Strava\'s "Download your data" (Settings > My Account), its '
    "unzipped folder, or a folder or zip of .fit/.gpx/.tcx files"
)


def profile_athlete(export: Export) -> int | None:
    """The athlete id ``profile.csv`` names, or None (no file, or no readable id)."""
    if export.profile is None or export.profile.opener is None:
        return None
    try:
        with export.open(export.profile) as raw:
            rows = csv.reader(Lines(raw))
            header = [clean(h).casefold() for h in next(rows, [])]
            values = next(rows, [])
    except (UnreadableFile, csv.Error, OSError, ValueError):
        return None
    column = header.index("athlete id") if "athlete id" in header else 0
    return parse_id(values[column]) if column < len(values) else None


def resolve_athlete(export: Export, given: int | None) -> int:
    named = profile_athlete(export)
    if named is not None and given is not None and named != given:
        raise ExportError(
            f"{export.label}: profile.csv names athlete {named}, --athlete says {given}; "
            "nothing was imported.",
            action=f"import it for athlete {named} (or without --athlete), or give the "
            f"export of athlete {given}.",
        )
    athlete = named if named is not None else given
    if athlete is None:
        why = "no profile.csv" if export.profile is None else "no athlete id in its profile.csv"
        raise ExportError(
            f"{export.label} does not say whose activities it holds ({why}).",
            action="add --athlete ID (the Strava athlete id they belong to).",
        )
    return athlete


def _kind(export: Export) -> str:
    if export.csv is not None:
        if export.csv.opener is None:
            raise ExportError(
                f"{export.label}: activities.csv cannot be read ({export.csv.refused}).",
                action=EXPORT_FIX + ".",
            )
        return "strava"
    if any(
        (kind_of(e.name)[0] or e.is_zip) and not in_not_activity_folder(e.name)
        for e in export.top.entries()
    ):
        return "files"  # nested zips are opened by the import itself, once
    _refuse_strava_without_csv(export)
    raise ExportError(
        f"{export.label} is not an activity export: no activities.csv and no FIT, GPX or "
        "TCX file in it.",
        action=EXPORT_FIX + ".",
    )


def _refuse_strava_without_csv(export: Export) -> None:
    """An export that looks like Strava's, with no activities.csv and no recording to
    import as a file: say what is missing."""
    marks = export.strava_marks()
    if marks:
        raise ExportError(
            f"{strava_without_csv(export.label, marks)}, and no activity file outside "
            "routes/, media/ and clubs/; nothing was imported.",
            action=NO_CSV_FIX + ".",
        )


def acquire(lease: Lease, wait: float, now: Callable[[], float]) -> None:
    """Take the lease, polling while another run holds it, for at most ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while True:
        lease.now = now()
        try:
            lease.acquire()
            return
        except LeaseHeld as held:
            if time.monotonic() >= deadline:
                what = str(held).split(" Fix: ")[0]
                raise ExportError(
                    f"athlete {lease.athlete_id} is being loaded by another run: {what} "
                    f"The import waited {wait:.0f} s and wrote nothing.",
                    athlete_id=lease.athlete_id,
                    action="run the import again once that run has finished.",
                ) from None
            time.sleep(min(2.0, max(0.05, deadline - time.monotonic())))


def run_import(
    path: str,
    warehouse: Warehouse,
    store: ObjectStore,
    *,
    athlete_id: int | None = None,
    storage_client: Any = None,
    on_file: Callable[[], None] | None = None,
    on_start: Callable[[int, str], None] | None = None,
    wait: float = WAIT_SECONDS,
    now: Callable[[], float] = time.time,
) -> ImportReport:
    """Import the export at ``path`` (zip, folder or ``gs://``); see the module docstring."""
    try:
        with open_source(path, storage_client) as export:
            kind = _kind(export)
            athlete = resolve_athlete(export, athlete_id)
            if on_start is not None:
                on_start(athlete, kind)
            run_id = new_run_id(now())
            lease = Lease(store, athlete, run_id, now(), LEASE_SECONDS)
            acquire(lease, wait, now)
            try:
                return _load(export, kind, warehouse, store, lease, on_file, now)
            finally:
                lease.release()
    except FileNotFoundError as missing:
        raise ExportError(
            f"{path}: {missing.strerror or 'not found'}.",
            action="check the path (a .zip, a folder, or gs://bucket/object.zip).",
        ) from None
    except BadExport as bad:
        raise ExportError(f"{bad}.", action=EXPORT_FIX + ".") from None
    except UnknownHeader as bad:
        raise ExportError(
            f"{path}: activities.csv is not a Strava activities.csv: {bad}.",
            action=EXPORT_FIX + ".",
        ) from None


def _load(
    export: Export,
    kind: str,
    warehouse: Warehouse,
    store: ObjectStore,
    lease: Lease,
    on_file: Callable[[], None] | None,
    now: Callable[[], float],
) -> ImportReport:
    report = ImportReport(kind=kind)
    renewed = [now()]

    def renew() -> None:
        if now() - renewed[0] >= RENEW_EVERY:
            lease.renew(now())
            renewed[0] = now()

    writer = Writer(warehouse, lease.athlete_id, lease.holder, report, renew)
    if kind == "strava":
        return StravaImport(export, warehouse, store, writer, on_file=on_file).run()
    report = FilesImport(export, warehouse, store, writer, on_file=on_file).run()
    if not report.rows and not report.problem_count:
        _refuse_strava_without_csv(export)
        raise ExportError(
            f"{export.label} is not an activity export: no activities.csv, and no FIT, GPX "
            "or TCX file in it or in the zips it holds.",
            action=EXPORT_FIX + ".",
        )
    return report
