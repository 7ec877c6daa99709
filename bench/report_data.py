# SQL here names tables from schema.py only; values come from files or parameters.
# ruff: noqa: S608
"""Synthetic warehouse rows for the report (tests and the report benchmark), and a
loader that puts them into DuckDB or BigQuery as the adapters would hold them.

``synthetic`` builds, for one athlete, about one activity a day (runs, rides, swims,
rest days), best efforts on runs and heart-rate streams sampled every ``stream_step``
seconds, all from a seeded random generator. The rows are in ``schema``'s row encoding.
"""

from __future__ import annotations

import json
import random
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from nunis_ingest.core import schema
from nunis_ingest.core.schema_detail import BEST_EFFORTS, BY_NAME, STREAMS

Rows = dict[str, list[dict[str, Any]]]
EFFORTS = (("400m", 400.0), ("1k", 1000.0), ("1 mile", 1609.3), ("5k", 5000.0), ("10k", 10000.0))
SPORTS = (("Run", 0.5), ("Ride", 0.3), ("Swim", 0.1), ("TrailRun", 0.1))
COLUMNS = {
    schema.ACTIVITIES_TABLE: schema.ACTIVITIES,
    schema.RUNS_TABLE: schema.RUNS,
    **{t.name: t.columns for t in BY_NAME.values()},
}


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _activity(rng: random.Random, athlete: int, aid: int, day: date) -> dict[str, Any]:
    sport = rng.choices([s for s, _ in SPORTS], [w for _, w in SPORTS])[0]
    speed = {"Run": 3.0, "TrailRun": 2.5, "Ride": 7.5, "Swim": 0.8}[sport] * rng.uniform(0.8, 1.25)
    moving = rng.randint(15, 120) * 60
    start = datetime(day.year, day.month, day.day, rng.randint(5, 20), rng.randint(0, 59), 0)
    return {
        "id": aid,
        "athlete_id": athlete,
        "name": f"{sport} {day.isoformat()}",
        "distance": round(speed * moving, 1),
        "moving_time": moving,
        "elapsed_time": moving + rng.randint(0, 600),
        "type": sport if sport != "TrailRun" else "Run",
        "sport_type": sport,
        "start_date": _ts(start.replace(tzinfo=UTC) - timedelta(hours=1)),
        "start_date_local": start.isoformat(),
        "raw": {"id": aid},
        "content_hash": f"h{aid}",
        "first_seen_at": _ts(start.replace(tzinfo=UTC)),
        "updated_at": _ts(start.replace(tzinfo=UTC)),
        "run_id": "run-synthetic",
    }


def _trail(a: dict[str, Any]) -> dict[str, Any]:
    return {
        "activity_id": a["id"],
        "athlete_id": a["athlete_id"],
        "source": "api",
        "run_id": "run-synthetic",
        "loaded_at": a["updated_at"],
    }


def _efforts(rng: random.Random, a: dict[str, Any]) -> list[dict[str, Any]]:
    speed = a["distance"] / a["moving_time"]
    out = []
    for index, (name, metres) in enumerate(e for e in EFFORTS if e[1] <= a["distance"]):
        seconds = int(metres / (speed * rng.uniform(1.0, 1.15)))
        out.append(
            {
                **_trail(a),
                "effort_index": index,
                "name": name,
                "distance": metres,
                "elapsed_time": seconds,
                "moving_time": seconds,
                "start_date_local": a["start_date_local"],
            }
        )
    return out


def _stream(rng: random.Random, a: dict[str, Any], step: int, max_hr: int) -> list[dict[str, Any]]:
    out, t, hr = [], 0, rng.randint(90, 120)
    base = _trail(a) | {"start_date": a["start_date"]}
    for point in range(a["moving_time"] // step + 1):
        hr = max(70, min(max_hr, hr + rng.randint(-6, 7)))
        out.append({**base, "point": point, "time": t, "heartrate": hr})
        t += step if rng.random() > 0.02 else rng.randint(40, 300)  # now and then a pause
    return out


def synthetic(
    athlete: int,
    first: date,
    last: date,
    *,
    seed: int = 15,
    stream_step: int = 10,
    streams: bool = True,
    efforts: bool = True,
    max_hr: int = 192,
) -> Rows:
    """Rows for ``athlete`` from ``first`` to ``last`` (inclusive) in every report table."""
    rng = random.Random(seed)
    rows: Rows = {schema.ACTIVITIES_TABLE: [], BEST_EFFORTS.name: [], STREAMS.name: []}
    aid = athlete * 1_000_000
    day = first
    while day <= last:
        for _ in range(rng.choices((0, 1, 2), (0.25, 0.65, 0.1))[0]):
            aid += 1
            a = _activity(rng, athlete, aid, day)
            rows[schema.ACTIVITIES_TABLE].append(a)
            if efforts and a["sport_type"] in ("Run", "TrailRun"):
                rows[BEST_EFFORTS.name] += _efforts(rng, a)
            if streams and rng.random() < 0.8:
                rows[STREAMS.name] += _stream(rng, a, stream_step, max_hr)
        day += timedelta(days=1)
    finished = datetime(last.year, last.month, last.day, 21, 0, tzinfo=UTC)
    rows[schema.RUNS_TABLE] = [
        _run(athlete, "run-1", finished - timedelta(days=1), "success"),
        _run(athlete, "run-2", finished, "partial"),
    ]
    return rows


def _run(athlete: int, run_id: str, at: datetime, outcome: str) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "athlete_id": athlete,
        "mode": "new",
        "trigger": "cli",
        "started_at": _ts(at - timedelta(seconds=5)),
        "finished_at": _ts(at),
        "outcome": outcome,
        "requests": 3,
    }


def _ndjson(rows: list[dict[str, Any]], folder: Path, name: str) -> Path:
    path = folder / f"{name}.ndjson"
    with path.open("w") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")
    return path


def load_duckdb(path: Path, rows: Rows) -> None:
    """Append ``rows`` to the DuckDB file ``path`` (tables created when missing)."""
    import duckdb

    from nunis_ingest.adapters.warehouses.duckdb import DuckDBWarehouse, read_json_sql

    DuckDBWarehouse(path).ensure_schema()
    con = duckdb.connect(str(path))
    try:
        con.execute("SET TimeZone = 'UTC'")
        with tempfile.TemporaryDirectory() as tmp:
            for table, table_rows in rows.items():
                columns = COLUMNS[table]
                con.execute(schema.duckdb_ddl(table, columns))
                if not table_rows:
                    continue
                source = read_json_sql(_ndjson(table_rows, Path(tmp), table), columns)
                con.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM {source}')
    finally:
        con.close()


def load_bigquery(warehouse: Any, rows: Rows) -> None:
    """Append ``rows`` to a ``BigQueryWarehouse``'s dataset (tables created when missing)."""
    from google.cloud import bigquery

    from nunis_ingest.adapters.warehouses.bigquery import schema_fields

    warehouse.ensure_schema()
    with tempfile.TemporaryDirectory() as tmp:
        for table, table_rows in rows.items():
            columns = COLUMNS[table]
            table_id = warehouse.table_id(table)
            warehouse.client.create_table(
                bigquery.Table(table_id, schema=schema_fields(columns)), exists_ok=True
            )
            if table_rows:
                path = _ndjson(table_rows, Path(tmp), table)
                warehouse.load_file(str(path), table_id, columns, append=True)
