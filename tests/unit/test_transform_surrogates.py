"""Lone UTF-16 surrogates (an emoji cut in half: valid JSON, invalid UTF-8) are repaired.

Strava can send ``"name": "Run \\ud83d"``; ``json.loads`` turns it into a Python string no
UTF-8 encoder accepts, and before the repair it made the whole DuckDB load fail.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nunis_ingest.adapters.warehouses.duckdb import DuckDBWarehouse
from nunis_ingest.adapters.warehouses.validate import check_row
from nunis_ingest.core.transform import content_hash, repair, to_row

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
ME = 42

# every code point, lone surrogates (category Cs) included
any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)
values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | any_text,
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(any_text, kids, max_size=3),
    max_leaves=10,
)
typed = st.fixed_dictionaries(
    {},
    optional={
        "name": any_text,
        "sport_type": any_text,
        "timezone": any_text,
        "map": st.fixed_dictionaries({"id": any_text, "summary_polyline": any_text}),
        "start_date": st.sampled_from(["2024-01-01T00:00:00Z", "x\ud800"]),
    },
)


@st.composite
def activities(draw: st.DrawFn) -> dict[str, Any]:
    activity: dict[str, Any] = draw(st.dictionaries(any_text, values, max_size=5))
    activity.update(draw(typed))
    activity["id"] = draw(st.integers(1, 2**63 - 1))
    return activity


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from strings(k)
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> DuckDBWarehouse:
    path: Path = tmp_path_factory.mktemp("surrogates")
    wh = DuckDBWarehouse(path / "w.duckdb", stage_dir=path)
    wh.ensure_schema()
    return wh


def test_a_name_with_half_an_emoji_is_repaired() -> None:
    activity = json.loads('{"id": 7, "name": "Run \\ud83d", "raw_only": ["\\udc00x"]}')
    row = to_row(activity, athlete_id=ME, run_id="r", seen_at=T0)
    assert row["name"] == "Run \ufffd"
    assert row["raw"]["name"] == "Run \ufffd"
    assert row["raw"]["raw_only"] == ["\ufffdx"]
    assert activity["name"] == "Run \ud83d"  # the input is not modified
    assert row["content_hash"] == content_hash(activity) == content_hash(row["raw"])
    with_digest = to_row(
        activity, athlete_id=ME, run_id="r", seen_at=T0, digest=content_hash(activity)
    )
    assert with_digest == row


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(activities(), min_size=1, max_size=4, unique_by=lambda a: a["id"]))
def test_rows_are_always_valid_utf8_json_and_load_into_duckdb(
    warehouse: DuckDBWarehouse, batch: list[dict[str, Any]]
) -> None:
    rows = [to_row(a, athlete_id=ME, run_id="r", seen_at=T0) for a in batch]
    for activity, row in zip(batch, rows, strict=True):
        json.dumps(row, ensure_ascii=False).encode("utf-8")  # strict: raises on a surrogate
        assert not any("\ud800" <= ch <= "\udfff" for s in strings(row) for ch in s)
        assert check_row(row) is None
        assert row["content_hash"] == content_hash(activity) == content_hash(repair(activity))
        assert row["content_hash"] == content_hash(row["raw"])  # stable across rebuilds
    staged = warehouse.stage(ME, "r")
    staged.add(rows)
    result = staged.commit(replace=True, max_delete_share=None)
    assert result.quarantined == 0
    assert result.inserted + result.updated + result.unchanged == len(rows)
    assert warehouse.fetch_activity_hashes(ME) == {r["id"]: r["content_hash"] for r in rows}
