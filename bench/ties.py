"""What a correct keyset listing costs: requests and activities listed of a full refresh,
with and without many activities on one start second, and with short pages.

Each scenario lists one athlete's N activities with a complete ``all`` and counts the
listing requests against the page-number floor ``ceil(N/200) + 1`` and the activities
the warehouse holds afterwards against Strava's truth (``missing`` must be 0):

- ``no-ties``: every activity on its own second;
- ``ties-250``: 250 of them on one second (older than any lookback window);
- ``ties-1000``: all of them on one second;
- ``short-7``: Strava serving pages of 7 (the sandbox's ``short_page`` fault).

.venv/bin/python -m bench.ties        # N = 1,000
"""

from __future__ import annotations

import math
import shutil
import tempfile
from pathlib import Path
from typing import Any

from bench.env import sandbox_runtime
from bench.report import Record, table
from nunis_ingest.core.events import SyncRequest
from nunis_ingest.usecases.sync import run_sync
from strava_sandbox.testing import SandboxControl, SandboxServer

LISTING = "/api/v3/athlete/activities"
UNLIMITED = 10**9
DAY = 86400


def _scenario(control: SandboxControl, name: str, n: int, log: Any) -> list[Record]:
    log(f"ties: {name}, N={n}")
    control.reset(seed=7, athletes=1, activities=0 if name.startswith("ties") else n)
    control.set_rate_limits(read_15min=UNLIMITED, read_daily=UNLIMITED)
    athlete = control.athletes()[0]
    aid = int(athlete["id"])
    second = int(control.clock()) - 400 * DAY
    if name == "ties-250":
        for k in range(n - 250):
            control.add_activity(aid, start_date=second + 3600 * (k + 1))
    if name.startswith("ties"):
        for _ in range(250 if name == "ties-250" else n):
            control.add_activity(aid, start_date=second)
    if name == "short-7":
        control.add_fault(kind="short_page", method="GET", path=LISTING, size=7)
    folder = Path(tempfile.mkdtemp(prefix="nunis-bench-ties-"))
    try:
        rt, _ = sandbox_runtime(control, folder, control.athletes()[0], details=False)
        control.clear_requests()
        ctx = rt.context()
        ctx.now = control.clock
        run_sync(SyncRequest(athlete_id=aid, mode="all", trigger="bench"), ctx)
        listing = sum(1 for r in control.requests_log()["requests"] if r["path"] == LISTING)
        held = set(rt.warehouse.fetch_activity_hashes(aid))
        missing = len({int(a["id"]) for a in control.truth(aid)} - held)
        close = getattr(rt.warehouse, "close", None)
        if close:
            close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    floor = math.ceil(n / (7 if name == "short-7" else 200)) + 1
    return [
        Record(name, n, "listing requests", listing, "req", float(floor)),
        Record(name, n, "activities missing", missing, "acts", 0.0, 0.0),
    ]


def figures(n: int = 1000, log: Any = print) -> list[Record]:
    records: list[Record] = []
    with SandboxServer().start(athletes=1, activities=n, seed=7) as server:
        control = SandboxControl(server.base_url)
        for name in ("no-ties", "ties-250", "ties-1000", "short-7"):
            records += _scenario(control, name, n, log)
    return records


if __name__ == "__main__":
    print(table(figures()))
