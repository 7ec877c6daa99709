"""Every report query on DuckDB and on the BigQuery stand-in equals what Python computes
from the rows the test loaded."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from nunis_ingest.adapters.warehouses.report_source import open_source
from nunis_ingest.usecases.reporting import figures, query
from nunis_ingest.usecases.reporting.build import ReportParams, month_index
from tests.report.conftest import ATHLETE, SINCE, UNTIL

MAX_HR = 185
PARAMS = {"athlete": ATHLETE, "since": SINCE, "until": UNTIL, "max_hr": MAX_HR}


def _day(a: dict[str, Any]) -> date:
    return datetime.fromisoformat(a["start_date_local"]).date()


def _mine(report_rows: dict[str, list[dict[str, Any]]], table: str = "activities") -> list[dict]:
    key = "athlete_id"
    return [r for r in report_rows[table] if r[key] == ATHLETE]


def _in_period(report_rows) -> list[dict[str, Any]]:
    return [a for a in _mine(report_rows) if SINCE <= _day(a) <= UNTIL]


def _run(warehouse: Any, name: str, params: dict[str, Any] = PARAMS) -> list[dict[str, Any]]:
    with open_source(warehouse) as source:
        rows = query.run(source, name, params)
    assert rows is not None
    return rows


def _close(got: dict[Any, tuple], want: dict[Any, tuple]) -> None:
    assert set(got) == set(want)
    for key, values in want.items():
        assert got[key] == pytest.approx(values), key


def test_weekly_totals_by_sport(report_warehouse, report_rows):
    want: dict[tuple, list[float]] = defaultdict(lambda: [0.0, 0, 0])
    for a in _in_period(report_rows):
        week = _day(a) - timedelta(days=_day(a).weekday())
        totals = want[(week, a["sport_type"])]
        totals[0] += a["distance"]
        totals[1] += a["moving_time"]
        totals[2] += 1
    got = {
        (r["week"], r["sport"]): (r["distance"], r["moving_time"], r["activities"])
        for r in _run(report_warehouse, "weekly")
    }
    _close(got, {k: tuple(v) for k, v in want.items()})
    assert all(isinstance(week, date) and week.weekday() == 0 for week, _ in got)


def test_daily_training_days(report_warehouse, report_rows):
    want: dict[date, list[float]] = defaultdict(lambda: [0, 0, 0.0])
    for a in _in_period(report_rows):
        want[_day(a)][0] += 1
        want[_day(a)][1] += a["moving_time"]
        want[_day(a)][2] += a["distance"]
    got = {
        r["day"]: (r["activities"], r["moving_time"], r["distance"])
        for r in _run(report_warehouse, "daily")
    }
    _close(got, {k: tuple(v) for k, v in want.items()})


def test_monthly_against_the_same_month_last_year(report_warehouse, report_rows):
    per_month: dict[int, list[float]] = defaultdict(lambda: [0.0, 0, 0])
    for a in _mine(report_rows):
        totals = per_month[month_index(_day(a))]
        totals[0] += a["distance"]
        totals[1] += a["moving_time"]
        totals[2] += 1
    first, last = month_index(SINCE), month_index(UNTIL)
    want = {}
    for m in range(first, last + 1):
        cur, prev = per_month.get(m, [0, 0, 0]), per_month.get(m - 12, [0, 0, 0])
        if m in per_month or m - 12 in per_month:
            want[m] = (cur[0], prev[0], cur[1], prev[1], cur[2], prev[2])
    keys = ("distance", "distance_last_year", "moving_time", "moving_time_last_year")
    keys += ("activities", "activities_last_year")
    got = {r["month_index"]: tuple(r[k] for k in keys) for r in _run(report_warehouse, "monthly")}
    _close(got, want)
    assert len(got) == 12  # January to December, the whole month of SINCE included


def test_longest_and_fastest_runs(report_warehouse, report_rows):
    runs = [a for a in _in_period(report_rows) if a["sport_type"] in figures.RUN_SPORTS]
    longest = sorted(runs, key=lambda a: (-a["distance"], a["id"]))[: figures.TOP_RUNS]
    eligible = [a for a in runs if a["distance"] >= figures.FAST_MIN_DISTANCE]
    fastest = sorted(eligible, key=lambda a: (a["moving_time"] / a["distance"], a["id"]))
    fastest = fastest[: figures.TOP_RUNS]
    rows = _run(report_warehouse, "runs")
    got_long = [r["id"] for r in sorted(rows, key=lambda r: r["longest_rank"])]
    in_fast = [r for r in rows if r["fastest_rank"] is not None and r["fastest_rank"] <= 10]
    got_fast = [r["id"] for r in sorted(in_fast, key=lambda r: r["fastest_rank"])]
    assert got_long[: figures.TOP_RUNS] == [a["id"] for a in longest]
    assert got_fast == [a["id"] for a in fastest]
    assert {r["id"] for r in rows} == {a["id"] for a in longest + fastest}


def test_best_efforts_monthly_best(report_warehouse, report_rows):
    days = {a["id"]: _day(a) for a in _mine(report_rows)}
    want: dict[tuple, list[int]] = defaultdict(lambda: [10**9, 0])
    for e in _mine(report_rows, "activity_best_efforts"):
        day = days[e["activity_id"]]
        if SINCE <= day <= UNTIL:
            best = want[(e["name"], month_index(day))]
            best[0] = min(best[0], e["elapsed_time"])
            best[1] += 1
    got = {
        (r["name"], r["month_index"]): (r["best_time"], r["efforts"])
        for r in _run(report_warehouse, "best_efforts")
    }
    _close(got, {k: tuple(v) for k, v in want.items()})


def _zone(heartrate: int, max_hr: int) -> int:
    for n, pct in enumerate(figures.ZONE_UPPER_PCT, start=1):
        if heartrate * 100 < pct * max_hr:
            return n
    return len(figures.ZONE_UPPER_PCT) + 1


def test_heart_rate_zone_time_per_week(report_warehouse, report_rows):
    days = {a["id"]: _day(a) for a in _mine(report_rows)}
    by_activity: dict[int, list[dict]] = defaultdict(list)
    for s in _mine(report_rows, "activity_streams"):
        by_activity[s["activity_id"]].append(s)
    want: dict[tuple, int] = defaultdict(int)
    for aid, points in by_activity.items():
        day = days[aid]
        if not SINCE <= day <= UNTIL:
            continue
        points.sort(key=lambda s: s["point"])
        for before, s in pairwise(points):
            dt = min(s["time"] - before["time"], figures.MAX_SAMPLE_GAP)
            week = day - timedelta(days=day.weekday())
            want[(week, _zone(s["heartrate"], MAX_HR))] += dt
    got = {(r["week"], r["zone"]): r["seconds"] for r in _run(report_warehouse, "hr_zones")}
    assert got == dict(want)


def test_observed_max_heart_rate_is_the_athletes_own(report_warehouse, report_rows):
    samples = [s["heartrate"] for s in _mine(report_rows, "activity_streams")]
    (row,) = _run(report_warehouse, "observed_max_hr")
    assert (row["max_hr"], row["samples"]) == (max(samples), len(samples))


def test_freshness_from_ingest_runs(report_warehouse, report_rows):
    runs = _mine(report_rows, "ingest_runs")
    newest = max(runs, key=lambda r: r["finished_at"])
    (last,) = _run(report_warehouse, "last_run")
    assert last["outcome"] == newest["outcome"]
    assert datetime.fromisoformat(last["finished_at"]) == datetime.fromisoformat(
        newest["finished_at"]
    )
    (success,) = _run(report_warehouse, "last_success")
    ok = max(r["finished_at"] for r in runs if r["outcome"] == "success")
    assert datetime.fromisoformat(success["last_success_at"]) == datetime.fromisoformat(ok)
    assert success["runs"] == len(runs)


def test_a_query_over_a_missing_table_gives_none(tmp_path):
    # a warehouse from before the detail tables existed (ensure_schema now creates them)
    import duckdb

    from nunis_ingest.adapters.warehouses.duckdb import DuckDBWarehouse
    from nunis_ingest.core import schema

    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(schema.duckdb_ddl("activities", schema.ACTIVITIES, primary_key="id"))
    old = DuckDBWarehouse(path)
    with open_source(old) as source:
        assert query.run(source, "without_details", PARAMS) is None  # no activity_details
    old.close()


def test_summary_totals(report_warehouse, report_rows):
    period = _in_period(report_rows)
    (row,) = _run(report_warehouse, "summary")
    assert row["activities"] == len(period)
    assert row["distance"] == pytest.approx(sum(a["distance"] for a in period))
    assert row["last_day"] == max(_day(a) for a in period)


def test_default_period_is_the_last_year():
    params = ReportParams.last_year(1, today=date(2026, 3, 1))
    assert (params.since, params.until) == (date(2025, 3, 1), date(2026, 3, 1))
