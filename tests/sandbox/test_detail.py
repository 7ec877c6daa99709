"""The whole activity over HTTP: detail, laps, splits, efforts and streams, with their gaps."""

from __future__ import annotations

from itertools import pairwise

import pytest

from strava_sandbox.detail import STREAM_TYPES

ALL_KEYS = ",".join(STREAM_TYPES)
BEST_EFFORT_FIELDS = {
    "id",
    "resource_state",
    "name",
    "activity",
    "athlete",
    "elapsed_time",
    "moving_time",
    "start_date",
    "start_date_local",
    "distance",
    "start_index",
    "end_index",
    "pr_rank",
    "achievements",
}
STANDARD = [
    "400m",
    "1/2 mile",
    "1k",
    "1 mile",
    "2 mile",
    "5k",
    "10k",
    "15k",
    "10 mile",
    "20k",
    "Half-Marathon",
    "30k",
    "Marathon",
]


def _streams(api, activity_id, keys=ALL_KEYS):
    return api.get(f"/activities/{activity_id}/streams", keys=keys, key_by_type="true")


def _first(truth, test):
    found = [a for a in truth if test(a)]
    if not found:  # the population is seeded: a change that loses this kind is a failure
        pytest.fail("the seeded sandbox population holds no such activity")
    return found[0]


def test_detail_carries_splits_best_efforts_and_the_strava_fields(sandbox, athlete, api):
    truth = sandbox.truth(athlete["id"])
    run = _first(
        truth,
        lambda a: a["type"] == "Run" and a["has_heartrate"] and not a["manual"] and a["distance"],
    )
    d = api.get(f"/activities/{run['id']}").json()
    assert d["resource_state"] == 3
    assert len(d["embed_token"]) == 40
    assert d["photos"]["count"] == 0
    assert "primary" in d["photos"]
    assert d["gear"]["id"] == run["gear_id"]
    metric = d["splits_metric"]
    assert [s["split"] for s in metric] == list(range(1, len(metric) + 1))
    assert sum(s["distance"] for s in metric) == pytest.approx(run["distance"], abs=0.5)
    for split in metric + d["splits_standard"]:
        assert {"average_heartrate", "average_grade_adjusted_speed", "elevation_difference"} <= set(
            split
        )
        assert 1 <= split["pace_zone"] <= 5
        assert 60 <= split["average_heartrate"] <= 210
        assert split["moving_time"] <= split["elapsed_time"]
    names = [e["name"] for e in d["best_efforts"]]
    assert names == STANDARD[: len(names)]  # each distance the run covers, in Strava's order
    assert len(names) >= 1
    for effort in d["best_efforts"]:
        assert set(effort) >= BEST_EFFORT_FIELDS
        assert effort["distance"] <= run["distance"]
        assert effort["pr_rank"] in (None, 1, 2, 3)
        assert effort["activity"]["id"] == run["id"]
        assert effort["start_index"] < effort["end_index"]
    times = [e["elapsed_time"] for e in d["best_efforts"]]
    assert times == sorted(times)  # a longer effort never takes less time


def test_non_runs_have_no_best_efforts_and_rides_no_hr_splits_without_hr(sandbox, athlete, api):
    truth = sandbox.truth(athlete["id"])
    ride = _first(truth, lambda a: a["type"] == "Ride" and not a["manual"])
    d = api.get(f"/activities/{ride['id']}").json()
    assert d["best_efforts"] == []
    assert d["splits_metric"]
    assert all(s["pace_zone"] == 0 for s in d["splits_metric"])
    no_hr = _first(truth, lambda a: not a["has_heartrate"] and not a["manual"] and a["distance"])
    splits = api.get(f"/activities/{no_hr['id']}").json()["splits_metric"]
    assert splits
    assert all("average_heartrate" not in s for s in splits)


def test_segment_efforts_on_some_gps_activities_only(sandbox, athlete, api):
    truth = sandbox.truth(athlete["id"])
    with_gps = [a for a in truth if a["start_latlng"] and not a["manual"]][:12]
    efforts = {
        a["id"]: api.get(f"/activities/{a['id']}").json()["segment_efforts"] for a in with_gps
    }
    assert any(efforts.values())
    assert not all(efforts.values())
    effort = next(e for es in efforts.values() for e in es)
    assert {"id", "name", "elapsed_time", "distance"} <= set(effort)
    assert {"id", "name"} <= set(effort["segment"])
    indoor = _first(truth, lambda a: not a["start_latlng"] and not a["manual"])
    assert api.get(f"/activities/{indoor['id']}").json()["segment_efforts"] == []


def test_laps_endpoint_and_embedded_laps_are_the_same_objects(sandbox, athlete, api):
    for activity in sandbox.truth(athlete["id"])[:8]:
        embedded = api.get(f"/activities/{activity['id']}").json()["laps"]
        assert api.get(f"/activities/{activity['id']}/laps").json() == embedded


def test_streams_are_aligned_and_realistic(sandbox, athlete, api):
    truth = sandbox.truth(athlete["id"])
    gps = _first(truth, lambda a: a["start_latlng"] and not a["manual"])
    streams = _streams(api, gps["id"]).json()
    lengths = {len(s["data"]) for s in streams.values()}
    assert len(lengths) == 1
    assert 2 <= lengths.pop() <= 1000
    time, distance = streams["time"]["data"], streams["distance"]["data"]
    assert all(b > a for a, b in pairwise(time))
    assert all(b >= a for a, b in pairwise(distance))
    assert distance[-1] == pytest.approx(gps["distance"], abs=0.1)
    assert False in streams["moving"]["data"]
    assert True in streams["moving"]["data"]
    assert {"latlng", "altitude", "grade_smooth"} <= set(streams)


