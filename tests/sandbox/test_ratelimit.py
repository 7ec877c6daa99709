"""Rate limits: headers, quarter-hour and UTC-day windows, the 429 body, configurable limits."""

from __future__ import annotations

import requests

QUARTER_START = 1_780_000_200  # 2026-05-28T20:30:00Z, on a quarter hour
RATE_LIMITED = {
    "message": "Rate Limit Exceeded",
    "errors": [{"resource": "Application", "field": "rate limit", "code": "exceeded"}],
}


def test_every_api_response_carries_the_four_headers(sandbox, api):
    first = api.get("/athlete")
    second = api.get("/activities/1")  # a 404 counts and carries headers too
    assert first.headers["X-RateLimit-Limit"] == "200,2000"
    assert first.headers["X-ReadRateLimit-Limit"] == "100,1000"
    assert first.headers["X-RateLimit-Usage"] == "1,1"
    assert second.status_code == 404
    assert second.headers["X-ReadRateLimit-Usage"] == "2,2"


def test_writes_count_only_toward_overall(sandbox, api):
    app = sandbox.app()
    resp = requests.post(
        f"{sandbox.base_url}/api/v3/push_subscriptions",
        data={"client_id": app["client_id"], "client_secret": "wrong"},
        timeout=10,
    )
    assert resp.headers["X-RateLimit-Usage"] == "1,1"
    assert resp.headers["X-ReadRateLimit-Usage"] == "0,0"


def test_windows_reset_on_the_quarter_hour_and_at_midnight(sandbox, api):
    sandbox.set_clock(QUARTER_START + 900 - 30)
    for _ in range(3):
        api.get("/athlete")
    assert api.get("/athlete").headers["X-ReadRateLimit-Usage"] == "4,4"
    sandbox.set_clock(QUARTER_START + 900 + 1)
    assert api.get("/athlete").headers["X-ReadRateLimit-Usage"] == "1,5"
    midnight = (QUARTER_START // 86400 + 1) * 86400
    sandbox.set_clock(midnight - 5)
    assert api.get("/athlete").headers["X-ReadRateLimit-Usage"] == "1,6"
    sandbox.set_clock(midnight + 1)
    assert api.get("/athlete").headers["X-ReadRateLimit-Usage"] == "1,1"


def test_over_the_limit_gives_strava_429_and_still_counts_daily(sandbox, api):
    sandbox.set_clock(QUARTER_START + 10)
    sandbox.set_rate_limits(read_15min=3)
    codes = [api.get("/athlete").status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    last = api.get("/athlete")
    assert last.json() == RATE_LIMITED
    assert last.headers["X-ReadRateLimit-Usage"] == "6,6"
    assert last.headers["X-ReadRateLimit-Limit"] == "3,1000"
    sandbox.advance_clock(900)
    assert api.get("/athlete").status_code == 200


def test_daily_limit_applies_across_windows(sandbox, api):
    sandbox.set_clock(QUARTER_START + 10)
    sandbox.set_rate_limits(overall_daily=2)
    assert api.get("/athlete").status_code == 200
    sandbox.advance_clock(900)
    assert api.get("/athlete").status_code == 200
    sandbox.advance_clock(900)
    assert api.get("/athlete").status_code == 429


def test_oauth_is_not_rate_limited(sandbox, athlete):
    sandbox.set_rate_limits(overall_15min=0, read_15min=0)
    app = sandbox.app()
    resp = requests.post(
        f"{sandbox.base_url}/oauth/token",
        data={
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "grant_type": "refresh_token",
            "refresh_token": athlete["refresh_token"],
        },
        timeout=10,
    )
    assert resp.status_code == 200
    assert not any(h.lower().startswith("x-ratelimit") for h in resp.headers)
