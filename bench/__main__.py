"""``make bench``: run every scenario, print the table, write ``bench/results.json``.

.venv/bin/python -m bench                                  # N = 1,000 / 10,000 / 50,000
.venv/bin/python -m bench --sizes 1000,10000 --repeat 3    # quicker
.venv/bin/python -m bench.versus                           # only the side-by-side
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from bench import deletions, enrichment, export_import, report_build, versus, webhook_times
from bench import scenarios as sc
from bench.env import SEED, Bench, local_gcp, machine, workdir
from bench.report import Record, table, write_json
from strava_sandbox.testing import SandboxControl, SandboxServer

RESULTS = Path(__file__).resolve().parent / "results.json"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,50000", help="comma-separated N")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timed figure")
    parser.add_argument(
        "--bigquery-max-n", type=int, default=50_000, help="largest N loaded into BigQuery"
    )
    parser.add_argument("--no-bigquery", action="store_true", help="skip the BigQuery stand-in")
    parser.add_argument(
        "--duckdb-set",
        action="append",
        default=[],
        metavar="SQL",
        help="statement run on the DuckDB connection before each `all` (an experiment, "
        "e.g. \"SET memory_limit='128MB'\"); repeatable",
    )
    parser.add_argument(
        "--no-versus", action="store_true", help="skip the side-by-side with strava-offline"
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--out", type=Path, default=RESULTS)
    return parser.parse_args(argv)


def per_size(
    bench: Bench, n: int, args: argparse.Namespace, bq: dict[str, Any] | None
) -> list[Record]:
    log(f"N={n}: sandbox reset")
    bench.reset(n)
    floor_wall, records = sc.fetch_floor(bench, n, args.repeat)
    log(f"N={n}: fetch floor {floor_wall:.2f}s; all into DuckDB")
    all_records, env = sc.all_sync(bench, n, args.repeat, floor_wall, "duckdb", {}, args.duckdb_set)
    records += all_records
    if bq is not None and n <= args.bigquery_max_n:
        log(f"N={n}: all into BigQuery stand-in")
        records += sc.all_sync(bench, n, args.repeat, floor_wall, "bigquery", bq, [])[0]
    log(f"N={n}: new polls, cold polls, token refresh")
    records += sc.new_syncs(bench, n, env, (0,))
    records += sc.cold_polls(bench, n, env, args.repeat)  # still idle: nothing added yet
    records += sc.new_syncs(bench, n, env, (1, 250))
    records += sc.token_refresh(bench, n, env)
    return records


def memory_growth(records: list[Record]) -> list[Record]:
    """Peak RSS at the largest N over the smallest: whole run (target) and page loop alone."""
    out = []
    for metric, target in (("peak RSS", sc.RSS_GROWTH_TARGET), ("peak RSS before commit", None)):
        rss = {r.n: r.value for r in records if r.scenario == "all-duckdb" and r.metric == metric}
        if len(rss) < 2:
            continue
        small, large = min(rss), max(rss)
        note = f"{rss[large]:.0f} MB / {rss[small]:.0f} MB"
        ratio = rss[large] / rss[small]
        out.append(
            Record("all-duckdb", large, f"{metric} / N={small}", ratio, "x", 1.0, target, note)
        )
    return out


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    for key, value in machine().items():
        print(f"{key:>10}: {value}")
    records = sc.import_profile()
    bq_info, bq_skip = (None, "--no-bigquery") if args.no_bigquery else sc.bigquery_standin()
    bq = sc.bigquery_spec(bq_info) if bq_info else None
    work = workdir()
    started = time.monotonic()
    try:
        with SandboxServer().start(athletes=1, activities=sizes[0], seed=SEED) as server:
            bench = Bench(SandboxControl(server.base_url), work)
            for n in sizes:
                records += per_size(bench, n, args, bq)
    finally:
        if bq_info:
            local_gcp().stop_service(bq_info)
        shutil.rmtree(work, ignore_errors=True)
    records += memory_growth(records)
    versus_skip = "--no-versus" if args.no_versus else ""
    if not versus_skip:
        try:
            records += versus.figures(sizes, args.repeat, log)
        except (OSError, subprocess.CalledProcessError) as exc:  # no package index here
            versus_skip = f"strava-offline could not be installed or run: {exc}"
    records += deletions.figures(log=log)
    records += webhook_times.figures(log)
    records += enrichment.figures(log)
    records += report_build.figures(log)
    records += export_import.figures(log)
    print()
    print(table(records))
    if bq is None:
        print(f"\nall-bigquery: SKIPPED ({bq_skip})")
    if versus_skip:
        print(f"\nside by side with strava-offline: SKIPPED ({versus_skip})")
    failed = [r for r in records if r.holds() is False]
    print(
        f"\n{len(records)} figures, {len(failed)} target(s) missed, "
        f"{time.monotonic() - started:.0f}s; written to {args.out}"
    )
    for r in failed:
        print(f"  missed: {r.scenario} n={r.n} {r.metric} = {r.value:.3g} (target {r.target})")
    write_json(records, args.out)
    if args.strict and failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
