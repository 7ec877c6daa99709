import json

import pytest

from nunis_ingest.adapters.strava.errors_map import (
    StravaAppCredentialsError,
    StravaRequestError,
    error_for_response,
)
from nunis_ingest.core.ratelimit import RateLimitUsage
from nunis_ingest.errors import (
    PermanentError,
    RetriableError,
    StravaAuthError,
    StravaForbidden,
    StravaInactiveApp,
    StravaNotFound,
    StravaRateLimited,
    StravaScopeError,
    StravaServerError,
)


def body(message, *triples):
    return json.dumps(
        {
            "message": message,
            "errors": [dict(zip(("resource", "field", "code"), t, strict=True)) for t in triples],
        }
    ).encode()


CASES = [
    (401, body("Authorization Error", ("AccessToken", "activity:read_permission", "missing")),
     StravaScopeError, "activity:read_all"),
    (401, body("Authorization Error", ("Athlete", "access_token", "invalid")),
     StravaAuthError, "nunis-ingest auth"),
    (400, body("Bad Request", ("RefreshToken", "refresh_token", "invalid")),
     StravaAuthError, "rotated"),
    (403, body("Forbidden", ("Application", "Status", "Inactive")),
     StravaInactiveApp, "subscription"),
    (403, body("Limit of connected athletes exceeded"),
     StravaForbidden, "Limit of connected athletes exceeded"),
    (404, body("Resource Not Found"), StravaNotFound, "Resource Not Found"),
    (429, body("Rate Limit Exceeded", ("Application", "rate limit", "exceeded")),
     StravaRateLimited, "midnight UTC"),
    (500, b"<html>oops</html>", StravaServerError, "non-JSON body"),
    (503, b"", StravaServerError, "HTTP 503"),
    (422, body("Unprocessable"), StravaRequestError, "Unprocessable"),
    (400, body("Bad Request", ("Application", "client_secret", "invalid")),
     StravaAppCredentialsError, "check STRAVA_CLIENT_ID and STRAVA_CLIENT_SECRET"),
    (400, body("Bad Request", ("Application", "client_id", "invalid")),
     StravaAppCredentialsError, "https://www.strava.com/settings/api"),
    (401, body("Authorization Error", ("Application", "client_id", "invalid")),
     StravaAppCredentialsError, "Strava rejected the app credentials"),
]  # fmt: skip


@pytest.mark.parametrize(("status", "payload", "cls", "needle"), CASES)
def test_mapping(status, payload, cls, needle):
    error = error_for_response(status, payload, context="listing activities page 3")
    assert type(error) is cls or isinstance(error, cls)
    assert error.status == status
    text = str(error)
    assert needle in text
    assert f"HTTP {status}" in text
    assert "listing activities page 3" in text
    assert "Fix:" in text  # every message says what to do


def test_retriable_flags():
    assert error_for_response(500, b"", context="x").retriable
    assert error_for_response(429, b"", context="x").retriable
    for status in (400, 401, 403, 404, 422):
        error = error_for_response(status, b"{}", context="x")
        assert not error.retriable
        assert isinstance(error, PermanentError)
    assert isinstance(error_for_response(502, b"", context="x"), RetriableError)


def test_reauth_errors_flag_needs_reauth():
    scope = error_for_response(CASES[0][0], CASES[0][1], context="x")
    auth = error_for_response(CASES[1][0], CASES[1][1], context="x")
    assert scope.needs_reauth  # type: ignore[attr-defined]
    assert auth.needs_reauth  # type: ignore[attr-defined]


def test_inactive_match_is_case_insensitive():
    error = error_for_response(403, body("Forbidden", ("application", "status", "inactive")),
                               context="x")  # fmt: skip
    assert isinstance(error, StravaInactiveApp)


def test_rate_limited_carries_usage():
    usage = RateLimitUsage(read_limit_15min=100, read_usage_15min=101)
    error = error_for_response(429, b"{}", context="x", usage=usage)
    assert error.usage is usage  # type: ignore[attr-defined]
    assert "101/100" in str(error)


def test_message_is_bounded_and_single_line():
    long = body("a\nb " * 500, *[("R" * 100, "f", "c")] * 20)
    text = str(error_for_response(400, long, context="x"))
    assert "\n" not in text
    assert len(text) < 1200
    assert "+15 more" in text


def test_echoed_secrets_are_scrubbed():
    payload = body("bad token abcdef123456 and secret s3cr3tvalue")
    text = str(
        error_for_response(401, payload, context="x", secrets=("abcdef123456", "s3cr3tvalue"))
    )
    assert "abcdef123456" not in text
    assert "s3cr3tvalue" not in text


@pytest.mark.parametrize("payload", [b"", b"null", b"[1,2]", b'{"errors": "x"}', b"\xff\xfe",
                                     b'{"errors": [1, {"resource": null}]}'])  # fmt: skip
def test_odd_bodies_never_break_mapping(payload):
    error = error_for_response(401, payload, context="x")
    assert isinstance(error, StravaAuthError)


def test_wrong_app_credentials_are_not_a_bug_nor_the_athletes_fault():
    payload = body("Bad Request", ("Application", "client_secret", "invalid"))
    error = error_for_response(
        400, payload, context="refreshing the access token", secrets=("s3cr3t-app-value",)
    )
    assert "bug in the request" not in str(error)
    assert not getattr(error, "needs_reauth", False)  # re-authorising cannot fix the app
    assert not error.retriable
    other = error_for_response(400, body("Bad Request", ("Activity", "name", "invalid")),
                               context="x")  # fmt: skip
    assert isinstance(other, StravaRequestError)  # genuinely unexpected 4xx keep the old words
    assert "bug in the request" in str(other)
