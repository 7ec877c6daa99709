"""Access tokens: refresh only when needed, and never lose a rotated refresh token."""

from __future__ import annotations

import requests

from nunis_ingest import logs
from nunis_ingest.athletes import AthleteRepo
from nunis_ingest.settings import Settings
from nunis_ingest.strava.oauth import OAuthClient, Token, needs_refresh


def fresh_token(
    session: requests.Session, settings: Settings, repo: AthleteRepo, athlete_id: int, now: float
) -> Token:
    """The athlete's token, refreshed when within its last hour.

    Strava invalidates the old refresh token the moment it issues a new one, so the
    response is saved before this function returns and before any other request.
    """
    token = repo.load_token(athlete_id)
    logs.register_secret(token.refresh_token)
    logs.register_secret(token.access_token)
    if not needs_refresh(token, now):
        return token
    client_id, secret = settings.require_strava_app()
    oauth = OAuthClient(
        session,
        base_url=settings.strava_base_url,
        client_id=client_id,
        client_secret=secret,
        timeout=settings.http_timeout_seconds,
    )
    fresh = oauth.refresh(token)
    repo.save_token(athlete_id, fresh)
    logs.register_secret(fresh.refresh_token)
    logs.register_secret(fresh.access_token)
    return fresh
