"""The ledger in a real object store: the local folder and the GCS stand-in (CAS 412s)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nunis_ingest.adapters.stores.localfs import LocalObjectStore
from nunis_ingest.core import budget_rules as rules
from nunis_ingest.core.keys import BUDGET_KEY
from nunis_ingest.core.ratelimit import RateLimitUsage
from nunis_ingest.errors import StoreTransientError
from nunis_ingest.ports import ObjectStore
from nunis_ingest.usecases.budget_ledger import BudgetLedger
from tests.gcp.adapters import gcs_store

T0 = 20_000 * 86400 + 10 * 3600 + 30  # 10:00:30 UTC


@pytest.fixture(params=["localfs", pytest.param("gcs", marks=pytest.mark.gcp)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    if request.param == "localfs":
        yield LocalObjectStore(tmp_path / "store")
    else:
        yield gcs_store(request, tmp_path)


class StravaCount:
    """Strava's side: one counter for the whole app, as the headers report it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.used = 0

    def read(self) -> RateLimitUsage:
        with self.lock:
            self.used += 1
            return RateLimitUsage(
                read_limit_15min=10_000,
                read_limit_daily=100_000,
                read_usage_15min=self.used,
                read_usage_daily=self.used,
            )


def stored(store: ObjectStore) -> rules.Ledger:
    found = store.get(BUDGET_KEY)
    assert found is not None
    return rules.load(found.data, T0)


def test_two_processes_racing_lose_no_update(store):
    strava = StravaCount()
    ledgers = [BudgetLedger(store, flush_every=3), BudgetLedger(store, flush_every=3)]
    start = threading.Barrier(2)

    def run(ledger: BudgetLedger, athlete_id: int) -> None:
        start.wait()
        for _ in range(30):
            assert ledger.admit(athlete_id, "poll", T0).allowed
            ledger.record(athlete_id, strava.read(), T0)
        ledger.flush(T0)

    threads = [threading.Thread(target=run, args=(ledgers[i], 1 + i)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    final = stored(store)
    assert final.used_15min == 60  # Strava's last count: the maximum wins
    assert dict(final.by_athlete) == {1: 30, 2: 30}  # per-athlete draws add up exactly
    assert sum(ledger.writes for ledger in ledgers) >= 2
    print("CAS conflicts retried:", sum(ledger.conflicts for ledger in ledgers))


def test_a_spent_window_seen_by_one_process_stops_another_before_any_request(store):
    first = BudgetLedger(store)
    first.record(7, RateLimitUsage(read_usage_15min=90, read_usage_daily=300), T0)
    first.flush(T0)
    second = BudgetLedger(store)  # another function instance
    verdict = second.admit(8, "poll", T0)
    assert not verdict.allowed
    assert verdict.until == rules.window_of(T0) + 900
    assert 8 in stored(store).waiting  # it wanted reads: it counts for the next share
    assert second.admit(8, "poll", T0 + 900).allowed  # the next window


def test_a_stale_ledger_in_the_store_is_reset(store):
    old = rules.Ledger(window_start=rules.window_of(T0) - 2 * 86400, used_15min=100, used_daily=999)
    store.put(BUDGET_KEY, rules.dump(old))
    ledger = BudgetLedger(store)
    assert ledger.admit(1, "poll", T0).allowed
    assert ledger.snapshot(T0).used_daily == 0


def test_reads_are_cached_and_writes_batched(tmp_path):
    store = LocalObjectStore(tmp_path / "store")
    clock = iter(float(i) / 10 for i in range(10**6))  # 0.1 s per reading
    ledger = BudgetLedger(store, monotonic=lambda: next(clock), flush_every=5)
    for used in range(1, 21):
        ledger.admit(1, "poll", T0)
        ledger.record(1, RateLimitUsage(read_usage_15min=used, read_usage_daily=used), T0)
    assert ledger.writes == 4  # every 5 responses
    assert ledger.reads <= 2  # 20 admits in ~4 s: the store read once, maybe twice


class FailingStore:
    """Every call fails as Cloud Storage does when it is down."""

    def get(self, key: str) -> Any:
        raise StoreTransientError("Cloud Storage unavailable")

    def put(self, key: str, data: bytes, *, if_generation: int | None = None) -> int:
        raise StoreTransientError("Cloud Storage unavailable")

    def delete(self, key: str, *, if_generation: int | None = None) -> bool:
        raise StoreTransientError("Cloud Storage unavailable")

    def list(self, prefix: str) -> Iterator[str]:
        raise StoreTransientError("Cloud Storage unavailable")


def test_a_failing_store_never_fails_a_sync_and_the_own_headers_still_count():
    ledger = BudgetLedger(FailingStore(), flush_every=1)
    assert ledger.admit(1, "poll", T0).allowed
    ledger.record(1, RateLimitUsage(read_usage_15min=90, read_usage_daily=95), T0)
    ledger.flush(T0)
    assert not ledger.admit(1, "poll", T0).allowed  # what this process saw still holds
