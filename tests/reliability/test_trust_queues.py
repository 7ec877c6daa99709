"""Issue 19, the queue and event cases: one entry or one event never holds back the rest;
outside times are clamped; the lines a user must see are printed without ``-v``.

The real pipeline over HTTP against strava_sandbox (its fault API makes one activity's
streams fail forever or answer a list, one detail answer 404 once), real DuckDB, the
local SQLite event queue, and for the GCP drain gcloud's Pub/Sub emulator.
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from nunis_ingest.adapters.queues import MAX_ATTEMPTS, LocalQueue
from nunis_ingest.core.keys import archive_enrich_key
from nunis_ingest.core.token import Token
from nunis_ingest.core.webhook_event import QueuedEvent, parse_event
from nunis_ingest.drivers.cli.main import cli
from nunis_ingest.drivers.webhook.pull import DrainReport, EventSubscription, apply_batch
from nunis_ingest.drivers.webhook.worker import Worker
from nunis_ingest.usecases.athletes import AthleteRepo
from nunis_ingest.usecases.webhook.process import process
from tests.reliability.conftest import (
    assert_converged,
    new_athlete,
    register,
    state_of,
    warehouse_rows,
)

DAY = 86400
ACTIVITIES = "/api/v3/activities/"


def _newest_with_streams(sandbox: Any, aid: int) -> int:
    acts = [a for a in sandbox.truth(aid) if not a.get("manual")]
    return int(max(acts, key=lambda a: (a["start_date"], a["id"]))["id"])


def _requests_to(sandbox: Any, path: str) -> int:
    return sum(1 for r in sandbox.requests_log()["requests"] if r["path"] == path)


def _status(rt: Any, aid: int) -> dict[str, Any]:
    env = {"NUNIS_BACKEND": "local", "NUNIS_DATA_DIR": str(rt.settings.data_dir)}
    rt.warehouse.close()
    shown = CliRunner().invoke(cli, ["status", "--json"], env=env)
    rt.__dict__.pop("warehouse", None)
    return next(a for a in json.loads(shown.output) if a["athlete_id"] == aid)


# --- the enrichment queue -------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [{"kind": "status", "status": 500}, {"kind": "body", "body": "[]"}],
    ids=["500-forever", "a-list-not-an-object"],
)
def test_one_activity_whose_streams_always_fail_starves_no_other(sandbox, rt, pipe, fault):
    aid = new_athlete(sandbox, rt, 8, details=True, streams=True)
    bad = _newest_with_streams(sandbox, aid)
    path = f"{ACTIVITIES}{bad}/streams"
    sandbox.add_fault(method="GET", path=path, **fault)
    first = pipe.run(aid, "all").report
    assert first is not None
    assert first.outcome == "success"
    unenriched = {i for i, _ in rt.warehouse.fetch_unenriched(aid, "activity_streams")}
    assert unenriched == {bad}, "older activities got no streams behind the failing one"
    assert set(state_of(rt, aid).enrich) == {bad}
    # later polls retry it after a backoff, not on every run
    spent = _requests_to(sandbox, path)
    for _ in range(8):
        sandbox.advance_clock(900)
        pipe.run(aid, "new")
    assert _requests_to(sandbox, path) - spent <= 2 * spent, "it is retried on every run"
    for _ in range(6):  # days later: parked after repeated failures, shown in status
        sandbox.advance_clock(DAY)
        pipe.run(aid, "new")
    shown = _status(rt, aid)
    assert str(bad) in (shown["enrich_parked"] or {}), shown
    assert "parked" in shown["enrichment"]
    sandbox.clear_faults()
    sandbox.advance_clock(8 * DAY)  # the weekly retry of a parked entry
    pipe.run(aid, "new")
    assert rt.warehouse.fetch_unenriched(aid, "activity_streams") == []
    assert state_of(rt, aid).enrich == {}
    assert state_of(rt, aid).enrich_failed == {}


def test_a_one_off_404_on_a_detail_is_retried_not_marked_done(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 6, details=True)
    newest = _newest_with_streams(sandbox, aid)
    sandbox.add_fault(
        method="GET", path=f"{ACTIVITIES}{newest}", kind="status", status=404, times=1
    )
    pipe.run(aid, "all")
    assert newest not in rt.warehouse.fetch_detail_fingerprints(aid)
    for _ in range(3):
        sandbox.advance_clock(3600)
        pipe.run(aid, "new")
    assert newest in rt.warehouse.fetch_detail_fingerprints(aid), "the detail never came"
    assert_converged(rt, sandbox, aid)


def test_activities_deleted_while_queued_do_not_stall_the_drain(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 40, details=False)
    pipe.run(aid, "all")
    newest = sorted(sandbox.truth(aid), key=lambda a: a["start_date"])[-6:]
    for activity in newest:  # gone on Strava; still in the warehouse until confirmed
        sandbox.delete_activity(activity["id"])
    repo = AthleteRepo(rt.store)
    repo.save_config(dataclasses.replace(repo.load_config(aid), details=True))
    pipe.run(aid, "new")  # queues all 40 newest first: the 6 deleted answer 404
    have = rt.warehouse.fetch_detail_fingerprints(aid)
    live = {int(a["id"]) for a in sandbox.truth(aid)}
    assert live <= set(have), f"{len(live - set(have))} live activities got no detail"


def _detail_ids(rt: Any, aid: int) -> dict[int, int]:
    """activity_id -> the id inside the raw detail stored for it."""
    with rt.warehouse.reader() as con:
        rows = con.execute(
            "select activity_id, cast(json_extract(raw, '$.id') as bigint) "
            "from activity_details where athlete_id = ?",
            [aid],
        ).fetchall()
    return {int(a): int(b) for a, b in rows}


def test_an_archived_detail_holding_another_activity_is_fetched_again(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 6, details=True)
    pipe.run(aid, "all")
    ids = sorted(_detail_ids(rt, aid))
    mine, other = ids[-1], ids[0]
    prefix = f"archive/strava/athlete={aid}/"
    theirs = next(k for k in rt.store.list(prefix) if k.endswith(f"/detail-{other}.json"))
    repo = AthleteRepo(rt.store)
    state, generation = repo.load_state(aid)
    queued = int(sandbox.clock()) + 60
    start = int(sandbox.clock()) - DAY
    queue = {mine: (start, "d", queued)}
    repo.save_state(aid, dataclasses.replace(state, enrich=queue), generation)
    planted = archive_enrich_key(aid, mine, "detail", queued)  # what a crashed run left
    rt.store.put(planted, rt.store.get(theirs).data)
    pipe.run(aid, "new")
    assert _detail_ids(rt, aid)[mine] == mine, "another activity's detail was stored as its own"


def test_a_detail_too_large_for_a_row_is_backed_off_and_the_rest_enriched(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 8, details=True)
    newest = _newest_with_streams(sandbox, aid)
    huge = {"id": newest, "athlete": {"id": aid}, "description": "x" * (17 * 2**20)}
    sandbox.add_fault(
        method="GET", path=f"{ACTIVITIES}{newest}", kind="body", body=json.dumps(huge)
    )
    report = pipe.run(aid, "all").report
    assert report is not None
    assert report.outcome == "success", report.summary()
    have = set(rt.warehouse.fetch_detail_fingerprints(aid))
    assert have == {int(a["id"]) for a in sandbox.truth(aid)} - {newest}
    assert newest in state_of(rt, aid).enrich_failed


# --- webhook events ---------------------------------------------------------------------


def _event(aid: int, activity_id: int, aspect: str, event_time: int) -> QueuedEvent:
    doc = {
        "object_type": "activity",
        "object_id": activity_id,
        "aspect_type": aspect,
        "owner_id": aid,
        "subscription_id": 1,
        "event_time": event_time,
        "updates": {},
    }
    return QueuedEvent(parse_event(doc), time.time())


def _three_creates_the_first_poisoned(sandbox: Any, rt: Any, pipe: Any) -> tuple[int, list]:
    aid = new_athlete(sandbox, rt, 3, details=False)
    pipe.run(aid, "all")
    now = int(sandbox.clock())
    made = [int(sandbox.add_activity(aid, start_date=now - 600 * n)["id"]) for n in (1, 2, 3)]
    sandbox.add_fault(method="GET", path=f"{ACTIVITIES}{made[0]}", kind="status", status=500)
    return aid, [_event(aid, i, "create", now) for i in made]


def test_one_poison_event_does_not_hold_back_the_athletes_others_local_worker(
    sandbox, rt, pipe, tmp_path
):
    aid, events = _three_creates_the_first_poisoned(sandbox, rt, pipe)
    clock = [1000.0]
    queue = LocalQueue(tmp_path / "events.sqlite3", clock=lambda: clock[0])
    for item in events:
        queue.put(item.to_bytes())
    worker = Worker(rt, queue, context=pipe.context, reconcile_polls=False)
    for _ in range(MAX_ATTEMPTS + 1):
        clock[0] += 3600
        worker.run_once()
    loaded = dict(warehouse_rows(rt, aid))
    good = [e.event.object_id for e in events[1:]]
    assert all(i in loaded for i in good), "the good events were held back"
    assert events[0].event.object_id not in loaded
    assert queue.depth() == (0, 1), "only the poison event is dead-lettered"


@pytest.mark.pubsub
def test_one_poison_event_does_not_hold_back_the_athletes_others_pull(
    sandbox, rt, pipe, pubsub_endpoint, monkeypatch
):
    from google.cloud import pubsub_v1

    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", pubsub_endpoint)
    aid, events = _three_creates_the_first_poisoned(sandbox, rt, pipe)
    suffix = time.monotonic_ns()
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    topic = publisher.topic_path("nunis-test", f"events-{suffix}")
    path = subscriber.subscription_path("nunis-test", f"pull-{suffix}")
    publisher.create_topic(request={"name": topic})
    subscriber.create_subscription(request={"name": path, "topic": topic})
    try:
        for item in events:
            publisher.publish(topic, item.to_bytes()).result(timeout=10)
        subscription = EventSubscription("nunis-test", f"pull-{suffix}", client=subscriber)
        messages: list[tuple[str, bytes]] = []
        deadline = time.monotonic() + 20
        while len(messages) < 3 and time.monotonic() < deadline:
            messages += subscription.pull(10)
        assert len(messages) == 3
        report, retry = DrainReport(), []
        apply_batch(subscription, messages, pipe.context, report, retry)
        subscription.release(retry)
        assert (report.applied, report.retried, report.dropped) == (2, 1, 0)
        again = subscription.pull(10)
        assert [json.loads(d)["webhook_event"]["object_id"] for _, d in again] == [
            events[0].event.object_id
        ], "only the poison event comes back"
        subscription.ack([a for a, _ in again])
    finally:
        subscriber.delete_subscription(request={"subscription": path})
        publisher.delete_topic(request={"topic": topic})
        subscriber.close()
    loaded = dict(warehouse_rows(rt, aid))
    assert all(e.event.object_id in loaded for e in events[1:])


def test_a_forged_delete_dated_far_ahead_cannot_swallow_a_later_create(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 3, details=False)
    pipe.run(aid, "all")
    now = int(sandbox.clock())
    probe = int(sandbox.add_activity(aid, start_date=now - 7200)["id"])
    future_id = probe + 1  # the sandbox numbers activities in order: not created yet
    forged = _event(aid, future_id, "delete", 2**62)
    assert [o.action for o in process([forged], pipe.context())] == ["deleted"]
    created = int(sandbox.add_activity(aid, start_date=now - 3600, name="real")["id"])
    assert created == future_id
    sandbox.advance_clock(60)
    real = _event(aid, created, "create", int(sandbox.clock()))
    outcomes = process([real], pipe.context())
    assert [o.action for o in outcomes] == ["loaded"], outcomes
    assert created in dict(warehouse_rows(rt, aid))


# --- what a user must see without -v ---------------------------------------------------------


def _token_of(sandbox: Any, rt: Any, athlete_id: int, accepted: str) -> dict[str, Any]:
    """A fresh token of ``athlete_id`` through Strava's OAuth: the athlete ticks ``accepted``."""
    base, settings = sandbox.base_url, rt.settings
    redirect = requests.get(
        f"{base}/oauth/authorize",
        params={
            "client_id": settings.strava_client_id,
            "redirect_uri": "http://127.0.0.1/cb",
            "response_type": "code",
            "scope": "read,activity:read_all",
            "athlete_id": athlete_id,
            "accept_scope": accepted,
        },
        allow_redirects=False,
        timeout=10,
    ).headers["Location"]
    code = redirect.split("code=")[1].split("&")[0]
    answer = requests.post(
        f"{base}/oauth/token",
        data={
            "client_id": settings.strava_client_id,
            "client_secret": settings.strava_client_secret,
            "code": code,
            "grant_type": "authorization_code",
        },
        timeout=10,
    )
    token: dict[str, Any] = answer.json()
    return token


