"""Listing activities: paging to the empty page, strict after/before, order, scopes."""

from __future__ import annotations

from strava_sandbox.clock import parse_time
from tests.sandbox.conftest import Api


def _all_pages(api, per_page=7, **params):
    pages, page = [], 1
    while True:
        resp = api.get("/athlete/activities", page=page, per_page=per_page, **params)
        assert resp.status_code == 200
        pages.append(resp.json())
        if not pages[-1]:
            return pages
        page += 1


def test_paging_reaches_an_empty_page_and_covers_the_truth(sandbox, athlete, api):
    truth = sandbox.truth(athlete["id"])
    pages = _all_pages(api, per_page=7)
    items = [a for p in pages for a in p]
    assert pages[-1] == []
    assert all(len(p) == 7 for p in pages[:-2])
    assert sorted(a["id"] for a in items) == sorted(a["id"] for a in truth)
    assert len(pages) == -(-len(truth) // 7) + 1


def test_without_after_newest_first_with_after_oldest_first(sandbox, athlete, api):
    newest = api.get("/athlete/activities", per_page=200).json()
    starts = [parse_time(a["start_date"]) for a in newest]
    assert starts == sorted(starts, reverse=True)
    oldest = api.get("/athlete/activities", per_page=200, after=0).json()
    assert [a["id"] for a in oldest] == [a["id"] for a in reversed(newest)]


def test_after_and_before_are_strict_on_start_date(sandbox, athlete, api):
    truth = sorted(sandbox.truth(athlete["id"]), key=lambda a: parse_time(a["start_date"]))
    lo, hi = parse_time(truth[10]["start_date"]), parse_time(truth[20]["start_date"])
    got = api.get("/athlete/activities", after=lo, before=hi, per_page=200).json()
    expected = {a["id"] for a in truth if lo < parse_time(a["start_date"]) < hi}
    assert {a["id"] for a in got} == expected
    assert truth[10]["id"] not in expected
    assert truth[20]["id"] not in expected
    assert len(expected) >= 9


def test_per_page_is_capped_at_200_and_page_past_end_is_empty(sandbox):
    big = sandbox.create_athlete(activities=250)

    api = Api(sandbox.base_url, big["access_token"])
    assert len(api.get("/athlete/activities", per_page=500).json()) == 200
    assert len(api.get("/athlete/activities", per_page=200, page=2).json()) == 50
    assert api.get("/athlete/activities", per_page=200, page=9).json() == []


def test_activity_read_hides_only_me_and_read_all_shows_it(sandbox, athlete, api):
    truth = sandbox.truth(athlete["id"])
    only_me = {a["id"] for a in truth if a["visibility"] == "only_me"}
    assert only_me, "generated data must contain Only Me activities"
    everything = {a["id"] for a in api.get("/athlete/activities", per_page=200).json()}
    assert only_me <= everything

    limited = sandbox.create_athlete(activities=80, scope="read,activity:read")

    lim_api = Api(sandbox.base_url, limited["access_token"])
    lim_truth = sandbox.truth(limited["id"])
    visible = {a["id"] for p in _all_pages(lim_api, per_page=9) for a in p}
    assert visible == {a["id"] for a in lim_truth if a["visibility"] != "only_me"}
    hidden = next(a["id"] for a in lim_truth if a["visibility"] == "only_me")
    assert lim_api.get(f"/activities/{hidden}").status_code == 404


def test_token_without_activity_scope_gets_401_permission_missing(sandbox):

    reader = sandbox.create_athlete(activities=3, scope="read")
    api = Api(sandbox.base_url, reader["access_token"])
    resp = api.get("/athlete/activities")
    assert resp.status_code == 401
    assert resp.json() == {
        "message": "Authorization Error",
        "errors": [
            {"resource": "AccessToken", "field": "activity:read_permission", "code": "missing"}
        ],
    }
    assert api.get("/athlete").status_code == 200


def test_out_of_order_activity_lands_in_its_start_date_slot(sandbox, athlete, api):
    truth = sorted(sandbox.truth(athlete["id"]), key=lambda a: parse_time(a["start_date"]))
    old_start = parse_time(truth[5]["start_date"]) + 1
    added = sandbox.add_activity(athlete["id"], start_date=old_start, name="Late sync 🐢")
    assert added["id"] > max(a["id"] for a in truth)
    got = api.get(
        "/athlete/activities", after=old_start - 1, before=old_start + 1, per_page=200
    ).json()
    assert [a["id"] for a in got] == [added["id"]]
    assert got[0]["name"] == "Late sync 🐢"
