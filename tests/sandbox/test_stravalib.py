"""A real third-party client (stravalib 2.6.0) against the sandbox, changed only in its target."""

from __future__ import annotations

import time

import requests
from stravalib import Client

STRAVA = "https://www.strava.com"


class RedirectingSession(requests.Session):
    """Sends what stravalib addresses to www.strava.com to the sandbox instead."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url
        self.urls: list[str] = []

    def request(self, method, url, *args, **kwargs):
        if isinstance(url, str) and url.startswith(STRAVA):
            url = self.base_url + url[len(STRAVA) :]
        self.urls.append(url)
        return super().request(method, url, *args, **kwargs)


def test_stravalib_refreshes_lists_1000_in_five_pages_and_fetches_details(sandbox):
    sandbox.reset(athletes=1, activities=1000)
    athlete = sandbox.athletes()[0]
    app = sandbox.app()
    session = RedirectingSession(sandbox.base_url)
    client = Client(requests_session=session)

    sandbox.advance_clock(5.5 * 3600)  # within the last hour: a new token is issued
    tokens = client.refresh_access_token(
        client_id=app["client_id"],
        client_secret=app["client_secret"],
        refresh_token=athlete["refresh_token"],
    )
    assert tokens["refresh_token"] != athlete["refresh_token"]
    assert tokens["access_token"] != athlete["access_token"]
    client.access_token = tokens["access_token"]

    me = client.get_athlete()
    assert me.id == athlete["id"]

    session.urls.clear()
    listed = list(client.get_activities())
    assert len(listed) == 1000
    assert len({a.id for a in listed}) == 1000
    pages = [u for u in session.urls if "/athlete/activities" in u]
    assert len(pages) == 6  # five full pages of 200, then the empty page
    assert {a["id"] for a in sandbox.truth(athlete["id"])} == {a.id for a in listed}

    gps = next(a for a in listed if a.start_latlng and not a.manual)
    assert gps.id is not None
    activity = client.get_activity(gps.id)
    assert activity.id == gps.id
    assert activity.name == gps.name
    assert activity.laps
    laps = list(client.get_activity_laps(gps.id))
    assert [lap.lap_index for lap in laps] == list(range(1, len(laps) + 1))
    streams = client.get_activity_streams(gps.id, types=["time", "latlng", "altitude"])
    assert {"time", "latlng", "distance"} <= set(streams)
    latlng = streams["latlng"].data
    assert latlng is not None
    assert len(latlng) == streams["latlng"].original_size
    assert all(u.startswith(sandbox.base_url) for u in session.urls)


def test_stravalib_parses_the_quirky_activities(sandbox):
    athlete = sandbox.athletes()[0]
    session = RedirectingSession(sandbox.base_url)
    client = Client(
        access_token=athlete["access_token"],
        requests_session=session,
        token_expires=athlete["expires_at"],
    )
    started = time.monotonic()
    for summary in client.get_activities():
        assert summary.id is not None
        detail = client.get_activity(summary.id)
        assert detail.id == summary.id
    assert time.monotonic() - started < 30
