"""Contract: the detail tables behave the same in every ``ports.Warehouse`` adapter.

Rows are built by hand in schema.py's encoding (the detail transform is tested on its
own); activities come from the summary path (``to_row``), as in a real sync.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from nunis_ingest.core import schema, schema_detail
from nunis_ingest.ports import DetailRows, Warehouse
from tests.contract.test_warehouse import ME, OTHER, commit, rows

D, LAPS, SPLITS, EFFORTS, STREAMS = (t.name for t in schema_detail.DETAIL_TABLES)
ALL = (D, LAPS, SPLITS, EFFORTS, STREAMS)
T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
LOADED = "2024-03-02T09:00:00+00:00"
Rows = list[dict[str, Any]]


def _trail(run: str) -> dict[str, Any]:
    return {"source": "api", "run_id": run, "loaded_at": LOADED}


def detail(aid: int, athlete: int = ME, run: str = "r1", **kw: Any) -> dict[str, Any]:
    raw = {"id": aid, "description": kw.get("description", "easy"), "nested": [1, "é"]}
    return {
        "activity_id": aid,
        "athlete_id": athlete,
        "description": raw["description"],
        "calories": 512.5,
        "device_name": "Garmin Forerunner 255",
        "gear_id": "g12",
        "gear": {"id": "g12", "name": "Pegasus", "primary": True, "distance": 812345.5},
        "laps_count": 3,
        "splits_metric_count": 2,
        "splits_standard_count": 1,
        "best_efforts_count": 2,
        "segment_efforts_count": 0,
        "photos_count": 0,
        "raw": raw,
        "content_hash": f"hash-{aid}-{raw['description']}",
        "summary_fingerprint": f"fp-{aid}-{raw['description']}",
        **_trail(run),
        **{k: v for k, v in kw.items() if k != "description"},
    }


def lap(aid: int, index: int, athlete: int = ME, run: str = "r1", **kw: Any) -> dict[str, Any]:
    return {
        "activity_id": aid,
        "athlete_id": athlete,
        "lap_index": index,
        "lap_id": aid * 100 + index,
        "name": f"Lap {index}",
        "split": index,
        "elapsed_time": 300 + index,
        "moving_time": 298,
        "start_date": (T0 + timedelta(minutes=5 * index)).isoformat(),
        "start_date_local": (T0 + timedelta(hours=1, minutes=5 * index))
        .replace(tzinfo=None)
        .isoformat(),
        "distance": 1000.0,
        "start_index": 300 * index,
        "end_index": 300 * index + 299,
        "average_heartrate": 151.5,
        "device_watts": None,
        **_trail(run),
        **kw,
    }


def split(aid: int, units: str, index: int, athlete: int = ME, run: str = "r1") -> dict[str, Any]:
    return {
        "activity_id": aid,
        "athlete_id": athlete,
        "units": units,
        "split": index,
        "distance": 1000.0 if units == "metric" else 1609.3,
        "elapsed_time": 301,
        "average_speed": 3.32,
        "pace_zone": 2,
        **_trail(run),
    }


def effort(aid: int, index: int, athlete: int = ME, run: str = "r1") -> dict[str, Any]:
    return {
        "activity_id": aid,
        "athlete_id": athlete,
        "effort_index": index,
        "effort_id": aid * 10 + index,
        "name": ("400m", "1k")[index % 2],
        "distance": (400.0, 1000.0)[index % 2],
        "start_date": T0.isoformat(),
        "start_date_local": T0.replace(tzinfo=None).isoformat(),
        "pr_rank": None if index else 1,
        **_trail(run),
    }


def stream(
    aid: int, points: int, athlete: int = ME, *, gps: bool = True, hr: bool = True, run: str = "r1"
) -> Rows:
    out = []
    for p in range(points):
        row: dict[str, Any] = {
            "activity_id": aid,
            "athlete_id": athlete,
            "start_date": T0.isoformat(),
            "point": p,
            "time": p,
            "distance": 3.1 * p,
            "altitude": 34.5,
            "moving": True,
            **_trail(run),
        }
        if gps:
            row |= {"lat": 52.5 + p / 1e4, "lng": 13.4}
        if hr:
            row["heartrate"] = 140 + p % 20
        out.append(row)
    return out


def full(
    aid: int, athlete: int = ME, *, laps: int = 3, points: int = 5, run: str = "r1"
) -> dict[str, Rows]:
    """Every table's rows of one activity."""
    return {
        D: [detail(aid, athlete, run)],
        LAPS: [lap(aid, i, athlete, run) for i in range(1, laps + 1)],
        SPLITS: [
            split(aid, "metric", 1, athlete, run),
            split(aid, "metric", 2, athlete, run),
            split(aid, "standard", 1, athlete, run),
        ],
        EFFORTS: [effort(aid, 0, athlete, run), effort(aid, 1, athlete, run)],
        STREAMS: stream(aid, points, athlete, run=run),
    }


