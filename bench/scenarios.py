"""The measured scenarios; each returns ``report.Record`` figures."""

from __future__ import annotations

import math
import re
import subprocess
import sys
import uuid
from typing import Any

from bench.env import ROOT, Bench, local_gcp, run_worker
from bench.report import Record, median, spread

PER_PAGE = 200
RATIO_TARGET = 2.0  # `all` into DuckDB, wall time / fetch floor, at N >= 10,000 (issue 11)
RATIO_TARGET_FROM = 10_000
RSS_GROWTH_TARGET = 1.3  # peak RSS at the largest N / at the smallest N
RSS_CAP_MB = {10_000: 150.0, 50_000: 200.0}  # `all`, either warehouse (issue 11)
REFRESH_ADVANCE_S = 19_000  # leaves the 6 h sandbox token in its last hour


def keyset_floor(items: int) -> int:
    """Requests of a keyset listing of ``items`` (unique start seconds): after a full page
    the boundary second is listed again, so later full pages bring 199 new activities,
    then the short page and the closing empty one."""
    if items < PER_PAGE:
        return 2
    return (items - PER_PAGE) // (PER_PAGE - 1) + 3


def listing_floor(items: int, *, closing_page: bool) -> int:
    """Pages to list ``items``: full pages, plus the closing empty or short page."""
    if closing_page:
        return math.ceil(items / PER_PAGE) + 1
    return items // PER_PAGE + 1


def api_requests(counts: dict[str, Any]) -> int:
    return sum(v for k, v in counts["by_endpoint"].items() if "oauth" not in k)


def oauth_requests(counts: dict[str, Any]) -> int:
    return sum(v for k, v in counts["by_endpoint"].items() if "oauth" in k)


def _timed_records(
    scenario: str, n: int, runs: list[dict[str, Any]], floor_wall: float | None
) -> list[Record]:
    walls, cpus = [r["wall"] for r in runs], [r["cpu"] for r in runs]
    out = [
        Record(scenario, n, "wall", median(walls), "s", floor_wall, None, spread(walls)),
        Record(scenario, n, "cpu", median(cpus), "s", None, None, spread(cpus)),
    ]
    if floor_wall:
        target = RATIO_TARGET if scenario == "all-duckdb" and n >= RATIO_TARGET_FROM else None
        ratio = median(walls) / floor_wall
        out.append(Record(scenario, n, "wall/floor", ratio, "x", 1.0, target))
    return out


def fetch_floor(bench: Bench, n: int, repeat: int) -> tuple[float, list[Record]]:
    spec = {
        "kind": "floor",
        "base_url": bench.control.base_url,
        "access_token": bench.athlete["access_token"],
    }
    runs = [run_worker(spec) for _ in range(repeat)]
    walls, cpus = [r["wall"] for r in runs], [r["cpu"] for r in runs]
    floor = median(walls)
    return floor, [
        Record("fetch-floor", n, "wall", floor, "s", None, None, spread(walls)),
        Record("fetch-floor", n, "cpu", median(cpus), "s", None, None, spread(cpus)),
        Record("fetch-floor", n, "requests", runs[0]["requests"], "requests"),
    ]


def all_sync(
    bench: Bench,
    n: int,
    repeat: int,
    floor_wall: float,
    warehouse: str,
    bq: dict[str, Any],
    duckdb_settings: list[str],
) -> tuple[list[Record], dict[str, str]]:
    """``all`` from an empty warehouse, ``repeat`` times, each in a fresh process."""
    runs, env = [], {}
    requests = []
    for i in range(repeat):
        env = bench.fresh_env(f"all-{warehouse}-{n}-{i}")
        spec: dict[str, Any] = {
            "kind": "sync",
            "env": env,
            "athlete_id": bench.athlete_id,
            "mode": "all",
            "warehouse": warehouse,
            "duckdb_settings": duckdb_settings if warehouse == "duckdb" else [],
        }
        if warehouse == "bigquery":
            spec |= bq | {"bq_dataset": f"bench_{uuid.uuid4().hex[:12]}"}
        result, counts = bench.counted(spec)
        if result["inserted"] != n:
            raise RuntimeError(f"all into {warehouse} loaded {result['inserted']} of {n}")
        runs.append(result)
        requests.append(counts["total"])
    scenario = f"all-{warehouse}"
    floor = listing_floor(n, closing_page=True)  # page numbers; the keyset listing's target
    rss = [r["peak_rss_mb"] for r in runs]
    loop = [r["loop_peak_rss_mb"] for r in runs]
    commit = [r["commit_wall"] for r in runs]
    ops = runs[0]["operations"]
    records = [
        Record(scenario, n, "strava requests", max(requests), "requests", floor, keyset_floor(n)),
        *_timed_records(scenario, n, runs, floor_wall),
        Record(scenario, n, "peak RSS", median(rss), "MB", None, RSS_CAP_MB.get(n), spread(rss)),
        Record(scenario, n, "peak RSS before commit", median(loop), "MB", None, None, spread(loop)),
        Record(scenario, n, "commit wall", median(commit), "s", None, None, spread(commit)),
        Record(scenario, n, "warehouse loads", ops["load"], "loads"),
        Record(scenario, n, "warehouse DML", ops["dml"], "statements"),
    ]
    return records, env


