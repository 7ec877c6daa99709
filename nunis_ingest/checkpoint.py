"""Where an interrupted full sync stopped, and how the next run carries on from there.

A mode ``all`` run that has to stop early (429, read budget, time budget, Strava failing
after the in-run retries) saves ``state.pending``: the run id and start time its archive
pages are filed under, and the keys of the pages already archived. The next run replays
those pages from the archive (no request spent on them) and lists only the rest.

The rest is found by *keyset*, not by page number: Strava lists newest first, so it is
everything that started before the oldest archived activity (``before = oldest + 1``;
the boundary second is fetched again and de-duplicated by id). Page numbers would shift
when an activity is created or deleted between the two runs, silently skipping an
activity, which the final replace would then delete from the warehouse. If the archived
pages are not newest-first (Strava's order is unconfirmed), page numbers are the fallback.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from nunis_ingest.ports import ObjectStore
from nunis_ingest.settings import Settings
from nunis_ingest.strava.client import StravaClient
from nunis_ingest.transform import start_epoch


def archive_key(athlete_id: int, run_id: str, started: float, page: int) -> str:
    day = datetime.fromtimestamp(started, UTC).strftime("%Y-%m-%d")
    return f"archive/strava/athlete={athlete_id}/date={day}/{run_id}/page-{page:05d}.json"


@dataclass
class Checkpoint:
    """The archive a full run files its pages under, and the pages already there."""

    run_id: str
    started_at: float
    pages: list[str] = field(default_factory=list)

    @classmethod
    def resume(cls, pending: dict[str, Any] | None) -> Checkpoint | None:
        if not pending or pending.get("mode") != "all":
            return None
        try:
            pages = [str(key) for key in pending["pages"]]
            return cls(str(pending["run_id"]), float(pending["started_at"]), pages)
        except (KeyError, TypeError, ValueError):
            return None  # unreadable checkpoint: start the full run over

    def as_pending(self) -> dict[str, Any]:
        return {
            "mode": "all",
            "run_id": self.run_id,
            "started_at": self.started_at,
            "pages": list(self.pages),
        }


Listed = tuple[bool, bytes, list[dict[str, Any]]]
"""(fetched now rather than replayed, raw page bytes, parsed items)."""


def full_listing(
    store: ObjectStore,
    client: StravaClient,
    ckpt: Checkpoint,
    continue_while: Callable[[], bool] | None = None,
) -> Iterator[Listed]:
    """Archived pages of the checkpoint, then Strava's listing from where they end."""
    if ckpt.pages:
        folder = ckpt.pages[0].rpartition("/")[0] + "/"
        if not set(ckpt.pages) <= set(store.list(folder)):
            ckpt.pages.clear()  # archive pruned by hand: start the listing over
    oldest: int | None = None
    ordered = True
    for key in list(ckpt.pages):
        stored = store.get(key)
        items = json.loads(stored.data) if stored is not None else []
        for item in items:
            start = start_epoch(item) if isinstance(item, dict) else None
            if start is None:
                continue
            ordered = ordered and (oldest is None or start <= oldest)
            oldest = start if oldest is None else min(oldest, start)
        yield False, stored.data if stored is not None else b"[]", items
    if not ckpt.pages:
        pages = client.iter_activity_pages(
            before=int(ckpt.started_at), continue_while=continue_while
        )
    elif ordered and oldest is not None:
        pages = client.iter_activity_pages(before=oldest + 1, continue_while=continue_while)
    else:
        pages = client.iter_activity_pages(
            before=int(ckpt.started_at),
            start_page=len(ckpt.pages) + 1,
            continue_while=continue_while,
        )
    for page in pages:
        yield True, page.body, page.items


def budget_exhausted(client: StravaClient, settings: Settings, now: float, deadline: float) -> str:
    """Why the run must stop before its next request, or "" to carry on."""
    if now > deadline - 60:
        return "time budget nearly used; resuming on the next run"
    usage = client.last_usage
    if usage is None:
        return ""
    left_15, left_day = usage.read_remaining()
    if left_day is not None and left_day <= settings.read_headroom_daily:
        return f"daily read budget nearly used ({left_day} left); resuming tomorrow"
    if left_15 is not None and left_15 <= settings.read_headroom_15min:
        return f"15-minute read budget nearly used ({left_15} left); resuming on the next run"
    return ""
