"""The warehouse schema, declared once.

Pure: imports no database or cloud library. Adapters turn ``ACTIVITIES``, ``RUNS`` and
``QUARANTINE`` into BigQuery ``SchemaField`` lists or DuckDB DDL.

Row encoding (what transform.py produces and adapters load, as NDJSON-ready values):

=========  ==========================  =====================  ============================
type       Python value in a row       DuckDB                 BigQuery
=========  ==========================  =====================  ============================
INT64      int                         BIGINT                 INT64
FLOAT64    float                       DOUBLE                 FLOAT64
STRING     str                         VARCHAR                STRING
BOOL       bool                        BOOLEAN                BOOL
TIMESTAMP  "YYYY-MM-DDTHH:MM:SS+00:00"  TIMESTAMPTZ            TIMESTAMP
DATETIME   "YYYY-MM-DDTHH:MM:SS"       TIMESTAMP (no zone)    DATETIME
JSON       dict (any JSON value)       JSON                   JSON
STRUCT     dict of its fields          STRUCT(...)            RECORD
=========  ==========================  =====================  ============================

``repeated`` columns hold a list (never None: an absent value is ``[]``).
Every column except the REQUIRED ones may be None.
"""

from __future__ import annotations

from dataclasses import dataclass

SCHEMA_VERSION = 1
"""Bump when a column is added or its meaning changes; rows rebuild from ``raw``."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool = False
    repeated: bool = False
    fields: tuple[Column, ...] = ()
    description: str = ""


def _c(name: str, type_: str, description: str = "", **kw: object) -> Column:
    return Column(name, type_, description=description, **kw)  # type: ignore[arg-type]


ACTIVITIES: tuple[Column, ...] = (
    _c("id", "INT64", "Strava activity id (exceeds 2^31)", required=True),
    _c("athlete_id", "INT64", "owner's Strava athlete id", required=True),
    _c("resource_state", "INT64", "1 meta, 2 summary, 3 detailed"),
    _c("external_id", "STRING"),
    _c("upload_id", "INT64", "null when Strava's value does not fit INT64; see upload_id_str"),
    _c("upload_id_str", "STRING"),
    _c(
        "athlete",
        "STRUCT",
        fields=(Column("id", "INT64"), Column("resource_state", "INT64")),
    ),
    _c("name", "STRING"),
    _c("distance", "FLOAT64", "metres"),
    _c("moving_time", "INT64", "seconds"),
    _c("elapsed_time", "INT64", "seconds"),
    _c("total_elevation_gain", "FLOAT64", "metres"),
    _c("elev_high", "FLOAT64", "metres"),
    _c("elev_low", "FLOAT64", "metres"),
    _c("type", "STRING", "deprecated by Strava; prefer sport_type"),
    _c("sport_type", "STRING", "open set of values"),
    _c("workout_type", "INT64"),
    _c("start_date", "TIMESTAMP", "UTC start"),
    _c("start_date_local", "DATETIME", "local wall-clock start, no zone"),
    _c("timezone", "STRING"),
    _c("utc_offset", "INT64", "seconds"),
    _c("start_latlng", "FLOAT64", "[lat, lng] or [] without GPS", repeated=True),
    _c("end_latlng", "FLOAT64", "[lat, lng] or [] without GPS", repeated=True),
    _c("location_city", "STRING"),
    _c("location_state", "STRING"),
    _c("location_country", "STRING"),
    _c("achievement_count", "INT64"),
    _c("kudos_count", "INT64"),
    _c("comment_count", "INT64"),
    _c("athlete_count", "INT64"),
    _c("photo_count", "INT64"),
    _c("total_photo_count", "INT64"),
    _c(
        "map",
        "STRUCT",
        fields=(
            Column("id", "STRING"),
            Column("summary_polyline", "STRING"),
            Column("resource_state", "INT64"),
        ),
    ),
    _c("trainer", "BOOL"),
    _c("commute", "BOOL"),
    _c("manual", "BOOL"),
    _c("private", "BOOL"),
    _c("visibility", "STRING", "everyone, followers_only or only_me"),
    _c("flagged", "BOOL"),
    _c("gear_id", "STRING"),
    _c("average_speed", "FLOAT64", "m/s"),
    _c("max_speed", "FLOAT64", "m/s"),
    _c("average_cadence", "FLOAT64"),
    _c("average_temp", "FLOAT64"),
    _c("has_heartrate", "BOOL"),
    _c("average_heartrate", "FLOAT64"),
    _c("max_heartrate", "FLOAT64"),
    _c("heartrate_opt_out", "BOOL"),
    _c("display_hide_heartrate_option", "BOOL"),
    _c("average_watts", "FLOAT64"),
    _c("weighted_average_watts", "FLOAT64"),
    _c("max_watts", "FLOAT64"),
    _c("kilojoules", "FLOAT64"),
    _c("device_watts", "BOOL"),
    _c("device_name", "STRING"),
    _c("pr_count", "INT64"),
    _c("suffer_score", "FLOAT64"),
    _c("has_kudoed", "BOOL"),
    _c("hide_from_home", "BOOL"),
    _c("from_accepted_tag", "BOOL"),
    _c("raw", "JSON", "the activity exactly as Strava sent it", required=True),
    _c("content_hash", "STRING", "sha256 of the canonical raw JSON", required=True),
    _c("first_seen_at", "TIMESTAMP", "when we first loaded this id", required=True),
    _c("updated_at", "TIMESTAMP", "when this row last changed", required=True),
    _c("run_id", "STRING", "the run that last wrote this row", required=True),
)

RUNS: tuple[Column, ...] = (
    _c("run_id", "STRING", required=True),
    _c("athlete_id", "INT64", required=True),
    _c("mode", "STRING", "new, all or event", required=True),
    _c("trigger", "STRING", "cli, pubsub, webhook, ..."),
    _c("message_id", "STRING", "Pub/Sub message id, when there is one"),
    _c("started_at", "TIMESTAMP", required=True),
    _c("finished_at", "TIMESTAMP", required=True),
    _c("outcome", "STRING", "success, partial, failed or skipped", required=True),
    _c("pages", "INT64"),
    _c("requests", "INT64", "Strava requests made by this run"),
    _c("activities_seen", "INT64"),
    _c("inserted", "INT64"),
    _c("updated", "INT64"),
    _c("deleted", "INT64"),
    _c("unchanged", "INT64"),
    _c("read_usage_15min", "INT64", "X-ReadRateLimit-Usage after the run"),
    _c("read_usage_daily", "INT64"),
    _c("read_limit_15min", "INT64"),
    _c("read_limit_daily", "INT64"),
    _c("error_class", "STRING"),
    _c("error_message", "STRING", "never holds a token"),
)

QUARANTINE: tuple[Column, ...] = (
    _c("athlete_id", "INT64", required=True),
    _c("activity_id", "INT64", "null when the row had no usable id"),
    _c("run_id", "STRING", "the run that set the row aside", required=True),
    _c("reason", "STRING", "which column did not fit, and why", required=True),
    _c("raw", "STRING", "the activity as received, as JSON text (the whole row if no raw)"),
    _c("quarantined_at", "TIMESTAMP", required=True),
)
"""Rows the warehouse would reject, set aside so the rest of the batch loads. A log:
rows stay as history when a later, valid version of the activity loads."""

ACTIVITIES_TABLE = "activities"
RUNS_TABLE = "ingest_runs"
QUARANTINE_TABLE = "quarantine"
MAX_ROW_JSON_BYTES = 8 * 1024 * 1024
"""The largest activity (or detail) row loaded, as JSON: half of the 16 MiB object DuckDB's
JSON reader takes by default. Strava's are a few KB (a long polyline: tens of KB); a
larger one is hostile or broken: quarantined (a listing) or failed for its entry (a
detail), so it can never fail its athlete's whole batch run after run."""
ACTIVITY_KEY = "id"
KEEP_ON_UPDATE = frozenset({"first_seen_at"})
"""Columns an upsert keeps from the existing row."""


