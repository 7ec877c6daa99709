"""What confirmed deletions cost: Strava requests of a full refresh, by deletions and faults.

A full refresh lists by keyset and checks every activity it did not see with one
``GET /activities/{id}`` (up to 25 a run) before deleting it. This counts the requests,
so the price of "delete only what Strava confirms" is a figure, not a guess:

- ``listing``: pages of a complete ``all`` (keyset; after a full page the boundary second
  is listed again), against the page-number floor ``ceil(N/200) + 1``;
- ``checks``: confirmation requests, for k deleted activities (k = 0, 5, 25, 60: 60
  takes three runs at 25 a run): two per deletion, since a 404 is believed only when a
  second GET after a token refresh answers 404 too;
- a truncated listing (an empty page in place of page 2): one check proves it, nothing is
  deleted.

.venv/bin/python -m bench.deletions        # N = 1,000
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
from nunis_ingest.runtime import Runtime
from nunis_ingest.usecases.sync import run_sync
from strava_sandbox.testing import SandboxControl, SandboxServer

LISTING = "/api/v3/athlete/activities"
UNLIMITED = 10**9


def _counts(control: SandboxControl) -> tuple[int, int]:
    requests = control.requests_log()["requests"]
    listing = sum(1 for r in requests if r["path"] == LISTING)
    checks = sum(1 for r in requests if r["path"].startswith("/api/v3/activities/"))
    return listing, checks


def _all(rt: Runtime, control: SandboxControl, aid: int) -> Any:
    ctx = rt.context()
    ctx.now = control.clock
    return run_sync(SyncRequest(athlete_id=aid, mode="all", trigger="bench", force=True), ctx)


def _truncated(rt: Runtime, control: SandboxControl, aid: int, n: int, log: Any) -> list[Record]:
    log("deletions: a truncated listing (empty page 2)")
    control.add_fault(kind="short_page", method="GET", path=LISTING, size=0, after=1, times=1)
    control.clear_requests()
    report = _all(rt, control, aid)
    _, checks = _counts(control)
    return [
        Record("all-truncated", n, "checks", checks, "req", 1.0),
        Record("all-truncated", n, "deleted", report.result.deleted, "rows", 0.0, 0.0),
    ]


def figures(n: int = 1000, log: Any = print) -> list[Record]:
    records: list[Record] = []
    floor = math.ceil(n / 200) + 1
    with SandboxServer().start(athletes=1, activities=n, seed=7) as server:
        control = SandboxControl(server.base_url)
        for k in (0, 5, 25, 60):
            log(f"deletions: N={n}, {k} deleted on Strava")
            control.reset(seed=7, athletes=1, activities=n)
            control.set_rate_limits(read_15min=UNLIMITED, read_daily=UNLIMITED)
            folder = Path(tempfile.mkdtemp(prefix="nunis-bench-del-"))
            try:
                rt, aid = sandbox_runtime(control, folder, control.athletes()[0], details=False)
                _all(rt, control, aid)
                for activity in control.truth(aid)[:k]:
                    control.delete_activity(activity["id"])
                control.clear_requests()
                runs, deleted = 0, 0
                while True:
                    report = _all(rt, control, aid)
                    runs += 1
                    deleted += report.result.deleted
                    if deleted >= k or runs >= 5:
                        break
                listing, checks = _counts(control)
                label = f"all-deleted-{k}"
                least_runs = math.ceil(k / 25) or 1
                records += [
                    Record(label, n, "listing requests / run", listing / runs, "req", floor),
                    Record(label, n, "checks", checks, "req", float(2 * k)),
                    Record(label, n, "runs to delete all", runs, "runs", least_runs),
                ]
                if k == 0:
                    records += _truncated(rt, control, aid, n, log)
                close = getattr(rt.warehouse, "close", None)
                if close:
                    close()
            finally:
                shutil.rmtree(folder, ignore_errors=True)
    return records


if __name__ == "__main__":
    print(table(figures()))
