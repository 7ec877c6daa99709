# SQL text here is built from fixed table names and dialect snippets only; every value
# (athlete id, dates, max heart rate) is a bound parameter.
# ruff: noqa: S608
"""The report's queries: one SQL definition each, for DuckDB and BigQuery alike.

Pure: no database library. Each query is a function of a ``Dialect`` that returns SQL
text. The text is written in the subset both engines share (``CAST(x AS DATE)``,
``EXTRACT``, ``COALESCE``, ``CASE``, window functions, ``FULL OUTER JOIN``,
``CAST(x AS STRING)``); the dialect supplies only what differs: how a table is named
and how a date is truncated to its (ISO, Monday) week. Parameters are written
``@name`` (BigQuery's syntax; ``query.py`` turns them into DuckDB's ``$name``):

``@athlete`` (INT64), ``@since`` and ``@until`` (DATE, both inclusive, on the local
start date), ``@max_hr`` (INT64, heart-rate zones only).

Months are keyed by ``month_index = year * 12 + month - 1`` (an integer both engines
compute the same way), so "the same month last year" is ``month_index - 12``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nunis_ingest.core import schema
from nunis_ingest.core.schema_detail import BEST_EFFORTS, DETAILS, STREAMS

RUN_SPORTS = ("Run", "TrailRun", "VirtualRun")
TOP_RUNS = 10
"""Rows in each of the longest and fastest runs tables."""
FAST_MIN_DISTANCE = 5000.0
"""Metres a run must cover to rank among the fastest (short strides are not a pace)."""
MAX_SAMPLE_GAP = 30
"""Seconds one heart-rate sample may stand for at most (a pause does not count as effort)."""
ZONE_UPPER_PCT = (60, 70, 80, 90)
"""Upper bounds of zones 1-4 in percent of max heart rate; zone 5 is the rest."""


@dataclass(frozen=True)
class Dialect:
    name: str
    table: Callable[[str], str]
    """A table name as the engine wants it in FROM."""
    week: Callable[[str], str]
    """SQL for the Monday that starts the week of a DATE expression, as a DATE."""


def duckdb_dialect() -> Dialect:
    return Dialect(
        "duckdb",
        table=lambda name: f'"{name}"',
        week=lambda expr: f"CAST(date_trunc('week', {expr}) AS DATE)",
    )


def bigquery_dialect(dataset: str) -> Dialect:
    """``dataset`` as ``project.dataset``."""
    return Dialect(
        "bigquery",
        table=lambda name: f"`{dataset}.{name}`",
        week=lambda expr: f"DATE_TRUNC({expr}, WEEK(MONDAY))",
    )


def _activities(t: Dialect) -> str:
    """The athlete's activities with their local day, sport and zero for missing sums."""
    return (
        "SELECT id, name, CAST(start_date_local AS DATE) AS d, "
        "COALESCE(sport_type, type, 'Unknown') AS sport, "
        "COALESCE(distance, 0) AS distance, COALESCE(moving_time, 0) AS moving_time "
        f"FROM {t.table(schema.ACTIVITIES_TABLE)} WHERE athlete_id = @athlete"
    )


def _month(expr: str) -> str:
    return f"(EXTRACT(YEAR FROM {expr}) * 12 + EXTRACT(MONTH FROM {expr}) - 1)"


def weekly(t: Dialect) -> str:
    """Distance, moving time and count per week and sport."""
    return (
        f"SELECT {t.week('a.d')} AS week, a.sport AS sport, SUM(a.distance) AS distance, "
        "SUM(a.moving_time) AS moving_time, COUNT(*) AS activities "
        f"FROM ({_activities(t)}) a WHERE a.d >= @since AND a.d <= @until "
        "GROUP BY 1, 2 ORDER BY 1, 2"
    )


def daily(t: Dialect) -> str:
    """One row per day with training: the calendar heatmap."""
    return (
        "SELECT a.d AS day, COUNT(*) AS activities, SUM(a.moving_time) AS moving_time, "
        f"SUM(a.distance) AS distance FROM ({_activities(t)}) a "
        "WHERE a.d >= @since AND a.d <= @until GROUP BY a.d ORDER BY a.d"
    )


