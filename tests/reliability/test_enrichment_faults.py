"""Faults in the middle of enrichment: a 429, a 5xx, a crash. Nothing lost, nothing
fetched twice: every activity's detail and streams are requested at most once across all
runs, and the end state equals what Strava serves."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from nunis_ingest.adapters.warehouses.duckdb import DuckDBWarehouse
from tests.reliability.conftest import new_athlete, state_of

ACTIVITIES = "/api/v3/activities/"


def _gets(sandbox: Any) -> Counter[str]:
    """Successful detail and stream GETs, by path (each must appear once at most)."""
    return Counter(
        e["path"]
        for e in sandbox.requests_log()["requests"]
        if e["path"].startswith(ACTIVITIES) and e["status"] == 200
    )


def _detail_rows(rt: Any, aid: int) -> dict[str, int]:
    with rt.warehouse.reader() as con:  # type: ignore[attr-defined]
        out = {}
        for table in ("activity_details", "activity_laps", "activity_streams"):
            (out[table],) = con.execute(
                f"select count(*) from {table} where athlete_id = ?",  # noqa: S608
                [aid],
            ).fetchone()
    return out


def _drain(pipe: Any, sandbox: Any, rt: Any, aid: int, runs: int = 6) -> None:
    for _ in range(runs):
        if not state_of(rt, aid).enrich:
            return
        sandbox.advance_clock(900)
        pipe.run(aid, "new")
    assert not state_of(rt, aid).enrich, "the queue did not drain"


def _expected(sandbox: Any, rt: Any, aid: int) -> dict[str, int]:
    """Row counts computed from what Strava serves for each activity (limits lifted)."""
    import requests

    from nunis_ingest.usecases.athletes import AthleteRepo

    sandbox.set_rate_limits(
        read_15min=10**9, read_daily=10**9, overall_15min=10**9, overall_daily=10**9
    )
    token = AthleteRepo(rt.store).load_token(aid).access_token
    headers = {"Authorization": f"Bearer {token}"}
    out = {"activity_details": 0, "activity_laps": 0, "activity_streams": 0}
    for activity in sandbox.truth(aid):
        base = f"{sandbox.base_url}/api/v3/activities/{activity['id']}"
        detail = requests.get(base, headers=headers, timeout=10).json()
        out["activity_details"] += 1
        out["activity_laps"] += len(detail.get("laps") or [])
        got = requests.get(
            base + "/streams",
            params={"keys": "time", "key_by_type": "true"},
            headers=headers,
            timeout=10,
        )
        if got.status_code == 200:
            out["activity_streams"] += len(got.json()["time"]["data"])
    return out


@pytest.mark.parametrize("status", [429, 503])
def test_a_429_or_5xx_mid_enrichment_loses_nothing_and_fetches_nothing_twice(
    sandbox, rt, pipe, status
):
    aid = new_athlete(sandbox, rt, 12, streams=True)
    sandbox.add_fault(kind="status", method="GET", path=ACTIVITIES, status=status, after=7, times=8)
    first = pipe.run(aid, "all")
    assert first.decision == "ack"
    assert first.report is not None
    assert first.report.outcome == "success"  # the listing is whole; enrichment paused
    left = state_of(rt, aid).enrich
    assert left, "the fault must have stopped the drain part-way"
    sandbox.clear_faults()
    _drain(pipe, sandbox, rt, aid)
    gets = _gets(sandbox)
    assert max(gets.values()) == 1, [p for p, n in gets.items() if n > 1]
    assert _detail_rows(rt, aid) == _expected(sandbox, rt, aid)


class _Crash(BaseException):
    """A process killed in the middle of a write (not an error anything may catch)."""


def test_a_crash_mid_enrichment_refetches_nothing(sandbox, rt, pipe, monkeypatch):
    aid = new_athlete(sandbox, rt, 30, streams=True)
    real = DuckDBWarehouse.replace_details
    calls = {"n": 0}

    def crash_on_second(self: Any, athlete_id: int, write: Any) -> Any:
        calls["n"] += 1
        if calls["n"] >= 2:  # the process is gone: no later write happens either
            raise _Crash
        return real(self, athlete_id, write)

    monkeypatch.setattr(DuckDBWarehouse, "replace_details", crash_on_second)
    with pytest.raises(_Crash):
        pipe.run(aid, "all")
    monkeypatch.setattr(DuckDBWarehouse, "replace_details", real)
    fetched_before = set(_gets(sandbox))
    assert fetched_before, "the crash must come after some fetches"
    sandbox.clear_requests()
    _drain(pipe, sandbox, rt, aid, runs=8)
    refetched = fetched_before & set(_gets(sandbox))
    assert not refetched, f"fetched twice: {sorted(refetched)[:5]}"
    assert _detail_rows(rt, aid) == _expected(sandbox, rt, aid)
