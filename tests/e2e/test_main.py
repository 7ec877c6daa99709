"""main.ingest as the Cloud Function runs it: a real CloudEvent through functions-framework.

A 2xx answer is an acknowledgement; a 500 (an exception) makes Pub/Sub redeliver.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from functions_framework import create_app

from scripts.topology import pubsub_cloudevent
from tests.e2e.conftest import loaded, register, truth

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def function(app_env, monkeypatch):
    for key, value in app_env.items():
        monkeypatch.setenv(key, value)
    app = create_app(target="ingest", source=str(ROOT / "main.py"), signature_type="cloudevent")
    return app.test_client()


def publish(client, body: bytes | str, attributes: dict | None = None, *, age_s: float = 0):
    """POST a Pub/Sub messagePublished CloudEvent, as Eventarc delivers it."""
    raw = body.encode() if isinstance(body, str) else body
    headers, payload = pubsub_cloudevent(raw, attributes, age_s=age_s)
    return client.post("/", headers=headers, data=payload)


def test_json_message_loads_the_athlete(sandbox, rt, function):
    aid = register(rt, sandbox.create_athlete(activities=90))
    rt.warehouse.close()  # the function process opens the file itself
    response = publish(function, json.dumps({"athlete_id": aid, "mode": "all"}))
    assert response.status_code == 200
    assert loaded(rt, aid) == set(truth(sandbox, aid))


def test_same_message_twice_creates_no_duplicate(sandbox, rt, function):
    aid = register(rt, sandbox.create_athlete(activities=50))
    rt.warehouse.close()
    for _ in range(2):
        assert publish(function, json.dumps({"athlete_id": aid, "mode": "all"})).status_code == 200
    with rt.warehouse.reader() as con:  # type: ignore[attr-defined]
        assert con.execute("select count(*), count(distinct id) from activities").fetchone() == (
            50,
            50,
        )


def test_legacy_plain_text_uses_the_single_configured_athlete(sandbox, rt, function):
    aid = register(rt, sandbox.create_athlete(activities=30))
    rt.warehouse.close()
    assert publish(function, "load_all").status_code == 200
    assert publish(function, "load_new", {"athlete_id": str(aid)}).status_code == 200
    assert loaded(rt, aid) == set(truth(sandbox, aid))


@pytest.mark.parametrize(
    ("body", "attributes", "reason"),
    [
        (b"", None, "empty"),
        (b"\xff\xfe", None, "UTF-8"),
        (b"load_everything", None, "load_new"),
        (b'{"athlete_id": "abc", "mode": "new"}', None, "athlete_id"),
        (b'{"athlete_id": 5, "mode": "sometimes"}', None, "mode"),
        (b"[1, 2]", None, "object"),
        (b"load_new", {"athlete_id": "-4"}, "athlete_id"),
    ],
)
def test_malformed_messages_are_acknowledged_with_a_reason(
    function, caplog, body, attributes, reason
):
    with caplog.at_level(logging.INFO):
        response = publish(function, body, attributes)
    assert response.status_code == 200, "a malformed message must be acked, not retried"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors, "the rejection must be logged"
    assert reason.lower() in errors[-1].getMessage().lower()


def test_unknown_athlete_is_acknowledged_with_the_fix(function, caplog):
    with caplog.at_level(logging.INFO):
        response = publish(function, json.dumps({"athlete_id": 999_001, "mode": "new"}))
    assert response.status_code == 200
    assert "nunis-ingest athlete add" in caplog.text


def test_stale_message_is_dropped(sandbox, rt, function, caplog):
    aid = register(rt, sandbox.create_athlete(activities=5))
    rt.warehouse.close()
    sandbox.clear_requests()
    with caplog.at_level(logging.INFO):
        response = publish(
            function, json.dumps({"athlete_id": aid, "mode": "all"}), age_s=3 * 86400
        )
    assert response.status_code == 200
    assert "stale" in caplog.text
    assert sandbox.requests_log()["counts"]["total"] == 0


def test_transient_strava_failure_is_retried(sandbox, rt, function):
    aid = register(rt, sandbox.create_athlete(activities=5))
    rt.warehouse.close()
    sandbox.add_fault(
        kind="status", method="GET", path="/api/v3/athlete/activities", status=503, times=20
    )
    response = publish(function, json.dumps({"athlete_id": aid, "mode": "all"}))
    assert response.status_code == 500, "a transient failure must raise so Pub/Sub redelivers"
