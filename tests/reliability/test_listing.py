"""The one listing loop (``listing.Listing``) over real HTTP against strava_sandbox."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs

from nunis_ingest.core.plan import make_plan
from nunis_ingest.core.state import SyncState
from nunis_ingest.core.stops import Stop
from nunis_ingest.core.transform import start_epoch
from nunis_ingest.usecases.athlete_api import AthleteApi
from nunis_ingest.usecases.listing import Listing
from tests.reliability.conftest import LISTING, register

PER_PAGE = 20


def _listing(pipe: Any, aid: int, state: SyncState, mode: str = "all", proceed=None) -> Listing:
    ctx = pipe.context()
    plan = make_plan(
        athlete_id=aid,
        run_id="r1",
        now=pipe.sandbox.clock(),
        requested=mode,  # type: ignore[arg-type]
        state=state,
        lookback_days=7,
    )
    return Listing(plan, AthleteApi(ctx, aid), ctx.store, proceed or (lambda: None), PER_PAGE)


def _queries(sandbox: Any) -> list[dict[str, str]]:
    log = sandbox.requests_log()["requests"]
    return [{k: v[0] for k, v in parse_qs(r["query"]).items()} for r in log if r["path"] == LISTING]


def test_all_lists_by_keyset_until_the_empty_page(sandbox, rt, pipe):
    aid = register(rt, sandbox.create_athlete(activities=45))
    sandbox.clear_requests()
    listing = _listing(pipe, aid, SyncState())
    pages = list(listing)
    ids = [item["id"] for page in pages for item in page.items]
    assert set(ids) == {a["id"] for a in sandbox.truth(aid)}
    assert listing.complete
    assert listing.resume([], []) is None
    queries = _queries(sandbox)
    # full pages of 20 bring 19 new after the first (the boundary second is listed again),
    # then the short page and the closing empty one
    assert len(queries) == (45 - PER_PAGE) // (PER_PAGE - 1) + 3
    assert "before" not in queries[0]
    oldest = min(start_epoch(item) or 0 for item in pages[0].items)
    assert queries[1] == {"page": "1", "per_page": str(PER_PAGE), "before": str(oldest + 1)}
    assert len(ids) == 45 + len(pages) - 1, "only the boundary second is listed again"


def test_the_next_page_is_fetched_while_the_caller_works_and_no_extra_one(sandbox, rt, pipe):
    aid = register(rt, sandbox.create_athlete(activities=45))
    sandbox.clear_requests()
    pages = iter(_listing(pipe, aid, SyncState()))
    first = next(pages)
    deadline = time.monotonic() + 5
    while len(_queries(sandbox)) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)  # the caller is "busy" with page 1; page 2 arrives meanwhile
    assert len(_queries(sandbox)) == 2, "page 2 was not prefetched"
    rest = list(pages)
    assert len(first.items) + sum(len(p.items) for p in rest) >= 45
    assert len(_queries(sandbox)) == len(rest) + 2  # the pages + the empty one


def test_a_stop_costs_no_further_request_and_leaves_a_resume_point(sandbox, rt, pipe):
    aid = register(rt, sandbox.create_athlete(activities=45))
    sandbox.clear_requests()
    listing = _listing(pipe, aid, SyncState(), proceed=lambda: Stop.READ_BUDGET_15MIN)
    pages = list(listing)
    time.sleep(0.2)  # nothing may still be in flight
    assert len(pages) == 1
    assert len(_queries(sandbox)) == 1
    assert listing.stop is Stop.READ_BUDGET_15MIN
    resume = listing.resume(["archive/page-00001.json"], ["0" * 64])
    assert resume is not None
    assert resume["mode"] == "all"
    assert resume["pages"] == ["archive/page-00001.json"]
    assert resume["digests"] == ["0" * 64]
    assert isinstance(resume["before"], int)


def test_new_ends_on_a_short_page_and_resumes_after_the_newest_processed(sandbox, rt, pipe):
    aid = register(rt, sandbox.create_athlete(activities=30))
    now = int(sandbox.clock())
    sandbox.clear_requests()
    state = SyncState(cursor=now - 10 * 86400, rows=30, verified_at=now)
    listing = _listing(pipe, aid, state, mode="new")
    pages = list(listing)
    queries = _queries(sandbox)
    assert all("after" in q for q in queries)
    assert len(pages) == len(queries), "no closing empty page after a short one in `new`"
    assert listing.complete
