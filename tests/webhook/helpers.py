"""Shared steps of the webhook end-to-end tests."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from click.testing import CliRunner

from nunis_ingest.cli import cli
from nunis_ingest.runtime import Runtime
from nunis_ingest.webhook.queue import LocalQueue


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


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99
