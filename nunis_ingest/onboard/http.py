"""HTTP glue for the ``onboard`` function and ``onboard serve``: request -> response.

Routes by the last path segment, so the same code serves ``/`` locally and
``/onboard/...`` behind a function URL: ``callback`` (Strava's redirect), ``done`` (the
confirmation) and anything else (the start page). Never raises.

What reaches the browser: the authorize link with a signed state, a cookie with that
state's nonce (HttpOnly, SameSite=Lax: sent on Strava's top-level redirect back, never
on a cross-site subrequest) and pages that name at most the athlete id. The code is
exchanged server to server and the tokens go straight to the token store. Every answer
is ``no-store``, cannot be framed and sends no Referer (the callback's address carries
the one-time code).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from flask import Request, Response, redirect
from werkzeug.wrappers import Response as BaseResponse

from nunis_ingest import logs
from nunis_ingest.athletes import AthleteRepo
from nunis_ingest.errors import NunisError
from nunis_ingest.events import InvalidAthleteId, validate_athlete_id
from nunis_ingest.onboard import enroll, nonces, pages
from nunis_ingest.onboard.state import (
    MAX_AGE_SECONDS,
    MIN_SECRET_LENGTH,
    StateRejected,
    check_state,
    issue_state,
    new_nonce,
    open_done,
    same_nonce,
    seal_done,
)
from nunis_ingest.strava.oauth import DEFAULT_SCOPE, OAuthClient, accepted_scope_ok

if TYPE_CHECKING:
    from nunis_ingest.ports import Queue
    from nunis_ingest.runtime import Runtime

log = logging.getLogger("nunis_ingest.onboard")

COOKIE = "nunis_onboard"
HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
}
REFUSED = {
    "malformed": "This is not a link from our start page.",
    "tampered": "This link was altered, so it is not trusted.",
    "expired": "This link has expired (it is valid for 10 minutes).",
    "issued in the future": "This link is not valid yet (check the server's clock).",
}

Publisher = Callable[["Runtime"], "Queue | None"]


def default_publisher(rt: Runtime) -> Queue | None:
    return rt.ingest_publisher


def handle(
    request: Request,
    runtime: Callable[[], Runtime],
    *,
    publisher: Publisher = default_publisher,
    clock: Callable[[], float] = time.time,
) -> BaseResponse:
    try:
        if request.method not in ("GET", "HEAD"):
            return _html(pages.unavailable("Only GET is served here."), 405)
        rt = runtime()
        secret = rt.settings.onboard_secret or ""
        if len(secret) < MIN_SECRET_LENGTH:
            log.error(
                "onboarding refused: NUNIS_ONBOARD_SECRET is not set or shorter than %d characters",
                MIN_SECRET_LENGTH,
            )
            return _html(pages.unavailable("Onboarding is not configured yet."), 503)
        flow = _Flow(request, rt, secret, publisher, clock())
        segment = request.path.rstrip("/").rpartition("/")[2]
        if segment == "callback":
            return flow.callback()
        if segment == "done":
            return flow.done()
        return flow.start()
    except Exception as exc:  # never a traceback (or anything in it) to the browser
        log.error("onboarding failed: %s: %s", type(exc).__name__, logs.redact(str(exc)))
        return _html(pages.unavailable("Something went wrong on our side; try again."), 500)


class _Flow:
    def __init__(
        self, request: Request, rt: Runtime, secret: str, publisher: Publisher, now: float
    ) -> None:
        self.request, self.rt, self.secret, self.publisher, self.now = (
            request,
            rt,
            secret,
            publisher,
            now,
        )
        self.base = _base_url(request, rt.settings.onboard_url)

    def start(self) -> BaseResponse:
        return self._with_link(pages.start, 200)

    def callback(self) -> BaseResponse:
        query = self.request.args
        try:
            state = check_state(self.secret, query.get("state", ""), self.now)
        except StateRejected as refused:
            log.warning("onboarding callback refused: state %s", refused.reason)
            return self._refused(REFUSED[refused.reason], 400)
        if not same_nonce(self.request.cookies.get(COOKIE), state):
            log.warning("onboarding callback refused: no matching cookie (another browser)")
            return self._refused(
                "This link was started in another browser or tab (or cookies are blocked).", 403
            )
        if not nonces.claim(self.rt.store, state, self.now):
            log.warning("onboarding callback refused: state already used")
            return self._refused("This link was already used.", 409)
        if query.get("error"):
            log.info("onboarding cancelled at Strava (%s)", query.get("error", "")[:40])
            return self._with_link(pages.cancelled, 200)
        code = query.get("code", "")
        logs.register_secret(code)
        if not code:
            return self._refused("Strava sent no authorisation code.", 400)
        if not accepted_scope_ok(query.get("scope")):
            # refused before the exchange: no token is ever issued to us for it
            log.warning("onboarding refused: accepted scope %r", query.get("scope", "")[:80])
            return self._with_link(pages.scope_refused, 403)
        return self._connect(code, query.get("scope"))

    def _connect(self, code: str, scope: str | None) -> BaseResponse:
        client_id, client_secret = self.rt.settings.require_strava_app()
        oauth = OAuthClient(
            self.rt.session,
            base_url=self.rt.settings.strava_base_url,
            client_id=client_id,
            client_secret=client_secret,
            timeout=self.rt.settings.http_timeout_seconds,
        )
        try:
            token, athlete = oauth.exchange_code(code, scope=scope)
        except NunisError as exc:
            log.error("onboarding: the code exchange failed: %s", logs.redact(str(exc)))
            return self._with_link(
                lambda url: pages.refused_with_link(
                    "Strava did not accept the sign-in. Please connect again.", url
                ),
                502,
            )
        logs.register_secret(token.access_token)
        logs.register_secret(token.refresh_token)
        try:
            athlete_id = validate_athlete_id(token.athlete_id or athlete.get("id"))
        except InvalidAthleteId:
            log.error("onboarding: Strava's token answer named no athlete id")
            return _html(pages.unavailable("Strava's answer named no athlete."), 502)
        label = " ".join(str(athlete.get(k) or "") for k in ("firstname", "lastname")).strip()
        is_new = enroll.enroll(AthleteRepo(self.rt.store), athlete_id, token, label)
        how = enroll.start_first_load(self.rt, athlete_id, self.publisher(self.rt))
        log.info(
            "athlete %d onboarded (%s); first load %s",
            athlete_id,
            "new" if is_new else "again",
            how,
            extra={"json_fields": {"athlete_id": athlete_id, "kind": "onboard"}},
        )
        sealed = seal_done(self.secret, athlete_id, how, self.now)
        answer = _secure(redirect(f"{self.base}/done?{urlencode({'d': sealed})}", 303))
        answer.delete_cookie(COOKIE, path="/")
        return answer

    def done(self) -> BaseResponse:
        try:
            athlete_id, how = open_done(self.secret, self.request.args.get("d", ""), self.now)
        except StateRejected:
            return self._refused("This confirmation link is not valid.", 400)
        return _html(pages.done(athlete_id, how), 200)

    def _refused(self, reason: str, status: int) -> BaseResponse:
        answer = _html(pages.refused(reason, f"{self.base}/"), status)
        answer.delete_cookie(COOKIE, path="/")
        return answer

    def _with_link(self, render: Callable[[str], str], status: int) -> BaseResponse:
        """A page with a fresh authorize link, and the cookie that binds it to this browser."""
        nonce = new_nonce()
        client_id = self.rt.settings.strava_client_id
        if not client_id:
            log.error("onboarding refused: STRAVA_CLIENT_ID is not set")
            return _html(pages.unavailable("Onboarding is not configured yet."), 503)
        query = urlencode(
            {
                "client_id": client_id,
                "redirect_uri": f"{self.base}/callback",
                "response_type": "code",
                "approval_prompt": "auto",
                "scope": DEFAULT_SCOPE,
                "state": issue_state(self.secret, nonce, self.now),
            }
        )
        url = f"{self.rt.settings.strava_base_url}/oauth/authorize?{query}"
        answer = _html(render(url), status)
        answer.set_cookie(
            COOKIE,
            nonce,
            max_age=MAX_AGE_SECONDS,
            path="/",
            secure=self.base.startswith("https://"),
            httponly=True,
            samesite="Lax",
        )
        return answer


def _base_url(request: Request, configured: str | None) -> str:
    """The page's public address without a trailing '/' (NUNIS_ONBOARD_URL if set)."""
    if configured:
        return configured.rstrip("/")
    base = request.base_url.rstrip("/")
    for tail in ("/callback", "/done"):
        base = base.removesuffix(tail)
    if request.headers.get("X-Forwarded-Proto") == "https":
        base = "https://" + base.partition("://")[2]
    return base


def _html(text: str, status: int) -> BaseResponse:
    return _secure(Response(text, status=status, mimetype="text/html"))


def _secure(answer: BaseResponse) -> BaseResponse:
    answer.headers.update(HEADERS)
    return answer
