"""The one listing loop: archived pages of an interrupted run, then Strava's pages.

``all`` pages by **keyset**, not by page number: Strava lists newest first, so the next
page is "everything that started before the oldest activity seen" (``before`` is strict).
A delete or create while the listing runs then cannot shift an activity across a page
boundary unseen, which page numbers do. Ties: after a full page the boundary second is
listed again (``before = oldest + 1``) and duplicates are dropped by id downstream; a short
page moves past it. If a page is not newest first (Strava's order is not a documented
promise), the listing falls back to page numbers under a fixed ``before``; deletions are
confirmed one by one anyway (``confirm.py``), so a listing that misses something can
never delete it.

``new`` lists ``after`` the window start with page numbers, oldest first, and ends on a
short page; its resume point is the newest start processed, so a backlog larger than one
run's budget drains run after run instead of re-reading the same first pages.

While the caller works on a page the next is already being fetched (one thread, requests
stay sequential); ``proceed`` is asked before every further request.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from nunis_ingest.api import AthleteApi
from nunis_ingest.plan import Plan
from nunis_ingest.ports import ObjectStore
from nunis_ingest.stops import Stop
from nunis_ingest.strava.client import MAX_PER_PAGE, Page
from nunis_ingest.transform import start_epoch


@dataclass(frozen=True)
class Listed:
    fetched: bool  # False: replayed from the archive
    body: bytes
    items: list[dict[str, Any]]


@dataclass
class _Cursor:
    before: int | None
    page: int
    keyset: bool


class Listing:
    """Iterate the pages of ``plan``; afterwards ``complete``, ``stop`` and ``resume()``."""

    def __init__(
        self,
        plan: Plan,
        api: AthleteApi,
        store: ObjectStore,
        proceed: Callable[[], Stop | None],
        per_page: int = MAX_PER_PAGE,
    ) -> None:
        self.plan = plan
        self._api = api
        self._store = store
        self._proceed = proceed
        self._per_page = per_page
        self.complete = False
        self.stop: Stop | None = None
        self.replayed: list[str] = []
        self._cursor = _Cursor(plan.before, plan.page, keyset=plan.page == 1)
        self._newest = plan.after  # new: newest start processed so far
        self._ascending = True

    # --- the resume point ------------------------------------------------------------

    def resume(self, archived: list[str]) -> dict[str, Any] | None:
        """``state.pending`` for a run that stopped early (``None`` when complete)."""
        if self.complete:
            return None
        plan = self.plan
        if plan.full:
            return {
                "mode": "all",
                "run_id": plan.archive_run_id,
                "started_at": plan.archive_started_at,
                "pages": [*self.replayed, *archived],
                "before": self._cursor.before,
                "page": 1 if self._cursor.keyset else self._cursor.page,
            }
        if self._ascending and self._newest is not None:
            return {"mode": "new", "after": max(0, self._newest - 1), "page": 1}
        return {"mode": "new", "after": plan.after, "page": self._cursor.page}

    # --- the loop ----------------------------------------------------------------------

    def __iter__(self) -> Iterator[Listed]:
        yield from self._replay()
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="strava-prefetch")
        try:
            pending: Future[Page] | None = pool.submit(self._fetch)
            while pending is not None:
                page = pending.result()
                pending = None
                last = self._advance(page.items)
                if not last:
                    self.stop = self._proceed()
                    if self.stop is None:
                        pending = pool.submit(self._fetch)
                if page.items:
                    yield Listed(True, page.body, page.items)
                    self._note_processed(page.items)
        finally:  # a caller that fails mid-listing does not wait for an unneeded page
            pool.shutdown(wait=False, cancel_futures=True)

    def _replay(self) -> Iterator[Listed]:
        keys = list(self.plan.replay)
        if not keys:
            return
        folder = keys[0].rpartition("/")[0] + "/"
        if not set(keys) <= set(self._store.list(folder)):
            self._cursor = _Cursor(None, 1, keyset=True)  # archive pruned: list it all again
            return
        for key in keys:
            stored = self._store.get(key)
            items = json.loads(stored.data) if stored is not None else []
            self.replayed.append(key)
            yield Listed(False, stored.data if stored is not None else b"[]", items)

    def _fetch(self) -> Page:
        cursor, plan = self._cursor, self.plan
        if plan.full:
            page_no = 1 if cursor.keyset else cursor.page
            return self._api.call(
                lambda c: c.list_activities_page(
                    page_no, before=cursor.before, per_page=self._per_page
                )
            )
        return self._api.call(
            lambda c: c.list_activities_page(cursor.page, after=plan.after, per_page=self._per_page)
        )

    def _advance(self, items: list[dict[str, Any]]) -> bool:
        """Move the cursor past ``items``; True when this page ends the listing."""
        cursor = self._cursor
        if not items:
            self.complete = True
            return True
        if not self.plan.full:
            cursor.page += 1
            if len(items) < self._per_page:
                self.complete = True
                return True
            return False
        if not cursor.keyset:
            cursor.page += 1
            return False
        starts = [s for s in map(_start, items) if s is not None]
        if not starts or any(a < b for a, b in pairwise(starts)):
            cursor.keyset, cursor.page = False, 2  # not newest first: page numbers from here
            return False
        oldest = min(starts)
        full_page = len(items) >= self._per_page
        upper = cursor.before
        again = full_page and (upper is None or oldest + 1 < upper)  # list the boundary again
        cursor.before = oldest + 1 if again else oldest
        return False

    def _note_processed(self, items: list[dict[str, Any]]) -> None:
        if self.plan.full:
            return
        for item in items:
            start = _start(item)
            if start is None:
                continue
            if self._newest is not None and start < self._newest:
                self._ascending = False
            self._newest = start if self._newest is None else max(self._newest, start)


def _start(item: object) -> int | None:
    return start_epoch(item) if isinstance(item, dict) else None
