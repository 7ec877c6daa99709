"""A small simulated morning: 12 athletes, 06:00-08:00 of sandbox time, default limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.simulate import simulate


@pytest.mark.timeout(120)
def test_small_morning_has_no_429_fresh_events_and_the_warehouse_matches(tmp_path: Path) -> None:
    r = simulate(12, 2, tmp_path / "budget.png", start_hour=6)
    assert r["counts"]["by_status"].get("429", 0) == 0
    assert r["uploads"] > 0
    assert r["latency_p99"] < 60
    # only edits Strava sends no event for may still be stale before their reconciliation
    assert all(why == "stale" for _, _, why in r["differ"]), r["differ"]
    assert (tmp_path / "budget.png").stat().st_size > 0