def _add(rt: Any, athlete_id: int, refresh_token: str, *scope: str) -> None:
    env = {"NUNIS_BACKEND": "local", "NUNIS_DATA_DIR": str(rt.settings.data_dir)}
    args = ["athlete", "add", str(athlete_id), "--refresh-token", refresh_token, "--no-details"]
    done = CliRunner().invoke(cli, [*args, *scope], env=env)
    assert done.exit_code == 0, done.output


@pytest.mark.parametrize("claimed", [(), ("--scope", "read,activity:read_all")])
def test_a_token_of_unknown_or_typed_scope_confirms_no_deletion(sandbox, rt, pipe, claimed):
    aid = new_athlete(sandbox, rt, 300, details=False)
    pipe.run(aid, "all")
    only_me = sum(1 for a in sandbox.truth(aid) if a.get("visibility") == "only_me")
    assert only_me > 0
    narrow = _token_of(sandbox, rt, aid, "read,activity:read")  # the athlete unticked read_all
    _add(rt, aid, narrow["refresh_token"], *claimed)  # no scope, or a wrong one typed by hand
    for mode in ("all", "new", "new"):
        pipe.run(aid, mode)
    assert_converged(rt, sandbox, aid)  # the hidden Only Me rows are all still there


def test_another_athletes_token_confirms_no_deletion(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 60, details=False)
    pipe.run(aid, "all")
    empty = sandbox.create_athlete(activities=0)  # an account with nothing to list
    token = Token(empty["access_token"], empty["refresh_token"], 0, "read,activity:read_all")
    AthleteRepo(rt.store).save_token(aid, token)  # Strava stated its scope; no athlete named
    said = []
    for mode in ("all", "new", "new"):
        outcome = pipe.run(aid, mode)
        assert outcome.report is None or outcome.report.result.deleted == 0
        said.append(f"{outcome.error!r} {outcome.report!r}")
    assert "TokenMismatch" in said[0], said[0]
    assert_converged(rt, sandbox, aid)


