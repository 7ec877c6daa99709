"""Shared steps of the webhook end-to-end tests."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from click.testing import CliRunner

from nunis_ingest.adapters.queues import LocalQueue
from nunis_ingest.context import SyncContext
from nunis_ingest.core.events import SyncRequest
from nunis_ingest.core.run_report import RunReport
from nunis_ingest.core.webhook_event import QueuedEvent, StravaEvent
from nunis_ingest.drivers.cli.main import cli
from nunis_ingest.runtime import Runtime
from nunis_ingest.usecases.sync import run_sync


def run_cli(env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def wait_until(predicate: Callable[[], bool], timeout: float = 15.0, step: float = 0.01) -> float:
    """Seconds until ``predicate()`` held; raises on timeout."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError("condition not reached in time")
        time.sleep(step)
    return time.monotonic() - started


def settle(sandbox: Any, rt: Runtime, deliveries: int) -> None:
    """Wait until Strava delivered ``deliveries`` events and the worker drained the queue."""
    done = sandbox.wait_for_deliveries(deliveries, timeout=20)
    assert len(done) >= deliveries, done
    assert all(d["delivered"] for d in done), done
    queue = rt.queue
    assert isinstance(queue, LocalQueue)
    wait_until(lambda: queue.depth()[0] == 0)


def loaded(rt: Runtime) -> dict[int, set[int]]:
    with rt.warehouse.reader() as con:  # type: ignore[attr-defined]
        rows = con.execute("SELECT athlete_id, id FROM activities").fetchall()
    out: dict[int, set[int]] = {}
    for athlete_id, activity_id in rows:
        out.setdefault(int(athlete_id), set()).add(int(activity_id))
    return out


def name_of(rt: Runtime, activity_id: int) -> str | None:
    with rt.warehouse.reader() as con:  # type: ignore[attr-defined]
        row = con.execute("SELECT name FROM activities WHERE id = ?", [activity_id]).fetchone()
    return None if row is None else str(row[0])


def truth_ids(sandbox: Any, athlete_id: int, visible_only: bool = False) -> set[int]:
    return {
        int(a["id"])
        for a in sandbox.truth(athlete_id)
        if not (visible_only and a.get("visibility") == "only_me")
    }


def activity_fetches(sandbox: Any, activity_id: int) -> int:
    log = sandbox.requests_log()["requests"]
    return sum(1 for r in log if r["path"] == f"/api/v3/activities/{activity_id}")


def event_of(
    aspect: str, object_id: int, owner_id: int, event_time: int, **updates: str
) -> QueuedEvent:
    """A queued Strava event as the receiver would enqueue it (``activity`` unless the
    object is the athlete itself)."""
    kind = "athlete" if object_id == owner_id else "activity"
    event = StravaEvent(kind, object_id, aspect, owner_id, 1, event_time, dict(updates))
    return QueuedEvent(event, float(event_time))


def deauthorization(athlete_id: int, event_time: int) -> QueuedEvent:
    return event_of("update", athlete_id, athlete_id, event_time, authorized="false")


def event_context(rt: Runtime, sandbox: Any) -> SyncContext:
    """The runtime's context on the sandbox clock, backoff not waited out."""
    ctx = rt.context()
    ctx.now = sandbox.clock
    ctx.sleep = lambda seconds: None
    return ctx


def poll(rt: Runtime, sandbox: Any, athlete_id: int, mode: str = "new") -> RunReport:
    request = SyncRequest(athlete_id=athlete_id, mode=mode, trigger="test")  # type: ignore[arg-type]
    return run_sync(request, event_context(rt, sandbox))


def raw_of(rt: Runtime, activity_id: int) -> dict[str, Any] | None:
    with rt.warehouse.reader() as con:  # type: ignore[attr-defined]
        row = con.execute("SELECT raw FROM activities WHERE id = ?", [activity_id]).fetchone()
    if row is None:
        return None
    value = row[0]
    return json.loads(value) if isinstance(value, str) else dict(value)
