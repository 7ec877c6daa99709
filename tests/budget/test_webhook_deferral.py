"""A webhook event the shared budget defers waits for the reset: no request, not lost."""

from __future__ import annotations

import time
from typing import Any

from nunis_ingest.adapters.queues import LocalQueue
from nunis_ingest.core import budget_rules as rules
from nunis_ingest.core.keys import BUDGET_KEY
from nunis_ingest.core.ratelimit import RateLimitUsage
from nunis_ingest.core.webhook_event import QueuedEvent, StravaEvent
from nunis_ingest.drivers.webhook.worker import Worker
from nunis_ingest.runtime import Runtime
from nunis_ingest.settings import load_settings
from nunis_ingest.usecases.webhook import subscription
from tests.e2e.conftest import register


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_deferred_event_waits_for_the_window_and_then_loads(sandbox: Any, app_env):
    rt = Runtime(load_settings(app_env))
    athlete = sandbox.athletes()[0]
    aid = register(rt, athlete)
    activity = sandbox.add_activity(aid, name="uploaded while the budget was spent")
    clock = Clock(rules.window_of(sandbox.clock()) + 900 + 10)  # early in a window
    queue = LocalQueue(rt.settings.data_dir / "queue.sqlite3", clock=clock)

    def context() -> Any:
        ctx = rt.context()
        ctx.now = clock
        return ctx

    spent = rules.observe(
        rules.fresh(clock.now),
        RateLimitUsage(read_usage_15min=95, read_usage_daily=200),
        clock.now,
        None,
    )
    rt.store.put(BUDGET_KEY, rules.dump(spent))  # another instance spent the window
    event = StravaEvent("activity", int(activity["id"]), "create", aid, 1, int(clock.now))
    queue.put(QueuedEvent(event, clock.now).to_bytes())
    sandbox.clear_requests()
    worker = Worker(rt, queue, context=context, reconcile_polls=False)
    clock.now += 1  # past the coalescing wait

    assert worker.run_once() == 1
    assert sandbox.requests_log()["counts"]["total"] == 0, "deferred before any request"
    assert queue.depth() == (1, 0), "kept, not dead-lettered"
    clock.now += 60
    assert worker.run_once() == 0, "it waits for the window's reset, not a short backoff"

    clock.now = rules.window_of(clock.now) + 900 + 1  # the window resets
    assert worker.run_once() == 1
    assert queue.depth() == (0, 0)
    assert int(activity["id"]) in rt.warehouse.fetch_activity_hashes(aid)
    rt.warehouse.close()  # type: ignore[attr-defined]


def test_the_local_workers_reconciliation_follows_the_scheduler(sandbox: Any, app_env):
    rt = Runtime(load_settings(app_env))
    ids = [register(rt, athlete) for athlete in sandbox.athletes()[:2]]
    worker = Worker(rt, LocalQueue(rt.settings.data_dir / "queue.sqlite3"), reconcile_polls=False)
    now = time.time()
    assert worker.reconcile_once(now) == {}, "without a subscription: the normal schedule"
    subscription.save(rt.store, 7, "https://example.invalid/hook", now)
    assert worker.reconcile_once(now) == dict.fromkeys(ids, "all")  # first loads
    assert worker.reconcile_once(time.time()) == {}, "just listed: events keep them fresh"
    assert worker.reconcile_once(time.time() + 2 * 86400) == dict.fromkeys(ids, "new")
    rt.warehouse.close()  # type: ignore[attr-defined]
