"""Injected faults: status, delay, drop, malformed, short pages; after K, for N times."""

from __future__ import annotations

import json
import time

import pytest
import requests


def test_status_fault_4xx_is_strava_shaped_and_5xx_is_html(sandbox, api):
    sandbox.add_fault(kind="status", method="GET", path="/api/v3/athlete", status=503, times=1)
    sandbox.add_fault(kind="status", path="/api/v3/activities", status=404, times=1)
    first = api.get("/athlete")
    assert first.status_code == 503
    assert first.headers["Content-Type"].startswith("text/html")
    with pytest.raises(requests.JSONDecodeError):
        first.json()
    assert api.get("/athlete").status_code == 200
    missing = api.get("/activities/123")
    assert missing.status_code == 404
    assert missing.json() == {"message": "Resource Not Found", "errors": []}


def test_after_k_matching_requests_for_n_times(sandbox, api):
    sandbox.add_fault(kind="status", path="/api/v3/athlete", status=500, after=2, times=2)
    codes = [api.get("/athlete").status_code for _ in range(6)]
    assert codes == [200, 200, 500, 500, 200, 200]
    sandbox.add_fault(kind="status", path="/api/v3/athlete", status=502)
    assert api.get("/athlete").status_code == 502
    sandbox.clear_faults()
    assert api.get("/athlete").status_code == 200


def test_method_filter(sandbox, api):
    sandbox.add_fault(kind="status", method="POST", path="/api/v3", status=500)
    assert api.get("/athlete").status_code == 200


def test_delay_fault_slows_the_response(sandbox, api):
    sandbox.add_fault(kind="delay", path="/api/v3/athlete", delay=0.4, times=1)
    started = time.monotonic()
    assert api.get("/athlete").status_code == 200
    assert time.monotonic() - started >= 0.4
    sandbox.add_fault(kind="delay", path="/api/v3/athlete", delay=0.6, times=1)
    with pytest.raises(requests.Timeout):
        api.session.get(
            f"{sandbox.base_url}/api/v3/athlete",
            headers={"Authorization": f"Bearer {api.token}"},
            timeout=0.2,
        )
    time.sleep(0.6)  # let the abandoned request finish before the next test resets


def test_a_request_delayed_across_a_reset_counts_nowhere(sandbox, api):
    sandbox.add_fault(kind="delay", path="/api/v3/athlete", delay=0.5, times=1)
    with pytest.raises(requests.Timeout):
        api.session.get(
            f"{sandbox.base_url}/api/v3/athlete",
            headers={"Authorization": f"Bearer {api.token}"},
            timeout=0.1,
        )
    sandbox.reset()  # the next test starts while that request still sleeps
    time.sleep(0.7)
    assert sandbox.requests_log()["counts"]["total"] == 0
    assert api.get("/athlete").headers["X-ReadRateLimit-Usage"].startswith("1,")


def test_drop_fault_closes_the_connection(sandbox, api):
    sandbox.add_fault(kind="drop", path="/api/v3/athlete/activities", times=1)
    with pytest.raises(requests.ConnectionError):
        api.get("/athlete/activities")
    assert api.get("/athlete/activities").status_code == 200
    log = sandbox.requests_log()
    assert [r["status"] for r in log["requests"]] == [0, 200]
    assert log["requests"][0]["fault"] == "drop"


def test_malformed_fault_returns_truncated_json(sandbox, api):
    sandbox.add_fault(kind="malformed", path="/api/v3/athlete/activities", times=1)
    resp = api.get("/athlete/activities", per_page=5)
    assert resp.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(resp.text)
    assert resp.text.startswith("[{")


def test_short_pages_still_cover_everything_when_iterated_to_the_empty_page(sandbox, athlete, api):
    sandbox.add_fault(kind="short_page", path="/api/v3/athlete/activities")
    seen: list[int] = []
    sizes: list[int] = []
    page = 1
    while batch := api.get("/athlete/activities", page=page, per_page=10).json():
        sizes.append(len(batch))
        seen.extend(a["id"] for a in batch)
        page += 1
    assert max(sizes) < 10
    assert len(seen) == len(set(seen))
    assert sorted(seen) == sorted(a["id"] for a in sandbox.truth(athlete["id"]))


def test_unknown_fault_kind_is_rejected(sandbox):
    with pytest.raises(requests.HTTPError):
        sandbox.add_fault(kind="gremlins")
