"""Pure: the one representation the ``activities`` table holds, whichever path fetched it.

The poll lists SummaryActivity objects; a webhook event fetches the DetailedActivity
(``GET /activities/{id}``). Both must write the same row, or every poll after an event
would "update" it again and ``raw`` would change shape with whoever wrote last. So the
webhook path derives the summary from the detail: it drops the fields only the detailed
view has (a deny-list, so a field Strava adds to both views is kept), and turns the
detailed ``map`` (with ``polyline``) and ``resource_state`` 3 into their summary forms.
The detailed fields get their own table later; here they are left out, not lost: the
archive keeps the detail response byte for byte.
"""

from __future__ import annotations

from typing import Any

DETAIL_ONLY = frozenset(
    {
        "available_zones",
        "best_efforts",
        "calories",
        "description",
        "embed_token",
        "gear",
        "guid",
        "hide_from_home",
        "highlighted_kudosers",
        "laps",
        "leaderboard_opt_out",
        "partner_brand_tag",
        "perceived_exertion",
        "photos",
        "prefer_perceived_exertion",
        "private_note",
        "segment_efforts",
        "segment_leaderboard_opt_out",
        "similar_activities",
        "splits_metric",
        "splits_standard",
        "stats_visibility",
    }
)
"""Fields of DetailedActivity that SummaryActivity (the listing) does not carry."""

SUMMARY_STATE = 2
DETAIL_STATE = 3


def summary_of(activity: dict[str, Any]) -> dict[str, Any]:
    """The SummaryActivity view of a DetailedActivity (a summary is returned as it is)."""
    if activity.get("resource_state") != DETAIL_STATE:
        return activity
    out = {k: v for k, v in activity.items() if k not in DETAIL_ONLY}
    out["resource_state"] = SUMMARY_STATE
    route = out.get("map")
    if isinstance(route, dict):
        route = {k: v for k, v in route.items() if k != "polyline"}
        if route.get("resource_state") == DETAIL_STATE:
            route["resource_state"] = SUMMARY_STATE
        out["map"] = route
    return out
