"""A Flask app serving the onboarding pages on every path (``onboard serve`` and tests)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import Flask, request
from werkzeug.wrappers import Response

from nunis_ingest.drivers.onboard.http import Publisher, default_publisher, handle

if TYPE_CHECKING:
    from nunis_ingest.runtime import Runtime


def make_app(
    runtime: Callable[[], Runtime],
    *,
    publisher: Publisher = default_publisher,
    **options: Any,
) -> Flask:
    app = Flask("nunis_onboard")

    @app.route("/", defaults={"path": ""}, methods=["GET", "HEAD", "POST"])
    @app.route("/<path:path>", methods=["GET", "HEAD", "POST"])
    def endpoint(path: str) -> Response:
        return handle(request, runtime, publisher=publisher, **options)

    return app
