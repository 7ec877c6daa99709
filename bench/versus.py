"""Side by side with strava-offline: the same sandbox, the same data, each tool a fresh process.

``python -m bench.versus --sizes 1000,10000,50000 --repeat 3`` (also part of ``make bench``).

Per N, one athlete of N activities in ``strava_sandbox``, and three commands run
``repeat`` times, interleaved, each from an empty store and in a fresh process:

- **floor**: raw ``requests`` + ``json.loads`` of the same listing pages, nothing kept;
- **nunis**: ``python -m nunis_ingest sync --mode all`` into DuckDB, summaries only
  (details off), the athlete's access token valid (no OAuth request);
- **strava-offline**: ``strava-offline sqlite`` into its SQLite file, installed from the
  package index into its own virtualenv under the git-ignored ``.local-gcp/`` on first
  use, its fixed ``https://www.strava.com`` sent to the sandbox by a ``sitecustomize``
  (``bench/measure_site.py``, which also measures every process the same way: CPU time
  and ``VmHWM`` of the whole process, start-up and imports included).

Then, on the last stores: one late upload (an activity that started two days ago appears
after the full load) and each tool's incremental run, which must catch it; then
``repeat`` idle incremental runs of each (nothing new): the poll every user pays for.
Correctness is checked, not assumed: each store must hold N rows after the full load
and the late upload after the incremental run (strava-offline's incremental run stops
after 10 known activities, so at a dense history it misses a late upload: reported).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.env import ROOT, SEED, Bench, workdir
from bench.report import Record, median, spread, table, write_json
from strava_sandbox.testing import SandboxControl, SandboxServer

SO_PACKAGE = "strava-offline==1.1.1"
SO_VENV = ROOT / ".local-gcp" / "venv-strava-offline"
LATE_DAYS = 2
RSS_CAP_MB = 110.0  # `all` into DuckDB at N >= 10,000 (issue 23)
RSS_FLAT = 1.1  # peak RSS at the largest N over N = 10,000

FLOOR = """
import json, sys, time, requests
base, token = sys.argv[1], sys.argv[2]
session = requests.Session()
url = base + "/api/v3/athlete/activities"
headers = {"Authorization": "Bearer " + token}
before, page = int(time.time()), 1
while json.loads(session.get(url, params={"page": page, "per_page": 200, "before": before},
                             headers=headers, timeout=30).content):
    page += 1
