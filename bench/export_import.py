"""``python -m bench.export_import [N ...]``: import a generated Strava export into DuckDB.

Prints activities/s, stream points/s and peak memory (``VmHWM``) per N (default 1,000 and
10,000), each import in a fresh process (``--one N PATH`` is that child), and the ratio
of the peak memory at the largest N to the smallest (target: flat, within 1.2x). The
export is written once per N by the generator in its templated mode (each kind of file
built once, ids and times varied in ``activities.csv``), which is not timed; its files are
as long as the API's streams (the sandbox's 1,000-point cap).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.report import Record
from bench.worker import _peak_rss_mb

ANCHOR = 1_790_000_000
RSS_FLAT = 1.2


def one(n: int, root: Path) -> dict[str, Any]:
    """Import ``root/export.zip`` into a fresh DuckDB in this process; the figures."""
    from nunis_ingest.adapters.stores.localfs import LocalObjectStore
    from nunis_ingest.adapters.warehouses.duckdb import DuckDBWarehouse
    from nunis_ingest.usecases.bulk_export.importer import run_import

    wh = DuckDBWarehouse(root / f"w{n}.duckdb")
    wh.ensure_schema()
    start = time.perf_counter()
    report = run_import(str(root / "export.zip"), wh, LocalObjectStore(root / f"data{n}"))
    seconds = time.perf_counter() - start
    return {
        "n": n,
        "seconds": round(seconds, 2),
        "activities": report.inserted,
        "activities_per_s": round(report.inserted / seconds, 1),
        "points": report.points,
        "points_per_s": round(report.points / seconds),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "problems": report.problem_count,
    }


def run(n: int, log: Any = print) -> dict[str, Any]:
    from strava_sandbox.export import write_export

    with tempfile.TemporaryDirectory(prefix="nunis-bench-export-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        write_export(root / "export.zip", activities=n, anchor=ANCHOR, templated=True)
        log(f"export of {n:,} activities generated in {time.perf_counter() - started:.1f}s")
        child = subprocess.run(
            [sys.executable, "-m", "bench.export_import", "--one", str(n), tmp],
            check=True,
            capture_output=True,
            text=True,
        )
        return dict(json.loads(child.stdout.strip().splitlines()[-1]))


def figures(log: Any = print, sizes: tuple[int, ...] = (1000, 10000)) -> list[Record]:
    """The records ``make bench`` prints and writes to ``bench/results.json``."""
    out: list[Record] = []
    peaks: dict[int, float] = {}
    for n in sizes:
        log(f"export import: N={n}")
        got = run(n, log)
        peaks[n] = got["peak_rss_mb"]
        out += [
            Record("export-import", n, "activities/s", got["activities_per_s"], "/s", None, None),
            Record("export-import", n, "stream points/s", got["points_per_s"], "/s", None, None),
            Record("export-import", n, "peak RSS", got["peak_rss_mb"], "MB", None, None),
        ]
    if len(peaks) > 1:
        small, large = min(peaks), max(peaks)
        ratio = peaks[large] / peaks[small]
        note = f"{peaks[large]:.0f} MB / {peaks[small]:.0f} MB"
        out.append(
            Record("export-import", large, f"peak RSS / N={small}", ratio, "x", 1.0, RSS_FLAT, note)
        )
    return out


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        print(json.dumps(one(int(sys.argv[2]), Path(sys.argv[3]))))
    else:
        sizes = tuple(int(a) for a in sys.argv[1:]) or (1000, 10000)
        for record in figures(sizes=sizes):
            print(record)
