"""The client against the real HTTP sandbox (``strava_sandbox``).

Skips until ``tests/conftest.py`` provides the ``sandbox`` fixture (a teammate's work in
progress when this was written); it then runs without changes.
"""

import pytest
import requests

from nunis_ingest.errors import StravaAuthError
from nunis_ingest.strava.client import StravaClient
from nunis_ingest.strava.oauth import OAuthClient, Token


@pytest.fixture
def sb(request):
    try:
        return request.getfixturevalue("sandbox")
    except pytest.FixtureLookupError:
        pytest.skip("no `sandbox` fixture in tests/conftest.py yet")


def _token(athlete):
    return Token(
        access_token=athlete["access_token"],
        refresh_token=athlete["refresh_token"],
        expires_at=int(athlete["expires_at"]),
        scope=athlete.get("scope"),
        athlete_id=athlete["id"],
    )


def test_lists_every_page_until_the_empty_one(sb):
    athlete = sb.athletes()[0]
    with requests.Session() as session:
        client = StravaClient(session, base_url=sb.base_url, access_token=athlete["access_token"])
        pages = list(client.iter_activity_pages(per_page=25))
    ids = [item["id"] for page in pages for item in page.items]
    assert pages, "the sandbox athlete should have activities"
    assert [p.number for p in pages] == list(range(1, len(pages) + 1))
    assert len(ids) == len(set(ids))
    assert client.requests_made == len(pages) + 1  # the final empty page
    assert client.last_usage is not None


def test_refresh_rotation(sb):
    athlete = sb.athletes()[0]
    app = sb.app()
    old = _token(athlete)
    with requests.Session() as session:
        oauth = OAuthClient(
            session,
            base_url=sb.base_url,
            client_id=str(app["client_id"]),
            client_secret=app["client_secret"],
        )
        new = oauth.refresh(old)
        assert (new.scope, new.athlete_id) == (old.scope, old.athlete_id)
        client = StravaClient(session, base_url=sb.base_url, access_token=new.access_token)
        assert client.get_athlete()["id"] == athlete["id"]
        if new.refresh_token != old.refresh_token:
            with pytest.raises(StravaAuthError) as info:
                oauth.refresh(old)  # rotated: the old refresh token is dead at once
            assert old.refresh_token not in str(info.value)
            assert app["client_secret"] not in str(info.value)
