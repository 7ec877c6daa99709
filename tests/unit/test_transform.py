from __future__ import annotations

import hashlib
import json
import random
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nunis_ingest.core.schema import ACTIVITIES
from nunis_ingest.core.transform import (
    InvalidActivity,
    activity_id,
    content_hash,
    encode_datetime,
    encode_float64,
    encode_int64,
    encode_timestamp,
    start_epoch,
    to_row,
)
from tests.unit.strategies import activities, check_row, json_objects

FIXTURES = Path(__file__).parent.parent / "fixtures" / "strava"
SEEN = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def row_of(activity: Any, athlete_id: int = 7) -> dict[str, Any]:
    return to_row(activity, athlete_id=athlete_id, run_id="run-1", seen_at=SEEN)


# --- real payloads -------------------------------------------------------------------


def test_detailed_activity_fixture() -> None:
    activity = load("activity.3.json")
    row = row_of(activity)
    check_row(row)
    assert row["id"] == 99895560
    assert row["athlete_id"] == 7  # the argument, not the payload's athlete 1513
    assert row["athlete"] == {"id": 1513, "resource_state": 1}
    assert row["start_date"] == "2013-12-12T19:36:41+00:00"
    assert row["start_date_local"] == "2013-12-12T11:36:41"
    assert row["start_latlng"] == [37.781076, -122.395536]
    assert row["upload_id"] == 109244893
    assert set(row["map"]) == {"id", "summary_polyline", "resource_state"}  # no 'polyline'
    assert row["map"]["id"] == "a99895560"
    assert row["raw"] == activity
    assert type(row["raw"]) is dict
    assert "laps" in row["raw"] or "best_efforts" in row["raw"]
    assert row["content_hash"] == content_hash(activity)
    assert row["first_seen_at"] == row["updated_at"] == "2026-05-01T12:00:00+00:00"
    assert row["run_id"] == "run-1"


def test_manual_activity_fixture() -> None:
    row = row_of(load("activity-manual.3.json"))
    check_row(row)
    assert row["manual"] is True
    assert row["end_latlng"] == []  # null in the payload
    assert row["upload_id"] is None
    assert row["external_id"] is None
    assert row["total_elevation_gain"] == 0.0
    assert type(row["total_elevation_gain"]) is float
    assert row["map"] == {"id": "a96089609", "summary_polyline": None, "resource_state": 3}
    assert row["start_date_local"] == "2013-11-17T08:00:00"
    assert row["utc_offset"] is None
    assert row["device_name"] is None


def test_swagger_listing_quirks() -> None:
    first, second = load("athlete-activities.swagger.json")
    row = row_of(first)
    check_row(row)
    assert first["upload_id"] == 987654321234567891234
    assert row["upload_id"] is None  # does not fit INT64
    assert row["raw"]["upload_id"] == 987654321234567891234  # but survives in raw
    assert row["id"] == 154504250376823
    assert row["workout_type"] is None
    assert row["start_latlng"] == []
    assert row["end_latlng"] == []
    assert row["utc_offset"] == -25200
    assert row["max_speed"] == 11.0
    assert type(row["max_speed"]) is float
    assert row["max_heartrate"] == 178.0
    assert type(row["max_heartrate"]) is float
    assert row["map"]["summary_polyline"] is None
    assert row["device_name"] == "Garmin Edge 1030"
    assert row["sport_type"] == "MountainBikeRide"
    assert row_of(second)["upload_id"] == 1234567819


def test_swagger_detail_example() -> None:
    row = row_of(load("activity.swagger.json"))
    check_row(row)
    assert row["id"] == 12345678987654321
    assert row["upload_id"] == 98765432123456789
    assert row["utc_offset"] == -28800
    assert row["start_latlng"] == [37.83, -122.26]