def new_syncs(bench: Bench, n: int, env: dict[str, str], news: tuple[int, ...]) -> list[Record]:
    """Mode ``new`` after the full load, with ``news`` new activities each (0, 1, 250)."""
    records = []
    for new in news:
        bench.add_new(new)
        spec = {"kind": "sync", "env": env, "athlete_id": bench.athlete_id, "mode": "new"}
        result, counts = bench.counted(spec)
        floor = listing_floor(new, closing_page=False)
        scenario = f"new-{new}"
        ops = result["operations"]
        idle_target = 0 if new == 0 else None
        records += [
            Record(scenario, n, "strava requests", api_requests(counts), "requests", floor, floor),
            Record(scenario, n, "listed (window+new)", result["seen"], "activities"),
            Record(scenario, n, "wall", result["wall"], "s"),
            Record(scenario, n, "warehouse loads", ops["load"], "loads", None, idle_target),
            Record(scenario, n, "warehouse DML", ops["dml"], "statements", None, idle_target),
        ]
    return records


def cold_polls(bench: Bench, n: int, env: dict[str, str], repeat: int) -> list[Record]:
    """An idle ``new`` poll through ``main.ingest`` in a fresh process, ``repeat`` times."""
    spec = {"kind": "coldpoll", "env": env, "athlete_id": bench.athlete_id}
    runs, requests = [], []
    for _ in range(repeat):
        result, counts = bench.counted(spec)
        runs.append(result)
        requests.append(api_requests(counts))
    imports = [r["import_wall"] for r in runs]
    walls = [r["wall"] for r in runs]
    ops = runs[0]["operations"]
    heavy = ",".join(runs[0]["heavy_after_import"]) or "none"
    heavy_poll = ",".join(runs[0]["heavy_after_poll"]) or "none"
    return [
        Record("cold import main", n, "wall", median(imports), "s", None, None, spread(imports)),
        Record(
            "cold import main",
            n,
            "heavy modules",
            len(runs[0]["heavy_after_import"]),
            "modules",
            None,
            0,
            heavy,
        ),
        Record("cold idle poll", n, "wall", median(walls), "s", None, None, spread(walls)),
        Record("cold idle poll", n, "strava requests", max(requests), "requests", 1, 1),
        Record("cold idle poll", n, "warehouse loads+DML", ops["load"] + ops["dml"], "ops", 0, 0),
        Record(
            "cold idle poll",
            n,
            "heavy modules",
            len(runs[0]["heavy_after_poll"]),
            "modules",
            None,
            None,
            heavy_poll,
        ),
    ]


def token_refresh(bench: Bench, n: int, env: dict[str, str]) -> list[Record]:
    """Move the sandbox clock into the token's last hour, then poll: one refresh request."""
    now = bench.control.advance_clock(REFRESH_ADVANCE_S)
    import time

    spec = {
        "kind": "sync",
        "env": env,
        "athlete_id": bench.athlete_id,
        "mode": "new",
        "clock_offset": now - time.time(),
    }
    _, counts = bench.counted(spec)
    return [Record("token refresh", n, "oauth requests", oauth_requests(counts), "requests", 1, 1)]


_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def importtime(module: str) -> tuple[float, list[tuple[int, str]]]:
    """``python -X importtime -c 'import <module>'``: seconds, and its direct imports (µs)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    children: list[tuple[int, str]] = []
    for line in proc.stderr.splitlines():
        match = _IMPORT_LINE.match(line)
        if not match:
            continue
        cumulative, depth, name = int(match[2]), (len(match[3]) - 1) // 2, match[4]
        if depth == 1:  # importtime prints a module's imports before the module
            children.append((cumulative, name))
        elif depth == 0:
            if name == module:
                return cumulative / 1e6, sorted(children, reverse=True)
            children.clear()
    return 0.0, []


def import_profile() -> list[Record]:
    """Import cost of ``main``, and of the warehouse libraries an idle poll should not need."""
    total, children = importtime("main")
    heaviest = ", ".join(f"{name} {us / 1000:.0f}ms" for us, name in children[:4])
    records = [Record("importtime main", 0, "cumulative", total, "s", None, None, heaviest)]
    for module in ("duckdb", "google.cloud.bigquery"):
        seconds, _ = importtime(module)
        records.append(Record(f"importtime {module}", 0, "cumulative", seconds, "s"))
    return records


def bigquery_standin() -> tuple[dict[str, Any] | None, str]:
    """Start local-bigquery: (its service info, or None, and why not)."""
    lg = local_gcp()
    if not lg.bq_installed():
        return None, "local-bigquery not installed (make local-gcp)"
    try:
        info: dict[str, Any] = lg.start_service("bigquery")
    except lg.StandInError as exc:
        return None, f"local-bigquery did not start: {exc}"
    return info, ""


def bigquery_spec(info: dict[str, Any]) -> dict[str, Any]:
    return {"bq_endpoint": info["endpoint"], "bq_project": local_gcp().PROJECT}
