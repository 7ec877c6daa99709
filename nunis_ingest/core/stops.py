"""Pure: why a run ended before its work was done, as a type (never parsed from text)."""

from __future__ import annotations

from enum import Enum

from nunis_ingest.core.budget_rules import Headroom
from nunis_ingest.core.ratelimit import RateLimitUsage

TIME_MARGIN_SECONDS = 60.0


class Stop(Enum):
    """A run's (or an enrichment drain's) early end. A run that stops is acknowledged as
    ``partial`` and the next run resumes; a drain that stops leaves the rest of its queue
    to the next run."""

    READ_BUDGET_15MIN = "read_budget_15min"
    READ_BUDGET_DAILY = "read_budget_daily"
    RATE_LIMITED = "rate_limited"
    BUDGET_DEFERRED = "budget_deferred"
    TIME_BUDGET = "time_budget"
    STRAVA_FAILING = "strava_failing"
    TRUNCATED_LISTING = "truncated_listing"
    UNVERIFIED_LISTING = "unverified_listing"
    ENRICH_SHARE_15MIN = "enrich_share_15min"
    ENRICH_SHARE_DAILY = "enrich_share_daily"

    @property
    def error_class(self) -> str:
        """The ``last_error_class`` state and status show for it."""
        return _CLASSES[self]

    def describe(self, detail: str = "") -> str:
        text = _TEXTS[self]
        return f"{text} ({detail})" if detail else text


_CLASSES = {
    Stop.READ_BUDGET_15MIN: "RateLimitStop",
    Stop.READ_BUDGET_DAILY: "RateLimitStop",
    Stop.RATE_LIMITED: "RateLimitStop",
    Stop.BUDGET_DEFERRED: "BudgetDeferred",
    Stop.TIME_BUDGET: "TimeBudgetStop",
    Stop.STRAVA_FAILING: "StravaFailingStop",
    Stop.TRUNCATED_LISTING: "TruncatedListing",
    Stop.UNVERIFIED_LISTING: "UnverifiedListing",
    Stop.ENRICH_SHARE_15MIN: "RateLimitStop",
    Stop.ENRICH_SHARE_DAILY: "RateLimitStop",
}

_TEXTS = {
    Stop.READ_BUDGET_15MIN: "15-minute read budget nearly used; resuming on the next run",
    Stop.READ_BUDGET_DAILY: "daily read budget nearly used; resuming tomorrow",
    Stop.RATE_LIMITED: "Strava answered 429; resuming on the next run",
    Stop.BUDGET_DEFERRED: "the app's shared read budget is spent; deferred to its reset",
    Stop.TIME_BUDGET: "time budget nearly used; resuming on the next run",
    Stop.STRAVA_FAILING: "Strava kept failing; the pages so far are kept and the run retries",
    Stop.TRUNCATED_LISTING: (
        "the listing missed activities Strava still serves; nothing was deleted"
    ),
    Stop.UNVERIFIED_LISTING: (
        "the full listing showed fewer activities than the warehouse holds; the rest are "
        "checked for deletion in the next runs"
    ),
    Stop.ENRICH_SHARE_15MIN: "enrichment's share of the 15-minute read budget is used",
    Stop.ENRICH_SHARE_DAILY: "enrichment's share of the daily read budget is used",
}


def budget_stop(
    usage: RateLimitUsage | None, headroom: Headroom, now: float, deadline: float
) -> Stop | None:
    """Why the run must stop before its next request, or ``None`` to carry on."""
    if now > deadline - TIME_MARGIN_SECONDS:
        return Stop.TIME_BUDGET
    if usage is None:
        return None
    left_15, left_day = usage.read_remaining()
    limit_15 = usage.read_limit_15min or usage.limit_15min
    limit_day = usage.read_limit_daily or usage.limit_daily
    if left_day is not None and left_day <= _headroom(headroom.day, limit_day):
        return Stop.READ_BUDGET_DAILY
    if left_15 is not None and left_15 <= _headroom(headroom.window, limit_15):
        return Stop.READ_BUDGET_15MIN
    return None


def _headroom(headroom: int, limit: int | None) -> int:
    """The headroom never takes more than half a limit (one Strava reported below it)."""
    return headroom if not limit or limit <= 0 else min(headroom, limit // 2)