# --- encoders --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (-25200, -25200),
        (-25200.0, -25200),
        (163.5, None),
        (True, None),
        (False, None),
        ("12", None),
        (None, None),
        (2**63 - 1, 2**63 - 1),
        (2**63, None),
        (-(2**63), -(2**63)),
        (-(2**63) - 1, None),
        (1e300, None),
        (float("nan"), None),
        ([1], None),
    ],
)
def test_int64(value: object, expected: int | None) -> None:
    result = encode_int64(value)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0.0),
        (178, 178.0),
        (2.32, 2.32),
        (True, None),
        ("2.3", None),
        (None, None),
        (10**400, None),
        (float("inf"), None),
    ],
)
def test_float64(value: object, expected: float | None) -> None:
    result = encode_float64(value)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2018-02-16T14:52:54Z", "2018-02-16T14:52:54+00:00"),
        ("2018-02-16T06:52:54-08:00", "2018-02-16T14:52:54+00:00"),
        ("2018-02-16T14:52:54.5Z", "2018-02-16T14:52:54.500000+00:00"),
        ("2018-02-16T14:52:54.123456Z", "2018-02-16T14:52:54.123456+00:00"),
        ("2018-02-16T14:52:54", "2018-02-16T14:52:54+00:00"),  # zone-less: UTC
        ("0001-01-01T00:00:00+05:00", None),  # before year 1 in UTC
        ("yesterday", None),
        ("", None),
        (1518792774, None),
        (None, None),
    ],
)
def test_timestamp(value: object, expected: str | None) -> None:
    assert encode_timestamp(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2018-02-16T06:52:54Z", "2018-02-16T06:52:54"),
        ("2018-02-16T06:52:54+02:00", "2018-02-16T06:52:54"),  # digits kept, not converted
        ("2018-02-16T06:52:54.25Z", "2018-02-16T06:52:54.250000"),
        ("nope", None),
        (12, None),
    ],
)
def test_datetime(value: object, expected: str | None) -> None:
    assert encode_datetime(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, []),
        ([], []),
        ([38.7, -120.4], [38.7, -120.4]),
        ([38, -120], [38.0, -120.0]),
        (["38.7", -120.4], []),
        ([38.7, None], []),
        ([True, 1.0], []),
        ({"lat": 1.0}, []),
        ("38.7,-120.4", []),
    ],
)
def test_latlng(value: object, expected: list[float]) -> None:
    row = row_of({"id": 1, "start_latlng": value})
    assert row["start_latlng"] == expected
    assert all(type(x) is float for x in row["start_latlng"])


def test_structs() -> None:
    row = row_of({"id": 1, "map": {"id": "a1", "summary_polyline": "", "extra": 1}})
    assert row["map"] == {"id": "a1", "summary_polyline": "", "resource_state": None}
    assert row_of({"id": 1})["map"] is None
    assert row_of({"id": 1, "map": "a1"})["map"] is None
    assert row_of({"id": 1, "athlete": {"id": True}})["athlete"] == {
        "id": None,
        "resource_state": None,
    }


def test_wrong_types_become_none() -> None:
    row = row_of({"id": 1, "name": 5, "trainer": 1, "kudos_count": "3", "distance": False})
    assert row["name"] is None
    assert row["trainer"] is None
    assert row["kudos_count"] is None
    assert row["distance"] is None


def test_unknown_fields_survive_in_raw_only() -> None:
    activity = {"id": 1, "sport_type": "Padel", "new_field_2027": {"x": [1, 2]}}
    row = row_of(MappingProxyType(activity))
    assert row["raw"] == activity
    assert type(row["raw"]) is dict
    assert "new_field_2027" not in row
    assert row["sport_type"] == "Padel"


def test_row_does_not_alias_or_mutate_input() -> None:
    activity = {"id": 1, "name": "x"}
    row = row_of(activity)
    row["raw"]["name"] = "changed"
    assert activity["name"] == "x"


@pytest.mark.parametrize(
    "activity",
    [
        {},
        {"id": None},
        {"id": "123"},
        {"id": 12.0},
        {"id": True},
        {"id": 0},
        {"id": -5},
        {"id": 2**63},
        [1, 2],
        "activity",
        None,
    ],
)
def test_invalid_activity(activity: Any) -> None:
    with pytest.raises(InvalidActivity, match=r"id|object"):
        row_of(activity)
    with pytest.raises(ValueError, match=r"id|object"):
        activity_id(activity)


