"""Pure: a DetailedActivity and a streams response -> rows of the detail tables.

One ``GET /activities/{id}`` gives ``activity_details`` (the fields the summary lacks),
``activity_laps`` (embedded ``laps``), ``activity_splits`` (``splits_metric`` and
``splits_standard``) and ``activity_best_efforts``; one ``GET /activities/{id}/streams``
with ``key_by_type=true`` gives ``activity_streams`` in long form. Encoders are those of
``transform`` (never raise: a value of the wrong shape becomes ``None``); strings with
lone surrogates are repaired as in ``transform``; the archive keeps Strava's bytes.

Decisions:

- ``embed_token`` (a token that lets anyone embed the activity, private ones included)
  is dropped from ``raw`` and never becomes a column; the archive keeps the response.
- Laps are keyed by ``lap_index`` (Strava numbers them from 1; a lap without one gets its
  position + 1); splits by ``(units, split)``; best efforts by their position.
- Streams: the point count is the longest stream's length; a shorter stream (Strava
  serves them equal, an export may not) leaves NULLs at the end, never shifts values.
  ``latlng`` becomes ``lat`` and ``lng``.
- ``summary_fingerprint`` hashes only the summary fields a detail depends on (name,
  type, distance, times, elevation, gear, device, flags, heart rate and power figures),
  not the social counts: a new kudo changes the summary's content hash but must not cost
  a detail request.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from nunis_ingest.core import schema_detail as sd
from nunis_ingest.core.canonical import _needs_repair, repair
from nunis_ingest.core.canonical import content_hash as content_hash
from nunis_ingest.core.schema import Column
from nunis_ingest.core.transform import encode_timestamp, encode_value

Rows = dict[str, list[dict[str, Any]]]

FINGERPRINT_FIELDS = (
    "name",
    "type",
    "sport_type",
    "workout_type",
    "distance",
    "moving_time",
    "elapsed_time",
    "total_elevation_gain",
    "elev_high",
    "elev_low",
    "start_date",
    "gear_id",
    "device_name",
    "manual",
    "trainer",
    "commute",
    "private",
    "visibility",
    "has_heartrate",
    "average_heartrate",
    "max_heartrate",
    "average_watts",
    "device_watts",
    "average_cadence",
)
SECRET_FIELDS = frozenset({"embed_token"})


def summary_fingerprint(summary: Mapping[str, Any]) -> str:
    """16 hex digits over the summary fields the detail depends on (see module doc)."""
    picked = {k: summary.get(k) for k in FINGERPRINT_FIELDS}
    text = json.dumps(picked, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _row(
    columns: tuple[Column, ...], values: Mapping[str, Any], trail: Mapping[str, Any]
) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for column in columns:
        if column.name in trail:
            row[column.name] = trail[column.name]
        else:
            value = values.get(column.name)
            row[column.name] = (
                ([] if column.repeated else None)
                if value is None
                else (encode_value(column, value))
            )
    return row


def _count(value: object) -> int | None:
    return len(value) if isinstance(value, list) else None


def detail_rows(
    detail: Mapping[str, Any],
    *,
    athlete_id: int,
    activity_id: int,
    run_id: str,
    loaded_at: float,
    fingerprint: str | None,
    source: str = "api",
) -> Rows:
    """Rows for ``activity_details``, ``activity_laps``, ``activity_splits`` and
    ``activity_best_efforts`` of one DetailedActivity (``sd.FROM_DETAIL``)."""
    clean = {k: v for k, v in detail.items() if k not in SECRET_FIELDS}
    if _needs_repair(clean):
        clean = repair(clean)
    ids = {
        "activity_id": activity_id,
        "athlete_id": athlete_id,
        "source": source,
        "run_id": run_id,
        "loaded_at": encode_timestamp_epoch(loaded_at),
    }
    photos = clean.get("photos")
    efforts = clean.get("segment_efforts")
    summary = dict(
        clean,
        laps_count=_count(clean.get("laps")),
        splits_metric_count=_count(clean.get("splits_metric")),
        splits_standard_count=_count(clean.get("splits_standard")),
        best_efforts_count=_count(clean.get("best_efforts")),
        segment_efforts_count=_count(efforts),
        photos_count=photos.get("count") if isinstance(photos, Mapping) else None,
    )
    details = _row(
        sd.ACTIVITY_DETAILS,
        summary,
        ids
        | {"raw": clean, "content_hash": content_hash(clean), "summary_fingerprint": fingerprint},
    )
    laps = [
        _row(sd.ACTIVITY_LAPS, lap | {"lap_id": lap.get("id")}, ids)
        | {"lap_index": _index(lap.get("lap_index"), i + 1)}
        for i, lap in enumerate(_objects(clean.get("laps")))
    ]
    splits = [
        _row(sd.ACTIVITY_SPLITS, split, ids)
        | {"units": units, "split": _index(split.get("split"), i + 1)}
        for units, key in (("metric", "splits_metric"), ("standard", "splits_standard"))
        for i, split in enumerate(_objects(clean.get(key)))
    ]
    efforts_rows = [
        _row(sd.ACTIVITY_BEST_EFFORTS, effort | {"effort_id": effort.get("id")}, ids)
        | {"effort_index": i}
        for i, effort in enumerate(_objects(clean.get("best_efforts")))
    ]
    return {
        sd.DETAILS.name: [details],
        sd.LAPS.name: laps,
        sd.SPLITS.name: _unique(splits, ("units", "split")),
        sd.BEST_EFFORTS.name: efforts_rows,
    }


def _objects(value: object) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _index(value: object, fallback: int) -> int:
    return (
        value
        if isinstance(value, int) and not isinstance(value, bool) and value > 0
        else (fallback)
    )


def _unique(rows: list[dict[str, Any]], key: tuple[str, ...]) -> list[dict[str, Any]]:
    """Last wins for a repeated key (a malformed response must not break the table key)."""
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        out[tuple(row[k] for k in key)] = row
    return list(out.values())


def encode_timestamp_epoch(epoch: float) -> str:
    text = encode_timestamp(datetime.fromtimestamp(int(epoch), UTC))
    assert text is not None
    return text


_STREAM_COLUMNS = {c.name: c for c in sd.ACTIVITY_STREAMS}
_POINT_STREAMS = tuple(t for t in sd.STREAM_TYPES if t != "latlng")


def stream_types(streams: Mapping[str, Any]) -> list[str]:
    """Stream types present in a ``key_by_type`` response, in ``sd.STREAM_TYPES`` order."""
    return [t for t in sd.STREAM_TYPES if isinstance(_data(streams, t), list)]


def _data(streams: Mapping[str, Any], kind: str) -> list[Any] | None:
    item = streams.get(kind)
    if isinstance(item, Mapping):
        data = item.get("data")
        return data if isinstance(data, list) else None
    return None


def stream_rows(
    streams: Mapping[str, Any],
    *,
    athlete_id: int,
    activity_id: int,
    start_date: str | None,
    run_id: str,
    loaded_at: float,
    source: str = "api",
) -> Iterator[dict[str, Any]]:
    """``activity_streams`` rows, one per point, lazily (a 10,000-point stream is never
    held twice). ``streams`` is the ``key_by_type=true`` response (or an export's points
    in the same shape)."""
    series = {t: d for t in _POINT_STREAMS if (d := _data(streams, t)) is not None}
    latlng = _data(streams, "latlng")
    lengths = [len(d) for d in series.values()] + ([len(latlng)] if latlng is not None else [])
    points = max(lengths, default=0)
    encoders = [(t, _STREAM_COLUMNS[t], d) for t, d in series.items()]
    absent = [t for t in _POINT_STREAMS if t not in series]
    lat_col, lng_col = _STREAM_COLUMNS["lat"], _STREAM_COLUMNS["lng"]
    fixed = {
        "activity_id": activity_id,
        "athlete_id": athlete_id,
        "start_date": encode_timestamp(start_date) if start_date else None,
        "source": source,
        "run_id": run_id,
        "loaded_at": encode_timestamp_epoch(loaded_at),
    }
    for point in range(points):
        row: dict[str, Any] = {"point": point}
        for name, column, data in encoders:
            row[name] = encode_value(column, data[point]) if point < len(data) else None
        for name in absent:
            row[name] = None
        pair = latlng[point] if latlng is not None and point < len(latlng) else None
        if isinstance(pair, list) and len(pair) == 2:
            row["lat"], row["lng"] = encode_value(lat_col, pair[0]), encode_value(lng_col, pair[1])
        else:
            row["lat"] = row["lng"] = None
        row.update(fixed)
        yield row