def monthly(t: Dialect) -> str:
    """Whole calendar months from the month of @since to that of @until, each with the
    same month a year earlier; a month missing on both sides has no row."""
    first, last = _month("@since"), _month("@until")
    per_month = (
        f"SELECT {_month('a.d')} AS month_index, SUM(a.distance) AS distance, "
        "SUM(a.moving_time) AS moving_time, COUNT(*) AS activities "
        f"FROM ({_activities(t)}) a WHERE a.d IS NOT NULL GROUP BY 1"
    )
    return (
        f"WITH m AS ({per_month}), "
        f"cur AS (SELECT * FROM m WHERE month_index >= {first} AND month_index <= {last}), "
        f"prev AS (SELECT * FROM m WHERE month_index >= {first} - 12 "
        f"AND month_index <= {last} - 12) "
        "SELECT COALESCE(cur.month_index, prev.month_index + 12) AS month_index, "
        "COALESCE(cur.distance, 0) AS distance, COALESCE(prev.distance, 0) AS distance_last_year, "
        "COALESCE(cur.moving_time, 0) AS moving_time, "
        "COALESCE(prev.moving_time, 0) AS moving_time_last_year, "
        "COALESCE(cur.activities, 0) AS activities, "
        "COALESCE(prev.activities, 0) AS activities_last_year "
        "FROM cur FULL OUTER JOIN prev ON prev.month_index + 12 = cur.month_index "
        "ORDER BY 1"
    )


def runs(t: Dialect) -> str:
    """The longest runs and the fastest (by moving pace, at least FAST_MIN_DISTANCE)."""
    sports = ", ".join(f"'{s}'" for s in RUN_SPORTS)
    base = (
        f"SELECT a.id, a.name, a.d AS day, a.distance, a.moving_time FROM ({_activities(t)}) a "
        f"WHERE a.sport IN ({sports}) AND a.distance > 0 AND a.moving_time > 0 "
        "AND a.d >= @since AND a.d <= @until"
    )
    return (
        f"WITH r AS ({base}), "
        "longest AS (SELECT id, ROW_NUMBER() OVER (ORDER BY distance DESC, id) AS n FROM r), "
        "fastest AS (SELECT id, ROW_NUMBER() OVER (ORDER BY moving_time / distance, id) AS n "
        f"FROM r WHERE distance >= {FAST_MIN_DISTANCE}) "
        "SELECT r.id AS id, r.name AS name, r.day AS day, r.distance AS distance, "
        "r.moving_time AS moving_time, longest.n AS longest_rank, fastest.n AS fastest_rank "
        "FROM r JOIN longest ON longest.id = r.id LEFT JOIN fastest ON fastest.id = r.id "
        f"WHERE longest.n <= {TOP_RUNS} OR fastest.n <= {TOP_RUNS} ORDER BY r.id"
    )


def best_efforts(t: Dialect) -> str:
    """Per effort name (1k, 5k, ...) and month: the best elapsed time."""
    efforts = t.table(BEST_EFFORTS.name)
    return (
        f"SELECT e.name AS name, MIN(e.distance) AS distance, {_month('a.d')} AS month_index, "
        "MIN(e.elapsed_time) AS best_time, COUNT(*) AS efforts "
        f"FROM {efforts} e JOIN ({_activities(t)}) a ON a.id = e.activity_id "
        "WHERE e.athlete_id = @athlete AND e.elapsed_time > 0 AND e.distance > 0 "
        "AND e.name IS NOT NULL AND a.d >= @since AND a.d <= @until "
        "GROUP BY e.name, 3 ORDER BY 2, 1, 3"
    )


def observed_max_hr(t: Dialect) -> str:
    """The athlete's highest recorded heart rate (all time) and how many samples exist."""
    return (
        "SELECT MAX(heartrate) AS max_hr, COUNT(heartrate) AS samples "
        f"FROM {t.table(STREAMS.name)} WHERE athlete_id = @athlete"
    )


