"""A simulated day: N athletes on one Strava app with default limits, H hours of sandbox time.

The real receiver (``webhook.app.make_app`` over HTTP, in a thread) takes the sandbox's
deliveries into the SQLite queue; each 5-minute tick the real ``Worker.run_once`` applies
them and, every 15 simulated minutes, ``Worker.reconcile_once`` asks the scheduler whom to
list. Every read goes through the shared ledger to the sandbox; details are off for all
athletes. The first full load of every athlete happens the day before, limits lifted.

Run: ``python -m bench.simulate [--athletes N] [--hours H]`` (``make simulate``).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
from werkzeug.serving import make_server

from bench.simulate_plan import DAY, FAIL_SHARE, Day, percentile, plan
from nunis_ingest.adapters.queues import LocalQueue
from nunis_ingest.adapters.strava.subscriptions import SubscriptionsClient
from nunis_ingest.core.events import SyncRequest
from nunis_ingest.core.token import Token
from nunis_ingest.drivers.webhook.app import make_app
from nunis_ingest.drivers.webhook.worker import Worker
from nunis_ingest.runtime import Runtime
from nunis_ingest.settings import load_settings
from nunis_ingest.usecases.athletes import AthleteConfig, AthleteRepo
from nunis_ingest.usecases.sync import run_sync
from nunis_ingest.usecases.webhook import subscription
from strava_sandbox.testing import SandboxControl, SandboxServer

TICK = 300
VERIFY = "simulate-verify"
BIG = 10**9


class SimClock:
    """The sandbox clock, mirrored here (wall time plus the offset we set)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def follow(self, sandbox_now: float) -> None:
        self.offset = sandbox_now - time.time()


def flaky(app: Any, fail_ids: set[int], lost_ids: set[int]) -> Any:
    """WSGI wrapper: first attempt for ``fail_ids`` and every attempt for ``lost_ids`` fail."""
    seen: set[int] = set()

    def wrapped(environ: dict[str, Any], start_response: Any) -> Any:
        if environ["REQUEST_METHOD"] == "POST":
            import json

            size = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(size)
            import io

            environ["wsgi.input"] = io.BytesIO(body)
            oid = int(json.loads(body).get("object_id", 0))
            if oid in lost_ids or (oid in fail_ids and oid not in seen):
                seen.add(oid)
                start_response("500 Internal Server Error", [("Content-Length", "0")])
                return [b""]
        return app(environ, start_response)

    return wrapped


