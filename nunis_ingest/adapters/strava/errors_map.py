"""Map a Strava error response to the error class that encodes what the caller must do.

Strava answers errors as ``{"message": str, "errors": [{"resource", "field", "code"}]}``
(``errors`` may be empty; 5xx bodies may be HTML or nothing). The triples are what tell a
revoked token from a missing scope or an inactive app, so the mapping reads them rather than
the status alone. Messages quote Strava's own words (which never contain secrets) but never
the request: no Authorization header, token or client secret. Callers pass the secrets they
used in ``secrets`` anyway, and any echo of one is scrubbed: defence in depth against a proxy
or stand-in that reflects the request back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from nunis_ingest.core.ratelimit import RateLimitUsage
from nunis_ingest.errors import (
    StravaAppCredentialsError,
    StravaAuthError,
    StravaError,
    StravaForbidden,
    StravaInactiveApp,
    StravaNotFound,
    StravaRateLimitExceeded,
    StravaRequestError,
    StravaScopeError,
    StravaServerError,
)

_MAX_MESSAGE = 200
_MAX_TRIPLES = 5
_MAX_PART = 60

REAUTH = "run `nunis-ingest auth` again for this athlete to register a new refresh token."


APP_CREDENTIALS = (
    "Strava rejected the app credentials: check STRAVA_CLIENT_ID and STRAVA_CLIENT_SECRET "
    "(https://www.strava.com/settings/api)."
)


Triple = tuple[str, str, str]


def _clean(text: str, limit: int) -> str:
    """One line, bounded: error text ends up in single-line logs."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def parse_error_body(body: bytes) -> tuple[str | None, list[Triple]]:
    """Strava's ``message`` and ``(resource, field, code)`` triples; tolerant of any body."""
    try:
        data: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None, []
    if not isinstance(data, dict):
        return None, []
    message = data.get("message")
    triples: list[Triple] = []
    errors = data.get("errors")
    if isinstance(errors, list):
        for item in errors:
            if isinstance(item, dict):
                triples.append(
                    (
                        str(item.get("resource", "")),
                        str(item.get("field", "")),
                        str(item.get("code", "")),
                    )
                )
    return (str(message) if message is not None else None), triples


def _has(triples: list[Triple], resource: str | None, field: str | None, code: str | None) -> bool:
    def match(value: str, wanted: str | None) -> bool:
        return wanted is None or value.lower() == wanted.lower()

    return any(match(r, resource) and match(f, field) and match(c, code) for r, f, c in triples)


def describe(status: int, body: bytes) -> str:
    """``HTTP 401 "Authorization Error" [Athlete/access_token/invalid]``, bounded in size."""
    message, triples = parse_error_body(body)
    text = f"HTTP {status}"
    if message is not None:
        text += f' "{_clean(message, _MAX_MESSAGE)}"'
    elif body:
        text += f" (non-JSON body, {len(body)} bytes)"
    if triples:
        shown = [
            "/".join(_clean(part, _MAX_PART) for part in triple)
            for triple in triples[:_MAX_TRIPLES]
        ]
        more = len(triples) - _MAX_TRIPLES
        text += " [" + ", ".join(shown) + (f", +{more} more" if more > 0 else "") + "]"
    return text


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of a (non-trivial) secret with ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def error_for_response(
    status: int,
    body: bytes,
    *,
    context: str,
    secrets: Iterable[str] = (),
    usage: RateLimitUsage | None = None,
) -> StravaError:
    """The error to raise for a non-2xx answer received while doing ``context``.

    ``context`` says what we were doing ("listing activities page 3"); it is part of the
    message so an operator reading one log line knows where the sync stopped.
    """
    _, triples = parse_error_body(body)
    what = scrub(f"Strava answered {describe(status, body)} while {context}.", secrets)
    error: StravaError
    if status in (400, 401) and (
        _has(triples, "Application", "client_id", None)
        or _has(triples, "Application", "client_secret", None)
    ):
        # Strava's answer to a wrong client id or secret at the token endpoint:
        # 400 [Application/client_secret/invalid] (or client_id), some proxies say 401.
        error = StravaAppCredentialsError(
            f"{what} {APP_CREDENTIALS}",
            action="copy both values from that page into the environment and run again.",
        )
    elif status == 401 and _has(triples, None, "activity:read_permission", "missing"):
        error = StravaScopeError(
            f"{what} The token lacks the activity:read_all scope.",
            action="re-authorise with `nunis-ingest auth` and grant 'View data about your "
            "private activities' (scope activity:read_all).",
        )
    elif status == 401:
        error = StravaAuthError(
            f"{what} The access token was rejected (expired, revoked or deauthorised).",
            action=REAUTH,
        )
    elif status == 400 and _has(triples, "RefreshToken", None, None):
        error = StravaAuthError(
            f"{what} The refresh token is invalid or was already rotated (Strava invalidates "
            "the old one as soon as it issues a new one).",
            action=REAUTH,
        )
    elif status == 400 and (
        _has(triples, "AuthorizationCode", None, None) or _has(triples, None, "code", None)
    ):
        error = StravaAuthError(
            f"{what} The authorization code is invalid, expired or already used.",
            action="start `nunis-ingest auth` again and use the new code at once.",
        )
    elif status == 403 and _has(triples, "Application", "Status", "Inactive"):
        error = StravaInactiveApp(
            f"{what} Strava has marked the API application inactive.",
            action="the Strava app's owner needs an active Strava subscription (rule in force "
            "since June 2026); renew it, or import Strava's bulk export meanwhile.",
        )
    elif status == 403:
        error = StravaForbidden(
            f"{what} Strava refused access.",
            action="check the app at https://www.strava.com/settings/api: 'Limit of connected "
            "athletes exceeded' needs a capacity upgrade or another app.",
        )
    elif status == 404:
        error = StravaNotFound(
            f"{what} The resource does not exist or is not visible to this token.",
            action="nothing to retry: deleted activities and streams of manual activities "
            "answer 404.",
        )
    elif status == 429:
        error = StravaRateLimitExceeded(
            f"{what} The application's rate limit is spent"
            + (f" ({_usage_text(usage)})." if usage else "."),
            usage=usage,
            action="wait: 15-minute windows reset at :00/:15/:30/:45, the daily one at "
            "midnight UTC; the next run resumes from the saved cursor.",
        )
    elif 500 <= status <= 599:
        error = StravaServerError(
            f"{what} Strava had a server error.",
            action="none needed: a later run retries; if it persists, check Strava's status.",
        )
    else:
        error = StravaRequestError(
            f"{what} Strava rejected the request.",
            action="this is a bug in the request we built; report it with this message.",
        )
    error.status = status
    return error


def _usage_text(usage: RateLimitUsage) -> str:
    def pair(used: int | None, limit: int | None) -> str:
        return f"{'?' if used is None else used}/{'?' if limit is None else limit}"

    return (
        f"read 15-min {pair(usage.read_usage_15min, usage.read_limit_15min)}, "
        f"read daily {pair(usage.read_usage_daily, usage.read_limit_daily)}, "
        f"overall 15-min {pair(usage.usage_15min, usage.limit_15min)}, "
        f"overall daily {pair(usage.usage_daily, usage.limit_daily)}"
    )
