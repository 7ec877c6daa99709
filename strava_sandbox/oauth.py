"""OAuth endpoints: authorize (auto-approve, or an Authorize page with scope boxes when
the control API turned it on), token (code and refresh grants), deauthorize."""

from __future__ import annotations

import secrets
from html import escape
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, jsonify, redirect, request

from strava_sandbox import errors
from strava_sandbox.sandbox import Sandbox
from strava_sandbox.store import AthleteState

REUSE_WINDOW = 3600  # a refresh with more than this left returns the same token

bp = Blueprint("oauth", __name__)


def sandbox() -> Sandbox:
    box: Sandbox = current_app.extensions["sandbox"]
    return box


def _params() -> dict[str, Any]:
    values: dict[str, Any] = dict(request.args)
    values.update(request.form)
    if request.is_json and isinstance(request.get_json(silent=True), dict):
        values.update(request.get_json())
    return values


@bp.get("/oauth/authorize")
def authorize() -> Any:
    box, args = sandbox(), request.args
    if str(args.get("client_id")) != str(box.client_id):
        return errors.bad_request("Application", "client_id", "invalid")
    redirect_uri = args.get("redirect_uri")
    if not redirect_uri:
        return errors.bad_request("Application", "redirect_uri", "invalid")
    state = args.get("state", "")
    sep = "&" if "?" in redirect_uri else "?"
    if args.get("deny") in ("1", "true"):
        return redirect(
            f"{redirect_uri}{sep}{urlencode({'state': state, 'error': 'access_denied'})}"
        )
    if box.consent_page and not args.get("approve"):
        return _consent(args)
    if args.get("approve"):
        scope = ",".join(args.getlist("scope_choice")) or "read"
    else:
        scope = args.get("accept_scope") or args.get("scope") or "read"
    with box.lock:
        athlete_id = int(args.get("athlete_id") or next(iter(box.store.athletes)))
        if athlete_id not in box.store.athletes:
            return errors.bad_request("Athlete", "athlete_id", "invalid")
        code = secrets.token_hex(20)
        box.codes[code] = (athlete_id, scope)
    query = urlencode({"state": state, "code": code, "scope": scope})
    return redirect(f"{redirect_uri}{sep}{query}")


def _consent(args: Any) -> Response:
    """Strava's authorize page, reduced: a box per requested scope, Authorize and Cancel.
    Submitting comes back here with ``approve=1`` and the ticked ``scope_choice`` values."""
    keep = "".join(
        f'<input type=hidden name="{escape(k)}" value="{escape(v)}">'
        for k, v in args.items(multi=True)
        if k not in ("approve", "deny", "scope_choice")
    )
    boxes = "".join(
        f'<p><label><input type=checkbox name=scope_choice id="scope-{escape(s)}" '
        f'value="{escape(s)}" checked> {escape(s)}</label></p>'
        for s in str(args.get("scope") or "read").split(",")
        if s
    )
    page = (
        "<!doctype html><title>Authorize</title><h1>Authorize application</h1>"
        f'<form method=get action="/oauth/authorize">{keep}{boxes}'
        "<button id=authorize name=approve value=1>Authorize</button> "
        "<button id=cancel name=deny value=1>Cancel</button></form>"
    )
    return Response(page, mimetype="text/html")


def _token_body(athlete: AthleteState, now: float) -> dict[str, Any]:
    tokens = athlete.tokens
    assert tokens is not None
    return {
        "token_type": "Bearer",
        "access_token": tokens.access_token,
        "expires_at": tokens.expires_at,
        "expires_in": max(0, tokens.expires_at - int(now)),
        "refresh_token": tokens.refresh_token,
    }


@bp.post("/oauth/token")
@bp.post("/api/v3/oauth/token")
def token() -> Any:
    box, params = sandbox(), _params()
    if str(params.get("client_id")) != str(box.client_id):
        return errors.bad_request("Application", "client_id", "invalid")
    if params.get("client_secret") != box.client_secret:
        return errors.bad_request("Application", "client_secret", "invalid")
    grant = params.get("grant_type")
    now = box.now()
    with box.lock:
        if grant == "authorization_code":
            found = box.codes.pop(str(params.get("code")), None)
            if found is None:
                return errors.bad_request("AuthorizationCode", "code", "invalid")
            athlete = box.store.athletes[found[0]]
            box.store.issue_tokens(athlete, found[1], now)
            request.environ["sandbox.athlete_id"] = athlete.id
            summary = {
                k: athlete.profile.get(k)
                for k in (
                    "id",
                    "username",
                    "firstname",
                    "lastname",
                    "city",
                    "state",
                    "country",
                    "sex",
                    "premium",
                    "summit",
                    "created_at",
                    "updated_at",
                    "profile_medium",
                    "profile",
                )
            }
            return jsonify(_token_body(athlete, now) | {"athlete": summary | {"resource_state": 2}})
        if grant == "refresh_token":
            maybe = box.store.by_refresh_token(str(params.get("refresh_token")))
            if maybe is None or maybe.tokens is None:
                return errors.bad_request("RefreshToken", "refresh_token", "invalid")
            request.environ["sandbox.athlete_id"] = maybe.id
            if maybe.tokens.expires_at - now <= REUSE_WINDOW:
                box.store.issue_tokens(maybe, maybe.tokens.scope, now)
            return jsonify(_token_body(maybe, now))
    return errors.bad_request("Application", "grant_type", "invalid")


@bp.post("/oauth/deauthorize")
def deauthorize() -> Response:
    box = sandbox()
    header = request.headers.get("Authorization", "")
    given = _params().get("access_token") or header.removeprefix("Bearer ").strip()
    with box.lock:
        athlete = box.store.by_access_token(str(given)) if given else None
        if athlete is None or athlete.tokens is None or athlete.tokens.expires_at <= box.now():
            return errors.invalid_token()
        request.environ["sandbox.athlete_id"] = athlete.id
        box.revoke(athlete)
    return jsonify({"access_token": given})
