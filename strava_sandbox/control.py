"""The control API under /_sandbox/: inspect and steer the sandbox from tests."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, jsonify, request

from strava_sandbox import detail, track
from strava_sandbox.oauth import sandbox
from strava_sandbox.store import DEFAULT_SCOPE

bp = Blueprint("control", __name__, url_prefix="/_sandbox")


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def _problem(status: int, message: str) -> tuple[Response, int]:
    return jsonify({"message": message}), status


@bp.get("/health")
def health() -> Response:
    box = sandbox()
    seed, athletes, activities = box.current
    return jsonify(
        {
            "status": "ok",
            "seed": seed,
            "athletes": athletes,
            "activities": activities,
            "clock": box.now(),
        }
    )


@bp.post("/reset")
def reset() -> Any:
    body = _body()
    unknown = set(body) - {"seed", "athletes", "activities"}
    if unknown:
        return _problem(400, f"unknown reset fields: {sorted(unknown)}")
    sandbox().reset(**{k: int(v) for k, v in body.items()})
    return health()


@bp.get("/app")
def app_info() -> Response:
    box = sandbox()
    sub = box.subscription
    return jsonify(
        {
            "client_id": box.client_id,
            "client_secret": box.client_secret,
            "active": box.active,
            "subscription_id": sub.id if sub else None,
        }
    )


@bp.post("/app/status")
def app_status() -> Response:
    box = sandbox()
    box.active = bool(_body().get("active", True))
    return app_info()


@bp.post("/oauth/consent")
def oauth_consent() -> Response:
    """``{"page": true}``: /oauth/authorize shows an Authorize page with scope boxes."""
    box = sandbox()
    box.consent_page = bool(_body().get("page", True))
    return jsonify({"page": box.consent_page})


@bp.get("/athletes")
def athletes() -> Response:
    box = sandbox()
    with box.lock:
        return jsonify([box.athlete_entry(a) for a in box.store.athletes.values()])


@bp.post("/athletes")
def create_athlete() -> Response:
    box, body = sandbox(), _body()
    with box.lock:
        athlete = box.store.create_athlete(
            int(body.get("activities", 0)), str(body.get("scope", DEFAULT_SCOPE)), box.now()
        )
        return jsonify(box.athlete_entry(athlete))


@bp.get("/athletes/<int:athlete_id>/activities")
def truth(athlete_id: int) -> Any:
    box = sandbox()
    with box.lock:
        athlete = box.store.athletes.get(athlete_id)
        if athlete is None:
            return _problem(404, "no such athlete")
        text = "[" + ",".join(a.text for a in athlete.activities) + "]"
    return Response(text, mimetype="application/json")


@bp.post("/athletes/<int:athlete_id>/activities")
def add_activity(athlete_id: int) -> Any:
    box = sandbox()
    with box.lock:
        if athlete_id not in box.store.athletes:
            return _problem(404, "no such athlete")
        activity = box.store.add_activity(athlete_id, _body(), box.now())
        box.emit("activity", activity.id, "create", athlete_id)
    return Response(activity.text, status=201, mimetype="application/json")


@bp.patch("/activities/<int:activity_id>")
def patch_activity(activity_id: int) -> Any:
    box = sandbox()
    with box.lock:
        if activity_id not in box.store.by_id:
            return _problem(404, "no such activity")
        old, new = box.store.patch_activity(activity_id, _body())
        box.emit_patch(old, new)
    return Response(new.text, mimetype="application/json")


@bp.delete("/activities/<int:activity_id>")
def delete_activity(activity_id: int) -> Any:
    box = sandbox()
    with box.lock:
        if activity_id not in box.store.by_id:
            return _problem(404, "no such activity")
        gone = box.store.delete_activity(activity_id)
        box.emit("activity", gone.id, "delete", gone.athlete_id)
    return Response(status=204)


@bp.post("/athletes/<int:athlete_id>/revoke")
def revoke(athlete_id: int) -> Any:
    box = sandbox()
    with box.lock:
        athlete = box.store.athletes.get(athlete_id)
        if athlete is None:
            return _problem(404, "no such athlete")
        box.revoke(athlete)
        return jsonify(box.athlete_entry(athlete))


@bp.route("/faults", methods=["GET", "POST", "DELETE"])
def faults() -> Any:
    box = sandbox()
    if request.method == "POST":
        try:
            fault = box.faults.add(_body())
        except (ValueError, TypeError) as exc:
            return _problem(400, str(exc))
        return jsonify({"id": fault.id}), 201
    if request.method == "DELETE":
        box.faults.clear()
        return Response(status=204)
    return jsonify(box.faults.describe())


@bp.route("/rate_limits", methods=["GET", "POST"])
def rate_limits() -> Any:
    box = sandbox()
    try:
        limits = box.limiter.configure(**_body())
    except (KeyError, TypeError, ValueError) as exc:
        return _problem(400, f"bad rate limit field: {exc}")
    return jsonify(vars(limits) | {"headers": box.limiter.headers(box.now())})


@bp.route("/clock", methods=["GET", "POST"])
def clock() -> Any:
    box, body = sandbox(), _body()
    if "set" in body:
        box.clock.set(float(body["set"]))
    if "advance" in body:
        box.clock.advance(float(body["advance"]))
    return jsonify({"now": box.now()})


@bp.route("/requests", methods=["GET", "DELETE"])
def requests_log() -> Any:
    box = sandbox()
    if request.method == "DELETE":
        box.log.clear()
        return Response(status=204)
    return Response(json.dumps(box.log.snapshot()), mimetype="application/json")


@bp.get("/webhook/deliveries")
def deliveries() -> Response:
    return jsonify(sandbox().deliverer.snapshot())


@bp.post("/webhook/config")
def webhook_config() -> Response:
    box, body = sandbox(), _body()
    if "retry_delay" in body:
        box.deliverer.retry_delay = float(body["retry_delay"])
    return jsonify({"retry_delay": box.deliverer.retry_delay})


@bp.get("/athletes/<int:athlete_id>/expected")
def expected_for_athlete(athlete_id: int) -> Any:
    """Per activity, the counts the detail endpoints serve (laps, splits, efforts, streams)."""
    box = sandbox()
    with box.lock:
        athlete = box.store.athletes.get(athlete_id)
        if athlete is None:
            return _problem(404, "no such athlete")
        return jsonify([detail.expected(a, box.stream_points) for a in athlete.activities])


@bp.get("/activities/<int:activity_id>/expected")
def expected(activity_id: int) -> Any:
    box = sandbox()
    with box.lock:
        activity = box.store.by_id.get(activity_id)
        if activity is None:
            return _problem(404, "no such activity")
        return jsonify(detail.expected(activity, box.stream_points))


@bp.route("/streams", methods=["GET", "POST"])
def stream_config() -> Any:
    """`points`: every stream's length (e.g. 10000 for benchmarks); null: the default."""
    box, body = sandbox(), _body()
    if "points" in body:
        points = body["points"]
        if points is not None and (
            not isinstance(points, int) or not track.MIN_POINTS <= points <= track.MAX_POINTS
        ):
            return _problem(400, f"points must be null or {track.MIN_POINTS}..{track.MAX_POINTS}")
        box.stream_points = points
    return jsonify({"points": box.stream_points})
