"""Unit tests of the request-path decisions (no Strava, no warehouse, no store)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from nunis_ingest.core.webhook_event import QueuedEvent
from nunis_ingest.drivers.webhook import receive
from nunis_ingest.settings import Settings
from nunis_ingest.usecases.webhook import reconcile

OURS = 4242
EVENT = {
    "aspect_type": "create",
    "event_time": 1_700_000_000,
    "object_id": 2_150_000_000,
    "object_type": "activity",
    "owner_id": 1000000,
    "subscription_id": OURS,
    "updates": {},
}


def decide(doc: object, ours: int | None = OURS) -> receive.Decision:
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return receive.event(body, lambda seen: ours, 123.0)


def test_handshake() -> None:
    args = {"hub.mode": "subscribe", "hub.challenge": "c1", "hub.verify_token": "t"}
    assert receive.handshake(args, "t").body == {"hub.challenge": "c1"}
    assert receive.handshake(args, "other").status == 403
    assert receive.handshake(args, None).status == 403
    assert (
        receive.handshake({k: v for k, v in args.items() if k != "hub.verify_token"}, "t").status
        == 403
    )
    assert receive.handshake(args | {"hub.mode": "unsubscribe"}, "t").status == 400
    assert receive.handshake(args | {"hub.challenge": "x" * 300}, "t").status == 400


def test_valid_event_is_queued_with_receipt_time() -> None:
    decision = decide(EVENT)
    assert decision.status == 200
    assert decision.event is not None
    assert decision.event.received_at == 123.0
    assert QueuedEvent.from_bytes(decision.event.to_bytes()) == decision.event


@pytest.mark.parametrize(
    ("doc", "status"),
    [
        (b"not json", 400),
        (b"x" * 5000, 413),
        ([1, 2], 400),
        ({k: v for k, v in EVENT.items() if k != "owner_id"}, 400),
        (EVENT | {"object_id": True}, 400),
        (EVENT | {"object_id": -5}, 400),
        (EVENT | {"updates": "nope"}, 400),
    ],
)
def test_malformed_events_get_a_4xx(doc: object, status: int) -> None:
    decision = decide(doc)
    assert decision.status == status
    assert decision.event is None


def test_foreign_unknown_kind_and_unknown_subscription() -> None:
    foreign = decide(EVENT | {"subscription_id": OURS + 1})
    assert (foreign.status, foreign.event) == (200, None)
    athlete = decide(EVENT | {"object_type": "athlete", "aspect_type": "update"})
    assert (athlete.status, athlete.event) == (200, None)
    future = decide(EVENT | {"object_type": "route"})
    assert (future.status, future.event) == (200, None)
    deauth = decide(
        EVENT
        | {
            "object_type": "athlete",
            "aspect_type": "update",
            "object_id": 1000000,
            "updates": {"authorized": "false"},
        }
    )
    assert deauth.event is not None
    assert deauth.event.event.is_deauthorization
    assert decide(EVENT, ours=None).status == 503


def test_reconcile_rule() -> None:
    settings = Settings()
    now = datetime(2026, 1, 10, tzinfo=UTC)
    t = now.timestamp()
    assert reconcile.due(t, None, None, settings) == "all"
    assert reconcile.due(t, now - timedelta(hours=2), now - timedelta(days=2), settings) is None
    assert reconcile.due(t, now - timedelta(hours=25), now - timedelta(days=2), settings) == "new"
    assert reconcile.due(t, now, now - timedelta(days=8), settings) == "all"
    runs = [
        {"mode": "all", "outcome": "success", "finished_at": "2026-01-03T00:00:00+00:00"},
        {"mode": "all", "outcome": "failed", "finished_at": "2026-01-09T00:00:00+00:00"},
        {"mode": "new", "outcome": "success", "finished_at": "2026-01-09T00:00:00+00:00"},
    ]
    assert reconcile.last_all_success(runs) == datetime(2026, 1, 3, tzinfo=UTC)


# --- the secret path segment (NUNIS_WEBHOOK_PATH_SECRET) ----------------------------------

PATH_SECRET = "p4th-Secret-0123456789abcdef"
VERIFY_TOKEN = "verify-Token-fedcba9876543210"


def test_path_secret_rule() -> None:
    assert receive.path_allowed("/anything", None)  # not configured: every path
    assert receive.path_allowed(f"/{PATH_SECRET}", PATH_SECRET)
    assert receive.path_allowed(f"/{PATH_SECRET}/", PATH_SECRET)
    for path in ("/", "", f"/{PATH_SECRET[:-1]}", f"/x/{PATH_SECRET}", f"/{PATH_SECRET}/x"):
        assert not receive.path_allowed(path, PATH_SECRET), path


def test_path_secret_setting_is_validated_and_never_echoed() -> None:
    from nunis_ingest.errors import ConfigError
    from nunis_ingest.settings import load_settings

    assert load_settings({"NUNIS_WEBHOOK_PATH_SECRET": PATH_SECRET}).webhook_path_secret == (
        PATH_SECRET
    )
    with pytest.raises(ConfigError) as info:
        load_settings({"NUNIS_WEBHOOK_PATH_SECRET": "short/secret?x"})
    assert "short/secret" not in str(info.value)


@pytest.fixture
def webhook_client(tmp_path, monkeypatch):
    """``main.webhook`` in functions-framework's real Flask app, logging JSON to stdout."""
    import logging

    from functions_framework import create_app

    from nunis_ingest.runtime import get_runtime
    from tests.webhook.conftest import ROOT

    for key, value in {
        "NUNIS_BACKEND": "local",
        "NUNIS_DATA_DIR": str(tmp_path / "data"),
        "NUNIS_LOG_FORMAT": "json",
        "NUNIS_WEBHOOK_VERIFY_TOKEN": VERIFY_TOKEN,
        "NUNIS_WEBHOOK_PATH_SECRET": PATH_SECRET,
    }.items():
        monkeypatch.setenv(key, value)
    app = create_app(target="webhook", source=str(ROOT / "main.py"), signature_type="http")
    yield app.test_client(), get_runtime
    logging.getLogger().handlers.clear()  # the next test configures its own


