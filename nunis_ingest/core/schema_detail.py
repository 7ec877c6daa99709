"""The detail tables, declared once: what one ``GET /activities/{id}`` and one
``GET /activities/{id}/streams`` add to the summary row.

Pure, like ``schema.py`` (same ``Column`` type and row encoding). Every table is keyed by
``activity_id`` plus the columns in ``DetailTable.key``; a table's rows of one activity are
always replaced together (delete that activity's rows, insert the new ones, in one atomic
step), so a lap that disappears from a re-fetched activity disappears from the table.

``source`` says where the rows came from: ``api`` (Strava's API) or ``export`` (a bulk
export file). Stream rows are long form: one row per sample point, one column per stream
type, NULL where the activity lacks that stream (indoor: no latlng; no strap: no
heartrate; power only where a meter recorded it).

BigQuery layout (``bigquery_layout``): every detail table is clustered by ``athlete_id``
and ``activity_id`` (the filters every reader and every delete uses). ``activity_streams``
is also partitioned by month of ``start_date``: it is the one table that grows large
(~1,000 points per activity, millions of rows per athlete-decade), analysts query it by
period, and monthly partitions stay far below BigQuery's 10,000-partition limit (daily
ones would reach it after 27 years). The small tables are not partitioned: partitions
under ~1 GB only add metadata.
"""

from __future__ import annotations

from dataclasses import dataclass

from nunis_ingest.core.schema import Column, _c

STREAM_TYPES: tuple[str, ...] = (
    "time",
    "distance",
    "latlng",
    "altitude",
    "velocity_smooth",
    "heartrate",
    "cadence",
    "watts",
    "temp",
    "moving",
    "grade_smooth",
)
"""Every stream type Strava serves, asked for in one request (``keys=`` joined by commas)."""

_ID = (
    _c("activity_id", "INT64", "Strava activity id", required=True),
    _c("athlete_id", "INT64", "owner's Strava athlete id", required=True),
)
_TRAIL = (
    _c("source", "STRING", "api or export", required=True),
    _c("run_id", "STRING", "the run that wrote this row", required=True),
    _c("loaded_at", "TIMESTAMP", "when this row was written", required=True),
)

ACTIVITY_DETAILS: tuple[Column, ...] = (
    *_ID,
    _c("description", "STRING"),
    _c("calories", "FLOAT64", "kilocalories"),
    _c("device_name", "STRING"),
    _c("gear_id", "STRING"),
    _c(
        "gear",
        "STRUCT",
        fields=(
            Column("id", "STRING"),
            Column("name", "STRING"),
            Column("primary", "BOOL"),
            Column("distance", "FLOAT64", description="metres on the gear"),
        ),
    ),
    _c("laps_count", "INT64"),
    _c("splits_metric_count", "INT64"),
    _c("splits_standard_count", "INT64"),
    _c("best_efforts_count", "INT64"),
    _c("segment_efforts_count", "INT64"),
    _c("photos_count", "INT64"),
    _c("raw", "JSON", "DetailedActivity as Strava sent it, minus embed_token", required=True),
    _c("content_hash", "STRING", "sha256 of the canonical raw JSON", required=True),
    _c(
        "summary_fingerprint",
        "STRING",
        "fingerprint of the summary fields the detail depends on, when it was fetched",
    ),
    *_TRAIL,
)

ACTIVITY_LAPS: tuple[Column, ...] = (
    *_ID,
    _c("lap_index", "INT64", "1-based, as Strava numbers laps", required=True),
    _c("lap_id", "INT64"),
    _c("name", "STRING"),
    _c("split", "INT64"),
    _c("elapsed_time", "INT64", "seconds"),
    _c("moving_time", "INT64", "seconds"),
    _c("start_date", "TIMESTAMP"),
    _c("start_date_local", "DATETIME"),
    _c("distance", "FLOAT64", "metres"),
    _c("start_index", "INT64", "first stream point of the lap"),
    _c("end_index", "INT64", "last stream point of the lap"),
    _c("total_elevation_gain", "FLOAT64", "metres"),
    _c("average_speed", "FLOAT64", "m/s"),
    _c("max_speed", "FLOAT64", "m/s"),
    _c("average_cadence", "FLOAT64"),
    _c("average_heartrate", "FLOAT64"),
    _c("max_heartrate", "FLOAT64"),
    _c("average_watts", "FLOAT64"),
    _c("device_watts", "BOOL"),
    _c("pace_zone", "INT64"),
    *_TRAIL,
)

