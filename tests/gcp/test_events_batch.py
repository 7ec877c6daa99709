"""Webhook events in micro-batches: a pull subscription on the Pub/Sub emulator drained
by ``main.drain_events`` into the BigQuery and Cloud Storage stand-ins (webhook/pull.py)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import functions_framework
import pytest

from nunis_ingest.core.webhook_event import QueuedEvent, parse_event
from nunis_ingest.drivers.webhook.pull import EventSubscription, drain
from nunis_ingest.runtime import Runtime, get_runtime
from scripts.topology import ROOT
from tests.gcp.test_function_pubsub import _register, _rows
from tests.standins import PROJECT

pytestmark = [pytest.mark.gcp, pytest.mark.pubsub, pytest.mark.slow]
SUBSCRIPTION_ID = 4243


@pytest.fixture
def pull(gcp_env, pubsub_endpoint) -> Iterator[tuple[Any, str, str]]:
    """(publisher, topic path, subscription name): a fresh events topic and pull subscription."""
    from google.cloud import pubsub_v1

    suffix = time.monotonic_ns()
    topic_id, sub_id = f"events-{suffix}", f"events-pull-{suffix}"
    os.environ.update(
        gcp_env
        | {
            "PUBSUB_EMULATOR_HOST": pubsub_endpoint,
            "NUNIS_EVENTS_TOPIC": topic_id,
            "NUNIS_EVENTS_SUBSCRIPTION": sub_id,
            "NUNIS_WEBHOOK_SUBSCRIPTION_ID": str(SUBSCRIPTION_ID),
        }
    )
    publisher = pubsub_v1.PublisherClient()
    subscriber = pubsub_v1.SubscriberClient()
    topic = publisher.topic_path(PROJECT, topic_id)
    publisher.create_topic(request={"name": topic})
    path = subscriber.subscription_path(PROJECT, sub_id)
    subscriber.create_subscription(
        request={"name": path, "topic": topic, "ack_deadline_seconds": 600}
    )
    try:
        yield publisher, topic, sub_id
    finally:
        subscriber.delete_subscription(request={"subscription": path})
        publisher.delete_topic(request={"topic": topic})
        subscriber.close()


SENT: dict[int, bytes] = {}  # activity id -> the last message published for it


def _publish(
    publisher: Any, topic: str, aid: int, activity_id: int, aspect: str = "create"
) -> None:
    event = parse_event(
        {
            "object_type": "activity",
            "object_id": activity_id,
            "aspect_type": aspect,
            "owner_id": aid,
            "subscription_id": SUBSCRIPTION_ID,
            "event_time": int(time.time()),
            "updates": {},
        }
    )
    SENT[activity_id] = QueuedEvent(event, time.time()).to_bytes()
    publisher.publish(topic, SENT[activity_id]).result(timeout=10)


def _drain(runtime: Runtime, sub_id: str) -> Any:
    return drain(EventSubscription(PROJECT, sub_id), runtime.context, budget_seconds=300)


def _loads(runtime: Runtime) -> int:
    return int(runtime.warehouse.operations["load"])  # type: ignore[attr-defined]


def test_fifty_events_of_five_athletes_cost_one_write_per_athlete(
    sandbox, pull, gcs_client, gcs_bucket, bigquery_client, bigquery_dataset
):
    publisher, topic, sub_id = pull
    runtime = get_runtime()
    # what one athlete's batch costs (one event): the unit the batch must not multiply
    solo = _register(gcs_client, gcs_bucket, sandbox.create_athlete())
    _publish(publisher, topic, solo, int(sandbox.add_activity(solo)["id"]))
    before = _loads(runtime)
    assert _drain(runtime, sub_id).applied == 1
    unit = _loads(runtime) - before
    assert unit >= 1

    athletes = [_register(gcs_client, gcs_bucket, sandbox.create_athlete()) for _ in range(5)]
    created: dict[int, set[int]] = {}
    for aid in athletes:
        created[aid] = {int(sandbox.add_activity(aid)["id"]) for _ in range(10)}
        for activity_id in sorted(created[aid]):
            _publish(publisher, topic, aid, activity_id)
    before = _loads(runtime)
    report = _drain(runtime, sub_id)
    assert (report.applied, report.retried, report.dropped) == (50, 0, 0)
    assert _loads(runtime) - before == unit * report.athlete_batches
    assert report.athlete_batches == 5, "one write per athlete, not per event"
    for aid in athletes:
        rows = _rows(bigquery_client, bigquery_dataset, aid)
        assert {i for i, _ in rows} == created[aid]
        assert all(count == 1 for _, count in rows)

    # redelivered and duplicated messages (the same bytes): no request, no write, no row
    aid = athletes[0]
    for activity_id in sorted(created[aid])[:3]:
        for _ in range(2):
            publisher.publish(topic, SENT[activity_id]).result(timeout=10)
    before, reads = _loads(runtime), sandbox.requests_log()["counts"]["total"]
    report = _drain(runtime, sub_id)
    assert report.applied == 6
    assert _loads(runtime) == before
    assert sandbox.requests_log()["counts"]["total"] == reads
    assert all(count == 1 for _, count in _rows(bigquery_client, bigquery_dataset, aid))


def test_a_failing_activity_is_not_acknowledged_and_is_applied_on_the_next_pull(
    sandbox, pull, gcs_client, gcs_bucket, bigquery_client, bigquery_dataset
):
    publisher, topic, sub_id = pull
    runtime = get_runtime()
    failing, fine = (_register(gcs_client, gcs_bucket, sandbox.create_athlete()) for _ in range(2))
    bad = [int(sandbox.add_activity(failing)["id"]) for _ in range(3)]
    good = [int(sandbox.add_activity(fine)["id"]) for _ in range(3)]
    for activity_id in bad:
        _publish(publisher, topic, failing, activity_id)
    for activity_id in good:
        _publish(publisher, topic, fine, activity_id)
    sandbox.add_fault(kind="status", status=503, method="GET", path=f"/api/v3/activities/{bad[0]}")

    report = _drain(runtime, sub_id)
    # only the failing activity's event is retried: the athlete's others are applied
    assert (report.applied, report.retried) == (5, 1)
    assert {i for i, _ in _rows(bigquery_client, bigquery_dataset, fine)} == set(good)
    assert {i for i, _ in _rows(bigquery_client, bigquery_dataset, failing)} == set(bad[1:])

    sandbox.clear_faults()
    # the next run (main.drain_events, as Cloud Scheduler calls it) gets them again
    app = functions_framework.create_app(
        target="drain_events", source=str(ROOT / "main.py"), signature_type="http"
    )
    answer = app.test_client().post("/")
    assert answer.status_code == 200
    assert answer.get_json()["applied"] == 1
    rows = _rows(bigquery_client, bigquery_dataset, failing)
    assert {i for i, _ in rows} == set(bad)
    assert all(count == 1 for _, count in rows)