def test_seen_at_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        to_row({"id": 1}, athlete_id=1, run_id="r", seen_at=datetime(2026, 1, 1))


def test_seen_at_converted_to_utc() -> None:
    seen = datetime(2026, 1, 1, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    row = to_row({"id": 1}, athlete_id=1, run_id="r", seen_at=seen)
    assert row["first_seen_at"] == "2025-12-31T23:30:00+00:00"


@pytest.mark.parametrize("athlete_id", [0, -1, True, 2**63])
def test_bad_athlete_id_argument(athlete_id: int) -> None:
    with pytest.raises(ValueError, match="athlete_id"):
        row_of({"id": 1}, athlete_id=athlete_id)


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("2018-05-02T12:15:09Z", 1525263309),
        ("2018-05-02T05:15:09-07:00", 1525263309),
        ("1969-12-31T23:59:59.5Z", -1),
        ("garbage", None),
        (None, None),
        (1525263309, None),
    ],
)
def test_start_epoch(start: object, expected: int | None) -> None:
    assert start_epoch({"id": 1, "start_date": start}) == expected
    assert start_epoch({"id": 1}) is None


# --- content hash ------------------------------------------------------------------------


def test_content_hash_is_sha256_of_canonical_json() -> None:
    expected = hashlib.sha256('{"a":2,"b":{"c":"Zürich","d":[1,2.5]}}'.encode()).hexdigest()
    assert content_hash({"b": {"d": [1, 2.5], "c": "Zürich"}, "a": 2}) == expected


def test_content_hash_changes_with_content() -> None:
    assert content_hash({"id": 1, "name": "a"}) != content_hash({"id": 1, "name": "b"})
    assert content_hash({"id": 1, "x": 1}) != content_hash({"id": 1, "x": 1.0})


def test_content_hash_of_lone_surrogates_is_that_of_the_repaired_text() -> None:
    activity = json.loads('{"id": 1, "name": "\\ud800"}')
    assert content_hash(activity) == content_hash({"id": 1, "name": "\ufffd"})


def _shuffled(value: Any, rnd: random.Random) -> Any:
    if isinstance(value, dict):
        items = list(value.items())
        rnd.shuffle(items)
        return {k: _shuffled(v, rnd) for k, v in items}
    if isinstance(value, list):
        return [_shuffled(v, rnd) for v in value]
    return value


@given(json_objects, st.randoms())
def test_content_hash_ignores_key_order(activity: dict[str, Any], rnd: random.Random) -> None:
    assert content_hash(_shuffled(activity, rnd)) == content_hash(activity)


# --- properties ------------------------------------------------------------------------


@given(activities())
def test_to_row_never_raises_and_encodes_every_column(activity: dict[str, Any]) -> None:
    row = row_of(activity)
    check_row(row)
    assert row["id"] == activity["id"]
    assert row["raw"] == activity
    assert row["content_hash"] == content_hash(activity)


DERIVED = {"athlete_id", "raw", "content_hash", "first_seen_at", "updated_at", "run_id"}


@given(activities())
def test_well_typed_values_pass_through(activity: dict[str, Any]) -> None:
    row = row_of(activity)
    # payload fields named like derived columns never leak into them
    assert (row["athlete_id"], row["run_id"]) == (7, "run-1")
    assert row["updated_at"] == row["first_seen_at"] == "2026-05-01T12:00:00+00:00"
    for column in ACTIVITIES:
        value = activity.get(column.name)
        if column.name in DERIVED:
            continue
        if column.type == "STRING" and isinstance(value, str):
            assert row[column.name] == value
        if column.type == "BOOL" and isinstance(value, bool):
            assert row[column.name] is value
        if column.type == "INT64" and type(value) is int and abs(value) < 2**63:
            assert row[column.name] == value
