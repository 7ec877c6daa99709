"""Strava OAuth: the authorise URL, code exchange, token refresh with rotation, deauthorise.

Refresh tokens rotate: once Strava returns a new one, the old one is dead. The caller must
persist the returned ``Token`` before doing anything else. ``Token`` redacts both secrets in
``repr``/``str`` so a stray log line or traceback cannot leak them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests

from nunis_ingest.adapters.strava.transport import make_retrying, request_json
from nunis_ingest.errors import ConfigError, StravaAuthError, StravaBadResponse, StravaUnavailable
from nunis_ingest.settings import Settings

DEFAULT_SCOPE = "read,activity:read_all"
REFRESH_MARGIN = 3600
"""Strava only issues a new access token within the last hour of the old one's 6-hour life."""


@dataclass(frozen=True, repr=False)
class Token:
    """An athlete's token pair. ``expires_at`` is epoch seconds; ``scope`` as accepted."""

    access_token: str
    refresh_token: str
    expires_at: int
    scope: str | None = None
    athlete_id: int | None = None

    def __repr__(self) -> str:
        return (
            f"Token(access_token='***', refresh_token='***', expires_at={self.expires_at}, "
            f"scope={self.scope!r}, athlete_id={self.athlete_id!r})"
        )

    __str__ = __repr__

    def to_json(self) -> bytes:
        """Stable JSON for the secret store (sorted keys, so unchanged tokens compare equal)."""
        return json.dumps(
            {
                "access_token": self.access_token,
                "refresh_token": self.refresh_token,
                "expires_at": self.expires_at,
                "scope": self.scope,
                "athlete_id": self.athlete_id,
            },
            sort_keys=True,
        ).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Token:
        """Parse ``to_json`` output; errors name the problem but never echo the content."""
        try:
            raw: Any = json.loads(data)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            where = ""
            if isinstance(exc, json.JSONDecodeError):
                where = f" (line {exc.lineno}, column {exc.colno})"
            raise ConfigError(
                f"The stored Strava token is not valid JSON{where}.", action=_STORE_AGAIN
            ) from None
        if not isinstance(raw, dict):
            raise ConfigError("The stored Strava token is not a JSON object.", action=_STORE_AGAIN)
        # An empty access token is allowed: `athlete add` stores only a refresh token,
        # with expires_at 0, and the first sync exchanges it.
        access = raw.get("access_token")
        return cls(
            access_token=access if access == "" else _text(raw, "access_token"),
            refresh_token=_text(raw, "refresh_token"),
            expires_at=_integer(raw, "expires_at"),
            scope=_optional_text(raw, "scope"),
            athlete_id=_optional_integer(raw, "athlete_id"),
        )


_STORE_AGAIN = "run `nunis-ingest auth` for this athlete to store a fresh token."


def _text(raw: dict[str, Any], key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise ConfigError(
            f"The stored Strava token has no valid '{key}' (must be a non-empty string).",
            action=_STORE_AGAIN,
        )
    return value


def _integer(raw: dict[str, Any], key: str) -> int:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise ConfigError(
            f"The stored Strava token has no valid '{key}' (must be a number).", action=_STORE_AGAIN
        )
    return int(value)


def _optional_text(raw: dict[str, Any], key: str) -> str | None:
    return None if raw.get(key) is None else _text(raw, key)


def _optional_integer(raw: dict[str, Any], key: str) -> int | None:
    return None if raw.get(key) is None else _integer(raw, key)


def needs_refresh(token: Token, now: float, margin: int = REFRESH_MARGIN) -> bool:
    """True within the last ``margin`` seconds of the access token's life (or after it).

    Refreshing earlier is useless: Strava returns the same access token.
    """
    return token.expires_at - now <= margin


def accepted_scope_ok(scope: str | None, required: Iterable[str] = ("activity:read_all",)) -> bool:
    """Whether the scope the athlete accepted (they can untick boxes) covers ``required``."""
    granted = {part.strip() for part in (scope or "").replace(" ", ",").split(",") if part.strip()}
    return set(required) <= granted


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
        return _token_from(data, scope=token.scope, athlete_id=token.athlete_id)

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
