"""Strava API v3 access: a thin client, OAuth with rotation, rate-limit headers, error mapping.

Import from here; the submodules are split by idea (client, oauth, ratelimit, errors_map,
transport) to stay small.
"""

from nunis_ingest.adapters.strava.client import Page, StravaClient
from nunis_ingest.adapters.strava.errors_map import error_for_response
from nunis_ingest.adapters.strava.oauth import OAuthClient
from nunis_ingest.core.ratelimit import RateLimitUsage, from_headers
from nunis_ingest.core.token import Token, accepted_scope_ok, needs_refresh
from nunis_ingest.errors import StravaRateLimitExceeded, StravaRequestError

__all__ = [
    "OAuthClient",
    "Page",
    "RateLimitUsage",
    "StravaClient",
    "StravaRateLimitExceeded",
    "StravaRequestError",
    "Token",
    "accepted_scope_ok",
    "error_for_response",
    "from_headers",
    "needs_refresh",
]
