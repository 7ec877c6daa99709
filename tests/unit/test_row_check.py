"""``RowCheck``'s cached plans decide exactly as the full column-by-column check."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from nunis_ingest.adapters.warehouses.row_check import RowCheck
from nunis_ingest.core.schema_detail import ACTIVITY_DETAILS, ACTIVITY_LAPS, ACTIVITY_STREAMS

ODD: list[Any] = [
    None,
    True,
    0,
    -(2**63),
    2**63 - 1,
    2**63,
    -(2**63) - 1,
    1.5,
    math.nan,
    math.inf,
    1e308,
    "x",
    "2024-03-01T08:00:00+00:00",
    "2024-03-01T08:00:00",
    "9999-12-31T23:30:00-05:00",
    "2024-13-01T08:00:00",
    {"id": "g1", "primary": True},
    {"id": "g1", "extra": 1},
    [],
]
"""Good and bad values of every type, so each column sees both."""


def rows_of(columns: tuple[Any, ...]) -> st.SearchStrategy[list[dict[str, Any]]]:
    row = st.fixed_dictionaries({c.name: st.sampled_from(ODD) for c in columns})
    return st.lists(row, min_size=1, max_size=30)


@given(rows_of(ACTIVITY_STREAMS))
def test_streams_match_the_full_check(rows: list[dict[str, Any]]) -> None:
    check = RowCheck(ACTIVITY_STREAMS)
    for row in rows:
        assert check(row) == check.explain(row)


@given(rows_of(ACTIVITY_LAPS), rows_of(ACTIVITY_DETAILS))
def test_laps_and_details_match_the_full_check(
    laps: list[dict[str, Any]], details: list[dict[str, Any]]
) -> None:
    for columns, rows in ((ACTIVITY_LAPS, laps), (ACTIVITY_DETAILS, details)):
        check = RowCheck(columns)
        for row in rows:
            assert check(row) == check.explain(row)


def test_a_cached_plan_still_sees_bad_values_of_the_same_types() -> None:
    check = RowCheck(ACTIVITY_STREAMS)
    good = {
        "activity_id": 1,
        "athlete_id": 2,
        "point": 0,
        "heartrate": 150,
        "altitude": 3.5,
        "start_date": "2024-03-01T08:00:00+00:00",
        "source": "api",
        "run_id": "r",
        "loaded_at": "2024-03-01T09:00:00+00:00",
    }
    assert check(good) is None
    assert check(good | {"heartrate": 2**64}) == "heartrate: 18446744073709551616 is beyond INT64"
    assert check(good | {"altitude": math.nan}) == "altitude: nan is not a finite number"
    assert check(good | {"altitude": 1e308, "distance": 1e308}) is None  # finite; the sum is not
    assert (check(good | {"start_date": "2024-02-30T08:00:00+00:00"}) or "").startswith(
        "start_date: "
    )
    assert check(good) is None
