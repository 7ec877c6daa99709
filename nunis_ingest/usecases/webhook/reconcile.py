"""Polling alongside webhooks: with a live subscription, only a slow reconcile is due.

Events cover creates, deletes and title/type/privacy edits; a reconcile catches the rest
(distance, gear, description edits send nothing). Rule, per athlete: a full ``all`` is due
when no successful ``all`` finished within NUNIS_RECONCILE_ALL_HOURS (default weekly);
otherwise a ``new`` is due when no successful run finished within
NUNIS_RECONCILE_NEW_HOURS (default daily). The local worker leaves the ``new`` to the
scheduler (``budget/schedule.py``: that interval at most, longer when the read budget
needs it, sooner after signs of missed updates). Without a live subscription the normal
schedule applies (this module is not consulted).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Literal

from nunis_ingest.core.transform import parse_timestamp
from nunis_ingest.settings import Settings

Mode = Literal["new", "all"]


def due(
    now: float,
    last_success_at: datetime | None,
    last_all_success_at: datetime | None,
    settings: Settings,
) -> Mode | None:
    def older_than(at: datetime | None, hours: float) -> bool:
        return at is None or now - at.timestamp() >= hours * 3600

    if older_than(last_all_success_at, settings.reconcile_all_hours):
        return "all"
    if older_than(last_success_at, settings.reconcile_new_hours):
        return "new"
    return None


def last_all_success(runs: Iterable[Mapping[str, Any]]) -> datetime | None:
    """Finish time of the newest successful ``all`` among ``ingest_runs`` rows."""
    times = [
        parse_timestamp(run.get("finished_at"))
        if isinstance(run.get("finished_at"), str)
        else run.get("finished_at")
        for run in runs
        if run.get("mode") == "all" and run.get("outcome") == "success"
    ]
    found = [t for t in times if isinstance(t, datetime)]
    return max(found) if found else None
