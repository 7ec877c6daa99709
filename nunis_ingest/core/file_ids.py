"""Pure: the id of an activity that comes from another platform's file, and its twin test.

**Ids.** Strava's activity ids are positive. An activity read from a FIT, GPX or TCX file
of another platform (Garmin, COROS, Wahoo, Suunto, a watch's folder) gets a **negative**
id, so it can never collide with one of Strava's:

    id = -1 - (first 8 bytes of sha256(identity), big-endian, >> 1)      # -2^63 .. -1

``identity`` is what stays the same when the same recording is exported again, from any
platform: for a FIT file ``fit:<serial_number>:<time_created>`` (FIT's own identity of a
file, ``file_id``), else the recording's first timestamp and point count
(``track:<epoch>:<points>``); a file with no timestamp cannot be placed in time and is
not loaded. Importing a file twice,
or the same recording from two exports, gives the same id, so it loads once.

**Twins.** The same activity often also exists on Strava, with Strava's id: two
activities are one when they start within ``TWIN_SECONDS`` of each other and their
distances differ by at most ``TWIN_DISTANCE`` of the longer (or both are under
``TWIN_MIN_DISTANCE`` metres: an indoor workout, matched on its start alone). Strava's row
wins: a file activity with a Strava twin is not loaded, and is removed when its twin
arrives later (``twins``).
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

TWIN_SECONDS = 60
TWIN_DISTANCE = 0.05
TWIN_MIN_DISTANCE = 100.0


def is_file_activity(activity_id: int) -> bool:
    """True for the ids this module gives (negative): not Strava's, never asked of its API."""
    return activity_id < 0


def file_activity_id(identity: str) -> int:
    digest = hashlib.sha256(identity.encode("utf-8", "surrogatepass")).digest()
    return -1 - (int.from_bytes(digest[:8], "big") >> 1)


def identity(
    serial_number: int | None, time_created: float | None, first_time: float, points: int
) -> str:
    if serial_number and time_created is not None:
        return f"fit:{serial_number}:{int(time_created)}"
    return f"track:{int(first_time)}:{points}"


@dataclass(frozen=True)
class Start:
    activity_id: int
    start: int
    distance: float | None


def twins(a: Start, b: Start) -> bool:
    if abs(a.start - b.start) > TWIN_SECONDS:
        return False
    da, db = a.distance or 0.0, b.distance or 0.0
    if da < TWIN_MIN_DISTANCE and db < TWIN_MIN_DISTANCE:
        return True
    return abs(da - db) <= TWIN_DISTANCE * max(da, db)


class StartIndex:
    """Activities sorted by start, to find a twin in O(log n)."""

    def __init__(self, starts: Iterable[Start] = ()) -> None:
        self.items = sorted(starts, key=lambda s: s.start)
        self.keys = [s.start for s in self.items]

    def add(self, item: Start) -> None:
        at = bisect.bisect(self.keys, item.start)
        self.keys.insert(at, item.start)
        self.items.insert(at, item)

    def twin(self, item: Start) -> Start | None:
        """The closest-starting twin of ``item`` (never ``item`` itself), or None."""
        lo = bisect.bisect_left(self.keys, item.start - TWIN_SECONDS)
        hi = bisect.bisect_right(self.keys, item.start + TWIN_SECONDS)
        found = [
            s for s in self.items[lo:hi] if s.activity_id != item.activity_id and twins(s, item)
        ]
        return min(found, key=lambda s: abs(s.start - item.start)) if found else None


def split_starts(
    rows: Iterable[tuple[int, int | None, float | None, int | None]],
) -> tuple[StartIndex, StartIndex]:
    """(Strava's activities, file activities) of ``Warehouse.fetch_activity_starts``."""
    strava: list[Start] = []
    files: list[Start] = []
    for activity_id, start, distance, _elapsed in rows:
        if start is None:
            continue
        item = Start(activity_id, int(start), distance)
        (files if is_file_activity(activity_id) else strava).append(item)
    return StartIndex(strava), StartIndex(files)
