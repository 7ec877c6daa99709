"""HTTP glue for the ``onboard`` function and ``onboard serve``: request -> response.

Routes by the last path segment, so the same code serves ``/`` locally and
``/onboard/...`` behind a function URL: ``callback`` (Strava's redirect), ``done`` (the
confirmation) and anything else (the start page). Never raises.

**Invited athletes only** (``invites.py``): the start page answers 403 to anyone without a
valid invite, after an HMAC check and nothing else (no storage, no Strava, no cookie). The
invite's id rides in the signed state; the callback checks the state, the browser's
cookie, Strava's answer and the scope (still no I/O), then claims the invite with one
create-only write (an invite connects once; a replayed callback finds it used), and only
then exchanges the code. The token goes to a create-only hand-over object and an
``enroll`` message on the ingest topic (``handover.py``): this page never reads or
overwrites an athlete's token or config. With no topic (``onboard serve``) it applies the
hand-over itself (``enroll.apply_here``).

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
from nunis_ingest.adapters.strava.oauth import OAuthClient
from nunis_ingest.core.enrolment import Enrolment
from nunis_ingest.core.enrolment import message as enrol_message
from nunis_ingest.core.events import InvalidAthleteId, validate_athlete_id
from nunis_ingest.core.signing import (
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
from nunis_ingest.core.token import DEFAULT_SCOPE, accepted_scope_ok
from nunis_ingest.drivers.onboard import pages
from nunis_ingest.errors import NunisError, PreconditionFailed
from nunis_ingest.usecases.onboard import enroll, handover, invites

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
UNINVITED = {
    "missing": "This page is for invited athletes only.",
    "malformed": "This invite link is damaged (was it cut short when you copied it?).",
    "tampered": "This invite link was altered, so it is not trusted.",
    "expired": "This invite link has expired.",
    "issued in the future": "This invite link is not valid yet (check the server's clock).",
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
        try:
            invite = invites.check_invite(
                self.secret, self.request.args.get(invites.PARAMETER, ""), self.now
            )
        except StateRejected as refused:  # before any storage, Strava request or cookie
            log.info("onboarding start refused: invite %s", refused.reason)
            return _html(pages.uninvited(UNINVITED[refused.reason]), 403)
        return self._with_link(pages.start, 200, invite.id)

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
        if query.get("error"):
            log.info("onboarding cancelled at Strava (%s)", query.get("error", "")[:40])
            return self._with_link(pages.cancelled, 200, state.invite)
        code = query.get("code", "")
        logs.register_secret(code)
        if not code:
            return self._refused("Strava sent no authorisation code.", 400)
        if not accepted_scope_ok(query.get("scope")):
            # refused before the exchange: no token is ever issued to us for it
            log.warning("onboarding refused: accepted scope %r", query.get("scope", "")[:80])
            return self._with_link(pages.scope_refused, 403, state.invite)
        if not invites.claim(self.rt.store, state.invite, self.now):
            log.warning("onboarding callback refused: invite already used")
            return self._refused("This invite was already used: ask for a new one.", 409)
        return self._connect(code, query.get("scope"), state.invite)

    def _connect(self, code: str, scope: str | None, invite_id: str) -> BaseResponse:
        oauth = OAuthClient.for_app(self.rt.session, self.rt.settings)
        try:
            token, athlete = oauth.exchange_code(code, scope=scope)
        except NunisError as exc:
            log.error("onboarding: the code exchange failed: %s", logs.redact(str(exc)))
            return _html(
                pages.unavailable(
                    "Strava did not accept the sign-in, and this invite is now used: "
                    "please ask for a new invite link."
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
        try:
            key = handover.write(self.rt.store, athlete_id, invite_id, token, label)
        except PreconditionFailed:  # the invite claim makes this unreachable; never overwrite
            return self._refused("This invite was already used: ask for a new one.", 409)
        enrolment = Enrolment(athlete_id, key)
        publisher = self.publisher(self.rt)
        if publisher is not None:
            attributes = {"athlete_id": str(athlete_id)}
            publisher.put(enrol_message(enrolment), attributes=attributes)
            how = "queued"
        else:
            how = enroll.apply_here(self.rt.context(), enrolment)
        log.info(
            "athlete %d connected with invite %s; first load %s",
            athlete_id,
            invite_id,
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
        answer = _html(pages.refused(reason), status)
        answer.delete_cookie(COOKIE, path="/")
        return answer

    def _with_link(self, render: Callable[[str], str], status: int, invite: str) -> BaseResponse:
        """A page with a fresh authorize link for ``invite``, and the cookie that binds it to
        this browser."""
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
                "state": issue_state(self.secret, nonce, self.now, invite),
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
