"""``to_row``'s compiled fast path equals the reference ``encode_value`` column by column."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import given

from nunis_ingest.core.schema import ACTIVITIES
from nunis_ingest.core.transform import content_hash, encode_value, to_row
from tests.unit.strategies import activities

SEEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
DERIVED = {"id", "athlete_id", "raw", "content_hash", "first_seen_at", "updated_at", "run_id"}


def _same(a: Any, b: Any) -> bool:
    """Equal values and types (``1 == 1.0 == True`` must not pass), NaN-free by contract."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True) and type(a) is type(b)


@given(activities())
def test_fast_row_matches_reference_encoders(activity: dict[str, Any]) -> None:
    row = to_row(activity, athlete_id=7, run_id="r", seen_at=SEEN)
    assert list(row) == [c.name for c in ACTIVITIES]
    for column in ACTIVITIES:
        if column.name not in DERIVED:
            expected = encode_value(column, activity.get(column.name))
            assert _same(row[column.name], expected), column.name


@given(activities())
def test_given_digest_is_used_as_is(activity: dict[str, Any]) -> None:
    digest = content_hash(activity)
    row = to_row(activity, athlete_id=7, run_id="r", seen_at=SEEN, digest=digest)
    assert row == to_row(activity, athlete_id=7, run_id="r", seen_at=SEEN)
