"""The client against the real HTTP sandbox (``strava_sandbox``)."""

import time

import pytest
import requests

from nunis_ingest.errors import StravaAuthError
from nunis_ingest.strava.client import StravaClient
from nunis_ingest.strava.oauth import OAuthClient, Token


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


def _listing_pages_requested(sb) -> list[str]:
    log = sb.requests_log()["requests"]
    return [r["query"] for r in log if r["path"] == "/api/v3/athlete/activities"]


def test_the_next_page_is_fetched_while_the_caller_works_and_no_extra_one(sb):
    athlete = sb.athletes()[0]
    sb.clear_requests()
    with requests.Session() as session:
        client = StravaClient(session, base_url=sb.base_url, access_token=athlete["access_token"])
        pages = client.iter_activity_pages(per_page=20)
        first = next(pages)
        deadline = time.monotonic() + 5
        while len(_listing_pages_requested(sb)) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)  # the caller is "busy" with page 1; page 2 arrives meanwhile
        assert len(_listing_pages_requested(sb)) == 2, "page 2 was not prefetched"
        rest = list(pages)
    total = len(first.items) + sum(len(p.items) for p in rest)
    assert total == len(sb.truth(athlete["id"]))
    assert len(_listing_pages_requested(sb)) == len(rest) + 2  # the pages + the empty one


def test_a_caller_that_says_stop_costs_no_further_request(sb):
    athlete = sb.athletes()[0]
    sb.clear_requests()
    with requests.Session() as session:
        client = StravaClient(session, base_url=sb.base_url, access_token=athlete["access_token"])
        pages = list(client.iter_activity_pages(per_page=20, continue_while=lambda: False))
    time.sleep(0.2)  # nothing may still be in flight
    assert len(pages) == 1
    assert len(_listing_pages_requested(sb)) == 1
