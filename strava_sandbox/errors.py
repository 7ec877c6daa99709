"""Strava-shaped error bodies."""

from __future__ import annotations

import json
from typing import Any

from flask import Response


def error_body(message: str, resource: str = "", field: str = "", code: str = "") -> dict[str, Any]:
    errors = [{"resource": resource, "field": field, "code": code}] if resource else []
    return {"message": message, "errors": errors}


def error_response(
    status: int, message: str, resource: str = "", field: str = "", code: str = ""
) -> Response:
    body = json.dumps(error_body(message, resource, field, code))
    return Response(body, status=status, mimetype="application/json")


def invalid_token() -> Response:
    return error_response(401, "Authorization Error", "Athlete", "access_token", "invalid")


def missing_activity_scope() -> Response:
    return error_response(
        401, "Authorization Error", "AccessToken", "activity:read_permission", "missing"
    )


def not_found() -> Response:
    return error_response(404, "Resource Not Found")


def rate_limited() -> Response:
    return error_response(429, "Rate Limit Exceeded", "Application", "rate limit", "exceeded")


def app_inactive() -> Response:
    return error_response(403, "Forbidden", "Application", "Status", "Inactive")


def bad_request(resource: str, field: str, code: str) -> Response:
    return error_response(400, "Bad Request", resource, field, code)


def html_error(status: int) -> Response:
    body = f"<html><body><h1>{status} Server Error</h1><p>upstream trouble</p></body></html>"
    return Response(body, status=status, mimetype="text/html")
