"""The client against the real HTTP sandbox (``strava_sandbox``)."""

import pytest
import requests

from nunis_ingest.adapters.strava.client import StravaClient
from nunis_ingest.adapters.strava.oauth import OAuthClient
from nunis_ingest.core.token import Token
from nunis_ingest.errors import StravaAuthError


@pytest.fixture
def sb(sandbox):
    return sandbox


def _token(athlete):
    return Token(
        access_token=athlete["access_token"],
        refresh_token=athlete["refresh_token"],
        expires_at=int(athlete["expires_at"]),
        scope=athlete.get("scope"),
        athlete_id=athlete["id"],
    )


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
