"""Pure: why a run ended before its work was done, as a type (never parsed from text)."""

from __future__ import annotations

from enum import Enum

from nunis_ingest.settings import Settings
from nunis_ingest.strava.ratelimit import RateLimitUsage

TIME_MARGIN_SECONDS = 60.0


class Stop(Enum):
    """A run's early end. Every one is acknowledged as ``partial``: the next run resumes."""

    READ_BUDGET_15MIN = "read_budget_15min"
    READ_BUDGET_DAILY = "read_budget_daily"
    RATE_LIMITED = "rate_limited"
    BUDGET_DEFERRED = "budget_deferred"
    TIME_BUDGET = "time_budget"
    STRAVA_FAILING = "strava_failing"
    TRUNCATED_LISTING = "truncated_listing"

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
}


def budget_stop(
    usage: RateLimitUsage | None, settings: Settings, now: float, deadline: float
) -> Stop | None:
    """Why the run must stop before its next request, or ``None`` to carry on."""
    if now > deadline - TIME_MARGIN_SECONDS:
        return Stop.TIME_BUDGET
    if usage is None:
        return None
    left_15, left_day = usage.read_remaining()
    if left_day is not None and left_day <= settings.read_headroom_daily:
        return Stop.READ_BUDGET_DAILY
    if left_15 is not None and left_15 <= settings.read_headroom_15min:
        return Stop.READ_BUDGET_15MIN
    return None