def write(*activities: tuple[int, dict[str, Rows]], tables: Sequence[str] = ALL) -> DetailRows:
    merged: dict[str, Rows] = {t: [] for t in tables}
    for _, by_table in activities:
        for t in tables:
            merged[t] += by_table.get(t, [])
    return DetailRows(tuple(a for a, _ in activities), tuple(tables), merged)


def counts(wh: Warehouse, athlete: int = ME) -> dict[str, int]:
    return {t: wh.count_rows(t, athlete) for t in ALL}


# --- reading detail rows back (the port has no such read; tests need one) -----------------


def _read_duckdb(wh: Any, table: str, aid: int) -> Rows:
    columns = schema_detail.BY_NAME[table].columns
    select = ", ".join(
        f'CAST("{c.name}" AS VARCHAR)' if c.type in ("TIMESTAMP", "JSON") else f'"{c.name}"'
        for c in columns
    )
    with wh.reader() as con:
        sql = f'SELECT {select} FROM "{table}" WHERE activity_id = ?'  # noqa: S608 (schema names)
        got = [
            dict(zip([c.name for c in columns], r, strict=True))
            for r in con.execute(sql, [aid]).fetchall()
        ]
    for row in got:
        for c in columns:
            if row[c.name] is not None and c.type == "JSON":
                row[c.name] = json.loads(row[c.name])
            elif row[c.name] is not None and c.type in ("TIMESTAMP", "DATETIME"):
                row[c.name] = datetime.fromisoformat(str(row[c.name])).isoformat()
    return got


def _read_bigquery(wh: Any, table: str, aid: int) -> Rows:
    from google.cloud import bigquery

    sql = f"SELECT * FROM {wh.sql_table(table)} WHERE activity_id = @id"  # noqa: S608
    got = wh.rows(sql, [bigquery.ScalarQueryParameter("id", "INT64", aid)])
    return [{k: v.isoformat() if isinstance(v, datetime) else v for k, v in r.items()} for r in got]


@pytest.fixture
def read_detail(request: pytest.FixtureRequest, warehouse: Warehouse) -> Callable[[str, int], Rows]:
    reader = {"duckdb": _read_duckdb, "bigquery": _read_bigquery}[
        request.node.callspec.params["warehouse"]
    ]

    def read(table: str, aid: int) -> Rows:
        key = schema_detail.BY_NAME[table].key
        return sorted(reader(warehouse, table, aid), key=lambda r: tuple(r[k] for k in key))

    return read


