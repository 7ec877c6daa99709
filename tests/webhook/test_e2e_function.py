"""End to end over real HTTP: sandbox Strava -> `functions-framework --target=webhook`
-> SQLite queue -> local worker -> DuckDB, with the sandbox doing the handshake and
delivering the events its control API generates.

The function process runs as it deploys: the bundle venv's functions-framework, from the
bundle copy (scripts/topology.py). The worker and DuckDB run in this (development) venv.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from nunis_ingest.core.events import SyncRequest
from nunis_ingest.usecases.athletes import AthleteRepo
from nunis_ingest.usecases.sync import run_sync
from nunis_ingest.usecases.webhook import subscription
from scripts.topology import function_process
from tests.e2e.conftest import register
from tests.webhook.conftest import VERIFY
from tests.webhook.helpers import (
    activity_fetches,
    loaded,
    name_of,
    run_cli,
    settle,
    truth_ids,
    wait_until,
)


@pytest.fixture
def function_url(hook_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """`functions-framework --target=webhook` of the bundle venv, on a free port."""
    env = dict(os.environ) | hook_env
    with (
        (tmp_path / "webhook.log").open("w") as log,
        function_process(env, log, target="webhook", signature="http") as url,
    ):
        yield f"{url}/"


def _start(sandbox, hook_rt, hook_env, function_url):
    a, b = (int(x["id"]) for x in sandbox.athletes()[:2])
    for athlete in sandbox.athletes()[:2]:
        register(hook_rt, athlete)
    for athlete_id in (a, b):
        run_sync(SyncRequest(athlete_id, "all", trigger="test"), hook_rt.context())
    result = run_cli(hook_env, "webhook", "subscribe", "--callback-url", function_url)
    assert result.exit_code == 0, result.output
    return a, b


def test_handshake_refuses_a_wrong_verify_token(sandbox, hook_env, function_url) -> None:
    params = {"hub.mode": "subscribe", "hub.challenge": "abc", "hub.verify_token": "wrong"}
    assert requests.get(function_url, params=params, timeout=5).status_code == 403
    ok = requests.get(function_url, params=params | {"hub.verify_token": VERIFY}, timeout=2)
    assert ok.status_code == 200
    assert ok.json() == {"hub.challenge": "abc"}
    bad_env = hook_env | {"NUNIS_WEBHOOK_VERIFY_TOKEN": "not-the-one"}
    result = run_cli(bad_env, "webhook", "subscribe", "--callback-url", function_url)
    assert result.exit_code != 0
    assert "403" in result.output
    assert sandbox.app()["subscription_id"] is None


def test_create_update_delete_privacy_and_deauthorization(
    sandbox, hook_rt, hook_env, function_url, worker
) -> None:
    a, b = _start(sandbox, hook_rt, hook_env, function_url)
    assert subscription.live_id(hook_rt.store, None) == sandbox.app()["subscription_id"]
    listed = run_cli(hook_env, "webhook", "list")
    assert "(ours)" in listed.output

    new = sandbox.add_activity(a, name="Morning webhook run", start_date="2025-05-01T06:00:00Z")
    settle(sandbox, hook_rt, 1)
    assert loaded(hook_rt)[a] == truth_ids(sandbox, a)
    assert name_of(hook_rt, new["id"]) == "Morning webhook run"

    sandbox.patch_activity(new["id"], name="Renamed by webhook")
    settle(sandbox, hook_rt, 2)
    assert name_of(hook_rt, new["id"]) == "Renamed by webhook"

    victim = sorted(truth_ids(sandbox, a))[3]
    sandbox.delete_activity(victim)
    settle(sandbox, hook_rt, 3)
    assert loaded(hook_rt)[a] == truth_ids(sandbox, a)

    # revoked athlete b: purge of rows, archive, token and state
    assert loaded(hook_rt).get(b)
    sandbox.revoke(b)
    settle(sandbox, hook_rt, 4)
    assert b not in loaded(hook_rt)
    assert list(hook_rt.store.list(f"archive/strava/athlete={b}/")) == []
    keys = list(hook_rt.store.list(f"athletes/{b}/"))
    assert keys == [f"athletes/{b}/config.json"], keys
    assert AthleteRepo(hook_rt.store).load_config(b).enabled is False

    # an event for the revoked athlete is dropped
    sandbox.add_activity(b, name="after revoke", start_date="2025-05-02T06:00:00Z")
    settle(sandbox, hook_rt, 5)
    assert b not in loaded(hook_rt)
    assert loaded(hook_rt)[a] == truth_ids(sandbox, a)


def test_privacy_change_the_token_cannot_read_removes_the_row(
    sandbox, hook_rt, hook_env, function_url, worker
) -> None:
    reader = sandbox.create_athlete(activities=5, scope="read,activity:read")
    c = register(hook_rt, reader)
    run_sync(SyncRequest(c, "all", trigger="test"), hook_rt.context())
    assert run_cli(hook_env, "webhook", "subscribe", "--callback-url", function_url).exit_code == 0
    target = sorted(truth_ids(sandbox, c, visible_only=True))[0]
    assert target in loaded(hook_rt)[c]
    sandbox.patch_activity(target, visibility="only_me")
    settle(sandbox, hook_rt, 1)
    assert target not in loaded(hook_rt)[c]
    assert loaded(hook_rt)[c] == truth_ids(sandbox, c, visible_only=True)


def _post(url: str, **event: object) -> requests.Response:
    return requests.post(url, json=event, timeout=5)


def test_foreign_duplicate_and_out_of_order_events(
    sandbox, hook_rt, hook_env, function_url, worker
) -> None:
    a, _ = _start(sandbox, hook_rt, hook_env, function_url)
    ours = int(sandbox.app()["subscription_id"])
    queue = hook_rt.queue
    target = sorted(truth_ids(sandbox, a))[5]
    base = {"object_type": "activity", "object_id": target, "owner_id": a}

    # foreign subscription id: 200, nothing queued
    foreign = _post(
        function_url,
        **base,
        aspect_type="update",
        subscription_id=ours + 1,
        event_time=int(time.time()),
    )
    assert foreign.status_code == 200
    assert foreign.json() == {"status": "ignored"}
    assert queue.depth() == (0, 0)
    # malformed: 4xx, no trace
    assert requests.post(function_url, data=b"not json", timeout=5).status_code == 400
    assert _post(function_url, object_type="activity").status_code == 400
    assert requests.post(function_url, data=b"x" * 10_000, timeout=5).status_code == 413

    # five copies of one event within the window: one fetch
    sandbox.clear_requests()
    now = int(sandbox.clock())
    for _ in range(5):
        ok = _post(
            function_url,
            **base,
            aspect_type="update",
            subscription_id=ours,
            event_time=now,
            updates={"title": "x"},
        )
        assert ok.status_code == 200
    wait_until(lambda: queue.depth()[0] == 0)
    assert activity_fetches(sandbox, target) == 1

    # a real delete, then an older update arrives late: no fetch, no resurrection
    sandbox.delete_activity(target)
    settle(sandbox, hook_rt, 1)
    assert target not in loaded(hook_rt)[a]
    sandbox.clear_requests()
    late = _post(
        function_url,
        **base,
        aspect_type="update",
        subscription_id=ours,
        event_time=now - 10,
        updates={"title": "stale"},
    )
    assert late.status_code == 200
    wait_until(lambda: queue.depth()[0] == 0)
    time.sleep(0.2)
    assert activity_fetches(sandbox, target) == 0
    # a newer update for a deleted activity is fetched: Strava says 404 (re-checked once
    # after a token refresh), it stays deleted
    newer = _post(
        function_url,
        **base,
        aspect_type="create",
        subscription_id=ours,
        event_time=int(sandbox.clock()) + 5,
    )
    assert newer.status_code == 200
    wait_until(lambda: queue.depth()[0] == 0)
    assert activity_fetches(sandbox, target) == 2
    assert loaded(hook_rt)[a] == truth_ids(sandbox, a)

    # an event for an athlete we do not know: accepted, logged and dropped
    stranger = sandbox.create_athlete(activities=1)
    sandbox.add_activity(int(stranger["id"]), name="stranger")
    settle(sandbox, hook_rt, 2)
    assert int(stranger["id"]) not in loaded(hook_rt)
