"""Generated data: deterministic, and covering Strava's quirks."""

from __future__ import annotations

import json
import time

from strava_sandbox.data import generate_dataset

ANCHOR = 1_780_000_000


def _all(seed=11, athletes=2, activities=400):
    data = generate_dataset(seed, athletes, activities, ANCHOR)
    return [a for athlete in data.athletes for a in athlete.activities]


def test_same_seed_same_data_and_text_matches_summary():
    first = _all()
    generate_dataset.cache_clear()
    second = _all()
    assert [a.text for a in first] == [a.text for a in second]
    assert all(json.loads(a.text) == a.summary for a in first[:50])
    assert [a.text for a in _all(seed=12)] != [a.text for a in first]


def test_quirks_are_covered():
    acts = [a.summary for a in _all()]
    assert any(s["id"] > 2**31 for s in acts)
    assert any(s["start_latlng"] == [] for s in acts)
    assert any(s["start_latlng"] is None for s in acts)
    assert any("average_heartrate" not in s for s in acts)
    assert any("average_watts" in s for s in acts)
    assert {type(s["utc_offset"]) for s in acts} == {int, float}
    assert any(s["workout_type"] is None for s in acts)
    assert any(s["manual"] for s in acts)
    assert any(s["trainer"] for s in acts)
    assert {"Run", "Ride", "Walk", "Swim"} <= {s["type"] for s in acts}
    assert any(any(ord(c) > 0xFFFF for c in s["name"]) for s in acts)  # emoji
    assert {"everyone", "followers_only", "only_me"} == {s["visibility"] for s in acts}
    assert any(s["map"]["summary_polyline"] == "" for s in acts)
    runs = sum(s["type"] == "Run" for s in acts)
    assert runs > len(acts) / 2
    assert all(s["start_date"] < "2026-05-29" for s in acts)
    assert all("average_heartrate" not in s for s in acts if not s["has_heartrate"])


def test_ten_thousand_activities_generate_quickly():
    started = time.perf_counter()
    data = generate_dataset(5, 1, 10_000, ANCHOR)
    assert len(data.athletes[0].activities) == 10_000
    assert time.perf_counter() - started < 15
    starts = [a.start for a in data.athletes[0].activities]
    assert starts == sorted(starts)
