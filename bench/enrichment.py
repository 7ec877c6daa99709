"""What the whole activity costs: requests per enriched activity, rows/s, stream memory.

- ``requests/activity``: Strava requests of the enrichment drain of a full load of N
  activities, divided by the activities enriched (detail + streams: floor 2 for an
  activity that can have streams, 1 for a manual one, whose streams request is never
  made; details only: floor 1; the listing's pages and the OAuth refresh not counted);
- ``webhook create``: requests to apply one create event with details on (floor 1: the
  one ``GET /activities/{id}`` gives the summary row and the detail tables);
- ``rows/s``: ``replace_details`` throughput into DuckDB and the BigQuery stand-in, for
  the detail tables of 200 activities and for 100,000 stream points (ratios within one
  run are what to compare: absolute times on shared machines are noisy);
- ``peak RSS``: a fresh process turning one 10,000-point stream (every stream type) into
  rows and writing them to DuckDB: VmHWM after minus VmHWM before.

.venv/bin/python -m bench.enrichment
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.env import sandbox_runtime
from bench.report import Record, table
from nunis_ingest.core.events import SyncRequest
from nunis_ingest.core.transform_detail import detail_rows, stream_rows
from nunis_ingest.ports import DetailRows
from nunis_ingest.runtime import Runtime
from nunis_ingest.usecases.sync import run_sync
from strava_sandbox.testing import SandboxControl, SandboxServer

UNLIMITED = 10**9
DETAIL = "/api/v3/activities/{id}"
STREAMS = "/api/v3/activities/{id}/streams"


def _hits(control: SandboxControl, endpoint: str) -> int:
    return sum(1 for r in control.requests_log()["requests"] if r["endpoint"] == endpoint)


def request_figures(n: int = 200, log: Any = print) -> list[Record]:
    records: list[Record] = []
    with SandboxServer().start(athletes=0, activities=0, seed=12) as server:
        control = SandboxControl(server.base_url)
        control.set_rate_limits(
            read_15min=UNLIMITED,
            read_daily=UNLIMITED,
            overall_15min=UNLIMITED,
            overall_daily=UNLIMITED,
        )
        for streams, floor in ((True, 2.0), (False, 1.0)):
            label = "details+streams" if streams else "details"
            log(f"enrichment: full load of {n} activities, {label}")
            athlete = control.create_athlete(activities=n)
            folder = Path(tempfile.mkdtemp(prefix="nunis-bench-enrich-"))
            try:
                rt, aid = sandbox_runtime(control, folder, athlete, streams=streams)
                control.clear_requests()
                ctx = rt.context()
                ctx.now = control.clock
                report = run_sync(SyncRequest(aid, "all", trigger="bench", details=True), ctx)
                assert report.drained is not None
                enriched = report.drained.enriched
                spent = _hits(control, DETAIL) + _hits(control, STREAMS)
                if streams:  # manual entries have no streams: their request is never made
                    manual = sum(1 for a in control.truth(aid) if a.get("manual"))
                    floor = (2 * enriched - manual) / enriched
                records.append(
                    Record(
                        f"enrich-{label}",
                        n,
                        "requests/activity",
                        spent / enriched,
                        "req",
                        floor,
                        floor,
                    )
                )
                records.append(
                    Record(f"enrich-{label}", n, "activities enriched", enriched, "acts", float(n))
                )
                records += _webhook_create(control, rt, aid, label)
                rt.warehouse.close()
            finally:
                shutil.rmtree(folder, ignore_errors=True)
    return records


def _webhook_create(control: SandboxControl, rt: Runtime, aid: int, label: str) -> list[Record]:
    from nunis_ingest.core.webhook_event import QueuedEvent, StravaEvent
    from nunis_ingest.usecases.webhook.process import process

    if label != "details":
        return []
    created = control.add_activity(aid, name="Webhook run")
    control.clear_requests()
    event = StravaEvent("activity", int(created["id"]), "create", aid, 1, int(control.clock()))
    ctx = rt.context()
    ctx.now = control.clock
    process([QueuedEvent(event, control.clock())], ctx)
    spent = _hits(control, DETAIL) + _hits(control, STREAMS)
    return [Record("webhook-create", 1, "requests (details on)", spent, "req", 1.0, 1.0)]


def _synthetic_streams(points: int) -> dict[str, Any]:
    return {
        "time": {"data": list(range(points))},
        "distance": {"data": [i * 2.9 for i in range(points)]},
        "latlng": {"data": [[45.0 + i * 1e-5, 6.0 + i * 1e-5] for i in range(points)]},
        "altitude": {"data": [300.0 + (i % 50) for i in range(points)]},
        "velocity_smooth": {"data": [2.9] * points},
        "heartrate": {"data": [140 + i % 30 for i in range(points)]},
        "cadence": {"data": [88] * points},
        "watts": {"data": [210 + i % 20 for i in range(points)]},
        "temp": {"data": [18] * points},
        "moving": {"data": [True] * points},
        "grade_smooth": {"data": [0.5] * points},
    }


def _detail(activity_id: int) -> dict[str, Any]:
    split = {"distance": 1000.0, "elapsed_time": 300, "moving_time": 298, "split": 1}
    lap = {"id": activity_id * 10, "lap_index": 1, "distance": 1000.0, "elapsed_time": 300}
    effort = {"id": activity_id * 7, "name": "1k", "distance": 1000.0, "elapsed_time": 290}
    return {
        "id": activity_id,
        "name": "Run",
        "description": "tempo",
        "calories": 600.0,
        "laps": [dict(lap, lap_index=i + 1) for i in range(10)],
        "splits_metric": [dict(split, split=i + 1) for i in range(10)],
        "splits_standard": [dict(split, split=i + 1, distance=1609.3) for i in range(7)],
        "best_efforts": [effort] * 6,
    }


def detail_batch(activities: int, athlete_id: int = 1) -> DetailRows:
    rows: dict[str, list[dict[str, Any]]] = {}
    for i in range(1, activities + 1):
        for table_name, items in detail_rows(
            _detail(i),
            athlete_id=athlete_id,
            activity_id=i,
            run_id="b",
            loaded_at=time.time(),
            fingerprint="f",
        ).items():
            rows.setdefault(table_name, []).extend(items)
    ids = tuple(range(1, activities + 1))
    return DetailRows(ids, tuple(rows), rows)


def stream_batch(points: int, per_activity: int = 1000, athlete_id: int = 1) -> DetailRows:
    out: list[dict[str, Any]] = []
    count = max(1, points // per_activity)
    for i in range(1, count + 1):
        out += stream_rows(
            _synthetic_streams(per_activity),
            athlete_id=athlete_id,
            activity_id=i,
            start_date="2026-05-01T07:00:00Z",
            run_id="b",
            loaded_at=time.time(),
        )
    return DetailRows(tuple(range(1, count + 1)), ("activity_streams",), {"activity_streams": out})


def _rate(warehouse: Any, batch: DetailRows, athlete_id: int) -> float:
    started = time.perf_counter()
    written = warehouse.replace_details(athlete_id, batch)
    return float(sum(written.values())) / (time.perf_counter() - started)


def throughput(log: Any = print) -> list[Record]:
    from nunis_ingest.adapters.warehouses.duckdb import DuckDBWarehouse

    records: list[Record] = []
    folder = Path(tempfile.mkdtemp(prefix="nunis-bench-rows-"))
    try:
        log("enrichment: rows/s into DuckDB")
        duck = DuckDBWarehouse(folder / "bench.duckdb")
        duck.ensure_schema()
        records.append(
            Record("details-duckdb", 200, "rows/s", _rate(duck, detail_batch(200), 1), "rows/s")
        )
        records.append(
            Record(
                "streams-duckdb", 100_000, "rows/s", _rate(duck, stream_batch(100_000), 1), "rows/s"
            )
        )
        duck.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    records += _bigquery_throughput(log)
    return records


def _bigquery_throughput(log: Any) -> list[Record]:
    from bench.env import local_gcp

    lg = local_gcp()
    if not lg.bq_installed():
        log("enrichment: BigQuery stand-in not installed (make local-gcp): skipped")
        return []
    info = lg.start_service("bigquery")
    try:
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import bigquery

        from nunis_ingest.adapters.warehouses.bigquery import BigQueryWarehouse

        client = bigquery.Client(
            project=lg.PROJECT,
            credentials=AnonymousCredentials(),
            client_options=ClientOptions(api_endpoint=info["endpoint"]),
        )
        dataset = f"bench_{uuid.uuid4().hex[:8]}"
        client.create_dataset(dataset)
        warehouse = BigQueryWarehouse(client, dataset)
        warehouse.ensure_schema()
        log("enrichment: rows/s into the BigQuery stand-in")
        return [
            Record(
                "details-bigquery", 200, "rows/s", _rate(warehouse, detail_batch(200), 1), "rows/s"
            ),
            Record(
                "streams-bigquery",
                100_000,
                "rows/s",
                _rate(warehouse, stream_batch(100_000), 1),
                "rows/s",
            ),
        ]
    finally:
        lg.stop_service(info)


def _vmhwm_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def memory_worker(points: int) -> dict[str, float]:
    """In a fresh process: peak RSS of one ``points``-long stream, rows built and written."""
    from nunis_ingest.adapters.warehouses.duckdb import DuckDBWarehouse

    folder = Path(tempfile.mkdtemp(prefix="nunis-bench-mem-"))
    try:
        duck = DuckDBWarehouse(folder / "mem.duckdb")
        duck.ensure_schema()
        duck.replace_details(1, stream_batch(10, per_activity=10))  # warm: schema, first write
        before = _vmhwm_mb()
        duck.replace_details(1, stream_batch(points, per_activity=points))
        after = _vmhwm_mb()
        duck.close()
        return {"before": before, "after": after}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def memory_figures(points: int = 10_000, log: Any = print) -> list[Record]:
    log(f"enrichment: peak RSS of one {points}-point stream")
    out = subprocess.run(
        [sys.executable, "-m", "bench.enrichment", "--memory", str(points)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    return [
        Record("stream-batch", points, "peak RSS growth", got["after"] - got["before"], "MB"),
        Record("stream-batch", points, "peak RSS", got["after"], "MB"),
    ]


def figures(log: Any = print) -> list[Record]:
    return request_figures(log=log) + throughput(log) + memory_figures(log=log)


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--memory":
        print(json.dumps(memory_worker(int(sys.argv[2]))))
        return
    print(table(figures()))


if __name__ == "__main__":
    main()