def test_streams_leave_out_what_the_activity_did_not_record(sandbox, athlete, api):
    truth = sandbox.truth(athlete["id"])
    indoor = _first(truth, lambda a: a["trainer"] and not a["manual"])
    assert not {"latlng", "altitude", "grade_smooth"} & set(_streams(api, indoor["id"]).json())
    no_hr = _first(truth, lambda a: not a["has_heartrate"] and not a["manual"])
    assert "heartrate" not in _streams(api, no_hr["id"]).json()
    unpowered = _first(truth, lambda a: a["type"] == "Ride" and "average_watts" not in a)
    assert "watts" not in _streams(api, unpowered["id"]).json()
    no_cadence = _first(truth, lambda a: "average_cadence" not in a and not a["manual"])
    assert "cadence" not in _streams(api, no_cadence["id"]).json()


def test_rides_with_power_have_watts_and_only_asked_keys_come_back(sandbox, athlete, api):
    for row in sandbox.athletes():
        powered = [a for a in sandbox.truth(row["id"]) if "average_watts" in a]
        if powered:
            break
    else:
        pytest.fail("the seeded sandbox population holds no powered ride")
    streams = api.__class__(sandbox.base_url, row["access_token"])
    got = _streams(streams, powered[0]["id"], keys="watts").json()
    assert set(got) == {"watts", "time", "distance"}


def test_manual_activity_streams_answer_404(sandbox, athlete, api):
    manual = _first(sandbox.truth(athlete["id"]), lambda a: a["manual"])
    resp = _streams(api, manual["id"])
    assert resp.status_code == 404
    assert resp.json() == {"message": "Resource Not Found", "errors": []}
    d = api.get(f"/activities/{manual['id']}").json()
    assert d["splits_metric"] == []
    assert d["best_efforts"] == []
    assert len(d["laps"]) == 1


def test_detail_and_streams_are_deterministic_across_resets(sandbox, athlete, api):
    some = sandbox.truth(athlete["id"])[:5]
    first = [(api.get(f"/activities/{a['id']}").json(), _streams(api, a["id"]).text) for a in some]
    sandbox.reset()
    again = [(api.get(f"/activities/{a['id']}").json(), _streams(api, a["id"]).text) for a in some]
    assert first == again


def test_the_truth_helper_counts_exactly_what_the_server_serves(sandbox, athlete, api):
    sandbox.set_rate_limits(overall_15min=10_000, read_15min=10_000)
    expected = sandbox.expected_for_athlete(athlete["id"])
    assert [e["id"] for e in expected] == [a["id"] for a in sandbox.truth(athlete["id"])]
    for e in expected:
        d = api.get(f"/activities/{e['id']}").json()
        assert len(d["laps"]) == e["laps"]
        assert len(d["splits_metric"]) == e["splits_metric"]
        assert len(d["splits_standard"]) == e["splits_standard"]
        assert [b["name"] for b in d["best_efforts"]] == e["best_effort_names"]
        assert len(d["best_efforts"]) == e["best_efforts"]
        resp = _streams(api, e["id"])
        assert resp.status_code == e["streams_status"]
        if resp.status_code == 200:
            streams = resp.json()
            assert sorted(streams) == sorted(e["stream_types"])
            assert {len(s["data"]) for s in streams.values()} == {e["stream_points"]}


def test_an_edit_of_distance_and_time_changes_the_detail(sandbox, athlete, api):
    run = _first(
        sandbox.truth(athlete["id"]),
        lambda a: a["type"] == "Run" and not a["manual"] and 3000 < a["distance"] < 9000,
    )
    before = api.get(f"/activities/{run['id']}").json()
    sandbox.patch_activity(run["id"], distance=21500.0, moving_time=7000, elapsed_time=7300)
    after = api.get(f"/activities/{run['id']}").json()
    assert len(before["splits_metric"]) < 10
    assert len(after["splits_metric"]) == 22
    assert [b["name"] for b in after["best_efforts"]][-1] == "Half-Marathon"
    assert len(after["laps"]) == 22
    assert api.get(f"/activities/{run['id']}/laps").json() == after["laps"]
    streams = _streams(api, run["id"], keys="time").json()
    assert streams["distance"]["data"][-1] == 21500.0
    assert streams["time"]["data"][-1] == 7300
    assert sandbox.expected(run["id"])["splits_metric"] == 22


def test_long_streams_knob_for_benchmarks(sandbox, athlete, api):
    gps = _first(sandbox.truth(athlete["id"]), lambda a: a["start_latlng"] and not a["manual"])
    assert sandbox.set_stream_points(10_000) == 10_000
    streams = _streams(api, gps["id"]).json()
    assert {len(s["data"]) for s in streams.values()} == {10_000}
    assert streams["time"]["original_size"] == 10_000
    assert sandbox.expected(gps["id"])["stream_points"] == 10_000
    sandbox.reset()  # back to the default
    assert len(_streams(api, gps["id"]).json()["time"]["data"]) <= 1000


def test_the_population_mixes_indoor_runs_no_hr_runs_power_and_manual_entries(sandbox):
    acts = [a for row in sandbox.athletes() for a in sandbox.truth(row["id"])]
    runs = [a for a in acts if a["type"] == "Run" and not a["manual"]]
    rides = [a for a in acts if a["type"] == "Ride" and not a["manual"]]
    assert any(a["trainer"] and not a["start_latlng"] for a in runs)
    assert any(not a["has_heartrate"] for a in runs)
    assert any("average_watts" in a for a in rides)
    assert any("average_watts" not in a for a in rides)
    assert any(a["manual"] for a in acts)
