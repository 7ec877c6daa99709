"""Control API: reset, truth, mutations, app status, request log, errors in Strava's shape."""

from __future__ import annotations

import time

from tests.sandbox.conftest import Api


def test_reset_restores_data_tokens_clock_and_log(sandbox, athlete, api):
    before = sandbox.truth(athlete["id"])
    sandbox.reset()  # the fixture moved the clock to real time; a reset restores the start
    clock0 = sandbox.clock()
    sandbox.delete_activity(before[0]["id"])
    sandbox.advance_clock(86400)
    sandbox.set_app_status(False)
    sandbox.revoke(athlete["id"])
    sandbox.add_fault(kind="status", status=500)
    api.get("/athlete")
    sandbox.reset()
    assert sandbox.truth(athlete["id"]) == before
    assert sandbox.athletes()[0] == athlete
    assert abs(sandbox.clock() - clock0) < 5
    assert sandbox.faults() == []
    assert sandbox.requests_log()["counts"]["total"] == 0
    assert api.get("/athlete").status_code == 200


def test_reset_is_fast_and_can_change_size(sandbox):
    started = time.perf_counter()
    sandbox.reset()
    assert time.perf_counter() - started < 0.5
    sandbox.reset(athletes=3, activities=5)
    assert [a["activity_count"] for a in sandbox.athletes()] == [5, 5, 5]
    assert sandbox.health()["athletes"] == 3


def test_truth_includes_only_me_and_matches_detail(sandbox, athlete, api):
    truth = sandbox.truth(athlete["id"])
    assert len(truth) == 60
    assert {"everyone", "only_me"} <= {a["visibility"] for a in truth}
    detailed = api.get(f"/activities/{truth[0]['id']}").json()
    assert detailed["resource_state"] == 3
    assert detailed["name"] == truth[0]["name"]


def test_patch_and_delete_change_what_the_api_serves(sandbox, athlete, api):
    target = sandbox.truth(athlete["id"])[3]
    patched = sandbox.patch_activity(target["id"], name="Nouveau nom ✨", distance=42.0)
    assert patched["name"] == "Nouveau nom ✨"
    served = api.get(f"/activities/{target['id']}").json()
    assert (served["name"], served["distance"]) == ("Nouveau nom ✨", 42.0)
    sandbox.delete_activity(target["id"])
    assert api.get(f"/activities/{target['id']}").status_code == 404
    assert target["id"] not in {a["id"] for a in sandbox.truth(athlete["id"])}


def test_inactive_app_gets_403_on_every_call(sandbox, api):
    sandbox.set_app_status(False)
    resp = api.get("/athlete/activities")
    assert resp.status_code == 403
    assert resp.json()["errors"] == [
        {"resource": "Application", "field": "Status", "code": "Inactive"}
    ]
    sandbox.set_app_status(True)
    assert api.get("/athlete/activities").status_code == 200


def test_invalid_token_and_unknown_resource_errors(sandbox):
    bad = Api(sandbox.base_url, "not-a-token")
    resp = bad.get("/athlete")
    assert resp.status_code == 401
    assert resp.json() == {
        "message": "Authorization Error",
        "errors": [{"resource": "Athlete", "field": "access_token", "code": "invalid"}],
    }
    assert bad.get("/no/such/thing").json() == {"message": "Resource Not Found", "errors": []}


def test_other_athletes_activities_are_not_found(sandbox, api):
    other = sandbox.athletes()[1]
    theirs = sandbox.truth(other["id"])[0]["id"]
    assert api.get(f"/activities/{theirs}").status_code == 404


def test_request_log_records_status_and_athlete(sandbox, athlete, api):
    api.get("/athlete")
    api.get("/activities/1")
    log = sandbox.requests_log()
    assert [(r["path"], r["status"], r["athlete_id"]) for r in log["requests"]] == [
        ("/api/v3/athlete", 200, athlete["id"]),
        ("/api/v3/activities/1", 404, athlete["id"]),
    ]
    assert log["counts"]["total"] == 2
    assert log["counts"]["by_status"] == {"200": 1, "404": 1}
    assert log["counts"]["by_endpoint"]["GET /api/v3/activities/{id}"] == 1
    sandbox.clear_requests()
    assert sandbox.requests_log()["counts"]["total"] == 0


def test_laps_streams_and_manual_activity_streams_404(sandbox, athlete, api):
    truth = sandbox.truth(athlete["id"])
    gps = next(a for a in truth if a["start_latlng"] and a["has_heartrate"])
    laps = api.get(f"/activities/{gps['id']}/laps").json()
    assert laps
    assert laps[0]["lap_index"] == 1
    streams = api.get(
        f"/activities/{gps['id']}/streams", keys="latlng,heartrate,watts", key_by_type="true"
    ).json()
    assert {"latlng", "heartrate", "distance", "time"} <= set(streams)
    assert len(streams["latlng"]["data"]) == streams["latlng"]["original_size"]
    manual = sandbox.add_activity(athlete["id"], manual=True, type="Yoga", sport_type="Yoga")
    resp = api.get(f"/activities/{manual['id']}/streams", keys="time")
    assert resp.status_code == 404
    assert resp.json() == {"message": "Resource Not Found", "errors": []}


def test_athlete_and_stats(sandbox, athlete, api):
    assert api.get("/athlete").json()["id"] == athlete["id"]
    stats = api.get(f"/athletes/{athlete['id']}/stats").json()
    public_runs = [
        a
        for a in sandbox.truth(athlete["id"])
        if a["type"] == "Run" and a["visibility"] == "everyone"
    ]
    assert stats["all_run_totals"]["count"] == len(public_runs)
