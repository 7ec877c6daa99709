"""The one listing loop: archived pages of an interrupted run, then Strava's pages.

``all`` pages by **keyset**, not by page number: Strava lists newest first, so the next
page is "everything that started before the oldest activity seen" (``before`` is strict).
A delete or create while the listing runs then cannot shift an activity across a page
boundary unseen, which page numbers do. Ties (``next_full``, pure): a page can end in the
middle of a second, so its oldest second is listed again (``before = oldest + 1``;
duplicates are dropped by id downstream), after a short page by a *tail probe* that asks
only for what follows the items already seen (Strava may serve a short page that is not
the last). A page whose activities all share one second cannot move the bound, so the
listing goes on by page number under ``before = that second + 1`` until a page reaches
an older second: any number of activities on one second is listed, at the same request
count as before (``ceil(N/200)`` pages and one closing request). If a page is not
newest first (Strava's order is not a documented promise), the listing falls back to
page numbers under a fixed ``before``; deletions are confirmed one by one anyway
(``confirm.py``), so a listing that misses something can never delete it.

``new`` lists ``after`` the window start with page numbers, oldest first, and ends on a
short page; its resume point is the newest start processed, so a backlog larger than one
run's budget drains run after run instead of re-reading the same first pages.

Archived pages of an interrupted full refresh are read back through ``archived.py`` (our
own storage is untrusted too) and checked against the SHA-256 the checkpoint recorded
when it was archived: a damaged one (torn, empty, not a list, another athlete's, or
valid JSON that is not the bytes archived, such as a page cut to fewer items, which
would otherwise be skipped unseen) is moved to ``quarantine/``, named in a warning, and
the refresh falls back to Strava from the top, so nothing is skipped.

While the caller works on a page the next is already being fetched (one thread, requests
stay sequential); ``proceed`` is asked before every further request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Any

from nunis_ingest.adapters.strava.client import MAX_PER_PAGE, Page
from nunis_ingest.core.fetched import page_digest
from nunis_ingest.core.plan import Plan
from nunis_ingest.core.stops import Stop
from nunis_ingest.core.transform import start_epoch
from nunis_ingest.errors import ArchiveDamaged
from nunis_ingest.ports import ObjectStore
from nunis_ingest.usecases import archived
from nunis_ingest.usecases.athlete_api import AthleteApi

log = logging.getLogger("nunis_ingest.sync")


@dataclass(frozen=True)
class Listed:
    fetched: bool  # False: replayed from the archive
    body: bytes
    items: list[dict[str, Any]]


@dataclass(frozen=True)
class Cursor:
    """Where a full listing goes on: ``page`` under the strict bound ``before``."""

    before: int | None = None
    page: int = 1
    keyset: bool = True  # False: page numbers under a fixed ``before`` (order not newest first)
    size: int | None = None  # a tail probe's page size (None: the listing's ``per_page``)
    relist: bool = False  # a probe proved a short page was not the last: no more probes


def next_full(cursor: Cursor, starts: list[int | None], count: int, per_page: int) -> Cursor | None:
    """Pure: the cursor after a page of ``count`` items whose start seconds, in the order
    served, are ``starts`` (None: no start date); ``None`` when the listing is complete.

    - A full page spanning several seconds: ``before = oldest + 1``, page 1 (its oldest
      second is listed again: the page may have ended inside it).
    - A short page spanning several seconds holding ``k`` items of its oldest second: the
      *tail probe* ``before = oldest + 1``, page 2 of ``k`` items, i.e. everything after
      those ``k``. Strava normally answers ``[]`` (the end, at the cost of the closing
      empty page); if it answers more (a short page that was not the last), that second
      is listed again from its start, and from then on short pages are treated as full
      ones (no more probes: this Strava serves short pages mid-listing).
    - A page all on one second ``o``: under a bound above ``o + 1`` it is page 1 of the
      listing under ``o + 1``, so next is page 2 there; under ``o + 1`` already, the next
      page number. Any number of activities on one second is listed.

    Progress is strict: the bound falls or the page number rises. Within one second the
    order must be the same from one request to the next (Strava's is by id).
    """
    if count == 0:
        return None
    if cursor.size is not None:  # the probe found more: that second again, from its start
        return Cursor(cursor.before, 1, relist=True)
    if not cursor.keyset:
        return replace(cursor, page=cursor.page + 1)
    known = [s for s in starts if s is not None]
    if not known or any(a < b for a, b in pairwise(known)):
        return replace(cursor, keyset=False, page=cursor.page + 1)  # not newest first
    oldest, newest, relist = known[-1], known[0], cursor.relist
    if cursor.before is not None and newest >= cursor.before:  # the bound was not honoured
        return replace(cursor, keyset=False, page=cursor.page + 1)
    if newest > oldest:
        if count >= per_page or relist or len(known) < len(starts):
            return Cursor(oldest + 1, 1, relist=relist)
        return Cursor(oldest + 1, 2, size=known.count(oldest))
    if cursor.before == oldest + 1:
        return Cursor(oldest + 1, cursor.page + 1, relist=relist)
    return Cursor(oldest + 1, 2, relist=relist)


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
        self.replayed_digests: list[str] = []
        self.warnings: list[str] = []
        self._cursor = Cursor(plan.before, plan.page, keyset=plan.keyset)
        self._page_no = plan.page  # new: page numbers after ``plan.after``
        self._newest = plan.after  # new: newest start processed so far
        self._ascending = True

    # --- the resume point ------------------------------------------------------------

    def resume(self, archived_keys: list[str], digests: list[str]) -> dict[str, Any] | None:
        """``state.pending`` for a run that stopped early (``None`` when complete)."""
        if self.complete:
            return None
        plan = self.plan
        if plan.full:
            return {
                "mode": "all",
                "run_id": plan.archive_run_id,
                "started_at": plan.archive_started_at,
                "pages": [*self.replayed, *archived_keys],
                "digests": [*self.replayed_digests, *digests],
                "before": self._cursor.before,
                "page": 1 if self._cursor.size else self._cursor.page,  # a probe: relist
                "keyset": self._cursor.keyset,
            }
        if self._ascending and self._newest is not None:
            return {"mode": "new", "after": max(0, self._newest - 1), "page": 1}
        return {"mode": "new", "after": plan.after, "page": self._page_no}

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
        """The interrupted refresh's archived pages; on a damaged or missing one, Strava
        from the top (pages already yielded are listed again: duplicates drop by id)."""
        keys = list(self.plan.replay)
        if not keys:
            return
        folder = keys[0].rpartition("/")[0] + "/"
        if not set(keys) <= set(self._store.list(folder)):
            self._restart("an archived page of it is gone (archive pruned)")
            return
        athlete_id, digests = self.plan.athlete_id, self.plan.replay_digests
        items: list[dict[str, Any]] = []
        for number, key in enumerate(keys):
            stored = self._store.get(key)
            try:
                items = archived.page_items(key, stored.data if stored else None, athlete_id)
                assert stored is not None
                digest = page_digest(stored.data)
                if number >= len(digests) or digest != digests[number]:
                    raise ArchiveDamaged(key, "its bytes are not the ones the run archived")
            except ArchiveDamaged as exc:
                moved = archived.quarantine(self._store, key)
                self._restart(f"{exc.key} is damaged ({exc.why}; moved to {moved})")
                return
            self.replayed.append(key)
            self.replayed_digests.append(digest)
            yield Listed(False, stored.data, items)
        if (why := self._resume_gap(items)) is not None:
            self._restart(why)

    def _resume_gap(self, last: list[dict[str, Any]]) -> str | None:
        """Why the checkpoint's bound cannot follow its last archived page (whose bytes the
        digest vouches for): a keyset bound at or below that page's oldest second would
        skip what lies between; the bound the listing sets is always above it."""
        cursor = self._cursor
        starts = [s for s in (_start(i) for i in last) if s is not None]
        if not cursor.keyset or cursor.before is None or not starts:
            return None
        if cursor.before <= min(starts):
            return "its resume point is not after its last archived page"
        return None

    def _restart(self, why: str) -> None:
        text = (
            f"athlete {self.plan.athlete_id}: the interrupted full refresh cannot resume: "
            f"{why}; listing it from Strava again"
        )
        log.warning(text)
        self.warnings.append(text)
        self.replayed, self.replayed_digests = [], []
        self._cursor = Cursor()

    def _fetch(self) -> Page:
        cursor, plan = self._cursor, self.plan
        if plan.full:
            size = cursor.size or self._per_page
            return self._api.call(
                lambda c: c.list_activities_page(cursor.page, before=cursor.before, per_page=size)
            )
        page_no = self._page_no
        return self._api.call(
            lambda c: c.list_activities_page(page_no, after=plan.after, per_page=self._per_page)
        )

    def _advance(self, items: list[dict[str, Any]]) -> bool:
        """Move the cursor past ``items``; True when this page ends the listing."""
        if not items:
            self.complete = True
            return True
        if not self.plan.full:
            self._page_no += 1
            if len(items) < self._per_page:
                self.complete = True
                return True
            return False
        starts = [_start(i) for i in items]
        following = next_full(self._cursor, starts, len(items), self._per_page)
        assert following is not None
        self._cursor = following
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