"""


def strava_offline() -> Path:
    """The strava-offline virtualenv's python, installed on first use (pinned)."""
    python = SO_VENV / "bin" / "python"
    marker = SO_VENV / ".nunis-installed"
    if marker.exists() and marker.read_text() == SO_PACKAGE:
        return python
    shutil.rmtree(SO_VENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(SO_VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", SO_PACKAGE],
        check=True,
    )
    marker.write_text(SO_PACKAGE)
    return python


class Tools:
    """Runs each tool's commands in fresh, measured processes against one sandbox."""

    def __init__(self, bench: Bench, work: Path, so_python: Path) -> None:
        self.bench = bench
        self.work = work
        self.so_python = so_python
        self.site = work / "site"
        self.site.mkdir(parents=True, exist_ok=True)
        shutil.copy(Path(__file__).with_name("measure_site.py"), self.site / "sitecustomize.py")

    def run(self, argv: list[str], env: dict[str, str], tag: str) -> dict[str, Any]:
        """Run ``argv``; wall (measured here), CPU and peak RSS (by the process), requests."""
        out = self.work / f"measure-{tag}.json"
        out.unlink(missing_ok=True)
        full = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.work / "home"),
            "XDG_CONFIG_HOME": str(self.work / "home" / "config"),
            "XDG_DATA_HOME": str(self.work / "home" / "data"),
            "PYTHONPATH": str(self.site),
            "BENCH_MEASURE_OUT": str(out),
            **env,
        }
        self.bench.control.clear_requests()
        started = time.perf_counter()
        proc = subprocess.run(argv, env=full, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
        if proc.returncode != 0:
            raise RuntimeError(f"{tag}: exit {proc.returncode}\n{proc.stderr[-3000:]}")
        counts = self.bench.control.requests_log()["counts"]
        figures: dict[str, Any] = json.loads(out.read_text())
        return {**figures, "wall": wall, "requests": counts["total"]}

    # --- the three tools -----------------------------------------------------------

    def floor(self, tag: str) -> dict[str, Any]:
        token = self.bench.athlete["access_token"]
        argv = [sys.executable, "-c", FLOOR, self.bench.control.base_url, token]
        return self.run(argv, {}, tag)

    def nunis_env(self, name: str) -> dict[str, str]:
        return self.bench.fresh_env(name)

    def nunis(self, env: dict[str, str], mode: str, tag: str) -> dict[str, Any]:
        argv = [sys.executable, "-m", "nunis_ingest", "sync", "--mode", mode, "--no-progress"]
        argv += ["--athlete", str(self.bench.athlete_id)]
        return self.run(argv, env, tag)

    def so_store(self, name: str) -> dict[str, str]:
        """A fresh strava-offline database and token file (the athlete's current token)."""
        folder = self.work / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        athlete = self.bench.control.athletes()[0]
        token = {
            "access_token": athlete["access_token"],
            "refresh_token": athlete["refresh_token"],
            "expires_at": int(athlete["expires_at"]),
            "token_type": "Bearer",
        }
        (folder / "token.json").write_text(json.dumps(token))
        return {"db": str(folder / "strava.sqlite"), "token": str(folder / "token.json")}

    def so(self, store: dict[str, str], tag: str) -> dict[str, Any]:
        app = self.bench.control.app()
        argv = [str(self.so_python), "-m", "strava_offline", "sqlite"]
        argv += ["--database", store["db"], "--token-file", store["token"]]
        argv += ["--client-id", str(app["client_id"]), "--client-secret", app["client_secret"]]
        return self.run(argv, {"BENCH_STRAVA_URL": self.bench.control.base_url}, tag)


def nunis_ids(env: dict[str, str]) -> set[int]:
    import duckdb

    with duckdb.connect(env["NUNIS_DUCKDB_PATH"], read_only=True) as con:
        return {int(r[0]) for r in con.execute("SELECT id FROM activities").fetchall()}


def so_ids(store: dict[str, str]) -> set[int]:
    with sqlite3.connect(store["db"]) as con:
        return {int(r[0]) for r in con.execute("SELECT id FROM activity").fetchall()}


def _records(tool: str, n: int, runs: list[dict[str, Any]], prefix: str = "") -> list[Record]:
    out = []
    for metric, unit in (("wall", "s"), ("cpu", "s"), ("peak_rss_mb", "MB")):
        values = [float(r[metric]) for r in runs]
        name = f"{prefix}{'peak RSS' if metric == 'peak_rss_mb' else metric}"
        out.append(Record(f"vs {tool}", n, name, median(values), unit, None, None, spread(values)))
    out.append(Record(f"vs {tool}", n, f"{prefix}requests", max(r["requests"] for r in runs), ""))
    return out


def per_size(tools: Tools, n: int, repeat: int, log: Any) -> list[Record]:
    bench = tools.bench
    bench.reset(n)
    floor_runs, nunis_runs, so_runs = [], [], []
    env: dict[str, str] = {}
    store: dict[str, str] = {}
    for i in range(repeat):
        log(f"versus N={n}: round {i + 1} of {repeat}")
        floor_runs.append(tools.floor(f"floor-{n}-{i}"))
        env = tools.nunis_env(f"vs-nunis-{n}-{i}")
        nunis_runs.append(tools.nunis(env, "all", f"nunis-{n}-{i}"))
        store = tools.so_store(f"vs-so-{n}-{i}")
        so_runs.append(tools.so(store, f"so-{n}-{i}"))
        for name, ids in (("nunis", nunis_ids(env)), ("strava-offline", so_ids(store))):
            if len(ids) != n:
                raise RuntimeError(f"{name} holds {len(ids)} of {n} activities after its full load")
    records = _records("floor", n, floor_runs)
    records += _records("nunis", n, nunis_runs)
    records += _records("strava-offline", n, so_runs)
    so_cpu = median([r["cpu"] for r in so_runs])
    nunis_cpu = median([r["cpu"] for r in nunis_runs])
    records.append(
        Record("vs nunis", n, "cpu / strava-offline", nunis_cpu / so_cpu, "x", None, 1.0)
    )
    if n >= 10_000:
        rss = median([r["peak_rss_mb"] for r in nunis_runs])
        records.append(Record("vs nunis", n, "peak RSS cap", rss, "MB", None, RSS_CAP_MB))
    records += late_upload(tools, n, env, store)
    records += idle_polls(tools, n, env, store, repeat)
    return records


def late_upload(tools: Tools, n: int, env: dict[str, str], store: dict[str, str]) -> list[Record]:
    """An activity that started ``LATE_DAYS`` ago appears after the full load."""
    bench = tools.bench
    start = int(bench.control.clock()) - LATE_DAYS * 86400
    late = int(bench.control.add_activity(bench.athlete_id, start_date=start, name="late")["id"])
    nunis = tools.nunis(env, "new", f"nunis-late-{n}")
    so = tools.so(store, f"so-late-{n}")
    return [
        Record("vs nunis", n, "late upload caught", float(late in nunis_ids(env)), "yes=1", 1, 1),
        Record("vs nunis", n, "incremental requests", nunis["requests"], ""),
        Record("vs strava-offline", n, "late upload caught", float(late in so_ids(store)), "yes=1"),
        Record("vs strava-offline", n, "incremental requests", so["requests"], ""),
    ]


def idle_polls(
    tools: Tools, n: int, env: dict[str, str], store: dict[str, str], repeat: int
) -> list[Record]:
    """Incremental runs with nothing new, interleaved: the poll every user pays for."""
    nunis_runs, so_runs = [], []
    for i in range(repeat):
        nunis_runs.append(tools.nunis(env, "new", f"nunis-idle-{n}-{i}"))
        so_runs.append(tools.so(store, f"so-idle-{n}-{i}"))
    records = _records("nunis", n, nunis_runs, "idle ")
    records += _records("strava-offline", n, so_runs, "idle ")
    ratio = median([r["wall"] for r in nunis_runs]) / median([r["wall"] for r in so_runs])
    records.append(Record("vs nunis", n, "idle wall / strava-offline", ratio, "x", None, 1.0))
    return records


def flatness(records: list[Record]) -> list[Record]:
    """Peak RSS of nunis's full load at the largest N over N = 10,000 (flat: <= 1.1)."""
    rss = {r.n: r.value for r in records if r.scenario == "vs nunis" and r.metric == "peak RSS"}
    if 10_000 not in rss or max(rss) <= 10_000:
        return []
    large = max(rss)
    note = f"{rss[large]:.0f} MB / {rss[10_000]:.0f} MB"
    ratio = rss[large] / rss[10_000]
    return [Record("vs nunis", large, "peak RSS / N=10000", ratio, "x", 1.0, RSS_FLAT, note)]


def figures(sizes: list[int], repeat: int, log: Any) -> list[Record]:
    """Every size in one sandbox, one run: the side-by-side records."""
    so_python = strava_offline()
    work = workdir()
    records: list[Record] = []
    try:
        with SandboxServer().start(athletes=1, activities=sizes[0], seed=SEED) as server:
            bench = Bench(SandboxControl(server.base_url), work)
            tools = Tools(bench, work, so_python)
            for n in sizes:
                records += per_size(tools, n, repeat, log)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return records + flatness(records)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.versus", description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="write the records as JSON")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]

    def log(text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)

    records = figures(sizes, args.repeat, log)
    print(table(records))
    if args.out:
        write_json(records, args.out)


if __name__ == "__main__":
    main()
