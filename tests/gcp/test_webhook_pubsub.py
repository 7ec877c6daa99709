"""Webhooks in the production topology: Strava's POST → `webhook` function → Pub/Sub events
topic → `ingest` function → BigQuery, every hop a real process or stand-in on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from scripts.topology import function_process, push_topic, wait_until
from tests.gcp.test_function_pubsub import _register, _rows

pytestmark = [pytest.mark.gcp, pytest.mark.pubsub, pytest.mark.slow]
SUBSCRIPTION_ID = 4242
VERIFY = "verify-token-for-tests"


@pytest.fixture
def hook_env(gcp_env, pubsub_endpoint) -> dict[str, str]:
    return gcp_env | {
        "PUBSUB_EMULATOR_HOST": pubsub_endpoint,
        "NUNIS_WEBHOOK_VERIFY_TOKEN": VERIFY,
        "NUNIS_WEBHOOK_SUBSCRIPTION_ID": str(SUBSCRIPTION_ID),
    }


@pytest.fixture
def webhook_url(hook_env, tmp_path) -> Iterator[str]:
    topic = f"events-{time.monotonic_ns()}"
    env = hook_env | {"NUNIS_EVENTS_TOPIC": topic}
    with (
        (tmp_path / "ingest.log").open("w") as ingest_log,
        function_process(env, ingest_log) as ingest_url,
        push_topic(ingest_url, name="events", topic_id=topic),
        (tmp_path / "webhook.log").open("w") as hook_log,
        function_process(env, hook_log, target="webhook", signature="http") as url,
    ):
        yield url


def test_an_event_reaches_bigquery_through_the_events_topic(
    sandbox, webhook_url, gcs_client, gcs_bucket, bigquery_client, bigquery_dataset
):
    athlete = sandbox.create_athlete(activities=3)
    aid = _register(gcs_client, gcs_bucket, athlete)
    new = sandbox.add_activity(aid, name="pushed, not polled")
    event = {
        "object_type": "activity",
        "object_id": new["id"],
        "aspect_type": "create",
        "owner_id": aid,
        "subscription_id": SUBSCRIPTION_ID,
        "event_time": int(time.time()),
        "updates": {},
    }
    started = time.monotonic()
    answer = requests.post(webhook_url, json=event, timeout=5)
    assert answer.status_code == 200
    assert time.monotonic() - started < 2.0, "Strava's 2-second budget"
    foreign = requests.post(webhook_url, json=event | {"subscription_id": 1}, timeout=5)
    assert foreign.status_code == 200  # logged and dropped: Strava must not retry it

    def loaded() -> set[int]:
        return {i for i, _ in _rows(bigquery_client, bigquery_dataset, aid)}

    wait_until(lambda: int(new["id"]) in loaded(), timeout=90, what="the pushed activity")
    assert loaded() == {int(new["id"])}  # only the event's activity: no poll happened
