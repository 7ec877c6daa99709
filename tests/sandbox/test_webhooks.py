"""Push subscriptions: handshake, one per app, events and retries."""

from __future__ import annotations

import requests


def _subscribe(sandbox, callback_url, verify="tok"):
    app = sandbox.app()
    return requests.post(
        f"{sandbox.base_url}/api/v3/push_subscriptions",
        data={
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "callback_url": callback_url,
            "verify_token": verify,
        },
        timeout=10,
    )


def test_handshake_then_one_subscription_per_app(sandbox, callback):
    resp = _subscribe(sandbox, callback.url, verify="s3cret")
    assert resp.status_code == 201
    sub_id = resp.json()["id"]
    assert callback.challenges[0]["hub.mode"] == "subscribe"
    assert callback.challenges[0]["hub.verify_token"] == "s3cret"
    assert _subscribe(sandbox, callback.url).status_code == 400
    app = sandbox.app()
    creds = {"client_id": app["client_id"], "client_secret": app["client_secret"]}
    listed = requests.get(f"{sandbox.base_url}/api/v3/push_subscriptions", params=creds, timeout=5)
    assert [s["id"] for s in listed.json()] == [sub_id]
    assert listed.json()[0]["callback_url"] == callback.url
    gone = requests.delete(
        f"{sandbox.base_url}/api/v3/push_subscriptions/{sub_id}", params=creds, timeout=5
    )
    assert gone.status_code == 204
    assert (
        requests.get(
            f"{sandbox.base_url}/api/v3/push_subscriptions", params=creds, timeout=5
        ).json()
        == []
    )


def test_handshake_fails_without_echo_or_when_too_slow(sandbox, callback):
    callback.echo = False
    assert _subscribe(sandbox, callback.url).status_code == 400
    callback.echo, callback.handshake_delay = True, 2.5
    assert _subscribe(sandbox, callback.url).status_code == 400
    assert sandbox.app()["subscription_id"] is None


def test_events_for_create_update_delete_and_deauthorization(sandbox, callback, athlete):
    sub_id = _subscribe(sandbox, callback.url).json()["id"]
    created = sandbox.add_activity(athlete["id"], name="Fresh 🆕", visibility="everyone")
    sandbox.patch_activity(created["id"], name="Renamed", private=True)
    sandbox.patch_activity(created["id"], distance=1234.5)  # not an event-worthy change
    sandbox.delete_activity(created["id"])
    sandbox.revoke(athlete["id"])
    done = sandbox.wait_for_deliveries(4)
    assert all(d["delivered"] for d in done)
    kinds = [(e["object_type"], e["aspect_type"], e["updates"]) for e in callback.events]
    assert kinds == [
        ("activity", "create", {}),
        ("activity", "update", {"title": "Renamed", "private": "true"}),
        ("activity", "delete", {}),
        ("athlete", "update", {"authorized": "false"}),
    ]
    assert {e["subscription_id"] for e in callback.events} == {sub_id}
    assert {e["owner_id"] for e in callback.events} == {athlete["id"]}
    assert callback.events[0]["object_id"] == created["id"]


def test_failed_deliveries_are_retried_up_to_three_attempts(sandbox, callback, athlete):
    _subscribe(sandbox, callback.url)
    callback.statuses = [500, 503]
    sandbox.add_activity(athlete["id"])
    (first,) = sandbox.wait_for_deliveries(1)
    assert first["delivered"] is True
    assert [a["status"] for a in first["attempts"]] == [500, 503, 200]

    callback.statuses = [500, 500, 500, 500]
    sandbox.add_activity(athlete["id"])
    done = sandbox.wait_for_deliveries(2)
    assert done[1]["delivered"] is False
    assert len(done[1]["attempts"]) == 3
    assert len(callback.events) == 6


def test_no_events_without_a_subscription(sandbox, callback, athlete):
    sandbox.add_activity(athlete["id"])
    assert sandbox.webhook_deliveries() == []
