"""Listed activities typed by the warehouse equal the rows ``transform.to_row`` builds.

``StagedBatch.add_activities`` lets DuckDB type an activity from its JSON when
``transform_engine`` finds that exact, and falls back to ``to_row`` otherwise. What a
user reads back must not depend on which path an activity took: the same batch staged
as ``to_row`` rows and as listed activities must read back identical, column by column,
for Strava's own reference payloads, the sandbox's pages, hostile variants and
arbitrary JSON objects.
"""

from __future__ import annotations

import copy
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nunis_ingest.adapters.warehouses.duckdb import DuckDBWarehouse
from nunis_ingest.core.transform import content_hash, to_row
from nunis_ingest.core.transform_engine import engine_line
from tests.contract.conftest import _read_duckdb_activity
from tests.unit.strategies import activities

REFERENCE = Path(__file__).resolve().parents[1] / "fixtures" / "strava"
SEEN = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
ATHLETE = 134815


def _both(items: list[dict[str, Any]], folder: Path) -> tuple[list[Any], list[Any]]:
    """Each activity read back after staging as rows, and after staging as listed."""
    read: list[list[Any]] = []
    for name, listed in (("rows", False), ("listed", True)):
        wh = DuckDBWarehouse(folder / f"{name}.duckdb", stage_dir=folder)
        wh.ensure_schema()
        batch = wh.stage(ATHLETE, "run-1")
        if listed:
            batch.add_activities([(a["id"], content_hash(a), a) for a in items], SEEN)
        else:
            batch.add([to_row(a, athlete_id=ATHLETE, run_id="run-1", seen_at=SEEN) for a in items])
        batch.commit(replace=False)
        read.append([_read_duckdb_activity(wh, a["id"]) for a in items])
    return read[0], read[1]


def _unique(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return list({a["id"]: a for a in items}.values())


def _reference() -> list[dict[str, Any]]:
    found = []
    for name in ("activity.3.json", "activity-manual.3.json", "athlete-activities.swagger.json"):
        data = json.loads((REFERENCE / name).read_text())
        found += data if isinstance(data, list) else [data]
    return found


def _hostile(base: dict[str, Any]) -> list[dict[str, Any]]:
    """Variants of a real activity that no fast path may type differently."""
    changes: list[dict[str, Any]] = [
        {"utc_offset": -25200.0, "moving_time": 12.5, "elapsed_time": 1e19},
        {"distance": "12", "name": 123, "trainer": 1, "kudos_count": True},
        {"start_date": "2024-02-30T10:00:00Z", "start_date_local": "2024-01-01T24:00:00Z"},
        {"start_date": "2024-01-01T10:00:00+02:00", "start_date_local": "2024-01-01T10:00:00"},
        {"start_date": "0000-01-01T00:00:00Z", "start_date_local": "９９９９-01-01T00:00:00Z"},
        {"start_latlng": [1.5, None], "end_latlng": "x"},
        {"start_latlng": [1, 2], "end_latlng": [True, 1.0]},
        {"map": {"id": 5, "extra": 1}, "athlete": [1]},
        {"athlete": {"id": 7.0, "resource_state": "1"}},
        {"upload_id": 987654321234567891234, "pr_count": 2**63 - 1},
        {"upload_id": 2**64 - 1, "max_speed": float("nan"), "average_speed": float("inf")},
        {"name": "Run \ud83d", "map": {"id": "a\udc00"}},
        {"name": "a\x00b 🏃", "raw": {"x": 1}, "run_id": "mine"},
        {"athlete_id": 5, "content_hash": "x"},
    ]
    out = []
    for offset, change in enumerate(changes, start=1):
        variant = copy.deepcopy(base) | change
        variant["id"] = base["id"] + offset
        out.append(variant)
    return out


def test_reference_and_hostile_payloads_read_back_alike(tmp_path: Path) -> None:
    base = _reference()
    items = _unique([a for b in base for a in (b, *_hostile(b))])
    as_rows, as_listed = _both(items, tmp_path)
    assert as_listed == as_rows
    fast = [a for a in items if engine_line(a, content_hash(a)) is not None]
    assert fast  # both paths ran
    assert len(fast) < len(items)


def test_sandbox_pages_take_the_fast_path_and_read_back_alike(sandbox: Any, tmp_path: Path) -> None:
    athlete = sandbox.athletes()[0]
    import requests

    body = requests.get(
        f"{sandbox.base_url}/api/v3/athlete/activities",
        params={"per_page": 200},
        headers={"Authorization": f"Bearer {athlete['access_token']}"},
        timeout=30,
    ).json()
    assert body, "the sandbox athlete has activities"
    fast = [a for a in body if engine_line(a, content_hash(a)) is not None]
    assert len(fast) == len(body)  # Strava's usual payloads never need to_row
    as_rows, as_listed = _both(body, tmp_path)
    assert as_listed == as_rows


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(activities(), min_size=1, max_size=6))
def test_arbitrary_activities_read_back_alike(items: list[dict[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        as_rows, as_listed = _both(_unique(items), Path(folder))
    assert as_listed == as_rows
