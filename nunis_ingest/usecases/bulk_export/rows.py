"""Pure: a ``Track`` -> ``activity_streams`` and ``activity_laps`` rows (schema_detail).

``StreamRows`` is a sequence that builds each row when it is read, from the track's
columns: a 500,000-point file is never 500,000 dicts at once (~0.5 GB); the warehouse
adapters read the sequence a few times (checks, then the NDJSON stage) and each pass
builds rows one at a time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, overload

from nunis_ingest.ports import Row
from nunis_ingest.usecases.bulk_export.track import Track

_INT_LIMIT = 2**31


def _f(value: float) -> float | None:
    return None if value != value else value


def _i(value: float) -> int | None:
    return None if value != value or abs(value) >= _INT_LIMIT else round(value)


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


class StreamRows(Sequence[Row]):
    """The ``activity_streams`` rows of one track, built on access."""

    def __init__(
        self, activity_id: int, athlete_id: int, track: Track, start: str, trail: dict[str, str]
    ) -> None:
        self.activity_id, self.athlete_id, self.start = activity_id, athlete_id, start
        self.cols, self.trail = track.columns, trail
        self.first = track.first_time()

    def __len__(self) -> int:
        return len(self.cols["time"])

    @overload
    def __getitem__(self, index: int) -> Row: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Row]: ...

    def __getitem__(self, index: int | slice) -> Row | Sequence[Row]:
        if isinstance(index, slice):
            return [self._row(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._row(index)

    def __iter__(self) -> Iterator[Row]:
        for i in range(len(self)):
            yield self._row(i)

    def _row(self, i: int) -> dict[str, Any]:
        c, first = self.cols, self.first
        t = c["time"][i]
        return {
            "activity_id": self.activity_id,
            "athlete_id": self.athlete_id,
            "start_date": self.start,
            "point": i,
            "time": None if t != t or first is None else _i(t - first),
            "distance": _f(c["distance"][i]),
            "lat": _f(c["lat"][i]),
            "lng": _f(c["lng"][i]),
            "altitude": _f(c["altitude"][i]),
            "velocity_smooth": _f(c["velocity"][i]),
            "heartrate": _i(c["heartrate"][i]),
            "cadence": _i(c["cadence"][i]),
            "watts": _i(c["watts"][i]),
            "temp": _i(c["temp"][i]),
            "moving": None,
            "grade_smooth": None,
            **self.trail,
        }


def _round(value: float | None) -> int | None:
    return None if value is None or abs(value) >= _INT_LIMIT else round(value)


def lap_rows(activity_id: int, athlete_id: int, track: Track, trail: dict[str, str]) -> list[Row]:
    return [
        {
            "activity_id": activity_id,
            "athlete_id": athlete_id,
            "lap_index": i + 1,
            "name": f"Lap {i + 1}",
            "split": i + 1,
            "elapsed_time": _round(lap.elapsed_time),
            "moving_time": _round(lap.moving_time),
            "start_date": iso(lap.start),
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
