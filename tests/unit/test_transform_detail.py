"""detail_rows / stream_rows: Strava's own DetailedActivity example and realistic gaps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as hs

from nunis_ingest.core import schema_detail as sd
from nunis_ingest.core.representation import summary_of
from nunis_ingest.core.transform_detail import (
    detail_rows,
    stream_rows,
    stream_types,
    summary_fingerprint,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "strava"


def _example() -> dict[str, Any]:
    return json.loads((FIXTURES / "activity.3.json").read_text())  # type: ignore[no-any-return]


def _rows(detail: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return detail_rows(
        detail,
        athlete_id=1513,
        activity_id=detail["id"],
        run_id="r1",
        loaded_at=1_700_000_000,
        fingerprint=summary_fingerprint(summary_of(detail)),
    )


def test_one_detail_response_fills_four_tables_with_every_column() -> None:
    detail = _example()
    rows = _rows(detail)
    assert set(rows) == {t.name for t in sd.FROM_DETAIL}
    (details,) = rows["activity_details"]
    assert details["description"] == detail["description"]
    assert details["calories"] == detail["calories"]
    assert details["splits_metric_count"] == len(detail["splits_metric"])
    assert details["best_efforts_count"] == len(detail["best_efforts"])
    assert details["segment_efforts_count"] == len(detail["segment_efforts"])
    assert len(rows["activity_splits"]) == len(detail["splits_metric"]) + len(
        detail["splits_standard"]
    )
    assert {r["units"] for r in rows["activity_splits"]} == {"metric", "standard"}
    assert [r["effort_index"] for r in rows["activity_best_efforts"]] == list(
        range(len(detail["best_efforts"]))
    )
    assert rows["activity_best_efforts"][0]["name"] == "400m"
    for table in sd.FROM_DETAIL:
        for row in rows[table.name]:
            assert set(row) == {c.name for c in table.columns}
            assert row["activity_id"] == detail["id"]
            assert row["source"] == "api"


def test_embed_token_never_reaches_the_warehouse() -> None:
    detail = _example() | {"embed_token": "abcdef0123456789secret"}
    rows = _rows(detail)
    text = json.dumps(rows)
    assert "abcdef0123456789secret" not in text
    assert "embed_token" not in rows["activity_details"][0]["raw"]


def test_embedded_laps_are_keyed_by_lap_index() -> None:
    laps = [
        {"id": 7, "lap_index": 1, "distance": 1000.0, "elapsed_time": 300, "pace_zone": 2},
        {"id": 8, "lap_index": 2, "distance": 500.5, "elapsed_time": 160},
    ]
    rows = _rows(_example() | {"laps": laps})
    got = [(r["lap_index"], r["lap_id"], r["distance"]) for r in rows["activity_laps"]]
    assert got == [(1, 7, 1000.0), (2, 8, 500.5)]
    assert rows["activity_details"][0]["laps_count"] == 2


def test_social_counts_do_not_change_the_fingerprint_but_an_edit_does() -> None:
    summary = summary_of(_example())
    base = summary_fingerprint(summary)
    assert summary_fingerprint(summary | {"kudos_count": 99, "comment_count": 3}) == base
    assert summary_fingerprint(summary | {"name": "Renamed"}) != base
    assert summary_fingerprint(summary | {"distance": 1.0}) != base


def _streams(n: int, *, gps: bool, hr: bool, watts: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "time": {"data": list(range(n))},
        "distance": {"data": [i * 2.5 for i in range(n)]},
        "moving": {"data": [i % 7 != 0 for i in range(n)]},
    }
    if gps:
        out["latlng"] = {"data": [[45.0 + i / 1e4, 6.0 - i / 1e4] for i in range(n)]}
        out["altitude"] = {"data": [100.0 + i for i in range(n)]}
    if hr:
        out["heartrate"] = {"data": [120 + i % 40 for i in range(n)]}
    if watts:
        out["watts"] = {"data": [200 for _ in range(n)]}
    return out


def _points(streams: dict[str, Any]) -> list[dict[str, Any]]:
    return list(
        stream_rows(
            streams,
            athlete_id=1,
            activity_id=2,
            start_date="2026-01-01T10:00:00Z",
            run_id="r",
            loaded_at=1_700_000_000,
        )
    )


def test_indoor_run_without_strap_has_null_gps_and_heartrate() -> None:
    rows = _points(_streams(50, gps=False, hr=False, watts=False))
    assert len(rows) == 50
    assert all(r["lat"] is None and r["lng"] is None and r["heartrate"] is None for r in rows)
    assert [r["point"] for r in rows] == list(range(50))
    assert rows[10]["distance"] == 25.0
    assert rows[7]["moving"] is False
    assert {c.name for c in sd.ACTIVITY_STREAMS} == set(rows[0])
    assert rows[0]["start_date"] == "2026-01-01T10:00:00+00:00"


def test_latlng_splits_into_lat_and_lng() -> None:
    rows = _points(_streams(3, gps=True, hr=True, watts=True))
    assert (rows[2]["lat"], rows[2]["lng"]) == (45.0002, 5.9998)
    assert rows[2]["watts"] == 200
    assert stream_types(_streams(3, gps=True, hr=True, watts=True)) == [
        "time",
        "distance",
        "latlng",
        "altitude",
        "heartrate",
        "watts",
        "moving",
    ]


def test_no_streams_gives_no_rows() -> None:
    assert _points({}) == []


@given(
    lengths=hs.lists(hs.integers(0, 60), min_size=1, max_size=4),
    junk=hs.sampled_from([None, "x", 1.5, [1], {"a": 1}, True]),
)
def test_ragged_or_junk_streams_never_raise_nor_shift_values(
    lengths: list[int], junk: object
) -> None:
    kinds = ["time", "distance", "heartrate", "latlng"]
    streams: dict[str, Any] = {}
    for kind, n in zip(kinds, lengths, strict=False):
        data: list[Any] = [[1.0, 2.0] if kind == "latlng" else i for i in range(n)]
        if n:
            data[n // 2] = junk
        streams[kind] = {"data": data}
    rows = _points(streams)
    assert len(rows) == max(lengths)
    for kind, n in zip(kinds, lengths, strict=False):
        if kind == "latlng":
            continue
        for point in range(n):
            if point != n // 2:
                assert rows[point][kind] == point  # never shifted by a junk value
        assert all(rows[p][kind] is None for p in range(n, len(rows)))
