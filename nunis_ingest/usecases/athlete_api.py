"""One athlete's Strava access for one run: a fresh token, and one 401 is not a verdict.

An access token can stop working before its ``expires_at`` (our clock can lag Strava's,
or Strava rotated it early), so a 401 is answered by one forced token refresh and one
retry of the same request. Only a refresh that Strava itself refuses means the athlete
must re-authorise (``StravaAuthError``, which marks the athlete); a refreshed token that is
refused again raises ``StravaTokenRejected``, which is retried later and marks nothing.
A missing scope (``StravaScopeError``) is not helped by a refresh and is raised at once.

Every request goes through ``call``, which first asks the app's shared read ledger
(``ctx.budget``, ``budget/ledger.py``) on behalf of ``kind`` (poll, webhook, enrich,
reconcile): a denied read raises ``BudgetDeferred`` before any request (and before any
token refresh), and every response's rate-limit headers are recorded in the ledger.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TypeVar

from nunis_ingest.adapters.strava.client import StravaClient
from nunis_ingest.context import SyncContext
from nunis_ingest.core.budget_rules import Headroom
from nunis_ingest.core.keys import athlete_key
from nunis_ingest.core.ownership import require_self
from nunis_ingest.core.ratelimit import RateLimitUsage
from nunis_ingest.core.stops import Stop, budget_stop
from nunis_ingest.core.token import Token
from nunis_ingest.errors import (
    BudgetDeferred,
    StravaAuthError,
    StravaScopeError,
    StravaTokenRejected,
)
from nunis_ingest.usecases.athletes import AthleteRepo
from nunis_ingest.usecases.tokens import fresh_token

T = TypeVar("T")

RETRY_MARGIN_SECONDS = 30.0
"""Retries of one request stop this long before the run's deadline."""

log = logging.getLogger(__name__)