def column_names(columns: tuple[Column, ...]) -> list[str]:
    return [c.name for c in columns]


_DUCKDB_TYPES = {
    "INT64": "BIGINT",
    "FLOAT64": "DOUBLE",
    "STRING": "VARCHAR",
    "BOOL": "BOOLEAN",
    "TIMESTAMP": "TIMESTAMPTZ",
    "DATETIME": "TIMESTAMP",
    "JSON": "JSON",
}


def duckdb_type(column: Column) -> str:
    """DuckDB type of a column, e.g. ``DOUBLE[]`` or ``STRUCT("id" BIGINT, ...)``."""
    if column.type == "STRUCT":
        inner = ", ".join(f'"{f.name}" {duckdb_type(f)}' for f in column.fields)
        base = f"STRUCT({inner})"
    else:
        base = _DUCKDB_TYPES[column.type]
    return f"{base}[]" if column.repeated else base


def duckdb_ddl(table: str, columns: tuple[Column, ...], *, primary_key: str | None = None) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for DuckDB, identifiers quoted."""
    parts = []
    for c in columns:
        null = " NOT NULL" if c.required else ""
        parts.append(f'"{c.name}" {duckdb_type(c)}{null}')
    if primary_key:
        parts.append(f'PRIMARY KEY ("{primary_key}")')
    body = ",\n  ".join(parts)
    return f'CREATE TABLE IF NOT EXISTS "{table}" (\n  {body}\n)'


def bigquery_fields(columns: tuple[Column, ...]) -> list[dict[str, object]]:
    """BigQuery schema as the REST API's JSON (``SchemaField.from_api_repr`` takes each)."""
    out: list[dict[str, object]] = []
    for c in columns:
        mode = "REPEATED" if c.repeated else ("REQUIRED" if c.required else "NULLABLE")
        field: dict[str, object] = {
            "name": c.name,
            "type": "RECORD" if c.type == "STRUCT" else c.type,
            "mode": mode,
        }
        if c.description:
            field["description"] = c.description
        if c.fields:
            field["fields"] = bigquery_fields(c.fields)
        out.append(field)
    return out
