"""The webhook's DetailedActivity and the poll's SummaryActivity become the same row."""

from __future__ import annotations

import json
import random
from pathlib import Path

from nunis_ingest.core.representation import summary_of
from nunis_ingest.core.transform import content_hash
from strava_sandbox import data, detail

REFERENCE = Path(__file__).resolve().parents[1] / "fixtures" / "strava" / "activity.3.json"


def test_summary_of_the_sandbox_detail_equals_its_listing_for_every_kind_of_activity():
    history = data.make_history(random.Random(7), 42, 300, 1_800_000_000, 1000)
    for activity in history:
        derived = summary_of(detail.detailed(activity))
        assert derived == activity.summary
        assert content_hash(derived) == content_hash(activity.summary)


def test_summary_of_real_detail_drops_detail_only_fields_and_keeps_the_rest():
    detailed = json.loads(REFERENCE.read_text())
    derived = summary_of(detailed)
    assert derived["resource_state"] == 2
    assert "polyline" not in derived["map"]
    assert derived["map"]["summary_polyline"] == detailed["map"]["summary_polyline"]
    for gone in ("laps", "splits_metric", "best_efforts", "segment_efforts", "description"):
        assert gone not in derived
    for kept in ("id", "name", "distance", "start_date", "upload_id", "kudos_count"):
        assert derived[kept] == detailed[kept]


def test_a_summary_is_left_as_it_is_and_a_new_field_survives():
    summary = {"id": 1, "resource_state": 2, "name": "x", "field_strava_added": 3}
    assert summary_of(summary) is summary
    assert summary_of({**summary, "resource_state": 3})["field_strava_added"] == 3