class AthleteApi:
    """Builds the athlete's client on first use; ``call`` runs a request through it."""

    def __init__(
        self,
        ctx: SyncContext,
        athlete_id: int,
        *,
        deadline: float | None = None,
        max_attempts: int = 4,
        kind: str = "poll",
    ) -> None:
        """``deadline``: the run's end on ``ctx.monotonic``'s clock (its time budget);
        retries stop ``RETRY_MARGIN_SECONDS`` before it."""
        self._ctx = ctx
        self.kind = kind
        self._kind_now = kind
        self.athlete_id = athlete_id
        self._repo = AthleteRepo(ctx.store)
        self.deadline = deadline
        self._deadline = None if deadline is None else deadline - RETRY_MARGIN_SECONDS
        self._max_attempts = max_attempts
        self._client: StravaClient | None = None
        self._spent = 0  # requests of clients replaced after a refresh
        self.token: Token | None = None
        self.refreshed = False

    def proceed(self) -> Stop | None:
        """Why the run must not make its next request (read headroom, time budget)."""
        deadline = float("inf") if self.deadline is None else self.deadline
        s = self._ctx.settings
        headroom = Headroom(s.read_headroom_15min, s.read_headroom_daily)
        return budget_stop(self.last_usage, headroom, self._ctx.monotonic(), deadline)

    def connected_token(self) -> Token:
        """The token this api uses (connecting, and refreshing when due, first)."""
        _ = self.client
        assert self.token is not None
        return self.token

    def verify_owner(self) -> None:
        """Make sure the token is this athlete's before a 404 may count as a deletion. A
        token that names no athlete (registered with a bare refresh token) is asked once
        (``GET /athlete``, one read) and, when it is this athlete's, saved with its id so it
        is not asked again; another athlete's raises ``TokenMismatch``: with it, every
        activity of ours answers 404 and would be deleted, 25 a run."""
        token = self.connected_token()
        if token.athlete_id == self.athlete_id:
            return
        require_self(
            self.call(lambda c: c.get_athlete()),
            self.athlete_id,
            holder=athlete_key(self.athlete_id, "token.json"),
            outcome="no deletion was confirmed",
            action=f"run `nunis-ingest auth` as athlete {self.athlete_id} (or `athlete add "
            f"{self.athlete_id}` with that athlete's own refresh token).",
        )
        self.token = replace(token, athlete_id=self.athlete_id)
        stored = self._repo.load_token(self.athlete_id)
        if stored.refresh_token == token.refresh_token:  # not rotated meanwhile by another run
            self._repo.save_token(self.athlete_id, replace(stored, athlete_id=self.athlete_id))

    @property
    def requests_made(self) -> int:
        return self._spent + (self._client.requests_made if self._client else 0)

    @property
    def last_usage(self) -> RateLimitUsage | None:
        return self._client.last_usage if self._client else None

    @property
    def client(self) -> StravaClient:
        if self._client is None:
            self._connect(force=False)
        assert self._client is not None
        return self._client

    def call(self, request: Callable[[StravaClient], T], *, kind: str | None = None) -> T:
        """Run ``request`` (one Strava read) once the ledger admits it for ``kind``
        (default: this api's kind)."""
        kind = kind or self.kind
        self._admit(kind)
        try:
            return request(self.client)
        except StravaScopeError:
            raise
        except StravaAuthError as first:
            if self.refreshed:
                raise StravaTokenRejected(
                    f"{first} (after a token refresh in this run)", athlete_id=self.athlete_id
                ) from first
            log.warning(
                "athlete %d: Strava refused the access token before its expiry; "
                "refreshing it and retrying once",
                self.athlete_id,
            )
            try:
                self._connect(force=True)
            except StravaAuthError as refused:  # the refresh token is dead: revoked for real
                raise StravaAuthError(
                    f"Athlete {self.athlete_id}: {refused}", athlete_id=self.athlete_id
                ) from refused
            self._admit(kind)
            try:
                return request(self.client)
            except StravaScopeError:
                raise
            except StravaAuthError as again:
                raise StravaTokenRejected(
                    "Strava refused a freshly refreshed access token; the refresh token "
                    "works, so the athlete is not marked for re-authorisation.",
                    athlete_id=self.athlete_id,
                    action="none if it passes; if it persists, run `nunis-ingest auth` again.",
                ) from again

    def _admit(self, kind: str) -> None:
        self._kind_now = kind
        budget = self._ctx.budget
        if budget is None:
            return
        verdict = budget.admit(self.athlete_id, kind, self._ctx.now())
        if not verdict.allowed:
            raise BudgetDeferred(
                f"Athlete {self.athlete_id}: no {kind} read made, {verdict.detail}; "
                f"deferred until {_utc(verdict.until)}.",
                until=verdict.until,
                why=verdict.why,
            )

    def _observe(self, usage: RateLimitUsage | None) -> None:
        budget = self._ctx.budget
        if budget is not None:
            # Enrichment reads count for the app (its usage) but not for the athlete's
            # fair share: a backfill must never defer the athlete's own polls. Enrichment
            # is bounded by its own ceiling here and by NUNIS_ENRICH_READ_SHARE.
            owner = None if self._kind_now == "enrich" else self.athlete_id
            budget.record(owner, usage, self._ctx.now())

    def refresh(self) -> None:
        """Force a token refresh now (saved before use); a refused refresh raises
        ``StravaAuthError`` (revoked for real)."""
        self._connect(force=True)

    def _connect(self, *, force: bool) -> None:
        ctx = self._ctx
        previous = self._client
        if previous is not None:
            self._spent += previous.requests_made
        self.token = fresh_token(
            ctx.session,
            ctx.settings,
            self._repo,
            self.athlete_id,
            ctx.now(),
            force=force,
            sleep=ctx.sleep,
        )
        self.refreshed = self.refreshed or force
        client = StravaClient(
            ctx.session,
            base_url=ctx.settings.strava_base_url,
            access_token=self.token.access_token,
            timeout=ctx.settings.http_timeout_seconds,
            max_attempts=self._max_attempts,
            deadline=self._deadline,
            sleep=ctx.sleep,
            clock=ctx.monotonic,
            on_response=self._observe,
        )
        if previous is not None and previous.last_usage is not None:
            client.last_usage = previous.last_usage
        self._client = client


def _utc(epoch: float | None) -> str:
    if epoch is None:
        return "the next window"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")
