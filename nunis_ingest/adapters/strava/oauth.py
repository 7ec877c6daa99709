"""Strava OAuth: the authorise URL, code exchange, token refresh with rotation, deauthorise.

Refresh tokens rotate: once Strava returns a new one, the old one is dead. The caller must
persist the returned ``Token`` before doing anything else. ``Token`` redacts both secrets in
``repr``/``str`` so a stray log line or traceback cannot leak them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

import requests

from nunis_ingest.adapters.strava.transport import make_retrying, request_json
from nunis_ingest.core.token import DEFAULT_SCOPE, Token
from nunis_ingest.errors import StravaAuthError, StravaBadResponse, StravaUnavailable
from nunis_ingest.settings import Settings


class OAuthClient:
    """Token endpoint calls for one Strava application.

    Transient failures (5xx, no response, garbled 2xx) are retried a few times. A retried
    refresh whose first attempt may have reached Strava can come back 400 "invalid": Strava
    rotated the token but the answer was lost. The error then says so, since no retry can
    recover that token and the athlete must re-authorise.
    """

    def __init__(
        self,
        session: requests.Session,
        *,
        base_url: str,
        client_id: str,
        client_secret: str,
        timeout: float = 30.0,
        max_attempts: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        deadline: float | None = None,
    ) -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._timeout = timeout
        self._max_attempts = max_attempts
        self._sleep = sleep
        self._clock = clock
        self._deadline = deadline
        self.requests_made = 0

    @classmethod
    def for_app(
        cls,
        session: requests.Session,
        settings: Settings,
        sleep: Callable[[float], None] = time.sleep,
    ) -> OAuthClient:
        """The client of the app configured in ``settings`` (``ConfigError`` naming the
        variables when its id or secret is missing): the one way the product builds it."""
        client_id, secret = settings.require_strava_app()
        return cls(
            session,
            base_url=settings.strava_base_url,
            client_id=client_id,
            client_secret=secret,
            timeout=settings.http_timeout_seconds,
            sleep=sleep,
        )

    def __repr__(self) -> str:
        return f"OAuthClient(base_url={self._base!r}, client_id={self._client_id!r})"

    def authorize_url(self, redirect_uri: str, scope: str = DEFAULT_SCOPE, *, state: str) -> str:
        """The URL to send the athlete to; Strava redirects back with ``code`` and ``scope``."""
        query = urlencode(
            {
                "client_id": self._client_id,
                "redirect_uri": redirect_uri,
                "response_type": "code",
                "approval_prompt": "auto",
                "scope": scope,
                "state": state,
            }
        )
        return f"{self._base}/oauth/authorize?{query}"

    def exchange_code(self, code: str, *, scope: str | None = None) -> tuple[Token, dict[str, Any]]:
        """Trade an authorisation code for tokens; returns the token and the athlete summary.

        Pass the ``scope`` the redirect reported so the stored token records what was granted.
        """
        data = self._post_token(
            {"grant_type": "authorization_code", "code": code},
            context="exchanging the authorisation code",
            secrets=(code,),
        )
        athlete = data.get("athlete")
        athlete = athlete if isinstance(athlete, dict) else {}
        athlete_id = athlete.get("id")
        token = _token_from(
            data,
            scope=scope,
            athlete_id=athlete_id if isinstance(athlete_id, int) else None,
        )
        return token, athlete

    def refresh(self, token: Token) -> Token:
        """Refresh; the result may carry a new refresh token: persist it before anything else."""
        data = self._post_token(
            {"grant_type": "refresh_token", "refresh_token": token.refresh_token},
            context="refreshing the access token",
            secrets=(token.refresh_token, token.access_token),
        )
        fresh = _token_from(data, scope=token.scope, athlete_id=token.athlete_id)
        return replace(fresh, scope_by_hand=token.scope_by_hand)

    def deauthorize(self, access_token: str) -> None:
        """Revoke the app's access for the token's athlete (all their tokens then get 401)."""
        self._call(
            f"{self._base}/oauth/deauthorize",
            {"access_token": access_token},
            context="deauthorising the athlete",
            secrets=(access_token,),
        )

    def _post_token(
        self, form: dict[str, str], *, context: str, secrets: tuple[str, ...]
    ) -> dict[str, Any]:
        form = {"client_id": self._client_id, "client_secret": self._client_secret, **form}
        return self._call(f"{self._base}/oauth/token", form, context=context, secrets=secrets)

    def _call(
        self, url: str, form: dict[str, str], *, context: str, secrets: tuple[str, ...]
    ) -> dict[str, Any]:
        secrets = (*secrets, self._client_secret)
        retrying = make_retrying(
            max_attempts=self._max_attempts,
            sleep=self._sleep,
            clock=self._clock,
            deadline=self._deadline,
        )
        maybe_delivered = False

        def attempt() -> dict[str, Any]:
            nonlocal maybe_delivered
            self.requests_made += 1
            try:
                _, data = request_json(
                    self._session,
                    "POST",
                    url,
                    expect=dict,
                    context=context,
                    secrets=secrets,
                    timeout=self._timeout,
                    data=form,
                    headers={"Accept": "application/json"},
                )
            except (StravaUnavailable, StravaBadResponse):
                maybe_delivered = True
                raise
            except StravaAuthError as error:
                if maybe_delivered:
                    raise StravaAuthError(
                        f"{error} An earlier attempt may have reached Strava and its answer "
                        "(with the rotated token) was lost.",
                        action=error.action,
                    ) from error
                raise
            return data  # type: ignore[no-any-return]

        return retrying(attempt)


def _token_from(data: dict[str, Any], *, scope: str | None, athlete_id: int | None) -> Token:
    access, refresh, expires = (
        data.get("access_token"),
        data.get("refresh_token"),
        data.get("expires_at"),
    )
    if (
        not isinstance(access, str)
        or not isinstance(refresh, str)
        or not access
        or not refresh
        or isinstance(expires, bool)
        or not isinstance(expires, int | float)
    ):
        raise StravaBadResponse(
            "Strava's token endpoint answered 2xx without access_token, refresh_token and "
            "expires_at.",
            action="retry later; if it persists, Strava changed its OAuth responses.",
        )
    return Token(
        access_token=access,
        refresh_token=refresh,
        expires_at=int(expires),
        scope=scope,
        athlete_id=athlete_id,
    )