def simulate(
    athletes: int, hours: float, out: Path, seed: int = 14, start_hour: float = 0.0
) -> dict[str, Any]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("nunis_ingest").setLevel(logging.ERROR)
    started = time.monotonic()
    with SandboxServer().start(athletes=athletes, activities=3, seed=seed) as server:
        control = SandboxControl(server.base_url)
        control.set_webhook_retry_delay(0.2)
        app = control.app()
        data = Path(tempfile.mkdtemp(prefix="nunis-sim-"))
        clock = SimClock()
        env = {
            "NUNIS_BACKEND": "local",
            "NUNIS_DATA_DIR": str(data),
            "NUNIS_STRAVA_BASE_URL": control.base_url,
            "STRAVA_CLIENT_ID": str(app["client_id"]),
            "STRAVA_CLIENT_SECRET": str(app["client_secret"]),
            "NUNIS_WEBHOOK_VERIFY_TOKEN": VERIFY,
            "NUNIS_WEBHOOK_COALESCE_SECONDS": "0",
            "NUNIS_LOG_FORMAT": "console",
        }
        rt = Runtime(load_settings(env))
        queue = LocalQueue(data / "sim-queue.sqlite", clock=clock)
        rt.__dict__["queue"] = queue
        context = lambda: dataclasses.replace(rt.context(), now=clock)  # noqa: E731
        repo = AthleteRepo(rt.store)
        ids = []
        for a in control.athletes():
            token = Token(a["access_token"], a["refresh_token"], int(a["expires_at"]), a["scope"])
            repo.save_token(int(a["id"]), token)
            repo.save_config(AthleteConfig(int(a["id"]), details=False))
            ids.append(int(a["id"]))
        day0 = (control.clock() // DAY + 1) * DAY
        clock.follow(control.set_clock(day0 - 3 * 3600))
        control.set_rate_limits(
            read_15min=BIG, read_daily=BIG, overall_15min=BIG, overall_daily=BIG
        )
        for i in ids:  # the first load, the day before
            run_sync(SyncRequest(i, "all", trigger="simulate"), context())
        control.set_rate_limits(
            read_15min=100, read_daily=1000, overall_15min=200, overall_daily=2000
        )
        day = plan(ids, start_hour + hours, seed)
        uploaded: dict[int, int] = {}
        fail_ids: set[int] = set()
        lost_ids: set[int] = set()
        http = make_server(
            "127.0.0.1", 0, flaky(make_app(lambda: rt), fail_ids, lost_ids), threaded=True
        )
        threading.Thread(target=http.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{http.server_port}/"
        latencies: list[float] = []
        event_at: dict[int, float] = {}

        def seen(outcome: Any, item: Any) -> None:
            if outcome.action == "loaded" and item.event.object_id in event_at:
                latencies.append(clock() - event_at.pop(item.event.object_id))

        worker = Worker(rt, queue, context=context, on_outcome=seen)
        clock.follow(control.set_clock(day0 + start_hour * 3600))
        client = SubscriptionsClient(
            rt.session,
            base_url=control.base_url,
            client_id=str(app["client_id"]),
            client_secret=str(app["client_secret"]),
        )
        subscription.save(rt.store, client.create(url, VERIFY), url, clock())
        control.clear_requests()
        usage: list[tuple[float, int, int]] = []
        result = _run_day(
            control,
            clock,
            worker,
            day,
            day0,
            hours,
            uploaded,
            fail_ids,
            lost_ids,
            event_at,
            usage,
            start_hour,
        )
        http.shutdown()
        close = getattr(rt.warehouse, "close", None)
        if close:
            close()
        result |= compare(control, data / "nunis.duckdb", ids, {a for _, a in day.revokes})
    result |= {
        "athletes": athletes,
        "hours": hours,
        "latency_p50": percentile(latencies, 0.5),
        "latency_p99": percentile(latencies, 0.99),
        "wall_seconds": time.monotonic() - started,
        "chart": str(chart(usage, out)),
    }
    return result


def _run_day(
    control: SandboxControl,
    clock: SimClock,
    worker: Worker,
    day: Day,
    day0: float,
    hours: float,
    uploaded: dict[int, int],
    fail_ids: set[int],
    lost_ids: set[int],
    event_at: dict[int, float],
    usage: list[tuple[float, int, int]],
    start_hour: float,
) -> dict[str, Any]:
    rng_fail = 0
    ups, edits, deletes, revokes = (
        list(day.uploads),
        list(day.silent_edits),
        list(day.lost_deletes),
        list(day.revokes),
    )
    t = start_hour * 3600
    while t < (start_hour + hours) * 3600:
        clock.follow(control.set_clock(day0 + t))
        while ups and ups[0].at < t + TICK:
            u = ups.pop(0)
            rng_fail += 1
            body = control.add_activity(
                u.athlete_id,
                start_date=int(day0 + u.start),
                elapsed_time=u.elapsed,
                name=f"sim {len(uploaded)}",
            )
            uploaded[len(uploaded)] = int(body["id"])
            event_at[int(body["id"])] = clock()
            if rng_fail % round(1 / FAIL_SHARE) == 0:
                fail_ids.add(int(body["id"]))
        for at, i in [e for e in edits if e[0] < t + TICK]:
            edits.remove((at, i))
            if i in uploaded:
                control.patch_activity(uploaded[i], distance=1234.5, description="edited")
        for at, i in [e for e in deletes if e[0] < t + TICK]:
            deletes.remove((at, i))
            if i in uploaded:
                lost_ids.add(uploaded[i])
                event_at.pop(uploaded[i], None)
                control.delete_activity(uploaded[i])
        for at, a in [r for r in revokes if r[0] < t + TICK]:
            revokes.remove((at, a))
            control.revoke(a)
        time.sleep(0.3)  # deliveries (and a retry after 0.2 s) reach the receiver
        while worker.run_once():
            pass
        if int(t) % 900 == 0:
            worker.reconcile_once(clock())
        log = control.requests_log()["counts"]
        usage.append((t, int(log["total"]), int(log["by_status"].get("429", 0))))
        t += TICK
    return {"counts": control.requests_log()["counts"], "uploads": len(uploaded)}


def compare(control: SandboxControl, db: Path, ids: list[int], revoked: set[int]) -> dict[str, Any]:
    con = duckdb.connect(str(db), read_only=True)
    rows = {
        r[0]: r
        for r in con.execute("select id, athlete_id, name, distance from activities").fetchall()
    }
    con.close()
    differ = []
    for a in ids:
        truth = {} if a in revoked else {x["id"]: x for x in control.truth(a)}
        mine = {i: r for i, r in rows.items() if r[1] == a}
        for i in set(truth) | set(mine):
            t, m = truth.get(i), mine.get(i)
            if t is None or m is None or (t["name"], float(t["distance"])) != (m[2], float(m[3])):
                differ.append((a, i, "missing" if m is None else "extra" if t is None else "stale"))
    return {"differ": differ, "rows": len(rows)}


def chart(usage: list[tuple[float, int, int]], out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot([u[0] / 3600 for u in usage], [u[1] for u in usage], label="requests used")
    ax.axhline(1000, color="red", linestyle="--", label="daily read limit")
    ax.set_xlabel("simulated hour (UTC)")
    ax.set_ylabel("requests since 00:00")
    ax.legend()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--athletes", type=int, default=200)
    parser.add_argument("--hours", type=float, default=24)
    parser.add_argument(
        "--out", type=Path, default=Path(tempfile.gettempdir()) / "nunis-simulate.png"
    )
    parser.add_argument("--start-hour", type=float, default=0.0)
    args = parser.parse_args()
    r = simulate(args.athletes, args.hours, args.out, start_hour=args.start_hour)
    print(f"athletes {r['athletes']}, {r['hours']} h simulated in {r['wall_seconds']:.0f} s wall")
    print(f"requests: {r['counts']}")
    c = r["counts"]
    reads = sum(n for k, n in c["by_endpoint"].items() if k.startswith("GET /api"))
    print(f"429 responses: {c['by_status'].get('429', 0)} (target 0)")
    print(f"reads used {reads} of 1,000 a day (100 per 15 min)")
    per = reads / r["uploads"] if r["uploads"] else float("nan")
    print(f"reads per ingested activity {per:.2f} (target <= 1.05)")
    print(f"activities uploaded {r['uploads']}; warehouse rows {r['rows']}")
    print(
        f"event to warehouse p50 {r['latency_p50']:.1f} s,"
        f" p99 {r['latency_p99']:.1f} s (sandbox time)"
    )
    print(f"warehouse vs truth: {len(r['differ'])} differ {r['differ'][:20]}")
    print(f"chart: {r['chart']}")


if __name__ == "__main__":
    main()
