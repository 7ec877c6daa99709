"""A thin Strava API v3 client: pages of activities, single resources, typed errors.

It is ours rather than stravalib's because the sync needs three things a general client hides:
the exact bytes of each page (archived before any transform), the rate-limit figures of every
response (to budget a run), and errors that already encode retry-or-report. Everything
nondeterministic is injected (session, sleep, clock) so tests need no monkeypatching.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests

from nunis_ingest.adapters.strava.transport import make_retrying, request_json
from nunis_ingest.core.ratelimit import RateLimitUsage

MAX_PER_PAGE = 200


@dataclass(frozen=True)
class Page:
    """One listing page: ``body`` is exactly what Strava sent, ``items`` its parsed form."""

    number: int
    body: bytes
    items: list[dict[str, Any]]
    usage: RateLimitUsage | None


class StravaClient:
    """Read-only access to one athlete's data with one access token.

    ``deadline`` is a ``clock()`` reading after which no retry starts (the function's time
    budget); the first attempt of a call is always made. ``requests_made`` counts every HTTP
    attempt, retries included, because each one spends Strava's rate limit.
    """

    def __init__(
        self,
        session: requests.Session,
        *,
        base_url: str,
        access_token: str,
        timeout: float = 30.0,
        max_attempts: int = 4,
        deadline: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        on_response: Callable[[RateLimitUsage | None], None] | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._session = session
        self._api = base_url.rstrip("/") + "/api/v3"
        self._token = access_token
        self._timeout = timeout
        self._max_attempts = max_attempts
        self._deadline = deadline
        self._sleep = sleep
        self._clock = clock
        self._on_response = on_response
        self.requests_made = 0
        self.last_usage: RateLimitUsage | None = None
        self._response_usage: RateLimitUsage | None = None

    def __repr__(self) -> str:
        # The default repr would not show the token, but be explicit: it must never appear.
        return f"StravaClient(api={self._api!r}, requests_made={self.requests_made})"

    # --- listings ---------------------------------------------------------------------

    def list_activities_page(
        self,
        page: int,
        *,
        after: int | None = None,
        before: int | None = None,
        per_page: int = MAX_PER_PAGE,
    ) -> Page:
        """``GET /athlete/activities`` for one page (1-based). ``after``/``before``: epoch s."""
        if page < 1:
            raise ValueError("page numbers start at 1")
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise ValueError(f"per_page must be between 1 and {MAX_PER_PAGE}")
        params: dict[str, int] = {"page": page, "per_page": per_page}
        if after is not None:
            params["after"] = after
        if before is not None:
            params["before"] = before
        body, items = self._get(
            "/athlete/activities", params, expect=list, context=f"listing activities page {page}"
        )
        return Page(number=page, body=body, items=items, usage=self._response_usage)

    # --- single resources -------------------------------------------------------------

    def get_activity(self, activity_id: int) -> tuple[bytes, dict[str, Any]]:
        """``GET /activities/{id}`` (DetailedActivity): exact body bytes and parsed object."""
        body, data = self._get(
            f"/activities/{int(activity_id)}",
            {},
            expect=dict,
            context=f"fetching activity {int(activity_id)}",
        )
        return body, data

    def get_streams(self, activity_id: int, keys: Sequence[str]) -> tuple[bytes, dict[str, Any]]:
        """``GET /activities/{id}/streams?keys=...&key_by_type=true``: every stream type
        in one request, keyed by type. A manual activity answers 404 (``StravaNotFound``)."""
        body, data = self._get(
            f"/activities/{int(activity_id)}/streams",
            {"keys": ",".join(keys), "key_by_type": "true"},
            expect=dict,
            context=f"fetching the streams of activity {int(activity_id)}",
        )
        return body, data

    def get_athlete(self) -> dict[str, Any]:
        """``GET /athlete``: the authenticated athlete's profile."""
        _, data = self._get("/athlete", {}, expect=dict, context="fetching the athlete profile")
        return data  # type: ignore[no-any-return]

    # --- plumbing -------------------------------------------------------------------

    def _record(self, usage: RateLimitUsage | None) -> None:
        self._response_usage = usage
        # Keep the last known figures when a response carries none (e.g. a proxy's 502).
        if usage is not None:
            self.last_usage = usage
        if self._on_response is not None:
            self._on_response(usage)

    def _get(
        self,
        path: str,
        params: Mapping[str, int | str],
        *,
        expect: type[list[Any]] | type[dict[str, Any]],
        context: str,
    ) -> tuple[bytes, Any]:
        retrying = make_retrying(
            max_attempts=self._max_attempts,
            sleep=self._sleep,
            clock=self._clock,
            deadline=self._deadline,
        )
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}

        def attempt() -> tuple[bytes, Any]:
            self.requests_made += 1
            return request_json(
                self._session,
                "GET",
                self._api + path,
                expect=expect,
                context=context,
                secrets=(self._token,),
                timeout=self._timeout,
                on_usage=self._record,
                params=params,
                headers=headers,
            )

        return retrying(attempt)