ACTIVITY_SPLITS: tuple[Column, ...] = (
    *_ID,
    _c("units", "STRING", "metric (1 km) or standard (1 mile)", required=True),
    _c("split", "INT64", "1-based", required=True),
    _c("distance", "FLOAT64", "metres"),
    _c("elapsed_time", "INT64", "seconds"),
    _c("moving_time", "INT64", "seconds"),
    _c("elevation_difference", "FLOAT64", "metres"),
    _c("average_speed", "FLOAT64", "m/s"),
    _c("average_grade_adjusted_speed", "FLOAT64", "m/s"),
    _c("average_heartrate", "FLOAT64"),
    _c("pace_zone", "INT64"),
    *_TRAIL,
)

ACTIVITY_BEST_EFFORTS: tuple[Column, ...] = (
    *_ID,
    _c("effort_index", "INT64", "0-based position in best_efforts", required=True),
    _c("effort_id", "INT64"),
    _c("name", "STRING", "e.g. 400m, 1k, 1 mile, 5k, Half-Marathon"),
    _c("distance", "FLOAT64", "metres"),
    _c("elapsed_time", "INT64", "seconds"),
    _c("moving_time", "INT64", "seconds"),
    _c("start_date", "TIMESTAMP"),
    _c("start_date_local", "DATETIME"),
    _c("start_index", "INT64"),
    _c("end_index", "INT64"),
    _c("pr_rank", "INT64", "1-3 when a personal record, else null"),
    *_TRAIL,
)

ACTIVITY_STREAMS: tuple[Column, ...] = (
    *_ID,
    _c("start_date", "TIMESTAMP", "the activity's start (partitions the table)"),
    _c("point", "INT64", "0-based sample index", required=True),
    _c("time", "INT64", "seconds since start"),
    _c("distance", "FLOAT64", "metres since start"),
    _c("lat", "FLOAT64"),
    _c("lng", "FLOAT64"),
    _c("altitude", "FLOAT64", "metres"),
    _c("velocity_smooth", "FLOAT64", "m/s"),
    _c("heartrate", "INT64", "bpm"),
    _c("cadence", "INT64", "rpm (steps per minute / 2 for runs)"),
    _c("watts", "INT64"),
    _c("temp", "INT64", "degrees Celsius"),
    _c("moving", "BOOL"),
    _c("grade_smooth", "FLOAT64", "percent"),
    *_TRAIL,
)


@dataclass(frozen=True)
class DetailTable:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    """Columns that, with ``activity_id``, identify a row."""
    partition_by_month: str | None = None
    """BigQuery: a TIMESTAMP column to partition by month, or None."""


DETAILS = DetailTable("activity_details", ACTIVITY_DETAILS, ())
LAPS = DetailTable("activity_laps", ACTIVITY_LAPS, ("lap_index",))
SPLITS = DetailTable("activity_splits", ACTIVITY_SPLITS, ("units", "split"))
BEST_EFFORTS = DetailTable("activity_best_efforts", ACTIVITY_BEST_EFFORTS, ("effort_index",))
STREAMS = DetailTable("activity_streams", ACTIVITY_STREAMS, ("point",), "start_date")

DETAIL_TABLES: tuple[DetailTable, ...] = (DETAILS, LAPS, SPLITS, BEST_EFFORTS, STREAMS)
FROM_DETAIL: tuple[DetailTable, ...] = (DETAILS, LAPS, SPLITS, BEST_EFFORTS)
"""The tables one ``GET /activities/{id}`` fills."""
FROM_STREAMS: tuple[DetailTable, ...] = (STREAMS,)
BY_NAME = {t.name: t for t in DETAIL_TABLES}
CLUSTER_BY = ("athlete_id", "activity_id")
