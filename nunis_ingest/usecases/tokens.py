"""Access tokens: refresh only when needed, and never lose a rotated refresh token."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import requests

from nunis_ingest import logs
from nunis_ingest.adapters.strava.oauth import OAuthClient
from nunis_ingest.core.keys import athlete_key
from nunis_ingest.core.token import Token, accepted_scope_ok, needs_refresh
from nunis_ingest.errors import StravaAuthError, TokenMismatch
from nunis_ingest.settings import Settings
from nunis_ingest.usecases.athletes import AthleteRepo

log = logging.getLogger(__name__)

SAVE_ATTEMPTS = 3


def fresh_token(
    session: requests.Session,
    settings: Settings,
    repo: AthleteRepo,
    athlete_id: int,
    now: float,
    *,
    force: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> Token:
    """The athlete's token, refreshed when within its last hour (or at once with ``force``:
    Strava refused the access token before its ``expires_at``, e.g. our clock lags).

    Strava invalidates the old refresh token the moment it issues a new one, so the
    response is saved before this function returns and before any other request. If
    Strava rejects our refresh token because another writer (the webhook path, an
    expired-lease run) rotated it meanwhile, the token that writer saved is used instead
    of marking the athlete as needing re-authorisation.
    """
    token = repo.load_token(athlete_id)
    _register(token)
    check_owner(token, athlete_id)
    if not force and not needs_refresh(token, now):
        return token
    oauth = OAuthClient.for_app(session, settings, sleep)
    try:
        fresh = oauth.refresh(token)
    except StravaAuthError:
        current = repo.load_token(athlete_id)
        if current.refresh_token == token.refresh_token:
            raise  # nobody rotated it: it really is revoked or invalid
        log.info("athlete %d: the token was rotated by another writer; using theirs", athlete_id)
        _register(current)
        if not force and not needs_refresh(current, now):
            return current
        fresh = oauth.refresh(current)
    _register(fresh)
    _save(repo, athlete_id, fresh)
    return fresh


def check_owner(token: Token, athlete_id: int) -> None:
    """Refuse a token registered under another athlete's id (a copied file, a mix-up):
    with it, one athlete's activities would be filed under another's id."""
    if token.athlete_id is not None and token.athlete_id != athlete_id:
        raise TokenMismatch(
            f"{athlete_key(athlete_id, 'token.json')} holds the token of athlete "
            f"{token.athlete_id}.",
            athlete_id=athlete_id,
            action=f"run `nunis-ingest auth` as athlete {athlete_id}, or move the file to "
            f"{athlete_key(token.athlete_id, '')}.",
        )


def _register(token: Token) -> None:
    logs.register_secret(token.refresh_token)
    logs.register_secret(token.access_token)


def _save(repo: AthleteRepo, athlete_id: int, token: Token) -> None:
    """Persist a rotated token, retrying: Strava has already invalidated the old one."""
    for attempt in range(1, SAVE_ATTEMPTS + 1):
        try:
            repo.save_token(athlete_id, token)
            return
        except Exception:
            if attempt == SAVE_ATTEMPTS:
                log.critical(
                    "athlete %d: could not save the rotated Strava token; it is lost and the "
                    "athlete must re-authorise with `nunis-ingest auth`",
                    athlete_id,
                )
                raise
            log.warning("athlete %d: saving the rotated token failed; retrying", athlete_id)


def scope_warning(token: Token, athlete_id: int) -> str | None:
    """A warning when the athlete did not grant activity:read_all (Only Me activities are
    then silently left out of every listing). ``None`` when the scope is fine or unknown."""
    if token.scope is None or accepted_scope_ok(token.scope):
        return None
    return (
        f"athlete {athlete_id}: the token's scope is '{token.scope}', without "
        "activity:read_all, so Strava hides their Only Me activities and they are not loaded. "
        "Fix: run `nunis-ingest auth` again and tick 'View data about your private activities'."
    )


def scope_notice(token: Token, athlete_id: int) -> str | None:
    """What ``athlete add`` and ``status`` say about the scope: the narrow-scope warning,
    or, when the scope is unknown (a refresh token registered by hand: Strava's refresh
    answer carries no scope), that Only Me activities are missing unless it was granted."""
    if token.scope is not None and token.scope_by_hand and accepted_scope_ok(token.scope):
        return (
            f"athlete {athlete_id}: the scope was given with --scope, not stated by Strava: "
            "activities deleted on Strava stay in the warehouse until it is (a 404 may only "
            "mean a hidden Only Me activity). Fix: run `nunis-ingest auth` for this athlete."
        )
    if token.scope is not None:
        return scope_warning(token, athlete_id)
    return (
        f"athlete {athlete_id}: the token's scope is unknown; unless the athlete granted "
        "activity:read_all, their Only Me activities will be missing, and no deletion is "
        "confirmed until the scope is known (a 404 may only mean hidden). Fix: pass the scope "
        "Strava showed with --scope, or run `nunis-ingest auth` (it checks and records it)."
    )