def _zone() -> str:
    bounds = " ".join(
        f"WHEN z.heartrate * 100 < {pct} * @max_hr THEN {n}"
        for n, pct in enumerate(ZONE_UPPER_PCT, start=1)
    )
    return f"CASE {bounds} ELSE {len(ZONE_UPPER_PCT) + 1} END"


def hr_zones(t: Dialect) -> str:
    """Seconds per week in each heart-rate zone: each sample stands for the time since
    the one before it (at most MAX_SAMPLE_GAP seconds)."""
    samples = (
        "SELECT a.d AS d, s.heartrate AS heartrate, "
        "s.time - LAG(s.time) OVER (PARTITION BY s.activity_id ORDER BY s.point) AS dt "
        f"FROM {t.table(STREAMS.name)} s JOIN ({_activities(t)}) a ON a.id = s.activity_id "
        "WHERE s.athlete_id = @athlete AND a.d >= @since AND a.d <= @until"
    )
    return (
        f"SELECT {t.week('z.d')} AS week, {_zone()} AS zone, "
        f"SUM(CASE WHEN z.dt > {MAX_SAMPLE_GAP} THEN {MAX_SAMPLE_GAP} ELSE z.dt END) AS seconds "
        f"FROM ({samples}) z WHERE z.heartrate IS NOT NULL AND z.dt > 0 "
        "GROUP BY 1, 2 ORDER BY 1, 2"
    )


def summary(t: Dialect) -> str:
    """Totals of the period, for the page's heading."""
    return (
        "SELECT COUNT(*) AS activities, COALESCE(SUM(a.distance), 0) AS distance, "
        "COALESCE(SUM(a.moving_time), 0) AS moving_time, MIN(a.d) AS first_day, "
        f"MAX(a.d) AS last_day FROM ({_activities(t)}) a "
        "WHERE a.d >= @since AND a.d <= @until"
    )


def last_run(t: Dialect) -> str:
    """The athlete's newest ``ingest_runs`` row (any outcome)."""
    return (
        "SELECT outcome, mode, trigger, CAST(finished_at AS STRING) AS finished_at, requests "
        f"FROM {t.table(schema.RUNS_TABLE)} WHERE athlete_id = @athlete "
        "ORDER BY finished_at DESC LIMIT 1"
    )


def last_success(t: Dialect) -> str:
    """When a run last succeeded, and how many runs there were."""
    return (
        "SELECT CAST(MAX(CASE WHEN outcome = 'success' THEN finished_at END) AS STRING) "
        "AS last_success_at, COUNT(*) AS runs "
        f"FROM {t.table(schema.RUNS_TABLE)} WHERE athlete_id = @athlete"
    )


def without_details(t: Dialect) -> str:
    """Activities that have no ``activity_details`` row yet (what enrichment has left)."""
    return (
        f"SELECT COUNT(*) AS activities FROM {t.table(schema.ACTIVITIES_TABLE)} a "
        "WHERE a.athlete_id = @athlete AND NOT EXISTS (SELECT 1 FROM "
        f"{t.table(DETAILS.name)} d WHERE d.activity_id = a.id AND d.athlete_id = @athlete)"
    )


@dataclass(frozen=True)
class Query:
    name: str
    sql: Callable[[Dialect], str]
    tables: tuple[str, ...]
    """Tables it reads: the query runs only when every one exists."""


_A = schema.ACTIVITIES_TABLE
QUERIES: dict[str, Query] = {
    q.name: q
    for q in (
        Query("summary", summary, (_A,)),
        Query("weekly", weekly, (_A,)),
        Query("daily", daily, (_A,)),
        Query("monthly", monthly, (_A,)),
        Query("runs", runs, (_A,)),
        Query("best_efforts", best_efforts, (_A, BEST_EFFORTS.name)),
        Query("observed_max_hr", observed_max_hr, (STREAMS.name,)),
        Query("hr_zones", hr_zones, (_A, STREAMS.name)),
        Query("last_run", last_run, (schema.RUNS_TABLE,)),
        Query("last_success", last_success, (schema.RUNS_TABLE,)),
        Query("without_details", without_details, (_A, DETAILS.name)),
    )
}