def _complete(table: str, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with every column of ``table`` (absent ones are NULL when read back)."""
    return {c.name: row.get(c.name) for c in schema_detail.BY_NAME[table].columns}


# --- the tests ------------------------------------------------------------------------------


def test_replace_writes_every_table_and_is_idempotent(
    warehouse: Warehouse, read_detail: Callable[[str, int], Rows]
) -> None:
    commit(warehouse, rows([1, 2]))
    given = write((1, full(1)), (2, full(2, laps=1)))
    expected = {D: 2, LAPS: 4, SPLITS: 6, EFFORTS: 4, STREAMS: 10}
    assert warehouse.replace_details(ME, given) == expected
    assert counts(warehouse) == expected
    first = {t: read_detail(t, 1) for t in ALL}
    assert warehouse.replace_details(ME, given) == expected  # a retry: same rows, not twice
    assert counts(warehouse) == expected
    assert {t: read_detail(t, 1) for t in ALL} == first
    for t in ALL:
        assert first[t] == [_complete(t, r) for r in full(1)[t]]  # every value round-trips
    assert warehouse.fetch_detail_fingerprints(ME) == {1: "fp-1-easy", 2: "fp-2-easy"}


def test_a_refetch_with_fewer_laps_removes_the_extra_laps(
    warehouse: Warehouse, read_detail: Callable[[str, int], Rows]
) -> None:
    commit(warehouse, rows([1, 2]))
    warehouse.replace_details(ME, write((1, full(1, laps=4)), (2, full(2, laps=2))))
    again = full(1, laps=2, run="r2")
    again[D] = [detail(1, run="r2", description="edited")]
    assert warehouse.replace_details(ME, write((1, again)))[LAPS] == 2
    assert [r["lap_index"] for r in read_detail(LAPS, 1)] == [1, 2]
    assert {r["run_id"] for r in read_detail(LAPS, 1)} == {"r2"}
    assert [r["lap_index"] for r in read_detail(LAPS, 2)] == [1, 2]  # the other activity kept
    assert warehouse.fetch_detail_fingerprints(ME)[1] == "fp-1-edited"


def test_a_listed_table_without_rows_loses_the_activity_and_unlisted_tables_are_untouched(
    warehouse: Warehouse,
) -> None:
    commit(warehouse, rows([1]))
    warehouse.replace_details(ME, write((1, full(1))))
    only = write((1, {D: [detail(1, run="r2")], LAPS: []}), tables=(D, LAPS))
    assert warehouse.replace_details(ME, only) == {LAPS: 0, D: 1}
    assert counts(warehouse) == {D: 1, LAPS: 0, SPLITS: 3, EFFORTS: 2, STREAMS: 5}


def test_streams_keep_nulls_where_a_stream_is_missing(
    warehouse: Warehouse, read_detail: Callable[[str, int], Rows]
) -> None:
    commit(warehouse, rows([1, 2]))
    indoor = stream(1, 4, gps=False)  # treadmill: no latlng
    strapless = stream(2, 3, hr=False)  # no heart-rate strap
    given = write((1, {STREAMS: indoor}), (2, {STREAMS: strapless}), tables=(STREAMS,))
    assert warehouse.replace_details(ME, given) == {STREAMS: 7}
    got = read_detail(STREAMS, 1)
    assert [(r["point"], r["lat"], r["lng"], r["watts"]) for r in got] == [
        (p, None, None, None) for p in range(4)
    ]
    assert got == [_complete(STREAMS, r) for r in indoor]
    assert [r["heartrate"] for r in read_detail(STREAMS, 2)] == [None] * 3
    assert [r["lat"] for r in read_detail(STREAMS, 2)] == [52.5, 52.5001, 52.5002]


def test_other_athletes_rows_are_untouched_and_theirs_are_refused(warehouse: Warehouse) -> None:
    commit(warehouse, rows([1]))
    commit(warehouse, rows([7], athlete_id=OTHER), athlete_id=OTHER)
    warehouse.replace_details(OTHER, write((7, full(7, OTHER))))
    warehouse.replace_details(ME, write((1, full(1))))
    # ME's call naming OTHER's activity id deletes nothing of OTHER's
    warehouse.replace_details(ME, write((7, {}), (1, full(1, laps=1))))
    assert counts(warehouse, OTHER) == {D: 1, LAPS: 3, SPLITS: 3, EFFORTS: 2, STREAMS: 5}
    with pytest.raises(ValueError, match="belongs to athlete"):
        warehouse.replace_details(ME, write((1, full(1)), (7, full(7, OTHER))))
    assert counts(warehouse) == {D: 1, LAPS: 1, SPLITS: 3, EFFORTS: 2, STREAMS: 5}


@pytest.mark.parametrize(
    ("given", "match"),
    [
        (DetailRows((1,), ("activity_gossip",), {}), "not a detail table"),
        (DetailRows((1,), (D,), {D: [detail(1) | {"mood": "happy"}]}), "no column"),
        (DetailRows((1,), (D,), {D: [detail(2)]}), "not in DetailRows.activity_ids"),
        (DetailRows((1,), (D,), {LAPS: [lap(1, 1)]}), "not in DetailRows.tables"),
        (DetailRows((1,), (LAPS,), {LAPS: [lap(1, 1), lap(1, 1)]}), "two rows with key"),
    ],
)
def test_misuse_is_refused_and_writes_nothing(
    warehouse: Warehouse, given: DetailRows, match: str
) -> None:
    commit(warehouse, rows([1]))
    warehouse.replace_details(ME, write((1, full(1))))
    ops = dict(warehouse.operations)
    with pytest.raises(ValueError, match=match):
        warehouse.replace_details(ME, given)
    assert warehouse.operations == ops
    assert counts(warehouse) == {D: 1, LAPS: 3, SPLITS: 3, EFFORTS: 2, STREAMS: 5}


def test_an_activity_with_a_bad_value_is_quarantined_whole_and_keeps_its_rows(
    warehouse: Warehouse,
    read_detail: Callable[[str, int], Rows],
    read_quarantine: Callable[[], Rows],
) -> None:
    commit(warehouse, rows([1, 2]))
    warehouse.replace_details(ME, write((1, full(1)), (2, full(2))))
    bad = full(1, laps=1, run="r2")
    bad[STREAMS][2]["heartrate"] = 2**64  # beyond INT64
    good = full(2, laps=1, run="r2")
    written = warehouse.replace_details(ME, write((1, bad), (2, good)))
    assert written == {STREAMS: 5, EFFORTS: 2, SPLITS: 3, LAPS: 1, D: 1, schema.QUARANTINE_TABLE: 1}
    assert len(read_detail(LAPS, 1)) == 3  # activity 1 stays as it was, in every table
    assert {r["run_id"] for t in ALL for r in read_detail(t, 1)} == {"r1"}
    assert len(read_detail(LAPS, 2)) == 1
    [held] = read_quarantine()
    assert (held["athlete_id"], held["activity_id"], held["run_id"]) == (ME, 1, "r2")
    assert held["reason"].startswith("activity_streams.heartrate: ")
    assert json.loads(held["raw"])["point"] == 2


def test_delete_and_purge_clear_every_detail_table(warehouse: Warehouse) -> None:
    commit(warehouse, rows([1, 2, 3]))
    commit(warehouse, rows([7], athlete_id=OTHER), athlete_id=OTHER)
    warehouse.replace_details(ME, write((1, full(1)), (2, full(2)), (3, full(3))))
    warehouse.replace_details(OTHER, write((7, full(7, OTHER))))
    assert warehouse.delete_activities(ME, [1, 7]) == 1
    assert counts(warehouse) == {D: 2, LAPS: 6, SPLITS: 6, EFFORTS: 4, STREAMS: 10}
    assert warehouse.purge_athlete(ME) == 2
    assert counts(warehouse) == dict.fromkeys(ALL, 0)
    assert counts(warehouse, OTHER) == {D: 1, LAPS: 3, SPLITS: 3, EFFORTS: 2, STREAMS: 5}


def test_a_full_refresh_that_deletes_an_activity_deletes_its_details(
    warehouse: Warehouse, read_detail: Callable[[str, int], Rows]
) -> None:
    commit(warehouse, rows([1, 2, 3]))
    commit(warehouse, rows([7], athlete_id=OTHER), athlete_id=OTHER)
    warehouse.replace_details(ME, write((1, full(1)), (2, full(2)), (3, full(3))))
    warehouse.replace_details(OTHER, write((7, full(7, OTHER))))
    renamed = rows([1], name="Renamed", run="r2") + rows([2], run="r2")  # 1 updated, 3 gone
    result = commit(warehouse, renamed, replace=True, run="r2")
    assert (result.updated, result.deleted, result.unchanged) == (1, 1, 1)
    assert counts(warehouse) == {D: 2, LAPS: 6, SPLITS: 6, EFFORTS: 4, STREAMS: 10}
    assert read_detail(D, 3) == []
    assert len(read_detail(LAPS, 1)) == 3  # an updated activity keeps its details
    assert counts(warehouse, OTHER)[STREAMS] == 5


def test_fetch_unenriched_is_newest_first_and_streams_skip_manual_entries(
    warehouse: Warehouse,
) -> None:
    day = timedelta(days=1)
    stamps = {n: (T0 + n * day).strftime("%Y-%m-%dT%H:%M:%SZ") for n in range(1, 5)}
    commit(warehouse, rows([11], start_date=stamps[1]))
    commit(warehouse, rows([14], start_date=stamps[4]))
    commit(warehouse, rows([13], start_date=stamps[3], manual=True))
    commit(warehouse, rows([12], start_date=stamps[2]))
    commit(warehouse, rows([70], athlete_id=OTHER, start_date=stamps[4]), athlete_id=OTHER)
    epoch = {n: int((T0 + n * day).timestamp()) for n in stamps}
    assert warehouse.fetch_unenriched(ME, D) == [
        (14, epoch[4]),
        (13, epoch[3]),
        (12, epoch[2]),
        (11, epoch[1]),
    ]
    assert warehouse.fetch_unenriched(ME, STREAMS) == [
        (14, epoch[4]),
        (12, epoch[2]),
        (11, epoch[1]),
    ]
    warehouse.replace_details(ME, write((14, full(14)), tables=(D,)))
    warehouse.replace_details(ME, write((12, {STREAMS: stream(12, 2)}), tables=(STREAMS,)))
    assert [i for i, _ in warehouse.fetch_unenriched(ME, D)] == [13, 12, 11]
    assert [i for i, _ in warehouse.fetch_unenriched(ME, STREAMS)] == [14, 11]
    assert [i for i, _ in warehouse.fetch_unenriched(OTHER, D)] == [70]


def test_count_rows_names_any_table_and_refuses_unknown_names(warehouse: Warehouse) -> None:
    commit(warehouse, rows([1, 2]))
    warehouse.replace_details(ME, write((1, full(1))))
    assert warehouse.count_rows(schema.ACTIVITIES_TABLE, ME) == 2
    assert warehouse.count_rows(schema.RUNS_TABLE, ME) == 0
    assert warehouse.count_rows(schema.QUARANTINE_TABLE, ME) == 0
    assert warehouse.count_rows(STREAMS, ME) == 5
    assert warehouse.count_rows(STREAMS, OTHER) == 0
    for name in ("nope", 'activities" WHERE 1=1; --', "_stage_x"):
        with pytest.raises(ValueError, match="not a warehouse table"):
            warehouse.count_rows(name, ME)
    with pytest.raises(ValueError, match="not a detail table"):
        warehouse.fetch_unenriched(ME, schema.ACTIVITIES_TABLE)


def test_an_existing_warehouse_without_detail_tables_gains_them(
    warehouse: Warehouse, drop_table: Callable[[str], None]
) -> None:
    commit(warehouse, rows([1, 2]))
    for table in ALL:  # the warehouse as an earlier version left it
        drop_table(table)
    warehouse.ensure_schema()
    assert warehouse.count_activities(ME) == 2
    assert counts(warehouse) == dict.fromkeys(ALL, 0)
    assert warehouse.replace_details(ME, write((1, full(1))))[STREAMS] == 5
    warehouse.ensure_schema()  # idempotent with the tables there
    assert counts(warehouse)[STREAMS] == 5
