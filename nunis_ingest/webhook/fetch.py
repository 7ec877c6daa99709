"""One athlete's Strava access for one webhook batch, and the confirmed-404 rule.

``EventApi`` is the shared ``AthleteApi`` (one 401 is answered by one forced refresh and
one retry) with one public addition: ``refresh()``, a forced token refresh on demand.

``fetch_activity``: a 404 from ``GET /activities/{id}`` is only believed when a second
``GET``, made after a forced token refresh, answers 404 too. A lone 404 can be a glitch
(a cache, a load balancer, a replica that has not seen the upload yet), and acting on it
deletes a live row. Cost: one extra API request per 404 (plus one OAuth refresh, which
does not count toward the rate limits; skipped when this batch refreshed already).
"""

from __future__ import annotations

import logging
from typing import Any

from nunis_ingest.api import AthleteApi
from nunis_ingest.errors import StravaNotFound

log = logging.getLogger("nunis_ingest.webhook")

Fetched = tuple[bytes, dict[str, Any]]


class EventApi(AthleteApi):
    """``AthleteApi`` plus a forced refresh on demand."""

    def refresh(self) -> None:
        """Force a token refresh now (saved before use); a refused refresh raises
        ``StravaAuthError`` (revoked for real)."""
        self._connect(force=True)


def fetch_activity(api: EventApi, activity_id: int) -> Fetched | None:
    """The activity's exact body and parsed object, or ``None`` when Strava confirms it
    is gone (or hidden from this token): 404 twice, the second after a token refresh."""
    try:
        return api.call(lambda c: c.get_activity(activity_id))
    except StravaNotFound:
        pass
    log.info(
        "athlete %d: activity %d answered 404; re-checking after a token refresh",
        api.athlete_id,
        activity_id,
    )
    if not api.refreshed:
        api.refresh()
    try:
        return api.call(lambda c: c.get_activity(activity_id))
    except StravaNotFound:
        return None
