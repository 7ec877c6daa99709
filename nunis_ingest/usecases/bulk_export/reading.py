"""Read one activity file of an export: parse it, archive its bytes, never raise for it.

The bytes of a file that parses are archived as the export holds them
(``archive/strava/athlete=<id>/export/``, create-only: a second import writes nothing), up
to ``limits.MAX_ARCHIVE_BYTES``; a larger file is parsed as a stream and not archived.
Whatever the file does wrong comes back as a problem in the report (its name and the
reason) and ``None``: the import goes on.
Failures of the store itself are not the file's fault and do stop the import.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

from nunis_ingest import errors
from nunis_ingest.core.keys import archive_export_key
from nunis_ingest.ports import CREATE_ONLY, ObjectStore
from nunis_ingest.usecases.bulk_export.files import UnreadableFile, parse_stream
from nunis_ingest.usecases.bulk_export.limits import MAX_ARCHIVE_BYTES
from nunis_ingest.usecases.bulk_export.report import ImportReport
from nunis_ingest.usecases.bulk_export.source import Entry, Export
from nunis_ingest.usecases.bulk_export.track import Summary, Track

NOT_ACTIVITIES = ("no track points", "no laps and no track points")
"""Reasons that mean "a file with no recording in it" (a route, an empty TCX)."""


def read_track(
    export: Export,
    entry: Entry,
    store: ObjectStore,
    athlete_id: int,
    report: ImportReport,
    *,
    archive_as: str,
    activities_only: bool = False,
) -> Track | None:
    """The file's track, or None (a problem listed, or a file that is not an activity)."""
    try:
        with export.open(entry) as stream:
            data = stream.read(MAX_ARCHIVE_BYTES + 1)
    except Exception as error:  # one bad file never stops an import
        report.problem(entry.name, _reason(error))
        return None
    small = len(data) <= MAX_ARCHIVE_BYTES
    try:
        if small:
            track = parse_stream(
                entry.name, io.BytesIO(data), export.budget, activities_only=activities_only
            )
        else:
            data = b""
            report.warn_count("files over the archive limit were read but not archived")
            with export.open(entry) as stream:
                track = parse_stream(
                    entry.name, stream, export.budget, activities_only=activities_only
                )
    except Exception as error:  # one bad file never stops an import
        reason = _reason(error)
        if reason.endswith(NOT_ACTIVITIES):  # well-formed, nothing recorded in it
            report.skipped += 1
        else:
            report.problem(entry.name, reason)
        return None
    report.dropped_positions += track.dropped_positions
    report.dropped_elevations += track.dropped_elevations
    if not small:
        return track
    key = archive_export_key(athlete_id, archive_as)
    with contextlib.suppress(errors.PreconditionFailed):  # archived by an earlier import
        store.put(key, data, if_generation=CREATE_ONLY)
    return track


def _reason(error: BaseException) -> str:
    if isinstance(error, UnreadableFile):
        return str(error)
    return f"{type(error).__name__}: {error}"[:300]


def fill_from_track(activity: dict[str, Any], track: Track) -> None:
    """What the file adds to a row: start and end position, device, and any summary field
    the row lacks (a CSV read by position has only the id, date and file name)."""
    start, end = track.latlng(), track.latlng(last=True)
    if start is not None and end is not None:
        activity["start_latlng"], activity["end_latlng"] = start, end
    if track.device_name:
        activity.setdefault("device_name", track.device_name)
    s: Summary = track.summary
    filled = {
        "elapsed_time": _int(track.elapsed()),
        "moving_time": _int(s.moving_time),
        "distance": track.total_distance(),
        "total_elevation_gain": s.total_elevation_gain,
        "average_speed": s.average_speed,
        "max_speed": s.max_speed,
        "average_heartrate": s.average_heartrate,
        "max_heartrate": s.max_heartrate,
        "average_cadence": s.average_cadence,
        "average_watts": s.average_watts,
        "max_watts": s.max_watts,
        "calories": s.calories,
    }
    for name, value in filled.items():
        if value is not None and activity.get(name) is None:
            activity[name] = value
    if activity.get("average_heartrate") is not None:
        activity["has_heartrate"] = True


def _int(value: float | None) -> int | None:
    return None if value is None or abs(value) >= 2**31 else round(value)
