"""A Flask app serving the webhook on every path (``webhook serve`` and tests)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from flask import Flask, Response, request

from nunis_ingest.drivers.webhook.http import handle

if TYPE_CHECKING:
    from nunis_ingest.runtime import Runtime

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def make_app(runtime: Callable[[], Runtime]) -> Flask:
    app = Flask("nunis_webhook")

    @app.route("/", defaults={"path": ""}, methods=METHODS)
    @app.route("/<path:path>", methods=METHODS)
    def endpoint(path: str) -> Response:
        return handle(request, runtime)

    return app
