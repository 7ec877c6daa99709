"""A stalled queue must not push the answer past Strava's 2 s budget: it answers 503.

Behaviour only (status codes, each answer inside the budget); the response-time figures
over 500 events are in ``bench/webhook_times.py`` (``make bench``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping

import pytest
import requests
from werkzeug.serving import make_server

from nunis_ingest.drivers.webhook.app import make_app
from nunis_ingest.runtime import Runtime
from nunis_ingest.settings import load_settings

STALL_EVERY = 4
EVENTS = 8
STRAVA_BUDGET = 2.0


class SlowQueue:
    """Usually 5 ms; every 4th put stalls for 3 s (longer than Strava's budget)."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    def put(self, data: bytes, *, attributes: Mapping[str, str] | None = None) -> None:
        with self.lock:
            self.count += 1
            stall = self.count % STALL_EVERY == 0
        time.sleep(3.0 if stall else 0.005)


@pytest.fixture
def slow_url(tmp_path) -> Iterator[str]:
    rt = Runtime(
        load_settings({"NUNIS_DATA_DIR": str(tmp_path), "NUNIS_WEBHOOK_SUBSCRIPTION_ID": "7"})
    )
    rt.__dict__["queue"] = SlowQueue()  # the cached_property's slot
    server = make_server("127.0.0.1", 0, make_app(lambda: rt), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


def test_a_stalled_put_answers_503_inside_stravas_budget(slow_url) -> None:
    statuses = []
    with requests.Session() as session:
        for i in range(EVENTS):
            event = {
                "aspect_type": "update",
                "event_time": 1_700_000_000 + i,
                "object_id": 10 + i,
                "object_type": "activity",
                "owner_id": 1,
                "subscription_id": 7,
                "updates": {},
            }
            # Strava gives up on an answer after 2 s: a stalled put must not hold it longer
            response = session.post(slow_url, json=event, timeout=STRAVA_BUDGET)
            statuses.append(response.status_code)
    stalled = [i for i in range(EVENTS) if (i + 1) % STALL_EVERY == 0]
    assert [i for i, s in enumerate(statuses) if s == 503] == stalled  # Strava retries 503s
    assert all(s == 200 for i, s in enumerate(statuses) if i not in stalled)