def test_athlete_add_says_only_me_activities_may_be_missing(sandbox, rt):
    athlete = sandbox.create_athlete(activities=2)
    env = {"NUNIS_BACKEND": "local", "NUNIS_DATA_DIR": str(rt.settings.data_dir)}
    args = ["athlete", "add", str(athlete["id"]), "--refresh-token", athlete["refresh_token"]]
    added = CliRunner().invoke(cli, args, env=env)
    assert added.exit_code == 0, added.output
    assert "Only Me activities will be missing" in added.output
    assert athlete["refresh_token"] not in added.output
    declared = CliRunner().invoke(cli, [*args, "--scope", "read,activity:read_all"], env=env)
    assert "Only Me activities will be missing" not in declared.output
    assert "not stated by Strava" in declared.output  # deletions wait for `auth`


def test_sync_prints_a_narrow_scope_warning_without_verbose(sandbox, rt):
    athlete = sandbox.create_athlete(activities=4, scope="read,activity:read")
    aid = register(rt, athlete)
    app = sandbox.app()
    env = {
        "NUNIS_BACKEND": "local",
        "NUNIS_DATA_DIR": str(rt.settings.data_dir),
        "NUNIS_STRAVA_BASE_URL": sandbox.base_url,
        "STRAVA_CLIENT_ID": str(app["client_id"]),
        "STRAVA_CLIENT_SECRET": str(app["client_secret"]),
    }
    synced = CliRunner().invoke(cli, ["sync", "--athlete", str(aid), "--no-progress"], env=env)
    assert synced.exit_code == 0, synced.output
    assert "warning:" in synced.output
    assert "activity:read_all" in synced.output
    assert AthleteRepo(rt.store).load_token(aid).refresh_token not in synced.output
