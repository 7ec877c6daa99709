"""Report build time for five years of one athlete's data (``python -m bench.report_build``).

Loads ``bench.report_data.synthetic`` rows (about one activity a day for five years,
best efforts on runs, heart-rate streams every 10 s on 80% of activities) into a DuckDB
file, then times, median of ``--repeat`` runs each:

* the floor: every report query alone on one read-only connection (what any report of
  these figures must spend reading the warehouse);
* the whole build: the same queries, the plotly figures and the HTML page written;
* ``--png``: writing the six PNGs as well (kaleido and Chromium; off by default: slow).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import date
from functools import partial
from pathlib import Path

from bench.report import Record, median, spread, table
from bench.report_data import load_duckdb, synthetic
from nunis_ingest.adapters.warehouses.duckdb import DuckDBWarehouse
from nunis_ingest.adapters.warehouses.report_source import open_source
from nunis_ingest.usecases.reporting import query
from nunis_ingest.usecases.reporting.build import (
    ReportParams,
    resolve_max_hr,
    write_png,
    write_report,
)
from nunis_ingest.usecases.reporting.figures import QUERIES

ATHLETE = 5
FIRST, LAST = date(2021, 1, 1), date(2025, 12, 31)
TARGET_SECONDS = 10.0
"""A report a person waits for: ten seconds at most for five years on this machine."""


def _queries_only(warehouse: DuckDBWarehouse, params: ReportParams) -> None:
    with open_source(warehouse) as source:
        values = params.values(resolve_max_hr(source, params) or 0)
        for name in QUERIES:
            query.run(source, name, values)


def _written(warehouse: DuckDBWarehouse, params: ReportParams, out: Path) -> None:
    with open_source(warehouse) as source:
        write_report(source, None, params, out)


def _timed(step: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        step()
        out.append(time.perf_counter() - started)
    return out


def figures(log: Callable[[str], None] = print, repeat: int = 3, png: bool = False) -> list[Record]:
    work = Path(tempfile.mkdtemp(prefix="nunis-report-bench-"))
    try:
        db = work / "report.duckdb"
        log("report: synthetic rows for five years")
        rows = synthetic(ATHLETE, FIRST, LAST, stream_step=10)
        counts = {t: len(r) for t, r in rows.items()}
        log(f"report: loading {counts} into DuckDB")
        load_duckdb(db, rows)
        del rows
        warehouse = DuckDBWarehouse(db)
        params = ReportParams(ATHLETE, date(2025, 1, 1), LAST)
        whole = ReportParams(ATHLETE, FIRST, LAST)
        n = counts["activities"]
        records = []
        for label, p in (("last year", params), ("five years", whole)):
            floor = _timed(partial(_queries_only, warehouse, p), repeat)
            out = work / "report.html"
            build = _timed(partial(_written, warehouse, p, out), repeat)
            size = out.stat().st_size / 1e6
            records += [
                Record("report-duckdb", n, f"queries only ({label})", median(floor), "s",
                       spread=spread(floor)),
                Record("report-duckdb", n, f"build HTML ({label})", median(build), "s",
                       median(floor), TARGET_SECONDS, spread(build)),
                Record("report-duckdb", n, f"build / queries ({label})",
                       median(build) / median(floor), "x", 1.0),
                Record("report-duckdb", n, f"HTML size ({label})", size, "MB"),
            ]  # fmt: skip
        if png:
            pngs = _timed(lambda: write_png_for(warehouse, params, work / "png"), 1)
            records.append(Record("report-duckdb", n, "figures + 6 PNG (last year)",
                                  pngs[0], "s"))  # fmt: skip
        records.append(Record("report-duckdb", n, "stream rows", counts["activity_streams"], ""))
        return records
    finally:
        shutil.rmtree(work, ignore_errors=True)


def write_png_for(warehouse: DuckDBWarehouse, params: ReportParams, folder: Path) -> None:
    from nunis_ingest.usecases.reporting.build import build

    with open_source(warehouse) as source:
        report = build(source, params)
    write_png(report, folder)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.report_build", description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--png", action="store_true", help="also time writing the PNGs")
    args = parser.parse_args(argv)
    print(table(figures(repeat=args.repeat, png=args.png)))


if __name__ == "__main__":
    main()
