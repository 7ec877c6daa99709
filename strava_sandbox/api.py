"""Strava API v3 routes: athlete, activities, laps, streams, push subscriptions."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from strava_sandbox import detail, errors
from strava_sandbox.data import Activity
from strava_sandbox.oauth import sandbox
from strava_sandbox.store import AthleteState
from strava_sandbox.webhooks import Subscription, handshake

bp = Blueprint("api", __name__, url_prefix="/api/v3")
MAX_PER_PAGE = 200


class ApiError(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> Response:
    return exc.response


@bp.before_request
def _limits_and_status() -> Response | None:
    box = sandbox()
    if request.path.startswith("/api/v3/oauth/"):
        return None
    allowed, headers = box.limiter.record(request.method == "GET", box.now())
    g.rate_headers = headers
    if not allowed:
        return errors.rate_limited()
    if not box.active:
        return errors.app_inactive()
    return None


@bp.after_request
def _rate_headers(response: Response) -> Response:
    response.headers.update(getattr(g, "rate_headers", {}))
    return response


def _dumps(doc: Any) -> str:
    """UTF-8 JSON; a lone surrogate (half an emoji in a name) travels as a ``\\u`` escape,
    as from Strava, instead of failing the response."""
    text = json.dumps(doc, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(doc)
    return text


def json_text(text: str, status: int = 200) -> Response:
    return Response(text, status=status, mimetype="application/json")


def authed(need_activity_scope: bool = False) -> AthleteState:
    box = sandbox()
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else None
    token = token or request.args.get("access_token")
    athlete = box.store.by_access_token(token) if token else None
    if athlete is None or athlete.tokens is None or athlete.tokens.expires_at <= box.now():
        raise ApiError(errors.invalid_token())
    request.environ["sandbox.athlete_id"] = athlete.id
    if need_activity_scope and not _scopes(athlete) & {"activity:read", "activity:read_all"}:
        raise ApiError(errors.missing_activity_scope())
    return athlete


def _scopes(athlete: AthleteState) -> set[str]:
    return set((athlete.tokens.scope if athlete.tokens else "").split(","))


def _own_activity(athlete: AthleteState, activity_id: int) -> Activity:
    activity = sandbox().store.by_id.get(activity_id)
    hidden = (
        activity is not None and activity.only_me and "activity:read_all" not in _scopes(athlete)
    )
    if activity is None or activity.athlete_id != athlete.id or hidden:
        raise ApiError(errors.not_found())
    return activity


def _number(name: str, default: float | None) -> float | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError:
        raise ApiError(errors.bad_request("Application", name, "invalid")) from None


@bp.get("/athlete")
def athlete() -> Response:
    with sandbox().lock:
        return jsonify(authed().profile)


@bp.get("/athletes/<int:athlete_id>/stats")
def stats(athlete_id: int) -> Response:
    box = sandbox()
    with box.lock:
        me = authed()
        if me.id != athlete_id:
            return errors.not_found()
        return jsonify(detail.stats(list(me.activities), box.now()))


@bp.get("/athlete/activities")
def list_activities() -> Response:
    box = sandbox()
    before, after = _number("before", None), _number("after", None)
    page = max(1, int(_number("page", 1) or 1))
    per_page = max(1, min(MAX_PER_PAGE, int(_number("per_page", 30) or 30)))
    short = request.environ.get("sandbox.short_page")
    if short is None:
        size = per_page
    elif short < 0:
        size = max(1, per_page // 2)
    else:
        size = min(per_page, short)  # 0: an empty page in the middle of the listing
    with box.lock:
        me = authed(need_activity_scope=True)
        acts = box.store.page(
            me,
            before=before,
            after=after,
            page=page,
            size=size,
            include_only_me="activity:read_all" in _scopes(me),
        )
        return json_text("[" + ",".join(a.text for a in acts) + "]")


@bp.get("/activities/<int:activity_id>")
def get_activity(activity_id: int) -> Response:
    box = sandbox()
    with box.lock:
        activity = _own_activity(authed(need_activity_scope=True), activity_id)
    return json_text(_dumps(detail.detailed(activity, box.stream_points)))


@bp.get("/activities/<int:activity_id>/laps")
def get_laps(activity_id: int) -> Response:
    box = sandbox()
    with box.lock:
        activity = _own_activity(authed(need_activity_scope=True), activity_id)
    return json_text(_dumps(detail.laps(activity, box.stream_points)))


@bp.get("/activities/<int:activity_id>/streams")
def get_streams(activity_id: int) -> Response:
    box = sandbox()
    with box.lock:
        activity = _own_activity(authed(need_activity_scope=True), activity_id)
    if activity.summary.get("manual"):
        return errors.not_found()
    keys = ",".join(request.args.getlist("keys")).split(",")
    by_type = request.args.get("key_by_type", "").lower() == "true"
    return json_text(json.dumps(detail.streams(activity, keys, by_type, box.stream_points)))


def _client_ok(params: Any) -> bool:
    box = sandbox()
    return bool(
        str(params.get("client_id")) == str(box.client_id)
        and params.get("client_secret") == box.client_secret
    )


@bp.post("/push_subscriptions")
def create_subscription() -> Any:
    box = sandbox()
    params = dict(request.args) | dict(request.form)
    if not _client_ok(params):
        return errors.error_response(
            401, "Authorization Error", "Application", "client_id", "invalid"
        )
    callback, verify = str(params.get("callback_url") or ""), str(params.get("verify_token") or "")
    if not callback or len(callback) > 255:
        return errors.bad_request("PushSubscription", "callback_url", "invalid")
    if box.subscription is not None:
        return errors.bad_request("PushSubscription", "", "already exists")
    failure = handshake(callback, verify)
    if failure is not None:
        return errors.bad_request("PushSubscription", "callback url", failure)
    with box.lock:
        if box.subscription is not None:
            return errors.bad_request("PushSubscription", "", "already exists")
        box.subscription_count += 1
        new_id = 100_000 + box.subscription_count
        box.subscription = Subscription(new_id, callback, verify, box.now())
    return jsonify({"id": new_id}), 201


@bp.get("/push_subscriptions")
def list_subscriptions() -> Any:
    box = sandbox()
    if not _client_ok(request.args):
        return errors.error_response(
            401, "Authorization Error", "Application", "client_id", "invalid"
        )
    sub = box.subscription
    return jsonify([sub.to_json(box.client_id)] if sub else [])


@bp.delete("/push_subscriptions/<int:sub_id>")
def delete_subscription(sub_id: int) -> Any:
    box = sandbox()
    if not _client_ok(dict(request.args) | dict(request.form)):
        return errors.error_response(
            401, "Authorization Error", "Application", "client_id", "invalid"
        )
    with box.lock:
        if box.subscription is None or box.subscription.id != sub_id:
            return errors.not_found()
        box.subscription = None
    return Response(status=204)
