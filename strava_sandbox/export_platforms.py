"""Exports of other platforms, shaped as OTHER_PLATFORMS facts describe them.

- ``garmin_export``: Garmin Connect's "Export your data" zip: recordings only inside
  nested ``DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_PartN.zip`` files, named
  by Garmin's internal file ids (not dates, not activity ids), mixed with monitoring and
  settings FIT files; ``DI-Connect-Fitness/*_summarizedActivities.json`` and
  ``customer_data/customer.json`` beside them.
- ``watch_folder``: a watch's or an app's folder of ``.fit`` files: ``GARMIN/Activity``
  (Garmin), or Wahoo's ``2026-09-20-07-52-49.fit`` names, or COROS / Suunto files, some
  as GPX with the platform as ``creator``.

Each returns ``PlatformTruth``: which sandbox activity each recording is, the files that
are not activities, and the damaged ones. ``shift``/``scale`` make a recording the same
ride as Strava's copy of it, seen by another device (a few seconds, a percent apart).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from strava_sandbox import export_files as ef
from strava_sandbox.data import Activity
from strava_sandbox.fit_writer import FILE_MONITORING_B, FILE_SETTINGS
from strava_sandbox.track import has_gps

PART = "DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part{n}.zip"


@dataclass
class PlatformTruth:
    recordings: dict[str, Activity] = field(default_factory=dict)
    """File name (as the importer shows it: ``outer.zip/inner``) -> the activity in it."""
    not_activities: list[str] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)


def _zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return out.getvalue()


def garmin_export(
    path: Path,
    activities: Sequence[Activity],
    *,
    parts: int = 2,
    others_per_part: int = 6,
    shift: int = 2,
    scale: float = 1.01,
    damaged: int = 1,
) -> PlatformTruth:
    """Garmin Connect's account export of ``activities`` (a zip at ``path``)."""
    truth = PlatformTruth()
    inner: list[dict[str, bytes]] = [{} for _ in range(parts)]
    file_id = 92_000_000_000
    for n, activity in enumerate(activities):
        file_id += 7919
        name = f"ana.lima_{file_id}.fit"
        part = n % parts
        outer = PART.format(n=part + 1)
        if n < damaged:
            inner[part][name] = ef.fit_bytes(activity, bad_crc=True)
            truth.damaged.append(f"{outer}/{name}")
            continue
        inner[part][name] = ef.fit_bytes(activity, serial=3_391_000_111, shift=shift, scale=scale)
        truth.recordings[f"{outer}/{name}"] = activity
    for part, files in enumerate(inner):
        for k in range(others_per_part):
            file_id += 31
            kind = FILE_MONITORING_B if k % 3 else FILE_SETTINGS
            name = f"ana.lima_{file_id}.fit"
            files[name] = ef.fit_bytes(activities[0], kind=kind, serial=3_391_000_111)
            truth.not_activities.append(f"{PART.format(n=part + 1)}/{name}")
    summaries = [
        {
            "activityId": 10_000_000_000 + n,
            "startTimeGmt": (a.start + shift) * 1000,
            "sportType": "RUNNING",
            "distance": float(a.summary.get("distance") or 0) * 100,
            "duration": float(a.summary.get("elapsed_time") or 0) * 1000,
        }
        for n, a in enumerate(activities)
    ]
    files = {PART.format(n=i + 1): _zip(f) for i, f in enumerate(inner)}
    files["DI_CONNECT/DI-Connect-Fitness/ana.lima_0_summarizedActivities.json"] = json.dumps(
        [{"summarizedActivitiesExport": summaries}]
    ).encode()
    files["DI_CONNECT/DI-Connect-Wellness/ana.lima_0_heartRateZones.json"] = b"[]"
    files["customer_data/customer.json"] = json.dumps({"userName": "ana.lima"}).encode()
    path.write_bytes(_zip(files))
    return truth


def watch_folder(
    path: Path,
    activities: Sequence[Activity],
    *,
    platform: str = "garmin",
    shift: int = 0,
    scale: float = 1.0,
) -> PlatformTruth:
    """A folder of one platform's files (``garmin``, ``wahoo_fitness``, ``coros``,
    ``suunto``); COROS and Suunto write every third activity with GPS as GPX."""
    truth = PlatformTruth()
    for n, activity in enumerate(activities):
        start = dt.datetime.fromtimestamp(activity.start + shift, dt.UTC)
        gpx = platform in ("coros", "suunto") and n % 3 == 2 and has_gps(activity)
        if platform == "garmin":
            name = f"GARMIN/Activity/{start:%y%m%d%H}{n:02d}.fit"
        elif platform == "wahoo_fitness":
            name = f"{start:%Y-%m-%d-%H-%M-%S}.fit"
        else:
            name = f"{platform}_{activity.id}.{'gpx' if gpx else 'fit'}"
        if gpx:
            creator = {"coros": "COROS", "suunto": "Suunto app"}[platform]
            data = ef.gpx_bytes(activity, creator=creator)
        else:
            data = ef.fit_bytes(activity, manufacturer=platform, shift=shift, scale=scale)
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(data)
        truth.recordings[name] = activity
    return truth
