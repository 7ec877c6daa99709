"""Flask application factory: routes, Strava-shaped 404/405, and the fault middleware."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request

from strava_sandbox import api, control, errors, oauth
from strava_sandbox.faults import FaultMiddleware
from strava_sandbox.sandbox import Config, Sandbox


def create_app(config: Config | None = None) -> Flask:
    box = Sandbox(config or Config())
    app = Flask("strava_sandbox")
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["sandbox"] = box
    app.register_blueprint(oauth.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(control.bp)

    @app.errorhandler(404)
    def _not_found(_exc: Any) -> Response:
        return errors.not_found()

    @app.errorhandler(405)
    def _not_allowed(_exc: Any) -> Response:
        return errors.error_response(405, f"Method {request.method} Not Allowed")

    app.wsgi_app = FaultMiddleware(app.wsgi_app, box.faults, box.log, box.now)  # type: ignore[method-assign]
    return app
