"""Fan-out: one scheduled message becomes one message per enabled athlete."""

from __future__ import annotations

import base64

from nunis_ingest.adapters.queues import LocalQueue
from nunis_ingest.adapters.stores.localfs import LocalObjectStore
from nunis_ingest.core.events import SyncRequest, parse_pubsub
from nunis_ingest.usecases.athletes import AthleteConfig, AthleteRepo
from nunis_ingest.usecases.fanout import fan_out


def test_one_message_per_enabled_athlete_that_parses_back(tmp_path):
    repo = AthleteRepo(LocalObjectStore(tmp_path / "store"))
    for athlete_id, enabled in ((11, True), (12, False), (13, True)):
        repo.save_config(AthleteConfig(athlete_id, enabled))
    queue = LocalQueue(tmp_path / "queue.sqlite3")

    assert fan_out(SyncRequest(None, "all", force=True), repo, queue) == [11, 13]

    messages = [
        parse_pubsub({"message": {"data": base64.b64encode(c.body).decode()}})
        for c in queue.claim()
    ]
    assert [(m.athlete_id, m.mode, m.force) for m in messages] == [
        (11, "all", True),
        (13, "all", True),
    ]


def test_no_athlete_configured_publishes_nothing(tmp_path):
    queue = LocalQueue(tmp_path / "queue.sqlite3")
    repo = AthleteRepo(LocalObjectStore(tmp_path / "store"))
    assert fan_out(SyncRequest(None, "new"), repo, queue) == []
    assert queue.claim() == []


def test_a_corrupt_config_does_not_stop_the_athletes_after_it(tmp_path):
    store = LocalObjectStore(tmp_path / "store")
    repo = AthleteRepo(store)
    for athlete_id in (11, 12, 13):
        repo.save_config(AthleteConfig(athlete_id))
    store.put("athletes/12/config.json", b"{ not json")
    queue = LocalQueue(tmp_path / "queue.sqlite3")

    assert fan_out(SyncRequest(None, "new"), repo, queue) == [11, 12, 13]
    assert len(queue.claim()) == 3  # 12's own run reports its broken config
