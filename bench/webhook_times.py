"""Webhook timing figures (they used to be printed by tests; the tests now assert behaviour).

* ``slow queue``: the receiver's answer time over 500 events when every 25th queue put
  stalls for 3 s (past Strava's 2 s budget): median, p99 and max; the stalled puts answer
  503 after the enqueue timeout (Strava retries those).
* ``event to row``: sandbox Strava creates an activity -> the event reaches a real
  ``functions-framework --target=webhook`` -> SQLite queue -> local worker -> a DuckDB row;
  median and p99 over 30 creates, plus the handshake GET against the same process.

Run alone: ``.venv/bin/python -m bench.webhook_times``; ``make bench`` runs it too.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import requests
from werkzeug.serving import make_server

from bench.env import SEED
from bench.report import Record, median, spread, table
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
from scripts.topology import function_process
from strava_sandbox.testing import SandboxControl, SandboxServer

STRAVA_BUDGET = 2.0
STALL_EVERY = 25
VERIFY = "bench-verify-token"


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


class SlowQueue:
    """Usually 5 ms; every 25th put stalls for 3 s."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    def put(self, data: bytes, *, attributes: Mapping[str, str] | None = None) -> None:
        with self.lock:
            self.count += 1
            stall = self.count % STALL_EVERY == 0
        time.sleep(3.0 if stall else 0.005)


def slow_queue(events: int = 500) -> list[Record]:
    for noisy in ("werkzeug", "nunis_ingest"):  # a line per request / per 503 otherwise
        logging.getLogger(noisy).setLevel(logging.ERROR)
    rt = Runtime(
        load_settings(
            {
                "NUNIS_DATA_DIR": tempfile.mkdtemp(prefix="nunis-bench-"),
                "NUNIS_LOG_FORMAT": "console",
            }
            | {"NUNIS_WEBHOOK_SUBSCRIPTION_ID": "7"}
        )
    )
    rt.__dict__["queue"] = SlowQueue()  # the cached_property's slot
    server = make_server("127.0.0.1", 0, make_app(lambda: rt), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/"
    timings, statuses = [], []
    try:
        with requests.Session() as session:
            for i in range(events):
                event = {
                    "aspect_type": "update",
                    "event_time": 1_700_000_000 + i,
                    "object_id": 10 + i,
                    "object_type": "activity",
                    "owner_id": 1,
                    "subscription_id": 7,
                    "updates": {},
                }
                started = time.monotonic()
                statuses.append(session.post(url, json=event, timeout=5).status_code)
                timings.append(time.monotonic() - started)
    finally:
        server.shutdown()
    note = f"{statuses.count(503)} of {events} answered 503"
    name = "webhook slow queue"
    return [
        Record(name, events, "median answer", median(timings), "s", None, None, note),
        Record(name, events, "p99 answer", p99(timings), "s", None, STRAVA_BUDGET, note),
        Record(name, events, "max answer", max(timings), "s", None, STRAVA_BUDGET, note),
    ]


def _wait_until(predicate: Callable[[], bool], timeout: float, step: float = 0.005) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached in time")
        time.sleep(step)


def _register(rt: Runtime, athlete: dict[str, Any]) -> int:
    athlete_id = int(athlete["id"])
    repo = AthleteRepo(rt.store)
    token = Token(
        str(athlete["access_token"]),
        str(athlete["refresh_token"]),
        int(athlete["expires_at"]),
        str(athlete.get("scope")),
    )
    repo.save_token(athlete_id, token)
    repo.save_config(AthleteConfig(athlete_id))
    return athlete_id


def _grew(rt: Runtime, athlete_id: int, before: int) -> bool:
    return rt.warehouse.count_activities(athlete_id) > before


def event_to_row(creates: int = 30, handshakes: int = 20) -> list[Record]:
    with SandboxServer().start(athletes=1, activities=50, seed=SEED) as server:
        control = SandboxControl(server.base_url)
        app = control.app()
        env = {
            "NUNIS_DATA_DIR": tempfile.mkdtemp(prefix="nunis-bench-"),
            "NUNIS_STRAVA_BASE_URL": control.base_url,
            "STRAVA_CLIENT_ID": str(app["client_id"]),
            "STRAVA_CLIENT_SECRET": str(app["client_secret"]),
            "NUNIS_WEBHOOK_VERIFY_TOKEN": VERIFY,
            "NUNIS_LOG_FORMAT": "console",
        }
        rt = Runtime(load_settings(env))
        athlete_id = _register(rt, control.athletes()[0])
        run_sync(SyncRequest(athlete_id, "all", trigger="bench"), rt.context())
        with (
            open(os.devnull, "w") as log,
            function_process(dict(os.environ) | env, log, "webhook", "http") as root,
        ):
            url = root + "/"
            query = {"hub.mode": "subscribe", "hub.challenge": "abc", "hub.verify_token": VERIFY}
            shakes = []
            for _ in range(handshakes):
                started = time.monotonic()
                requests.get(url, params=query, timeout=5).raise_for_status()
                shakes.append(time.monotonic() - started)
            client = SubscriptionsClient(
                rt.session,
                base_url=control.base_url,
                client_id=str(app["client_id"]),
                client_secret=str(app["client_secret"]),
            )
            started = time.monotonic()
            sub_id = client.create(url, VERIFY)
            subscribe = time.monotonic() - started
            subscription.save(rt.store, sub_id, url, time.time())
            queue = rt.queue
            assert isinstance(queue, LocalQueue)
            worker = Worker(rt, queue, reconcile_polls=False)
            thread = threading.Thread(target=worker.run, daemon=True)
            thread.start()
            samples = []
            try:
                for i in range(creates):
                    before = rt.warehouse.count_activities(athlete_id)
                    started = time.monotonic()
                    control.add_activity(
                        athlete_id, name=f"bench {i}", start_date="2025-06-01T06:00:00Z"
                    )
                    _wait_until(partial(_grew, rt, athlete_id, before), 30)
                    samples.append(time.monotonic() - started)
            finally:
                worker.stop_event.set()
                thread.join(30)
                client.delete(sub_id)
                close = getattr(rt.warehouse, "close", None)
                if close:
                    close()
    window = f"coalesce window {rt.settings.webhook_coalesce_seconds} s"
    return [
        Record("webhook event to row", creates, "median", median(samples), "s", None, None, window),
        Record("webhook event to row", creates, "p99", p99(samples), "s", None, 5.0, window),
        Record(
            "webhook handshake GET",
            handshakes,
            "median",
            median(shakes),
            "s",
            None,
            None,
            spread(shakes),
        ),
        Record("webhook subscribe", 1, "wall incl. handshake", subscribe, "s", None, None),
    ]


def figures(log: Callable[[str], None] = print) -> list[Record]:
    log("webhook: slow queue, 500 events")
    records = slow_queue()
    log("webhook: event to row, 30 creates through functions-framework")
    return records + event_to_row()


if __name__ == "__main__":
    print(table(figures()))
