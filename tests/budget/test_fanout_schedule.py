"""The fan-out publishes only the athletes the scheduler picks (GCP's tick; local sync too)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

from nunis_ingest.adapters.queues import LocalQueue
from nunis_ingest.adapters.stores.localfs import LocalObjectStore
from nunis_ingest.core.events import SyncRequest
from nunis_ingest.core.ratelimit import RateLimitUsage
from nunis_ingest.core.state import SyncState
from nunis_ingest.settings import Settings
from nunis_ingest.usecases import budget_planner as planner
from nunis_ingest.usecases.athletes import AthleteConfig, AthleteRepo
from nunis_ingest.usecases.budget_ledger import BudgetLedger
from nunis_ingest.usecases.fanout import fan_out
from nunis_ingest.usecases.webhook import subscription

NOW = time.time()


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def _athletes(store: LocalObjectStore, count: int, listed_ago: float) -> AthleteRepo:
    repo = AthleteRepo(store)
    for athlete_id in range(1, count + 1):
        repo.save_config(AthleteConfig(athlete_id))
        state, generation = repo.load_state(athlete_id)
        state = SyncState(cursor=1, last_success_at=_iso(NOW - listed_ago))
        repo.save_state(athlete_id, state, generation)
    return repo


def _published(queue: LocalQueue) -> list[int]:
    return [json.loads(c.body)["athlete_id"] for c in queue.claim()]


def _choose(store: LocalObjectStore, budget: BudgetLedger | None = None) -> planner.Chooser:
    return lambda ids: planner.choose(store, Settings(), budget, ids, NOW)


def test_a_tick_publishes_only_the_athletes_due(tmp_path: Path):
    store = LocalObjectStore(tmp_path / "store")
    repo = _athletes(store, 200, listed_ago=60)  # 200 athletes: each every ~5 h at most
    repo.save_config(AthleteConfig(201))  # never listed: a first load
    _, generation = repo.load_state(7)
    repo.save_state(7, SyncState(cursor=1, pending={"mode": "new", "after": 1}), generation)
    queue = LocalQueue(tmp_path / "queue.sqlite3")

    ids = fan_out(SyncRequest(None, "new"), repo, queue, _choose(store))

    assert ids[:2] == [7, 201]  # the unfinished listing, then the first load
    assert len(ids) < 10, "athletes listed a minute ago wait for their slot"
    assert _published(queue) == ids


def test_an_explicit_full_refresh_still_reaches_everyone(tmp_path: Path):
    store = LocalObjectStore(tmp_path / "store")
    repo = _athletes(store, 20, listed_ago=60)
    queue = LocalQueue(tmp_path / "queue.sqlite3")
    assert planner.chooser(None, "all", False, time.time) is None  # type: ignore[arg-type]
    assert len(fan_out(SyncRequest(None, "all"), repo, queue, None)) == 20


def test_with_a_live_subscription_polling_is_a_slow_reconciliation(tmp_path: Path):
    store = LocalObjectStore(tmp_path / "store")
    subscription.save(store, 99, "https://example.invalid/webhook", NOW)
    repo = _athletes(store, 5, listed_ago=3600)  # listed an hour ago: events keep them fresh
    queue = LocalQueue(tmp_path / "queue.sqlite3")
    assert fan_out(SyncRequest(None, "new"), repo, queue, _choose(store)) == []
    stale = _athletes(LocalObjectStore(tmp_path / "other"), 5, listed_ago=2 * 86400)
    other = LocalObjectStore(tmp_path / "other")
    subscription.save(other, 99, "https://example.invalid/webhook", NOW)
    assert len(fan_out(SyncRequest(None, "new"), stale, queue, _choose(other))) == 5


def test_a_spent_window_publishes_nobody(tmp_path: Path):
    store = LocalObjectStore(tmp_path / "store")
    repo = _athletes(store, 3, listed_ago=86400)
    budget = BudgetLedger(store)
    budget.record(1, RateLimitUsage(read_usage_15min=95, read_usage_daily=400), NOW)
    budget.flush(NOW)
    queue = LocalQueue(tmp_path / "queue.sqlite3")
    assert fan_out(SyncRequest(None, "new"), repo, queue, _choose(store, budget)) == []
