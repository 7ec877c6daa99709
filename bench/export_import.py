"""``python -m bench.export_import [N ...]``: import a generated bulk export into DuckDB.

Prints activities/s, stream points/s and peak memory (``VmHWM``) per N (default 1,000 and
10,000). The sandbox caps a file at 1,000 points (one per 10 s of elapsed time), so files
are as long as the API's streams; the generation is not timed.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from bench.worker import _peak_rss_mb
from nunis_ingest.bulk_export.importer import Importer
from nunis_ingest.bulk_export.source import open_source
from nunis_ingest.stores.localfs import LocalObjectStore
from nunis_ingest.warehouses.duckdb import DuckDBWarehouse
from strava_sandbox.export import write_export


def run(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        athlete = write_export(root / "export.zip", activities=n, anchor=1_790_000_000)
        wh = DuckDBWarehouse(root / "w.duckdb")
        wh.ensure_schema()
        start = time.perf_counter()
        with open_source(str(root / "export.zip")) as source:
            report = Importer(wh, LocalObjectStore(root / "data"), athlete).run(source)
        seconds = time.perf_counter() - start
    return {
        "n": n,
        "seconds": round(seconds, 1),
        "activities_per_s": round(report.activities / seconds, 1),
        "points_per_s": round(report.points / seconds),
        "points": report.points,
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }


if __name__ == "__main__":
    for size in [int(a) for a in sys.argv[1:]] or [1000, 10000]:
        print(run(size), flush=True)