def _queued(get_runtime) -> int:
    pending, _ = get_runtime().queue.depth()
    return int(pending)


def test_requests_without_the_path_secret_get_404_and_do_nothing(webhook_client) -> None:
    client, get_runtime = webhook_client
    body = json.dumps(EVENT).encode()
    handshake = f"hub.mode=subscribe&hub.challenge=c1&hub.verify_token={VERIFY_TOKEN}"
    store = get_runtime().store
    store.put("webhook/subscription.json", json.dumps({"id": OURS}).encode())
    for path in ("/", "/wrong", f"/{PATH_SECRET}x", f"/x/{PATH_SECRET}"):
        assert client.post(path, data=body).status_code == 404, path
        assert client.get(f"{path}?{handshake}").status_code == 404, path
        assert client.post(path, data=b"not json").status_code == 404  # not even parsed
    assert _queued(get_runtime) == 0
    assert client.get(f"/{PATH_SECRET}?{handshake}").get_json() == {"hub.challenge": "c1"}
    assert client.post(f"/{PATH_SECRET}", data=body).status_code == 200
    assert _queued(get_runtime) == 1


def test_no_log_line_carries_the_path_secret_or_verify_token(webhook_client, capfd) -> None:
    client, get_runtime = webhook_client
    get_runtime().store.put("webhook/subscription.json", b"{corrupt")  # a line from another logger
    handshake = f"hub.mode=subscribe&hub.challenge=c1&hub.verify_token={VERIFY_TOKEN}"
    assert client.get(f"/{PATH_SECRET}?{handshake}").status_code == 200
    assert client.get(f"/{PATH_SECRET}?{handshake}x").status_code == 403
    assert client.post(f"/{PATH_SECRET}", data=json.dumps(EVENT)).status_code == 503
    assert client.get(f"/nope?{handshake}").status_code == 404
    out = capfd.readouterr().out
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    messages = " | ".join(str(line.get("message")) for line in lines)
    for wanted in ("answered the subscription handshake", "wrong hub.verify_token", "corrupt"):
        assert wanted in messages, messages
    assert "unknown path" in messages
    assert all("httpRequest" in line for line in lines)
    assert any(line["httpRequest"].get("requestMethod") == "GET" for line in lines)
    assert PATH_SECRET not in out
    assert VERIFY_TOKEN not in out


@pytest.fixture
def deployed_webhook(monkeypatch):
    """The webhook as cloudbuild.yaml deploys it: gcp backend, no bucket at all."""
    import logging

    from functions_framework import create_app

    from tests.webhook.conftest import ROOT

    for key in ("NUNIS_BUCKET", "NUNIS_DATASET", "NUNIS_WEBHOOK_SUBSCRIPTION_ID"):
        monkeypatch.delenv(key, raising=False)
    for key, value in {
        "NUNIS_BACKEND": "gcp",
        "NUNIS_PROJECT": "local-project",
        "NUNIS_EVENTS_TOPIC": "nunis-webhook-events",
        "NUNIS_LOG_FORMAT": "json",
        "NUNIS_WEBHOOK_VERIFY_TOKEN": VERIFY_TOKEN,
        "NUNIS_WEBHOOK_PATH_SECRET": PATH_SECRET,
    }.items():
        monkeypatch.setenv(key, value)
    app = create_app(target="webhook", source=str(ROOT / "main.py"), signature_type="http")
    yield app.test_client(), monkeypatch
    logging.getLogger().handlers.clear()


def test_deployed_webhook_needs_no_bucket(deployed_webhook, capfd) -> None:
    client, monkeypatch = deployed_webhook
    handshake = f"hub.mode=subscribe&hub.challenge=c1&hub.verify_token={VERIFY_TOKEN}"
    assert client.get(f"/{PATH_SECRET}?{handshake}").get_json() == {"hub.challenge": "c1"}
    # no subscription id yet (before `webhook subscribe`): 503 with the fix, not a 500
    response = client.post(f"/{PATH_SECRET}", data=json.dumps(EVENT))
    assert response.status_code == 503
    assert "NUNIS_WEBHOOK_SUBSCRIPTION_ID" in capfd.readouterr().out
    # with the id as an env var: a foreign event is dropped without any store or queue
    monkeypatch.setenv("NUNIS_WEBHOOK_SUBSCRIPTION_ID", str(OURS + 1))
    foreign = client.post(f"/{PATH_SECRET}", data=json.dumps(EVENT))
    assert (foreign.status_code, foreign.get_json()) == (200, {"status": "ignored"})
