"""What writing detail rows costs: stream rows per second into each warehouse, and memory.

- ``rows/s``: one ``replace_details`` of ``activities`` activities x ``points`` stream
  points (default 10 x 10,000 = 100,000 rows) into an empty warehouse, then the same call
  again (a re-fetch: delete and re-insert), best of ``repeat``; the rows are built
  before the clock starts.
- ``peak``: what one 10,000-point ``replace_details`` adds to memory beyond the rows it is
  given: Python allocations (``tracemalloc``) and the process's peak RSS (``VmHWM``) over
  its RSS before the call (DuckDB's own memory included). Measured first, in a process
  that has not yet built the 100,000 rows.

.venv/bin/python -m bench.details_write                       # DuckDB
.venv/bin/python -m bench.details_write --bigquery URL        # and a local-bigquery at URL
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from bench.worker import _peak_rss_mb
from nunis_ingest.core import schema_detail
from nunis_ingest.ports import DetailRows, Warehouse

ATHLETE = 1513
STREAMS = schema_detail.STREAMS.name


def stream_rows(activity_id: int, points: int) -> list[dict[str, Any]]:
    """A ride's stream: every column filled, as the detail transform would emit it."""
    return [
        {
            "activity_id": activity_id,
            "athlete_id": ATHLETE,
            "start_date": "2024-03-01T08:00:00+00:00",
            "point": p,
            "time": p,
            "distance": 8.3 * p,
            "lat": 52.5 + p * 1e-5,
            "lng": 13.4 + p * 1e-5,
            "altitude": 34.5 + p % 40 / 10,
            "velocity_smooth": 8.3,
            "heartrate": 140 + p % 25,
            "cadence": 88,
            "watts": 210 + p % 50,
            "temp": 18,
            "moving": True,
            "grade_smooth": 0.4,
            "source": "api",
            "run_id": "bench",
            "loaded_at": "2024-03-02T09:00:00+00:00",
        }
        for p in range(points)
    ]


def detail_rows(activities: int, points: int) -> DetailRows:
    ids = tuple(range(1, activities + 1))
    rows = [r for i in ids for r in stream_rows(i, points)]
    return DetailRows(ids, (STREAMS,), {STREAMS: rows})


def rows_per_second(wh: Warehouse, write: DetailRows, repeat: int) -> dict[str, float]:
    n = len(write.rows[STREAMS])
    best_first = best_again = float("inf")
    for _ in range(repeat):
        wh.purge_athlete(ATHLETE)
        start = time.perf_counter()
        wh.replace_details(ATHLETE, write)
        best_first = min(best_first, time.perf_counter() - start)
        start = time.perf_counter()
        wh.replace_details(ATHLETE, write)
        best_again = min(best_again, time.perf_counter() - start)
    assert wh.count_rows(STREAMS, ATHLETE) == n
    return {"rows": n, "insert_rows_s": n / best_first, "replace_rows_s": n / best_again}


def peak_memory(wh: Warehouse, points: int = 10_000) -> dict[str, float]:
    write = detail_rows(1, points)
    wh.replace_details(ATHLETE, write)  # warm: modules, plans, the file's first pages
    before = _rss_mb()
    tracemalloc.start()
    wh.replace_details(ATHLETE, write)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "points": points,
        "python_peak_mb": peak / 2**20,
        "rss_over_before_mb": _peak_rss_mb() - before,
    }


def _rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.details_write", description=__doc__)
    parser.add_argument("--activities", type=int, default=10)
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--bigquery", metavar="URL", help="a local-bigquery endpoint")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        from nunis_ingest.adapters.warehouses.duckdb import DuckDBWarehouse

        duck = DuckDBWarehouse(Path(folder) / "bench.duckdb", stage_dir=Path(folder))
        duck.ensure_schema()
        memory = peak_memory(duck)
        write = detail_rows(args.activities, args.points)
        print("duckdb  ", rows_per_second(duck, write, args.repeat), memory)
    if args.bigquery:
        print("bigquery", rows_per_second(_bigquery(args.bigquery), write, 1))


def _bigquery(url: str) -> Warehouse:
    import uuid

    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    from nunis_ingest.adapters.warehouses.bigquery import BigQueryWarehouse

    client = bigquery.Client(
        project="test-project",
        credentials=AnonymousCredentials(),
        client_options=ClientOptions(api_endpoint=url),
    )
    wh = BigQueryWarehouse(client, f"bench_{uuid.uuid4().hex[:12]}")
    wh.ensure_schema()
    return wh


if __name__ == "__main__":
    main()
