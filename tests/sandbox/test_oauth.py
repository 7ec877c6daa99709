"""OAuth: authorize redirect, code exchange, refresh reuse and rotation, expiry, deauthorize."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import requests

from tests.sandbox.conftest import Api

INVALID_REFRESH = {
    "message": "Bad Request",
    "errors": [{"resource": "RefreshToken", "field": "refresh_token", "code": "invalid"}],
}


def _refresh(sandbox, refresh_token, path="/oauth/token"):
    app = sandbox.app()
    return requests.post(
        f"{sandbox.base_url}{path}",
        data={
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        },
        timeout=10,
    )


def test_refresh_with_more_than_an_hour_left_returns_the_same_token(sandbox, athlete):
    resp = _refresh(sandbox, athlete["refresh_token"])
    assert resp.status_code == 200
    body = resp.json()
    assert body["access_token"] == athlete["access_token"]
    assert body["refresh_token"] == athlete["refresh_token"]
    assert body["expires_at"] == athlete["expires_at"]
    assert body["token_type"] == "Bearer"
    assert "X-RateLimit-Usage" not in resp.headers


def test_refresh_in_last_hour_rotates_and_invalidates_the_old_refresh_token(sandbox, athlete):
    sandbox.set_clock(athlete["expires_at"] - 3600 + 60)  # inside the token's last hour
    resp = _refresh(sandbox, athlete["refresh_token"], path="/api/v3/oauth/token")
    body = resp.json()
    assert resp.status_code == 200
    assert body["access_token"] != athlete["access_token"]
    assert body["refresh_token"] != athlete["refresh_token"]
    assert body["expires_in"] == 6 * 3600
    assert abs(body["expires_at"] - (sandbox.clock() + 6 * 3600)) < 5

    stale = _refresh(sandbox, athlete["refresh_token"])
    assert stale.status_code == 400
    assert stale.json() == INVALID_REFRESH
    assert _refresh(sandbox, body["refresh_token"]).status_code == 200
    assert Api(sandbox.base_url, body["access_token"]).get("/athlete").status_code == 200
    assert sandbox.athletes()[0]["refresh_token"] == body["refresh_token"]


def test_access_token_expires_after_six_hours_on_the_sandbox_clock(sandbox, athlete, api):
    assert api.get("/athlete").status_code == 200
    sandbox.set_clock(athlete["expires_at"] + 1)
    resp = api.get("/athlete")
    assert resp.status_code == 401
    assert resp.json()["errors"] == [
        {"resource": "Athlete", "field": "access_token", "code": "invalid"}
    ]
    assert _refresh(sandbox, athlete["refresh_token"]).status_code == 200


def test_authorize_redirects_with_code_scope_and_state_then_code_exchange(sandbox, athlete):
    app = sandbox.app()
    resp = requests.get(
        f"{sandbox.base_url}/oauth/authorize",
        params={
            "client_id": app["client_id"],
            "redirect_uri": "http://127.0.0.1:9/callback",
            "response_type": "code",
            "scope": "read,activity:read_all",
            "state": "xyz",
            "athlete_id": athlete["id"],
        },
        allow_redirects=False,
        timeout=10,
    )
    assert resp.status_code == 302
    location = urlparse(resp.headers["Location"])
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert location.netloc == "127.0.0.1:9"
    assert query["state"] == "xyz"
    assert query["scope"] == "read,activity:read_all"
    token = requests.post(
        f"{sandbox.base_url}/oauth/token",
        data={
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "grant_type": "authorization_code",
            "code": query["code"],
        },
        timeout=10,
    )
    assert token.status_code == 200
    body = token.json()
    assert body["athlete"]["id"] == athlete["id"]
    assert _refresh(sandbox, athlete["refresh_token"]).status_code == 400
    again = requests.post(
        f"{sandbox.base_url}/oauth/token",
        data={
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "grant_type": "authorization_code",
            "code": query["code"],
        },
        timeout=10,
    )
    assert again.status_code == 400


def test_authorize_can_deny_and_can_narrow_scope(sandbox):
    app = sandbox.app()
    base = {"client_id": app["client_id"], "redirect_uri": "http://localhost/cb", "state": "s"}
    denied = requests.get(
        f"{sandbox.base_url}/oauth/authorize",
        params=base | {"deny": "1"},
        allow_redirects=False,
        timeout=10,
    )
    assert parse_qs(urlparse(denied.headers["Location"]).query)["error"] == ["access_denied"]
    narrowed = requests.get(
        f"{sandbox.base_url}/oauth/authorize",
        params=base | {"scope": "read,activity:read_all", "accept_scope": "read"},
        allow_redirects=False,
        timeout=10,
    )
    assert parse_qs(urlparse(narrowed.headers["Location"]).query)["scope"] == ["read"]


def test_deauthorize_makes_every_token_401(sandbox, athlete, api):
    resp = requests.post(
        f"{sandbox.base_url}/oauth/deauthorize",
        data={"access_token": athlete["access_token"]},
        timeout=10,
    )
    assert resp.status_code == 200
    assert api.get("/athlete").status_code == 401
    assert _refresh(sandbox, athlete["refresh_token"]).json() == INVALID_REFRESH


def test_wrong_client_secret_is_rejected(sandbox, athlete):
    resp = requests.post(
        f"{sandbox.base_url}/oauth/token",
        data={
            "client_id": sandbox.app()["client_id"],
            "client_secret": "nope",
            "grant_type": "refresh_token",
            "refresh_token": athlete["refresh_token"],
        },
        timeout=10,
    )
    assert resp.status_code == 400


def test_the_consent_page_shows_scope_boxes_and_approves_what_stays_ticked(sandbox):
    app = sandbox.app()
    base = {
        "client_id": app["client_id"],
        "redirect_uri": "http://localhost/cb",
        "state": "s",
        "scope": "read,activity:read_all",
    }
    url = f"{sandbox.base_url}/oauth/authorize"
    sandbox.set_consent_page(True)
    page = requests.get(url, params=base, allow_redirects=False, timeout=10)
    assert page.status_code == 200
    assert 'value="activity:read_all" checked' in page.text
    assert "id=authorize" in page.text
    submitted = base | {"approve": "1", "scope_choice": ["read"]}
    back = requests.get(url, params=submitted, allow_redirects=False, timeout=10)
    query = parse_qs(urlparse(back.headers["Location"]).query)
    assert query["scope"] == ["read"]
    assert query["state"] == ["s"]
    sandbox.reset()  # a reset turns it off again: auto-approve, as before
    assert requests.get(url, params=base, allow_redirects=False, timeout=10).status_code == 302
