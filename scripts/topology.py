"""The production topology on one machine: a functions-framework process fed by Pub/Sub.

Used by ``make demo-cloud``, ``make bundle-check`` and the tests that start function
processes. A function runs as it deploys: the ``functions-framework`` of the bundle venv
(only requirements.txt, Python 3.12), from the bundle copy (what .gcloudignore keeps), so
an import the deployed code cannot make fails here too (scripts/bundle.py). Everything
binds to 127.0.0.1 on free ports and is stopped by the PID we started.
"""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import requests

from scripts.bundle import Bundle, prepare

ROOT = Path(__file__).resolve().parents[1]
PROJECT = "test-project"


def pubsub_cloudevent(
    body: bytes, attributes: Mapping[str, str] | None = None, *, age_s: float = 0.0
) -> tuple[dict[str, str], bytes]:
    """Headers and body of a structured ``messagePublished`` CloudEvent, as Eventarc sends it."""
    from cloudevents.conversion import to_structured
    from cloudevents.http import CloudEvent

    published = datetime.now(UTC) - timedelta(seconds=age_s)
    data = {
        "message": {
            "data": base64.b64encode(body).decode(),
            "attributes": dict(attributes or {}),
            "messageId": f"m-{time.time_ns()}",
            "publishTime": published.isoformat().replace("+00:00", "Z"),
        },
        "subscription": f"projects/{PROJECT}/subscriptions/ingest",
    }
    event = CloudEvent(
        {
            "type": "google.cloud.pubsub.topic.v1.messagePublished",
            "source": f"//pubsub.googleapis.com/projects/{PROJECT}/topics/ingest",
        },
        data,
    )
    headers, payload = to_structured(event)
    return dict(headers), bytes(payload)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def function_process(
    env: Mapping[str, str],
    log: IO[str],
    target: str = "ingest",
    signature: str = "cloudevent",
    bundle: Bundle | None = None,
) -> Iterator[str]:
    """Run the bundle's `functions-framework --target=<target>`; yield its URL; stop it by PID.

    ``bundle`` defaults to this process's one (built on first use, see scripts/bundle.py).
    """
    bundle = bundle or prepare()
    port = free_port()
    proc = subprocess.Popen(
        [
            str(bundle.functions_framework),
            f"--target={target}",
            f"--signature-type={signature}",
            "--source=main.py",
            "--host=127.0.0.1",
            f"--port={port}",
        ],
        cwd=bundle.src,
        env=bundle.env(dict(env)),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(url, timeout=1)
                break
            except (requests.ConnectionError, requests.Timeout):  # not up yet, or busy
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("functions-framework did not start; see its log") from None
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@contextmanager
def push_topic(
    function_url: str, name: str = "ingest", topic_id: str | None = None
) -> Iterator[Callable[[dict[str, Any]], str]]:
    """A Pub/Sub emulator topic whose push subscription delivers to the function.

    Needs PUBSUB_EMULATOR_HOST. Yields ``publish(body) -> message id``.
    """
    from google.cloud import pubsub_v1

    publisher = pubsub_v1.PublisherClient()
    subscriber = pubsub_v1.SubscriberClient()
    suffix = str(time.monotonic_ns())
    topic = publisher.topic_path(PROJECT, topic_id or f"{name}-{suffix}")
    subscription = subscriber.subscription_path(PROJECT, f"{name}-push-{suffix}")
    publisher.create_topic(name=topic)
    subscriber.create_subscription(
        name=subscription,
        topic=topic,
        push_config={"push_endpoint": f"{function_url}/projects/{PROJECT}/topics/{name}"},
        ack_deadline_seconds=120,  # a full load must not be redelivered while it runs
    )

    def publish(body: dict[str, Any]) -> str:
        future = publisher.publish(topic, json.dumps(body).encode())
        return str(future.result(timeout=10))

    try:
        yield publish
    finally:
        subscriber.delete_subscription(subscription=subscription)
        publisher.delete_topic(topic=topic)


def wait_until(check: Callable[[], bool], timeout: float = 90.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.5)
